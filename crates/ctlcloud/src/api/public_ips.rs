//! Public IP addresses of a server: add, read, replace and remove. Changes are queued and answer
//! one status link each.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::domain::public_ips::{self as domain, Requested};
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::model::{ipv4, parse_ipv4, PublicIp};
use crate::wire;

use super::queue::status_link;

/// Reads `{internalIPAddress?, ports, sourceRestrictions?}`.
fn requested(call: &Call) -> ApiResult<Requested> {
    let body = call.body()?;
    let fields = Fields::of(&body)?;
    let internal = match fields.str("internalIPAddress")? {
        Some(text) => Some(parse_ipv4(&text).ok_or_else(|| {
            ApiError::invalid(
                "internalIPAddress",
                format!("'{text}' is not an IPv4 address."),
            )
        })?),
        None => None,
    };
    Ok(Requested {
        internal,
        ports: domain::parse_ports(&fields.list("ports"))?,
        source_restrictions: domain::parse_source_restrictions(&fields.list("sourceRestrictions"))?,
    })
}

/// The wire shape of an address: `sourceRestrictions` is always there, empty for any source.
pub fn present(ip: &PublicIp) -> wire::PublicIpAddress {
    wire::PublicIpAddress {
        internal_ip_address: ipv4(ip.settings.internal),
        ports: ip
            .settings
            .ports
            .iter()
            .map(|p| wire::PublicIpPort {
                protocol: p.protocol.clone(),
                port: p.port,
                port_to: p.port_to,
            })
            .collect(),
        source_restrictions: ip
            .settings
            .source_restrictions
            .iter()
            .map(|cidr| wire::SourceRestriction { cidr: cidr.clone() })
            .collect(),
    }
}

pub async fn add(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let requested = requested(call)?;
    let job = domain::add(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        requested,
    )
    .await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}

pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let ip = domain::get(
        app,
        &account,
        call.param("serverId"),
        call.param("publicIP"),
    )
    .await?;
    reply(StatusCode::OK, &present(&ip))
}

pub async fn update(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let requested = requested(call)?;
    let job = domain::update(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        call.param("publicIP"),
        requested,
    )
    .await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}

pub async fn remove(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let job = domain::remove(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        call.param("publicIP"),
    )
    .await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}
