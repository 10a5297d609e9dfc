//! Where a new server comes from: a template of the data center, or an existing server of the
//! account (a clone). The source decides the operating system and the disks the server starts
//! with; a clone also starts with its source's cpu and memory.

use crate::app::App;
use crate::catalog::Template;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{Account, Disk};
use crate::store::servers;

use super::disks::{check_disk_path, MAX_DISKS};
use super::servers::NewDisk;

/// A resolved source.
pub struct Source<'a> {
    /// The template the new server runs: the named one, or the clone source's.
    pub template: &'a Template,
    /// The disks the new server starts with, before its additional disks: `(size GB, paths)`.
    pub disks: Vec<(i64, Vec<String>)>,
    /// A clone's source server's cpu count and memory in GB.
    pub cpu: Option<i64>,
    pub memory_gb: Option<i64>,
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid("sourceServerId", message)
}

/// Resolves `sourceServerId` in data center `dc`: a template offered there, or a server of the
/// account there that is active. A clone needs its source's administrator password.
pub async fn resolve<'a>(
    app: &'a App,
    account: &Account,
    dc: &str,
    name: &str,
    source_password: Option<&str>,
) -> ApiResult<Source<'a>> {
    if let Some(template) = app.catalog.template(dc, name) {
        let disks = template.disks().map_err(ApiError::internal)?;
        return Ok(Source {
            template,
            disks: disks.into_iter().map(|d| (d.size_gb, d.paths)).collect(),
            cpu: None,
            memory_gb: None,
        });
    }
    let pool = app.store.reader();
    let Some(server) = servers::get(pool, account.id, name)
        .await?
        .filter(|s| s.dc.eq_ignore_ascii_case(dc))
    else {
        return Err(invalid(format!(
            "There is no template or server {name} in data center {dc}."
        )));
    };
    if server.status != "active" {
        return Err(invalid(format!(
            "The server {} is {}; only active servers can be cloned.",
            server.id, server.status
        )));
    }
    let password = servers::password(pool, &server.id).await?;
    match source_password {
        None => {
            return Err(ApiError::invalid(
                "sourceServerPassword",
                format!(
                "sourceServerPassword (the administrator password of {}) is required to clone it.",
                server.id
            ),
            ))
        }
        Some(given) if password.as_deref() != Some(given) => {
            return Err(ApiError::invalid(
                "sourceServerPassword",
                format!(
                    "sourceServerPassword is not the administrator password of {}.",
                    server.id
                ),
            ))
        }
        Some(_) => {}
    }
    let template = app.catalog.template(dc, &server.template).ok_or_else(|| {
        invalid(format!(
            "The server {} runs the template {}, which is no longer offered in {dc}.",
            server.id, server.template
        ))
    })?;
    Ok(Source {
        template,
        disks: server
            .disks
            .into_iter()
            .map(|d| (d.size_gb, d.paths))
            .collect(),
        cpu: Some(server.cpu),
        memory_gb: Some(server.memory_mb / 1024),
    })
}

impl Source<'_> {
    /// The new server's disks: the source's, then the additional ones, numbered `0:0`, `0:1`, …
    /// Additional mount paths must be usable, not reserved by the template, and not in use.
    pub fn disks(self, app: &App, additional: &[NewDisk]) -> ApiResult<Vec<Disk>> {
        let reserved = &app
            .catalog
            .family(self.template.family)
            .reserved_drive_paths;
        let mut all = self.disks;
        for disk in additional {
            let paths = match &disk.path {
                Some(path) => vec![check_disk_path(self.template, reserved, path)
                    .map_err(|m| ApiError::invalid("additionalDisks", m))?],
                None => Vec::new(),
            };
            all.push((disk.size_gb, paths));
        }
        let mut seen = std::collections::HashSet::new();
        if !all
            .iter()
            .flat_map(|(_, paths)| paths)
            .all(|p| seen.insert(p.to_ascii_lowercase()))
        {
            return Err(ApiError::invalid(
                "additionalDisks",
                "Two disks cannot share a mount path.",
            ));
        }
        if all.len() > MAX_DISKS {
            return Err(ApiError::invalid(
                "additionalDisks",
                format!("A server has at most {MAX_DISKS} disks."),
            ));
        }
        Ok(all
            .into_iter()
            .enumerate()
            .map(|(i, (size_gb, paths))| Disk {
                id: format!("0:{i}"),
                size_gb,
                paths,
            })
            .collect())
    }
}
