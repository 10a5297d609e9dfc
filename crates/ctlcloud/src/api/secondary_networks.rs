//! Secondary network adapters of a server: add and remove, answered in the experimental API's
//! style `{operationId, uri}`.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::domain::secondary_networks as domain;
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::model::parse_ipv4;

use super::queue::experimental_operation;

/// `POST …/networks` with `{networkId, ipAddress?}`.
pub async fn add(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let fields = Fields::of(&body)?;
    let network_id = fields.required_str("networkId")?;
    let address = match fields.str("ipAddress")? {
        Some(text) => Some(parse_ipv4(&text).ok_or_else(|| {
            ApiError::invalid("ipAddress", format!("'{text}' is not an IPv4 address."))
        })?),
        None => None,
    };
    let job = domain::add(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        &network_id,
        address,
    )
    .await?;
    reply(
        StatusCode::ACCEPTED,
        &experimental_operation(&account.alias, &job),
    )
}

/// `DELETE …/networks/{networkId}`.
pub async fn remove(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let job = domain::remove(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        call.param("networkId"),
    )
    .await?;
    reply(
        StatusCode::ACCEPTED,
        &experimental_operation(&account.alias, &job),
    )
}
