//! Operations on servers: power and maintenance mode, archive (`POST
//! /v2/operations/{alias}/servers/{op}`, one answer per requested server), and restoring an
//! archived server.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::app::App;
use crate::domain::operations::{self, Entry, Outcome, ALREADY_THERE};
use crate::domain::power::Operation;
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::wire;

use super::queue::status_link;

/// The most servers one request may name.
const MAX_SERVERS: usize = 1000;

/// Answers a request about many servers with one entry per server, in request order: 202 when
/// anything was queued; 200 when every server already was in the desired state; otherwise 400
/// with the same array, which is how clients learn that nothing could be queued.
pub(super) fn answer(alias: &str, entries: Vec<Entry>) -> ApiResult<Response> {
    let queued = entries
        .iter()
        .any(|e| matches!(e.outcome, Outcome::Queued(_)));
    let refused = entries
        .iter()
        .any(|e| matches!(e.outcome, Outcome::Refused(_)));
    let status = match (queued, refused) {
        (true, _) => StatusCode::ACCEPTED,
        (false, true) => StatusCode::BAD_REQUEST,
        (false, false) => StatusCode::OK,
    };
    let body: Vec<wire::ServerOperation> = entries
        .into_iter()
        .map(|Entry { server, outcome }| {
            let (is_queued, links, error_message) = match outcome {
                Outcome::Queued(job) => (true, vec![status_link(alias, &job)], None),
                Outcome::AlreadyThere => (false, Vec::new(), Some(ALREADY_THERE.to_owned())),
                Outcome::Refused(reason) => (false, Vec::new(), Some(reason)),
            };
            wire::ServerOperation {
                server,
                is_queued,
                links,
                error_message,
            }
        })
        .collect();
    reply(status, &body)
}

/// A list of server ids, as `field` of a body: strings, at least one, at most [`MAX_SERVERS`].
pub(super) fn server_ids(field: &str, items: Vec<&Value>) -> ApiResult<Vec<String>> {
    if items.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("{field} must name at least one server."),
        ));
    }
    if items.len() > MAX_SERVERS {
        return Err(ApiError::invalid(
            field,
            format!("{field} may name at most {MAX_SERVERS} servers."),
        ));
    }
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(ApiError::invalid(
                field,
                format!("{field} is a list of server ids (strings), not {v}."),
            )),
        })
        .collect()
}

/// The server ids of a power or archive request: a bare JSON array, as clients send it (an object
/// with `serverIds`, as the docs label it, is accepted too).
fn requested_servers(body: &Value) -> ApiResult<Vec<String>> {
    match body {
        Value::Array(items) => server_ids("serverIds", items.iter().collect()),
        Value::Object(_) => server_ids("serverIds", Fields::of(body)?.list("serverIds")),
        _ => Err(ApiError::invalid(
            "serverIds",
            "The body must be a JSON array of server ids.",
        )),
    }
}

/// `pause`, `powerOn`, `powerOff`, `reboot`, `reset`, `shutDown`, `startMaintenance`,
/// `stopMaintenance` and `archive`: the operation is the last segment of the endpoint's path.
pub async fn operate(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let path = call.matched.endpoint.path;
    let op = path
        .rsplit('/')
        .next()
        .and_then(Operation::parse)
        .ok_or_else(|| ApiError::internal(format!("no operation for {path}")))?;
    let ids = requested_servers(&call.body()?)?;
    let requests = ids.into_iter().map(|id| (id, op)).collect();
    let entries = operations::queue(app, call.principal(), &account, requests).await?;
    answer(&account.alias, entries)
}

/// `setMaintenance`: `{servers: [{id, inMaintenanceMode}]}`.
pub async fn set_maintenance(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let items = Fields::of(&body)?.list("servers");
    if items.is_empty() || items.len() > MAX_SERVERS {
        return Err(ApiError::invalid(
            "servers",
            format!("servers must list 1 to {MAX_SERVERS} servers as {{id, inMaintenanceMode}}."),
        ));
    }
    let requests = items
        .into_iter()
        .map(|item| {
            let item = Fields::of(item).map_err(|_| {
                ApiError::invalid(
                    "servers",
                    "Each of servers is an object {id, inMaintenanceMode}.",
                )
            })?;
            let id = item.required_str("id")?;
            let on = item.bool("inMaintenanceMode")?.ok_or_else(|| {
                ApiError::invalid(
                    "inMaintenanceMode",
                    "inMaintenanceMode is required (true or false).",
                )
            })?;
            let op = if on {
                Operation::StartMaintenance
            } else {
                Operation::StopMaintenance
            };
            Ok((id, op))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let entries = operations::queue(app, call.principal(), &account, requests).await?;
    answer(&account.alias, entries)
}

/// `POST /v2/servers/{alias}/{serverId}/restore` `{targetGroupId}`: a bare status link.
pub async fn restore(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let target = Fields::of(&body)?.required_str("targetGroupId")?;
    let job = operations::restore(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        &target,
    )
    .await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}
