//! Queued work on a whole group: delete, archive and restore.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::domain::group_actions;
use crate::http::body::Fields;
use crate::http::error::ApiResult;
use crate::http::{reply, Call};
use crate::wire::{self, Link};

use super::queue::status_link;

/// `DELETE /v2/groups/{alias}/{id}`: a bare status link.
pub async fn delete(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let job = group_actions::delete(app, call.principal(), &account, call.param("groupId")).await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}

/// `POST …/{id}/archive`: a bare status link. Go's client sends `""` as the body; any body is
/// ignored.
pub async fn archive(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let job =
        group_actions::archive(app, call.principal(), &account, call.param("groupId")).await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}

/// `POST …/{id}/restore` `{targetGroupId}`: `{isQueued, links: [self, status]}`.
pub async fn restore(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let target = Fields::of(&body)?.required_str("targetGroupId")?;
    let id = call.param("groupId");
    let job = group_actions::restore(app, call.principal(), &account, id, &target).await?;
    let alias = &account.alias;
    let group_id = job.payload["groupId"].as_str().unwrap_or(id);
    reply(
        StatusCode::ACCEPTED,
        &wire::GroupOperation {
            is_queued: true,
            links: vec![
                Link::new(
                    "self",
                    format!(
                        "/v2/groups/{alias}/{group_id}?AccountAlias={alias}&identifier={group_id}"
                    ),
                ),
                status_link(alias, &job),
            ],
            error_message: None,
        },
    )
}
