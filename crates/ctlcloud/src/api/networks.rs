//! Networks (`/v2-experimental`): the account's networks in a data center, read only for now.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::model::{ipv4, Network};
use crate::store::networks;
use crate::wire::{self, Link};

fn present(alias: &str, n: Network, addresses: Option<Vec<wire::NetworkAddress>>) -> wire::Network {
    let base = format!("/v2-experimental/networks/{alias}/{}/{}", n.dc, n.id);
    wire::Network {
        cidr: n.cidr(),
        gateway: n.gateway(),
        netmask: n.netmask(),
        id: n.id,
        description: n.description,
        name: n.name,
        kind: "private",
        vlan: n.vlan,
        ip_addresses: addresses,
        links: vec![
            Link::new("self", base.clone()).verbs(&["GET", "PUT"]),
            Link::new("ipAddresses", format!("{base}/ipAddresses")).verbs(&["GET"]),
            Link::new("release", format!("{base}/release")).verbs(&["POST"]),
        ],
    }
}

pub async fn list(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let list = networks::list(app.store.reader(), account.id, &dc.id).await?;
    let body: Vec<wire::Network> = list
        .into_iter()
        .map(|n| present(&account.alias, n, None))
        .collect();
    reply(StatusCode::OK, &body)
}

/// One network; `?ipAddresses=none|claimed|free|all` adds its addresses (default none).
pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let id = call.param("networkId");
    let network = networks::get(app.store.reader(), account.id, &dc.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Network {id} was not found.")))?;
    let filter = call
        .query("ipAddresses")
        .unwrap_or("none")
        .to_ascii_lowercase();
    let (claimed, free) = match filter.as_str() {
        "none" | "" => (false, false),
        "claimed" => (true, false),
        "free" => (false, true),
        "all" => (true, true),
        other => {
            return Err(ApiError::bad_request(format!(
                "ipAddresses must be none, claimed, free or all, not '{other}'."
            )))
        }
    };
    let addresses = if claimed || free {
        let assigned = networks::assigned(app.store.reader(), &network.id).await?;
        let mut out = Vec::new();
        let mut taken = assigned.iter().peekable();
        for address in network.assignable() {
            match taken.next_if(|(a, _)| *a == address) {
                Some((_, server)) if claimed => out.push(wire::NetworkAddress {
                    address: ipv4(address),
                    claimed: true,
                    server: Some(server.clone()),
                    kind: "private",
                }),
                None if free => out.push(wire::NetworkAddress {
                    address: ipv4(address),
                    claimed: false,
                    server: None,
                    kind: "private",
                }),
                _ => {}
            }
        }
        Some(out)
    } else {
        None
    };
    reply(StatusCode::OK, &present(&account.alias, network, addresses))
}
