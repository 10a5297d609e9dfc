//! Reverting a server to its snapshot: size, disks and power state come back as they were when
//! the snapshot was taken, and the snapshot is kept.

use crate::app::App;
use crate::domain::power::require_active;
use crate::model::Job;
use crate::store::{servers, snapshots, StoreError, StoreResult, Tx};

use super::delete_snapshot::snapshot_id;

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let server = match super::power_operation::server(app, job).await? {
        Ok(s) => s,
        Err(gone) => return Ok(Err(gone)),
    };
    if let Err(reason) = require_active(&server, "a revert to a snapshot") {
        return Ok(Err(reason));
    }
    let snapshot = snapshots::get(app.store.reader(), snapshot_id(job))
        .await?
        .filter(|s| s.server_id == server.id);
    match snapshot {
        Some(snapshot) => Ok(app.compute.revert_snapshot(&server, &snapshot).await),
        None => Ok(Err(format!(
            "Snapshot {} of server {} no longer exists.",
            snapshot_id(job),
            server.id
        ))),
    }
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    let id = job.server_id.as_deref().unwrap_or_default();
    let snapshot = snapshots::get(&mut *tx, snapshot_id(job))
        .await?
        .filter(|s| s.server_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            // Expired while the driver worked: run again, and fail in `perform`.
            StoreError(format!(
                "job {} found snapshot {} gone before it could record the revert; it runs again",
                job.id,
                snapshot_id(job)
            ))
        })?;
    servers::revert_to(
        tx,
        &snapshot.server_id,
        &snapshot,
        &job.requested_by,
        app.clock.now(),
    )
    .await
}
