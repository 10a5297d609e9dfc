//! Servers: validating a create request, naming, addressing, and queueing the build and delete.
//!
//! A server's name is `DC + ALIAS + NAME + NN`, where NN is the lowest two-digit number that makes
//! it unique. The name, the address and the job are decided and committed in one transaction
//! (`server_creates`, which decides an account's concurrent creates together), so concurrent
//! creates never collide and a 202 means the work survives a crash.

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{self, Account, ChangeInfo, CustomFieldValue, Job, JobKind, Principal, Server};
use crate::store::{self, accounts, jobs, networks, servers};

use super::groups::{check_parent, no_such_group};
use super::{custom_fields, group_defaults, server_creates, server_source};

/// The largest disk, in GB.
pub const MAX_DISK_GB: i64 = 1024;

/// How far ahead a time to live must be: more than an hour.
const MIN_TTL_SECS: i64 = 3600;

/// A validated create-server request.
#[derive(Debug)]
pub struct NewServer {
    /// The requested name, upper case.
    pub name: String,
    pub description: Option<String>,
    pub group_id: String,
    /// A template, or a server of the account to clone; the group's default template if `None`.
    pub source_server_id: Option<String>,
    /// The clone source's administrator password.
    pub source_server_password: Option<String>,
    pub managed_os: bool,
    pub managed_backup: bool,
    pub primary_dns: Option<String>,
    pub secondary_dns: Option<String>,
    pub network_id: Option<String>,
    pub ip_address: Option<u32>,
    pub password: Option<String>,
    /// From the clone source, then the group's defaults, if `None`.
    pub cpu: Option<i64>,
    pub memory_gb: Option<i64>,
    pub server_type: String,
    pub storage_type: String,
    pub custom_fields: Vec<(String, String)>,
    pub additional_disks: Vec<NewDisk>,
    /// Checked by `super::packages::parse`.
    pub packages: serde_json::Value,
    /// When the server is deleted (epoch seconds), if it has a time to live.
    pub ttl: Option<i64>,
}

/// A disk asked for beyond the template's: partitioned and mounted at `path`, or raw.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewDisk {
    pub path: Option<String>,
    pub size_gb: i64,
}

/// Checks a guest administrator password, at create or when it is changed.
pub fn check_guest_password(password: &str) -> Result<(), String> {
    if (8..=128).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err("A server password has 8 to 128 characters.".into())
    }
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

/// Accepts a create request: validates it, names the server, assigns its address and queues the
/// build, all committed before returning.
pub async fn create(
    app: &App,
    who: &Principal,
    account: &Account,
    new: NewServer,
) -> ApiResult<(Server, Job)> {
    let mut conn = app.store.read().await?;
    // The group and its defaults, with those it inherits: kept by this node, or one read.
    let lineage = app
        .store
        .lineage(&mut conn, account.id, &new.group_id)
        .await?;
    let group = match lineage.first() {
        Some((group, _)) => group.clone(),
        None => return Err(no_such_group(account, "groupId", &new.group_id)),
    };
    check_parent("groupId", &group)?;
    let dc = group.dc.clone();
    let now = app.clock.now();
    if let Some(ttl) = new.ttl {
        if ttl <= now + MIN_TTL_SECS {
            return Err(ApiError::invalid(
                "ttl",
                "ttl must be a UTC time more than one hour from now.",
            ));
        }
    }
    let defaults = group_defaults::resolve(&lineage);
    let defs = if account.has_custom_fields {
        accounts::custom_fields(&mut conn, account.id).await?
    } else {
        Vec::new()
    };
    drop(conn);
    let source_name = new
        .source_server_id
        .clone()
        .or(defaults.template_name.value)
        .ok_or_else(|| {
            ApiError::invalid(
                "sourceServerId",
                "sourceServerId (a template or a server to clone) is required: the group sets no default template.",
            )
        })?;
    let source = server_source::resolve(
        app,
        account,
        &dc,
        &source_name,
        new.source_server_password.as_deref(),
    )
    .await?;
    let cpu = new
        .cpu
        .or(source.cpu)
        .or(defaults.cpu.value)
        .ok_or_else(|| ApiError::invalid("cpu", "cpu is required (1 to 16)."))?;
    let memory_gb = new
        .memory_gb
        .or(source.memory_gb)
        .or(defaults.memory_gb.value)
        .ok_or_else(|| ApiError::invalid("memoryGB", "memoryGB is required (1 to 128)."))?;
    let network_id = new.network_id.clone().or(defaults.network_id.value);
    let primary_dns = new.primary_dns.clone().or(defaults.primary_dns.value);
    let secondary_dns = new.secondary_dns.clone().or(defaults.secondary_dns.value);
    let custom_fields: Vec<CustomFieldValue> = custom_fields::validate(&defs, &new.custom_fields)?;
    let template = source.template;
    let disks = source.disks(app, &new.additional_disks)?;

    let name_prefix = format!("{dc}{}{}", account.alias, new.name);
    let server = Server {
        // Decided with the name's number and the address by `server_creates`.
        id: String::new(),
        uuid: ids::new_id(),
        account_id: account.id,
        dc,
        group_id: group.id.clone(),
        description: new.description.clone().unwrap_or_else(|| new.name.clone()),
        template: template.name.clone(),
        cpu,
        memory_mb: memory_gb * 1024,
        server_type: new.server_type,
        storage_type: new.storage_type,
        managed_os: new.managed_os,
        managed_backup: new.managed_backup,
        status: "underConstruction".into(),
        power_state: "stopped".into(),
        in_maintenance: false,
        disks,
        custom_fields,
        change: ChangeInfo::new(now, &who.username),
        addresses: Vec::new(),
        attached: Default::default(),
    };
    let planned = server_creates::Planned {
        server,
        name_prefix,
        seq: 0,
        password: new.password.unwrap_or_else(ids::new_password),
        primary_dns,
        secondary_dns,
        packages: new.packages,
        network_id,
        ip_address: new.ip_address,
        ttl: new.ttl,
        requested_by: who.username.clone(),
        now,
    };
    let accepted = app
        .creates
        .accept(&app.store, app.limits, account, planned)
        .await?;
    app.wake_workers();
    Ok(accepted)
}

/// The network and address a server gets when it asks for a network, an address or both: the
/// address asked for if it is free, otherwise the network's lowest free one. The outer error is
/// the store's, the inner one the request's.
pub async fn pick_address(
    tx: &mut store::Tx,
    account: &Account,
    dc: &str,
    network_id: Option<&str>,
    ip_address: Option<u32>,
) -> store::StoreResult<ApiResult<(model::Network, u32)>> {
    let candidates = match network_id {
        Some(id) => match networks::get(&mut *tx, account.id, dc, id).await? {
            Some(network) => vec![network],
            None => {
                return Ok(Err(ApiError::invalid(
                    "networkId",
                    format!(
                        "There is no network {id} of account {} in {dc}.",
                        account.alias
                    ),
                )))
            }
        },
        None => networks::list(&mut *tx, account.id, dc).await?,
    };
    if let Some(address) = ip_address {
        let text = model::ipv4(address);
        let Some(network) = candidates.into_iter().find(|n| n.contains(address)) else {
            return Ok(Err(ApiError::invalid(
                "ipAddress",
                format!("{text} is not on a network of the account in {dc}."),
            )));
        };
        if let Err(refused) = super::networks::check_asked_address(tx, &network, address).await? {
            return Ok(Err(refused));
        }
        return Ok(Ok((network, address)));
    }
    for network in candidates {
        if let Some(address) = networks::lowest_free(tx, &network).await? {
            return Ok(Ok((network, address)));
        }
    }
    Ok(Err(server_creates::no_free_address(dc)))
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
    tx.commit().await?;
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
