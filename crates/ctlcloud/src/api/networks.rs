//! Networks (`/v2-experimental`): the account's networks in a data center, their addresses,
//! claiming a new one, renaming one and releasing one.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::domain::networks as domain;
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::model::{ipv4, Account, Network};
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

/// The network of the account named in the path.
async fn find(app: &App, call: &Call, account: &Account) -> ApiResult<Network> {
    let dc = super::datacenter(app, call)?;
    let id = call.param("networkId");
    networks::get(app.store.reader(), account.id, &dc.id, id)
        .await?
        .ok_or_else(|| domain::not_found(id))
}

/// Which addresses a `claimed|free|all` filter (or `none`, where allowed) asks for: (claimed, free).
fn address_filter(name: &str, value: &str, allow_none: bool) -> ApiResult<(bool, bool)> {
    match value.to_ascii_lowercase().as_str() {
        "none" if allow_none => Ok((false, false)),
        "claimed" => Ok((true, false)),
        "free" => Ok((false, true)),
        "all" => Ok((true, true)),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be {}claimed, free or all, not '{value}'.",
            if allow_none { "none, " } else { "" }
        ))),
    }
}

/// The network's assignable addresses, claimed ones with the server holding them.
async fn addresses(
    app: &App,
    network: &Network,
    (claimed, free): (bool, bool),
) -> ApiResult<Vec<wire::NetworkAddress>> {
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
    Ok(out)
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
    let network = find(app, call, &account).await?;
    let value = call.query("ipAddresses").unwrap_or("none");
    let filter = address_filter("ipAddresses", value, true)?;
    let addresses = if filter == (false, false) {
        None
    } else {
        Some(addresses(app, &network, filter).await?)
    };
    reply(StatusCode::OK, &present(&account.alias, network, addresses))
}

/// A network's addresses; `?type=claimed|free|all` (default claimed).
pub async fn ip_addresses(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let network = find(app, call, &account).await?;
    let filter = address_filter("type", call.query("type").unwrap_or("claimed"), false)?;
    reply(StatusCode::OK, &addresses(app, &network, filter).await?)
}

/// Claims a new network: shape C, followed through the experimental status, whose summary then
/// links to the network.
pub async fn claim(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let job = domain::claim(app, call.principal(), &account, &dc.id).await?;
    reply(
        StatusCode::ACCEPTED,
        &wire::ExperimentalOperation {
            uri: format!(
                "/v2-experimental/operations/{}/status/{}",
                account.alias, job.operation_id
            ),
            operation_id: job.operation_id,
        },
    )
}

/// Renames a network: `PUT` as documented, or `POST` with the same body as Go's client sends it
/// (a JSON string holding the JSON).
pub async fn update(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let body = call.body()?;
    let f = Fields::of(&body)?;
    let name = f.required_str("name")?;
    let description = f.str("description")?;
    let id = call.param("networkId");
    domain::update(app, &account, &dc.id, id, &name, description.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn release(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    domain::release(app, &account, &dc.id, call.param("networkId")).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
