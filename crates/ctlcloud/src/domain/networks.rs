//! Networks: claiming a new /24 for an account in a data center, renaming one, releasing one
//! that no server uses, and where the data center's network logs are forwarded.

use crate::store::Tx;
use serde_json::json;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{Account, Job, JobKind, Network, Principal};
use crate::store::{self, group_defaults, networks, StoreResult};

/// Takes the next free /24 and VLAN of a data center for each new network of the account, given
/// as (data center, id); each is named and described `vlan_<vlan>_<first three octets>`. `None`
/// when the private range cannot hold them all.
pub async fn allocate(
    conn: &mut Tx,
    account_id: i64,
    wanted: &[(&str, String)],
) -> StoreResult<Option<Vec<Network>>> {
    store::lock(conn, store::Lock::AddressSpace).await?;
    let dcs: Vec<&str> = wanted.iter().map(|(dc, _)| *dc).collect();
    let Some(ranges) = networks::next_ranges(conn, &dcs).await? else {
        return Ok(None);
    };
    let created: Vec<Network> = wanted
        .iter()
        .zip(ranges)
        .map(|((dc, id), (base, vlan))| {
            let prefix = crate::model::ipv4(base);
            let stem = prefix.rsplit_once('.').map(|(s, _)| s).unwrap_or(&prefix);
            let name = format!("vlan_{vlan}_{stem}");
            Network {
                id: id.clone(),
                account_id,
                dc: dc.to_string(),
                description: name.clone(),
                name,
                base,
                prefix: 24,
                vlan,
            }
        })
        .collect();
    networks::insert(conn, &created).await?;
    Ok(Some(created))
}

/// The 404 for a network id in a path that the caller cannot see.
pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Network {id} was not found."))
}

/// Queues a job with no server of its own and commits it.
async fn queue(
    app: &App,
    who: &Principal,
    account: &Account,
    dc: &str,
    kind: JobKind,
    payload: serde_json::Value,
) -> ApiResult<Job> {
    let tx = app.store.write().await?;
    super::commit_job(app, tx, who, account.id, dc, kind, payload).await
}

/// Queues the claim of a new network. Its id is chosen now, so that the finished operation can
/// link to it.
pub async fn claim(app: &App, who: &Principal, account: &Account, dc: &str) -> ApiResult<Job> {
    let payload = json!({ "networkId": ids::new_id() });
    queue(app, who, account, dc, JobKind::ClaimNetwork, payload).await
}

/// Renames a network; its description stays unless a new one is given.
pub async fn update(
    app: &App,
    account: &Account,
    dc: &str,
    id: &str,
    name: &str,
    description: Option<&str>,
) -> ApiResult<()> {
    let name = name.trim();
    if name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "A network name has at most 200 characters.",
        ));
    }
    if description.is_some_and(|d| d.chars().count() > 1000) {
        return Err(ApiError::invalid(
            "description",
            "A network description has at most 1000 characters.",
        ));
    }
    let mut tx = app.store.write().await?;
    let network = networks::get(&mut tx, account.id, dc, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let description = description.map_or(network.description, str::to_owned);
    networks::update(&mut tx, &network.id, name, &description).await?;
    tx.commit().await?;
    Ok(())
}

/// Releases a network back to the data center, unless a server holds an address on it. Groups
/// that named it as their default network forget it.
pub async fn release(app: &App, account: &Account, dc: &str, id: &str) -> ApiResult<()> {
    // Creates and new adapters, which take addresses on the account's networks, wait.
    let mut tx = app
        .store
        .write_locked(store::Lock::Account(account.id))
        .await?;
    let network = networks::get(&mut tx, account.id, dc, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let claimed = networks::claimed_count(&mut tx, &network.id).await?;
    if claimed > 0 {
        return Err(ApiError::bad_request(format!(
            "The network {} cannot be released: servers hold {claimed} of its addresses.",
            network.name
        )));
    }
    group_defaults::forget_network(&mut tx, &network.id).await?;
    networks::delete(&mut tx, &network.id).await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses an address asked for on `network` that is reserved there or that someone holds. The
/// outer error is the store's, the inner one the request's.
pub async fn check_asked_address(
    tx: &mut Tx,
    network: &Network,
    address: u32,
) -> StoreResult<ApiResult<()>> {
    let text = crate::model::ipv4(address);
    if !network.assignable().contains(&address) {
        return Ok(Err(ApiError::invalid(
            "ipAddress",
            format!("{text} is reserved on network {}.", network.cidr()),
        )));
    }
    if networks::is_assigned(tx, &network.id, address).await? {
        return Ok(Err(ApiError::invalid(
            "ipAddress",
            format!("{text} is already in use."),
        )));
    }
    Ok(Ok(()))
}

/// Checks a log forwarding address: an IPv4 address or a host name.
fn check_remote_address(address: &str) -> ApiResult<()> {
    let host_name = address.len() <= 253
        && address.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if crate::model::parse_ipv4(address).is_some() || host_name {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "remoteAddress",
            format!("'{address}' is neither an IPv4 address nor a host name."),
        ))
    }
}

/// Queues a new log forwarding configuration: to `remote_address` over `protocol` (`tcp` or
/// `udp`), or disabled when no address is given.
pub async fn forward_logs(
    app: &App,
    who: &Principal,
    account: &Account,
    dc: &str,
    remote_address: Option<String>,
    protocol: &str,
) -> ApiResult<Job> {
    let protocol = protocol.to_ascii_lowercase();
    if protocol != "tcp" && protocol != "udp" {
        return Err(ApiError::invalid(
            "protocol",
            format!("protocol is tcp or udp, not '{protocol}'."),
        ));
    }
    if let Some(address) = &remote_address {
        check_remote_address(address)?;
    }
    let payload = json!({ "remoteAddress": remote_address, "protocol": protocol });
    queue(app, who, account, dc, JobKind::UpdateLogForwarding, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_addresses_are_ipv4_or_host_names() {
        for ok in ["10.1.2.3", "logs.example.com", "syslog", "a-b.c"] {
            assert!(check_remote_address(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "logs..example",
            "-bad.example",
            "has space",
            "a/b",
            "x:514",
        ] {
            assert!(check_remote_address(bad).is_err(), "{bad}");
        }
    }
}
