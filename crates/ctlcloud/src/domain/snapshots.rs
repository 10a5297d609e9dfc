//! Snapshots: taking them (one per server at a time, as clients assume), reverting to them,
//! deleting them, and their expiry.
//!
//! A snapshot records the server's cpu, memory, disks and power state when its job runs; a revert
//! brings those back and keeps the snapshot. A snapshot being deleted no longer counts against
//! the one-per-server rule, so the Python SDK's "delete the old one, then take a new one" works
//! without waiting: the new snapshot's job runs after the delete's.

use serde_json::json;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{Account, Job, JobKind, Principal, Server, Snapshot};
use crate::store::{jobs, servers, snapshots, StoreResult, Tx};

use super::operations::{admit, commit, queue_job, Admission, Entry, Outcome, NOT_QUEUED};
use super::power::require_active;

/// Days a snapshot may be kept.
pub const EXPIRATION_DAYS: std::ops::RangeInclusive<i64> = 1..=10;
/// The largest standard server that can be snapshotted, in GB of storage.
const MAX_STANDARD_STORAGE_GB: i64 = 1024;

/// A snapshot's name: the time it was taken, `YYYY-MM-DD.HH:MM:SS` (UTC).
pub fn name(taken_at: i64) -> String {
    let stamp = crate::clock::format_utc(taken_at);
    stamp.trim_end_matches('Z').replacen('T', ".", 1)
}

/// Whether a server can be snapshotted as it is, and why not.
pub fn check(server: &Server) -> Result<(), String> {
    require_active(server, "a snapshot")?;
    let storage: i64 = server.disks.iter().map(|d| d.size_gb).sum();
    if server.server_type == "standard" && storage > MAX_STANDARD_STORAGE_GB {
        return Err(format!(
            "Server {} has {storage} GB of storage: snapshots of standard servers are limited to {MAX_STANDARD_STORAGE_GB} GB.",
            server.id
        ));
    }
    Ok(())
}

/// The snapshot a server keeps, if any: one that is not being deleted.
pub async fn live(
    conn: impl Into<crate::store::db::Exec<'_>>,
    server_id: &str,
) -> StoreResult<Option<Snapshot>> {
    Ok(snapshots::of_server(conn, server_id)
        .await?
        .into_iter()
        .find(|s| s.delete_job.is_none()))
}

/// Why a server cannot take another snapshot now, if it cannot.
async fn one_at_a_time(tx: &mut Tx, server: &Server) -> StoreResult<Option<String>> {
    if let Some(s) = live(&mut *tx, &server.id).await? {
        return Ok(Some(format!(
            "Server {} already has a snapshot ({}): a server keeps one snapshot at a time, so delete it first.",
            server.id,
            name(s.taken_at)
        )));
    }
    if jobs::open_for_server(tx, &server.id, JobKind::CreateSnapshot)
        .await?
        .is_some()
    {
        return Ok(Some(format!(
            "A snapshot of server {} is already being taken: a server keeps one snapshot at a time.",
            server.id
        )));
    }
    Ok(None)
}

/// Queues a snapshot of each requested server, kept for `days` days.
pub async fn create(
    app: &App,
    who: &Principal,
    account: &Account,
    server_ids: Vec<String>,
    days: i64,
) -> ApiResult<Vec<Entry>> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut entries = Vec::with_capacity(server_ids.len());
    for id in server_ids {
        let Some(server) = servers::get(&mut tx, account.id, &id).await? else {
            entries.push(Entry {
                server: id.to_lowercase(),
                outcome: Outcome::Refused(NOT_QUEUED.into()),
            });
            continue;
        };
        let verdict = check(&server).map(|()| true);
        let outcome = match admit(&mut tx, &server, now, verdict).await? {
            Admission::Refused(reason) => Outcome::Refused(reason),
            Admission::Run | Admission::AlreadyThere => {
                match one_at_a_time(&mut tx, &server).await? {
                    Some(reason) => Outcome::Refused(reason),
                    None => Outcome::Queued(
                        queue_job(
                            &mut tx,
                            who,
                            &server,
                            JobKind::CreateSnapshot,
                            json!({"expirationDays": days}),
                            now,
                        )
                        .await?,
                    ),
                }
            }
        };
        entries.push(Entry {
            server: server.id.to_lowercase(),
            outcome,
        });
    }
    commit(app, tx, entries).await
}

/// The server and snapshot named in a path, or 404.
async fn find(
    tx: &mut Tx,
    account: &Account,
    server_id: &str,
    snapshot_id: &str,
) -> ApiResult<(Server, Snapshot)> {
    let server = servers::get(&mut *tx, account.id, server_id)
        .await?
        .ok_or_else(|| super::servers::not_found(server_id))?;
    let not_found = || {
        ApiError::not_found(format!(
            "Server {} has no snapshot {snapshot_id}.",
            server.id
        ))
    };
    let n: i64 = snapshot_id.trim().parse().map_err(|_| not_found())?;
    let snapshot = snapshots::get(&mut *tx, n)
        .await?
        .filter(|s| s.server_id == server.id)
        .ok_or_else(not_found)?;
    Ok((server, snapshot))
}

/// Queues the deletion of a snapshot. Asking again while it is queued answers the same job.
pub async fn delete(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    snapshot_id: &str,
) -> ApiResult<Job> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let (server, snapshot) = find(&mut tx, account, server_id, snapshot_id).await?;
    if let Some(id) = snapshot.delete_job {
        if let Some(job) = jobs::get_in_tx(&mut tx, id).await? {
            return Ok(job);
        }
    }
    let job = queue_job(
        &mut tx,
        who,
        &server,
        JobKind::DeleteSnapshot,
        json!({"snapshot": snapshot.id}),
        now,
    )
    .await?;
    snapshots::set_delete_job(&mut tx, snapshot.id, Some(job.id)).await?;
    tx.commit().await?;
    app.wake_workers();
    Ok(job)
}

/// Queues reverting a server to one of its snapshots.
pub async fn revert(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    snapshot_id: &str,
) -> ApiResult<Job> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let (server, snapshot) = find(&mut tx, account, server_id, snapshot_id).await?;
    if snapshot.delete_job.is_some() {
        return Err(ApiError::bad_request(format!(
            "Snapshot {} of server {} is being deleted.",
            snapshot.id, server.id
        )));
    }
    let verdict = require_active(&server, "a revert to a snapshot").map(|()| true);
    if let Admission::Refused(reason) = admit(&mut tx, &server, now, verdict).await? {
        return Err(ApiError::bad_request(reason));
    }
    let job = queue_job(
        &mut tx,
        who,
        &server,
        JobKind::RevertSnapshot,
        json!({"snapshot": snapshot.id}),
        now,
    )
    .await?;
    tx.commit().await?;
    app.wake_workers();
    Ok(job)
}

/// Schedules the deletion of a snapshot when it expires. The job is tied to no server, so that
/// waiting for its time never holds up the server's other work.
pub async fn schedule_expiry(
    tx: &mut Tx,
    taken_by: &Job,
    snapshot: &Snapshot,
    now: i64,
) -> StoreResult<Job> {
    jobs::insert(
        tx,
        jobs::NewJob {
            account_id: taken_by.account_id,
            dc: &taken_by.dc,
            kind: JobKind::DeleteSnapshot,
            server_id: None,
            payload: json!({"snapshot": snapshot.id}),
            requested_by: &taken_by.requested_by,
            run_after: snapshot.expires_at,
        },
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_time_taken() {
        assert_eq!(name(1_425_416_100), "2015-03-03.20:55:00");
        assert_eq!(name(0), "1970-01-01.00:00:00");
    }
}
