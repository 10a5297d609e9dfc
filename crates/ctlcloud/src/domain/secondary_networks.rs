//! Secondary network adapters: a server may join up to three more of its account's networks in
//! its data center, with one address on each. The address is reserved when the request is
//! accepted, shown once the job adding the adapter succeeds, and freed when the adapter is removed.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{ipv4, Account, Job, JobKind, Principal, Server};
use crate::store::{self, networks, public_ips};

use super::server_changes::{changeable, queue};

/// The most secondary networks a server joins (four adapters in all).
pub const MAX_SECONDARY: usize = 3;

/// The payload of the jobs on a secondary network adapter.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterJob {
    pub network_id: String,
}

/// Accepts a secondary network adapter for a server on `network_id`, with the given address or
/// the network's lowest free one.
pub async fn add(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    network_id: &str,
    address: Option<u32>,
) -> ApiResult<Job> {
    // The address is picked from those free now: creates, which pick theirs too, wait.
    let mut tx = app
        .store
        .write_locked(store::Lock::Account(account.id))
        .await?;
    let server = changeable(&mut tx, account, server_id).await?;
    let network = networks::get(&mut tx, account.id, &server.dc, network_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "networkId",
                format!(
                    "There is no network {network_id} of account {} in {}.",
                    account.alias, server.dc
                ),
            )
        })?;
    let attached = networks::attachments(&mut tx, &server.id).await?;
    match attached.iter().find(|a| a.network_id == network.id) {
        Some(a) if !a.secondary => {
            return Err(ApiError::invalid(
                "networkId",
                format!(
                    "Network {} is the primary network of server {}.",
                    network.id, server.id
                ),
            ))
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "networkId",
                format!(
                    "Server {} already has an address on network {}; one address per secondary network.",
                    server.id, network.id
                ),
            ))
        }
        None => {}
    }
    if attached.iter().filter(|a| a.secondary).count() >= MAX_SECONDARY {
        return Err(ApiError::invalid(
            "networkId",
            format!("A server has at most {MAX_SECONDARY} secondary networks."),
        ));
    }
    let address = match address {
        Some(a) => {
            let text = ipv4(a);
            if !network.contains(a) {
                return Err(ApiError::invalid(
                    "ipAddress",
                    format!("{text} is not on network {}.", network.cidr()),
                ));
            }
            super::networks::check_asked_address(&mut tx, &network, a).await??;
            a
        }
        None => networks::lowest_free(&mut tx, &network)
            .await?
            .ok_or_else(|| {
                ApiError::conflict(format!(
                    "No free address is left on network {}.",
                    network.cidr()
                ))
            })?,
    };
    networks::reserve_secondary(&mut tx, &network.id, address, &server.id).await?;
    let payload = AdapterJob {
        network_id: network.id,
    };
    queue(app, tx, who, &server, JobKind::AddSecondaryNetwork, payload).await
}

/// Accepts the removal of a server's secondary network adapter. A public IP address NATed to the
/// adapter's address must be removed first.
pub async fn remove(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    network_id: &str,
) -> ApiResult<Job> {
    let mut tx = app.store.write().await?;
    let server = changeable(&mut tx, account, server_id).await?;
    let attached = networks::attachments(&mut tx, &server.id).await?;
    let attachment = attached
        .iter()
        .find(|a| a.network_id.eq_ignore_ascii_case(network_id.trim()) && !a.pending)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Server {} has no secondary network {network_id}.",
                server.id
            ))
        })?;
    if !attachment.secondary {
        return Err(ApiError::bad_request(format!(
            "Network {} is the primary network of server {}; it cannot be removed.",
            attachment.network_id, server.id
        )));
    }
    if let Some(message) = blocking_public_ip(&mut tx, &server, attachment.address).await? {
        return Err(ApiError::bad_request(message));
    }
    let payload = AdapterJob {
        network_id: attachment.network_id.clone(),
    };
    queue(
        app,
        tx,
        who,
        &server,
        JobKind::RemoveSecondaryNetwork,
        payload,
    )
    .await
}

/// Why an address cannot leave the server: a public IP address (added or being added) is NATed
/// to it.
pub async fn blocking_public_ip(
    conn: impl Into<crate::store::db::Exec<'_>>,
    server: &Server,
    address: u32,
) -> store::StoreResult<Option<String>> {
    let mapped = public_ips::of_server(conn, &server.id).await?;
    Ok(mapped
        .iter()
        .find(|p| p.settings.internal == address)
        .map(|p| {
            format!(
                "Public IP address {} is NATed to {}; remove it first.",
                ipv4(p.address),
                ipv4(address)
            )
        }))
}
