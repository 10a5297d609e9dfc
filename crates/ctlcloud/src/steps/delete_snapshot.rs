//! Deleting a snapshot, asked for by a user (the job is on the server) or because it expired (the
//! job is on no server, so that its wait holds up nothing). A snapshot already gone is success.

use crate::app::App;
use crate::model::Job;
use crate::store::{servers, snapshots, StoreResult, Tx};

/// The snapshot a delete or revert job's payload names.
pub(super) fn snapshot_id(job: &Job) -> i64 {
    job.payload
        .get("snapshot")
        .and_then(|s| s.as_i64())
        .unwrap_or_default()
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    match snapshots::get(app.store.reader(), snapshot_id(job)).await? {
        Some(snapshot) => Ok(app.compute.delete_snapshot(&snapshot).await),
        None => Ok(Ok(())),
    }
}

pub async fn apply(
    tx: &mut Tx,
    app: &App,
    job: &Job,
    outcome: &Result<(), String>,
) -> StoreResult<()> {
    let Some(snapshot) = snapshots::get(&mut *tx, snapshot_id(job)).await? else {
        return Ok(());
    };
    if outcome.is_err() {
        // The snapshot stays, and may be deleted again.
        if snapshot.delete_job == Some(job.id) {
            snapshots::set_delete_job(tx, snapshot.id, None).await?;
        }
        return Ok(());
    }
    snapshots::delete(tx, snapshot.id).await?;
    if job.server_id.is_some() {
        servers::touch(tx, &snapshot.server_id, app.clock.now(), &job.requested_by).await?;
    }
    Ok(())
}
