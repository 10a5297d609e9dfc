//! A server's disks as a PATCH sets them: the request lists every disk the server is to have.
//! Existing disks are named by id and may grow, never shrink; new disks are added; disks left out
//! are removed, except the template's own (the operating system lives there), which are kept.

use serde::{Deserialize, Serialize};

use crate::catalog::{OsFamily, Template};
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::model::Disk;

use super::servers::{NewDisk, MAX_DISK_GB};

/// The most disks a server has.
pub const MAX_DISKS: usize = 16;

/// Checks an additional disk's mount path against the template's reserved paths.
pub fn check_disk_path(
    template: &Template,
    reserved: &[String],
    path: &str,
) -> Result<String, String> {
    let path = path.trim();
    let first = match template.family {
        OsFamily::Linux => path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default(),
        OsFamily::Windows => path.trim_end_matches([':', '\\', '/']),
    };
    if path.is_empty() || first.is_empty() || path.len() > 200 {
        return Err(format!("'{path}' is not a usable mount path."));
    }
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(first)) {
        return Err(format!(
            "The path '{path}' is reserved by the template {}.",
            template.name
        ));
    }
    Ok(path.to_owned())
}

/// One entry of the requested list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestedDisk {
    /// A disk the server has, at its current size when `size_gb` is absent.
    Existing {
        id: String,
        size_gb: Option<i64>,
    },
    New(NewDisk),
}

/// Reads a new disk `{path, sizeGB, type}`, of a create request's `additionalDisks` (`field`) or
/// of a PATCH's `disks`. Without a type, a disk with a path is partitioned and one without is raw.
pub fn parse_new_disk(d: Fields<'_>, field: &str) -> ApiResult<NewDisk> {
    let size_gb = d
        .int_in("sizeGB", 1..=MAX_DISK_GB)?
        .ok_or_else(|| ApiError::invalid(field, "Each new disk needs sizeGB."))?;
    let path = d.str("path")?;
    let raw = match d.str("type")?.map(|t| t.to_ascii_lowercase()).as_deref() {
        None => path.is_none(),
        Some("raw") => true,
        Some("partitioned") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                field,
                format!("A disk type is raw or partitioned, not '{other}'."),
            ))
        }
    };
    if !raw && path.is_none() {
        return Err(ApiError::invalid(field, "A partitioned disk needs a path."));
    }
    Ok(NewDisk {
        path: if raw { None } else { path },
        size_gb,
    })
}

/// The disk's unit number on bus 0, from an id `0:<unit>`.
fn unit(id: &str) -> Option<u32> {
    id.strip_prefix("0:")?.parse().ok()
}

/// The server's disks once the requested list is applied to `current`, or why it cannot be.
/// `template` names the disks that cannot be removed and the mount paths new disks may not use.
pub fn plan(
    template: &Template,
    reserved: &[String],
    current: &[Disk],
    requested: &[RequestedDisk],
) -> Result<Vec<Disk>, String> {
    let template_disks = template.disks()?.len();
    let mut kept: Vec<Disk> = Vec::new();
    let mut added: Vec<&NewDisk> = Vec::new();
    for item in requested {
        match item {
            RequestedDisk::Existing { id, size_gb } => {
                let Some(disk) = current
                    .iter()
                    .find(|d| d.id.eq_ignore_ascii_case(id.trim()))
                else {
                    return Err(format!("The server has no disk {id}."));
                };
                if kept.iter().any(|k| k.id == disk.id) {
                    return Err(format!("Disk {} is listed twice.", disk.id));
                }
                let size_gb = size_gb.unwrap_or(disk.size_gb);
                if size_gb < disk.size_gb {
                    return Err(format!(
                        "Disk {} has {} GB; a disk can grow but never shrink.",
                        disk.id, disk.size_gb
                    ));
                }
                if size_gb > MAX_DISK_GB {
                    return Err(format!("A disk has at most {MAX_DISK_GB} GB."));
                }
                kept.push(Disk {
                    size_gb,
                    ..disk.clone()
                });
            }
            RequestedDisk::New(new) => added.push(new),
        }
    }
    // The template's disks hold the operating system and are never removed. A list that leaves
    // them out (Terraform's update lists only the disks it added) keeps them as they are.
    let mut os_disks: Vec<Disk> = current
        .iter()
        .filter(|d| unit(&d.id).is_some_and(|u| (u as usize) < template_disks))
        .filter(|d| !kept.iter().any(|k| k.id == d.id))
        .cloned()
        .collect();
    os_disks.append(&mut kept);
    os_disks.sort_by_key(|d| unit(&d.id));
    let kept = os_disks;
    let mut disks = kept;
    for new in added {
        let paths = match &new.path {
            Some(path) => vec![check_disk_path(template, reserved, path)?],
            None => Vec::new(),
        };
        // New disks take the lowest unit number no disk of the list uses.
        let free = (0..)
            .find(|u| !disks.iter().any(|d| unit(&d.id) == Some(*u)))
            .expect("a free unit number exists");
        disks.push(Disk {
            id: format!("0:{free}"),
            size_gb: new.size_gb,
            paths,
        });
    }
    if disks.len() > MAX_DISKS {
        return Err(format!("A server has at most {MAX_DISKS} disks."));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(path) = disks
        .iter()
        .flat_map(|d| &d.paths)
        .find(|p| !seen.insert(p.to_ascii_lowercase()))
    {
        return Err(format!("Two disks cannot share the mount path {path}."));
    }
    disks.sort_by_key(|d| unit(&d.id));
    Ok(disks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn current() -> Vec<Disk> {
        let disk = |id: &str, size_gb, path: Option<&str>| Disk {
            id: id.into(),
            size_gb,
            paths: path.into_iter().map(str::to_owned).collect(),
        };
        vec![
            disk("0:0", 1, Some("/boot")),
            disk("0:1", 2, Some("swap")),
            disk("0:2", 14, Some("/")),
            disk("0:3", 20, Some("/data")),
        ]
    }

    fn existing(id: &str, size_gb: Option<i64>) -> RequestedDisk {
        RequestedDisk::Existing {
            id: id.into(),
            size_gb,
        }
    }

    #[test]
    fn grows_adds_and_removes() {
        let catalog = Catalog::built_in();
        let template = catalog.template("WA1", "RHEL-6-64-TEMPLATE").unwrap();
        let reserved = &catalog.linux.reserved_drive_paths;
        let new = |path: Option<&str>, size_gb| {
            RequestedDisk::New(NewDisk {
                path: path.map(str::to_owned),
                size_gb,
            })
        };
        let plan = |requested: &[RequestedDisk]| plan(template, reserved, &current(), requested);
        let os = [
            existing("0:0", None),
            existing("0:1", Some(2)),
            existing("0:2", Some(30)),
        ];
        // /data (0:3) is dropped; the new raw disk takes its unit number.
        let after = plan(&[&os[..], &[new(None, 5)]].concat()).unwrap();
        let summary: Vec<(&str, i64)> = after.iter().map(|d| (d.id.as_str(), d.size_gb)).collect();
        assert_eq!(summary, [("0:0", 1), ("0:1", 2), ("0:2", 30), ("0:3", 5)]);
        assert!(after[3].paths.is_empty());
        let after =
            plan(&[&os[..], &[existing("0:3", None), new(Some("/logs"), 10)]].concat()).unwrap();
        assert_eq!(after[4].id, "0:4");
        assert_eq!(after[4].paths, ["/logs"]);

        // Leaving out the template's disks keeps them; other disks left out go.
        let after = plan(&[existing("0:2", Some(20))]).unwrap();
        let summary: Vec<(&str, i64)> = after.iter().map(|d| (d.id.as_str(), d.size_gb)).collect();
        assert_eq!(summary, [("0:0", 1), ("0:1", 2), ("0:2", 20)]);

        for (bad, why) in [
            (vec![existing("0:9", None)], "no disk"),
            ([&os[..], &[existing("0:2", Some(10))]].concat(), "twice"),
            (
                vec![
                    existing("0:0", None),
                    existing("0:1", None),
                    existing("0:2", Some(10)),
                ],
                "never shrink",
            ),
            ([&os[..], &[new(Some("/boot"), 5)]].concat(), "reserved"),
            (
                [&os[..], &[existing("0:3", None), new(Some("/DATA"), 5)]].concat(),
                "share",
            ),
            (
                [&os[..], &vec![new(None, 1); 14][..]].concat(),
                "at most 16",
            ),
        ] {
            let err = plan(&bad).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
