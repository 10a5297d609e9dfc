//! Queueing operations on servers: power and maintenance mode, archive and restore.
//!
//! A request naming many servers gets one job per server, or one reason per server why not, and
//! one transaction holds them all, so that a 202 means every queued job is durable. A server
//! still being built refuses operations. A server with unfinished work takes any operation: it
//! runs after that work, and its job checks it against the server as it is by then.

use serde_json::json;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{Account, Job, JobKind, Principal, Server};
use crate::store::{groups, jobs, servers, StoreResult, Tx};

use super::power::{self, Operation, Transition};

/// The message for a server id the caller cannot see, as the public cloud words it.
pub const NOT_QUEUED: &str =
    "The operation cannot be queued because the server cannot be found or it is not in a valid state.";
/// The message for an operation that has nothing to do; clients take it as success.
pub const ALREADY_THERE: &str = "The server already in desired state.";

/// What became of one server of a request.
pub enum Outcome {
    Queued(Job),
    /// The server already is where the operation would take it.
    AlreadyThere,
    /// Not queued, and why.
    Refused(String),
}

/// One server of a request: its id as the answer shows it (lower case), and its outcome.
pub struct Entry {
    pub server: String,
    pub outcome: Outcome,
}

/// Whether work asked for on a server is accepted now.
pub(super) enum Admission {
    Run,
    AlreadyThere,
    Refused(String),
}

/// Decides about work on a server at request time, given the verdict of its rules on the server
/// as stored (`Ok(true)`: something to do). A server still being built is refused whatever else
/// is queued; otherwise unfinished work on the server defers the verdict to the job.
pub(super) async fn admit(
    tx: &mut Tx,
    server: &Server,
    now: i64,
    verdict: Result<bool, String>,
) -> StoreResult<Admission> {
    if server.status != "underConstruction" && jobs::server_busy(tx, &server.id, now).await? {
        return Ok(Admission::Run);
    }
    Ok(match verdict {
        Ok(true) => Admission::Run,
        Ok(false) => Admission::AlreadyThere,
        Err(reason) => Admission::Refused(reason),
    })
}

/// Queues a job on a server, in the caller's transaction.
pub(super) async fn queue_job(
    tx: &mut Tx,
    who: &Principal,
    server: &Server,
    kind: JobKind,
    payload: serde_json::Value,
    now: i64,
) -> StoreResult<Job> {
    jobs::insert(
        tx,
        jobs::NewJob {
            account_id: server.account_id,
            dc: &server.dc,
            kind,
            server_id: Some(&server.id),
            payload,
            requested_by: &who.username,
            run_after: 0,
        },
        now,
    )
    .await
}

/// The rules' verdict on an operation: `Ok(true)` when it has something to do.
fn verdict(server: &Server, op: Operation) -> Result<bool, String> {
    power::transition(server, op).map(|t| t != Transition::AlreadyThere)
}

/// Queues power, maintenance-mode or archive operations, one per requested server, in order.
pub async fn queue(
    app: &App,
    who: &Principal,
    account: &Account,
    requests: Vec<(String, Operation)>,
) -> ApiResult<Vec<Entry>> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut entries = Vec::with_capacity(requests.len());
    for (id, op) in requests {
        let Some(server) = servers::get(&mut tx, account.id, &id).await? else {
            entries.push(Entry {
                server: id.to_lowercase(),
                outcome: Outcome::Refused(NOT_QUEUED.into()),
            });
            continue;
        };
        let outcome = match admit(&mut tx, &server, now, verdict(&server, op)).await? {
            Admission::Run => {
                let (kind, payload) = match op {
                    Operation::Archive => (JobKind::ArchiveServer, serde_json::Value::Null),
                    _ => (JobKind::PowerOperation, json!({"operation": op.as_str()})),
                };
                Outcome::Queued(queue_job(&mut tx, who, &server, kind, payload, now).await?)
            }
            Admission::AlreadyThere => Outcome::AlreadyThere,
            Admission::Refused(reason) => Outcome::Refused(reason),
        };
        entries.push(Entry {
            server: server.id.to_lowercase(),
            outcome,
        });
    }
    commit(app, tx, entries).await
}

/// Commits the jobs of a many-server request, then wakes the workers if any was queued.
pub(super) async fn commit(app: &App, tx: Tx, entries: Vec<Entry>) -> ApiResult<Vec<Entry>> {
    tx.commit().await?;
    if entries
        .iter()
        .any(|e| matches!(e.outcome, Outcome::Queued(_)))
    {
        app.wake_workers();
    }
    Ok(entries)
}

/// Queues bringing an archived server back into a group of its data center.
pub async fn restore(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    target_group_id: &str,
) -> ApiResult<Job> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let server = servers::get(&mut tx, account.id, server_id)
        .await?
        .ok_or_else(|| super::servers::not_found(server_id))?;
    let group = groups::get(&mut tx, account.id, target_group_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "targetGroupId",
                format!(
                    "There is no group {target_group_id} in account {}.",
                    account.alias
                ),
            )
        })?;
    if group.dc != server.dc {
        return Err(ApiError::invalid(
            "targetGroupId",
            format!(
                "Group {} is in {}, and server {} is in {}: a server is restored into its own data center.",
                group.id, group.dc, server.id, server.dc
            ),
        ));
    }
    if group.kind == "archive" {
        return Err(ApiError::invalid(
            "targetGroupId",
            "A server is restored out of the Archive group, not into it.",
        ));
    }
    match admit(&mut tx, &server, now, verdict(&server, Operation::Restore)).await? {
        Admission::Run => {}
        Admission::AlreadyThere => {
            return Err(ApiError::bad_request(format!(
                "Server {} is not archived.",
                server.id
            )))
        }
        Admission::Refused(reason) => return Err(ApiError::bad_request(reason)),
    }
    let job = queue_job(
        &mut tx,
        who,
        &server,
        JobKind::RestoreServer,
        json!({"groupId": group.id}),
        now,
    )
    .await?;
    tx.commit().await?;
    app.wake_workers();
    Ok(job)
}
