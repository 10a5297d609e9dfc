//! The queue: the status of accepted work, under `/v2` and `/v2-experimental`.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::model::{Job, JobKind, JobStatus};
use crate::store::jobs;
use crate::wire::{self, Link};

/// The status link clients follow for a job.
pub fn status_link(alias: &str, job: &Job) -> Link {
    let id = job.status_id();
    Link::new("status", format!("/v2/operations/{alias}/status/{id}")).id(id)
}

/// The reference to a job in the experimental API's style (`{operationId, uri}`), followed at
/// `/v2-experimental/operations/{alias}/status/{operationId}`.
pub fn experimental_operation(alias: &str, job: &Job) -> wire::ExperimentalOperation {
    wire::ExperimentalOperation {
        uri: format!(
            "/v2-experimental/operations/{alias}/status/{}",
            job.operation_id
        ),
        operation_id: job.operation_id.clone(),
    }
}

/// Finds a job by its status id (`wa1-123`) or its 32-hex operation id.
async fn find(app: &App, account_id: i64, id: &str) -> ApiResult<Option<Job>> {
    if crate::ids::is_hex32(id) {
        return Ok(app.store.job(account_id, jobs::Id::Operation(id)).await?);
    }
    let parsed = id
        .rsplit_once('-')
        .and_then(|(dc, n)| Some((dc, n.parse::<i64>().ok()?)));
    let Some((dc, number)) = parsed else {
        return Ok(None);
    };
    Ok(app
        .store
        .job(account_id, jobs::Id::Number(number))
        .await?
        .filter(|j| j.dc.eq_ignore_ascii_case(dc)))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No queued operation has the id {id}."))
}

pub async fn status(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let id = call.param("statusId");
    let job = find(app, account.id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    reply(
        StatusCode::OK,
        &wire::Status {
            status: job.status.as_str(),
            error_message: job.error_message,
        },
    )
}

pub async fn experimental_status(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let id = call.param("operationId");
    let job = find(app, account.id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let status = match job.status {
        JobStatus::NotStarted | JobStatus::Executing => "running",
        JobStatus::Succeeded => "succeeded",
        JobStatus::Failed => "failed",
    };
    let links = match (JobKind::parse(&job.kind), &job.server_id, job.status) {
        // A claimed network: Ansible follows `summary.links[0].href` to it.
        (Some(JobKind::ClaimNetwork), _, JobStatus::Succeeded) => {
            let id = job.payload["networkId"].as_str().unwrap_or_default();
            vec![Link::new(
                "network",
                format!(
                    "/v2-experimental/networks/{}/{}/{id}",
                    account.alias, job.dc
                ),
            )
            .id(id)]
        }
        (_, Some(server), JobStatus::Succeeded) => {
            vec![Link::new(
                "server",
                format!("/v2/servers/{}/{}", account.alias, server.to_lowercase()),
            )
            .id(server.clone())]
        }
        _ => Vec::new(),
    };
    reply(
        StatusCode::OK,
        &wire::ExperimentalStatus {
            request_type: "blueprintOperation",
            status,
            summary: wire::ExperimentalSummary {
                blueprint_id: job.id,
                location_id: job.dc.clone(),
                links,
            },
            source: wire::ExperimentalSource {
                user_name: job.requested_by.clone(),
                requested_at: crate::clock::format_utc(job.created_at),
            },
            error_message: job.error_message,
        },
    )
}
