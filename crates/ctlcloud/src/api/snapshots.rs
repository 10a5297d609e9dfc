//! Snapshots: taking them (`createSnapshot`, one answer per requested server), deleting one and
//! reverting to one (each a bare status link).

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::domain::snapshots::{self, EXPIRATION_DAYS};
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::model::Snapshot;
use crate::wire::{self, Link};

use super::operations::{answer, server_ids};
use super::queue::status_link;

/// `{snapshotExpirationDays, serverIds}`; the Python SDK sends a form with a single `serverIds`.
pub async fn create(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let fields = Fields::of(&body)?;
    let days = fields
        .int_in("snapshotExpirationDays", EXPIRATION_DAYS)?
        .ok_or_else(|| {
            ApiError::invalid(
                "snapshotExpirationDays",
                "snapshotExpirationDays is required (1 to 10).",
            )
        })?;
    let ids = server_ids("serverIds", fields.list("serverIds"))?;
    let entries = snapshots::create(app, call.principal(), &account, ids, days).await?;
    answer(&account.alias, entries)
}

pub async fn delete(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let job = snapshots::delete(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        call.param("snapshotId"),
    )
    .await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}

pub async fn revert(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let job = snapshots::revert(
        app,
        call.principal(),
        &account,
        call.param("serverId"),
        call.param("snapshotId"),
    )
    .await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}

/// A snapshot as a server's `details.snapshots` lists it: clients follow its `delete` and
/// `restore` links rather than building the paths.
pub fn present(alias: &str, snapshot: &Snapshot) -> wire::Snapshot {
    let href = format!(
        "/v2/servers/{alias}/{}/snapshots/{}",
        snapshot.server_id, snapshot.id
    );
    wire::Snapshot {
        name: snapshots::name(snapshot.taken_at),
        links: vec![
            Link::new("self", href.clone()),
            Link::new("delete", href.clone()),
            Link::new("restore", format!("{href}/restore")),
        ],
    }
}
