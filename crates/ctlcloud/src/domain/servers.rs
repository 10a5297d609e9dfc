//! Servers: validating a create request, naming, addressing, and queueing the build and delete.
//!
//! A server's name is `DC + ALIAS + NAME + NN`, where NN is the lowest two-digit number that makes
//! it unique. The name, the address and the job are decided and committed in one transaction, so
//! concurrent creates never collide and a 202 means the work survives a crash.

use crate::app::App;
use crate::catalog::{OsFamily, Template};
use crate::http::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{
    self, Account, ChangeInfo, CustomFieldValue, Disk, Job, JobKind, Principal, Server,
};
use crate::store::{self, accounts, groups, jobs, networks, servers};

use super::custom_fields;

/// The largest disk, in GB.
pub const MAX_DISK_GB: i64 = 1024;

/// A validated create-server request.
#[derive(Debug)]
pub struct NewServer {
    /// The requested name, upper case.
    pub name: String,
    pub description: Option<String>,
    pub group_id: String,
    pub source_server_id: String,
    pub managed_os: bool,
    pub managed_backup: bool,
    pub primary_dns: Option<String>,
    pub secondary_dns: Option<String>,
    pub network_id: Option<String>,
    pub ip_address: Option<u32>,
    pub password: Option<String>,
    pub cpu: i64,
    pub memory_gb: i64,
    pub server_type: String,
    pub storage_type: String,
    pub custom_fields: Vec<(String, String)>,
    pub additional_disks: Vec<NewDisk>,
    pub packages: serde_json::Value,
}

/// A disk asked for beyond the template's.
#[derive(Debug)]
pub struct NewDisk {
    pub path: Option<String>,
    pub size_gb: i64,
}

/// Checks a requested name against the account alias: letters, digits and dashes, and the alias and
/// name together at most 10 characters.
pub fn check_name(alias: &str, name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "The server name '{name}' must be letters, digits and dashes."
        ));
    }
    if name.len() + alias.len() > 10 {
        return Err(format!(
            "The server name '{name}' is too long: with the account alias {alias} it may have at most {} characters.",
            10usize.saturating_sub(alias.len())
        ));
    }
    Ok(name.to_uppercase())
}

/// The lowest sequence number from 1 to 99 not in `used` (ascending).
pub fn lowest_free_seq(used: &[i64]) -> Option<i64> {
    (1..=99).find(|n| used.binary_search(n).is_err())
}

/// Checks an additional disk's mount path against the template's reserved paths.
fn check_disk_path(template: &Template, reserved: &[String], path: &str) -> ApiResult<String> {
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
        return Err(ApiError::invalid(
            "additionalDisks",
            format!("'{path}' is not a usable mount path."),
        ));
    }
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(first)) {
        return Err(ApiError::invalid(
            "additionalDisks",
            format!(
                "The path '{path}' is reserved by the template {}.",
                template.name
            ),
        ));
    }
    Ok(path.to_owned())
}

/// Accepts a create request: validates it, names the server, assigns its address and queues the
/// build, all committed before returning.
pub async fn create(
    app: &App,
    who: &Principal,
    account: &Account,
    new: NewServer,
) -> ApiResult<(Server, Job)> {
    let pool = app.store.reader();
    let group = groups::get(pool, account.id, &new.group_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "groupId",
                format!(
                    "There is no group {} in account {}.",
                    new.group_id, account.alias
                ),
            )
        })?;
    if group.kind == "archive" {
        return Err(ApiError::invalid(
            "groupId",
            "Servers cannot be created in the Archive group.",
        ));
    }
    let dc = group.dc.clone();
    let Some(template) = app.catalog.template(&dc, &new.source_server_id) else {
        if servers::get(pool, account.id, &new.source_server_id)
            .await?
            .is_some()
        {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                "Cloning a server (sourceServerId naming an existing server) is not implemented in ctlcloud yet.",
            ));
        }
        return Err(ApiError::invalid(
            "sourceServerId",
            format!(
                "There is no template {} in data center {dc}.",
                new.source_server_id
            ),
        ));
    };
    let defs = accounts::custom_fields(pool, account.id).await?;
    let custom_fields: Vec<CustomFieldValue> = custom_fields::validate(&defs, &new.custom_fields)?;
    let mut disks: Vec<Disk> = template
        .disks()
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|d| (d.size_gb, d.paths))
        .chain(
            new.additional_disks
                .iter()
                .map(|d| (d.size_gb, d.path.iter().cloned().collect())),
        )
        .enumerate()
        .map(|(i, (size_gb, paths))| Disk {
            id: format!("0:{i}"),
            size_gb,
            paths,
        })
        .collect();
    let reserved = &app.catalog.family(template.family).reserved_drive_paths;
    let template_disks = disks.len() - new.additional_disks.len();
    for disk in disks.iter_mut().skip(template_disks) {
        if let Some(path) = disk.paths.first_mut() {
            *path = check_disk_path(template, reserved, path)?;
        }
    }
    let mut seen = std::collections::HashSet::new();
    if !disks
        .iter()
        .flat_map(|d| &d.paths)
        .all(|p| seen.insert(p.to_ascii_lowercase()))
    {
        return Err(ApiError::invalid(
            "additionalDisks",
            "Two disks cannot share a mount path.",
        ));
    }
    if disks.len() > 16 {
        return Err(ApiError::invalid(
            "additionalDisks",
            "A server has at most 16 disks.",
        ));
    }

    let now = app.clock.now();
    let name_prefix = format!("{dc}{}{}", account.alias, new.name);
    let password = new.password.clone().unwrap_or_else(ids::new_password);
    let mut tx = app.store.write().await?;
    // The group may have gone between the read above and this transaction.
    if groups::get(&mut *tx, account.id, &group.id)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid(
            "groupId",
            format!(
                "There is no group {} in account {}.",
                new.group_id, account.alias
            ),
        ));
    }
    let seq =
        lowest_free_seq(&servers::used_seqs(&mut tx, &name_prefix).await?).ok_or_else(|| {
            ApiError::conflict(format!(
                "All 99 names {name_prefix}01 to {name_prefix}99 are in use."
            ))
        })?;
    let (network, address) = pick_address(&mut tx, account, &dc, &new).await?;
    let server = Server {
        id: format!("{name_prefix}{seq:02}"),
        uuid: ids::new_id(),
        account_id: account.id,
        dc: dc.clone(),
        group_id: group.id.clone(),
        description: new.description.clone().unwrap_or_else(|| new.name.clone()),
        template: template.name.clone(),
        cpu: new.cpu,
        memory_mb: new.memory_gb * 1024,
        server_type: new.server_type.clone(),
        storage_type: new.storage_type.clone(),
        managed_os: new.managed_os,
        managed_backup: new.managed_backup,
        status: "underConstruction".into(),
        power_state: "stopped".into(),
        in_maintenance: false,
        disks,
        custom_fields,
        change: ChangeInfo {
            created_at: now,
            created_by: who.username.clone(),
            modified_at: now,
            modified_by: who.username.clone(),
        },
        addresses: vec![address],
    };
    let provisioning = servers::Provisioning {
        name_prefix: &name_prefix,
        seq,
        password: &password,
        primary_dns: new.primary_dns.as_deref(),
        secondary_dns: new.secondary_dns.as_deref(),
        packages: &new.packages,
    };
    servers::insert(&mut tx, &server, &provisioning).await?;
    networks::assign(&mut tx, &network.id, address, &server.id).await?;
    let job = jobs::insert(
        &mut tx,
        jobs::NewJob {
            account_id: account.id,
            dc: &dc,
            kind: JobKind::CreateServer,
            server_id: Some(&server.id),
            payload: serde_json::Value::Null,
            requested_by: &who.username,
            run_after: 0,
        },
        now,
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    app.wake_workers();
    Ok((server, job))
}

/// The network and address a new server gets: the requested ones if given and free, otherwise the
/// lowest free address of the account's oldest network in the data center that has one.
async fn pick_address(
    tx: &mut store::Tx,
    account: &Account,
    dc: &str,
    new: &NewServer,
) -> ApiResult<(model::Network, u32)> {
    let requested = match &new.network_id {
        Some(id) => Some(
            networks::get(&mut **tx, account.id, dc, id)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "networkId",
                        format!(
                            "There is no network {id} of account {} in {dc}.",
                            account.alias
                        ),
                    )
                })?,
        ),
        None => None,
    };
    if let Some(address) = new.ip_address {
        let text = model::ipv4(address);
        let candidates = match requested {
            Some(network) => vec![network],
            None => networks::list(&mut **tx, account.id, dc).await?,
        };
        let network = candidates
            .into_iter()
            .find(|n| n.contains(address))
            .ok_or_else(|| {
                ApiError::invalid(
                    "ipAddress",
                    format!("{text} is not on a network of the account in {dc}."),
                )
            })?;
        if !network.assignable().contains(&address) {
            return Err(ApiError::invalid(
                "ipAddress",
                format!("{text} is reserved on network {}.", network.cidr()),
            ));
        }
        if networks::is_assigned(tx, &network.id, address).await? {
            return Err(ApiError::invalid(
                "ipAddress",
                format!("{text} is already in use."),
            ));
        }
        return Ok((network, address));
    }
    let full = || {
        ApiError::conflict(format!(
            "No free address is left on the account's networks in {dc}."
        ))
    };
    if let Some(network) = requested {
        let address = networks::lowest_free(tx, &network)
            .await?
            .ok_or_else(full)?;
        return Ok((network, address));
    }
    networks::first_free(tx, account.id, dc)
        .await?
        .ok_or_else(full)
}

/// Queues the deletion of a server. Asking again while it is queued answers the same job.
pub async fn delete(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
) -> ApiResult<(Server, Job)> {
    let server = servers::get(app.store.reader(), account.id, server_id)
        .await?
        .ok_or_else(|| not_found(server_id))?;
    let mut tx = app.store.write().await?;
    if let Some(job) = jobs::open_for_server(&mut tx, &server.id, JobKind::DeleteServer).await? {
        return Ok((server, job));
    }
    // The server may have been deleted since it was read.
    if !servers::exists(&mut tx, &server.id).await? {
        return Err(not_found(server_id));
    }
    let job = jobs::insert(
        &mut tx,
        jobs::NewJob {
            account_id: account.id,
            dc: &server.dc,
            kind: JobKind::DeleteServer,
            server_id: Some(&server.id),
            payload: serde_json::Value::Null,
            requested_by: &who.username,
            run_after: 0,
        },
        app.clock.now(),
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    app.wake_workers();
    Ok((server, job))
}

/// The 404 for a server id the caller cannot see.
pub fn not_found(server_id: &str) -> ApiError {
    ApiError::not_found(format!("Server {server_id} was not found."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_alias_budget() {
        assert_eq!(check_name("DEMO", "web").unwrap(), "WEB");
        assert_eq!(check_name("DEMO", "ab-123").unwrap(), "AB-123");
        assert!(check_name("DEMO", "abcdefg").is_err());
        assert!(check_name("DEMO", "").is_err());
        assert!(check_name("DEMO", "a b").is_err());
        assert!(check_name("DEMO", "wéb").is_err());
    }

    #[test]
    fn sequence_numbers_fill_gaps_and_stop_at_99() {
        assert_eq!(lowest_free_seq(&[]), Some(1));
        assert_eq!(lowest_free_seq(&[1, 2, 4]), Some(3));
        assert_eq!(lowest_free_seq(&(1..=99).collect::<Vec<_>>()), None);
    }
}
