//! Taking a snapshot: the driver snapshots the machine, then the snapshot is recorded with the
//! server's size, disks and power state, and its expiry is scheduled.

use crate::app::App;
use crate::domain::snapshots;
use crate::model::{Job, Snapshot};
use crate::store::{self, servers, StoreError, StoreResult, Tx};

fn days(job: &Job) -> i64 {
    job.payload
        .get("expirationDays")
        .and_then(|d| d.as_i64())
        .unwrap_or(*snapshots::EXPIRATION_DAYS.end())
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let server = match super::power_operation::server(app, job).await? {
        Ok(s) => s,
        Err(gone) => return Ok(Err(gone)),
    };
    if let Err(reason) = snapshots::check(&server) {
        return Ok(Err(reason));
    }
    if let Some(existing) = snapshots::live(app.store.reader(), &server.id).await? {
        return Ok(Err(format!(
            "Server {} already has a snapshot ({}): a server keeps one snapshot at a time.",
            server.id,
            snapshots::name(existing.taken_at)
        )));
    }
    Ok(app.compute.take_snapshot(&server).await)
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    let id = job.server_id.as_deref().unwrap_or_default();
    let Some(server) = servers::get(&mut *tx, job.account_id, id).await? else {
        return Ok(());
    };
    if snapshots::live(&mut *tx, &server.id).await?.is_some() {
        return Err(StoreError(format!(
            "job {} found a snapshot of {} recorded since it started; it runs again",
            job.id, server.id
        )));
    }
    let now = app.clock.now();
    let snapshot = store::snapshots::insert(
        tx,
        &Snapshot {
            id: 0,
            server_id: server.id.clone(),
            taken_at: now,
            expires_at: now + days(job) * 86_400,
            cpu: server.cpu,
            memory_mb: server.memory_mb,
            disks: server.disks.clone(),
            power_state: server.power_state.clone(),
            delete_job: None,
        },
    )
    .await?;
    snapshots::schedule_expiry(tx, job, &snapshot, now).await?;
    servers::touch(tx, &server.id, now, &job.requested_by).await
}
