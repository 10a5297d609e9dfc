//! The steps of queued work, one module per job kind. A job runs in two parts:
//!
//! - `perform`: the driver's work (build, power, snapshot…), outside any transaction. It must be
//!   harmless to run twice: a job whose worker died is run again when its lease expires.
//! - `apply`: what the outcome changes in the store, in the same transaction that records the
//!   job's status, so that a job never ends without its effect or has its effect without ending.

mod archive_group;
mod archive_server;
mod change_server;
mod claim_network;
mod create_server;
mod create_snapshot;
mod delete_group;
mod delete_server;
mod delete_snapshot;
mod expire_server;
mod power_operation;
mod public_ips;
mod restore_group;
mod restore_server;
mod revert_snapshot;
mod secondary_networks;
mod update_log_forwarding;

use std::collections::HashMap;

use crate::app::App;
use crate::model::{Job, JobKind, Server};
use crate::store::{StoreResult, Tx};

/// What the steps of jobs claimed together read together before they run: the servers of the
/// builds among them, by job id, so that a burst of builds costs one read rather than one each.
pub async fn read_ahead(app: &App, jobs: &[Job]) -> StoreResult<HashMap<i64, Server>> {
    create_server::read_servers(app, jobs).await
}

/// Runs a job's driver work. `Err` carries the message the queue reports for the failed job.
/// `read` is what [`read_ahead`] read for this job, if anything.
pub async fn perform(
    app: &App,
    job: &Job,
    read: Option<Server>,
) -> StoreResult<Result<(), String>> {
    match JobKind::parse(&job.kind) {
        Some(JobKind::CreateServer) => create_server::perform(app, job, read).await,
        Some(JobKind::DeleteServer) => delete_server::perform(app, job).await,
        Some(JobKind::PowerOperation) => power_operation::perform(app, job).await,
        Some(JobKind::ArchiveServer) => archive_server::perform(app, job).await,
        Some(JobKind::RestoreServer) => restore_server::perform(app, job).await,
        Some(JobKind::CreateSnapshot) => create_snapshot::perform(app, job).await,
        Some(JobKind::DeleteSnapshot) => delete_snapshot::perform(app, job).await,
        Some(JobKind::RevertSnapshot) => revert_snapshot::perform(app, job).await,
        Some(JobKind::ChangeServer) => change_server::perform(app, job).await,
        Some(kind @ (JobKind::AddPublicIp | JobKind::UpdatePublicIp | JobKind::RemovePublicIp)) => {
            public_ips::perform(app, kind, job).await
        }
        Some(kind @ (JobKind::AddSecondaryNetwork | JobKind::RemoveSecondaryNetwork)) => {
            secondary_networks::perform(app, kind, job).await
        }
        Some(JobKind::ExpireServer) => expire_server::perform(app, job).await,
        Some(JobKind::DeleteGroup) => delete_group::perform(app, job).await,
        Some(JobKind::ArchiveGroup) => archive_group::perform(app, job).await,
        Some(JobKind::RestoreGroup) => restore_group::perform(app, job).await,
        Some(JobKind::ClaimNetwork) => claim_network::perform(app, job).await,
        Some(JobKind::UpdateLogForwarding) => update_log_forwarding::perform(app, job).await,
        None => Ok(Err(format!(
            "ctlcloud does not know the job kind {}.",
            job.kind
        ))),
    }
}

/// Records the outcomes of finished jobs in the store, inside the transaction that ends them: the
/// builds of new servers together, a statement for each outcome, and every other job on its own
/// ([`apply`]). Their order does not matter: the jobs of one transaction never touch the same
/// server (a server's jobs run one at a time) nor, with work on a whole group, the same account
/// (a group's job runs alone in its account).
pub async fn apply_all(
    tx: &mut Tx,
    app: &App,
    finished: &[(&Job, &Result<(), String>)],
) -> StoreResult<()> {
    let (builds, others): (Vec<_>, Vec<_>) = finished
        .iter()
        .partition(|(job, _)| JobKind::parse(&job.kind) == Some(JobKind::CreateServer));
    create_server::apply_all(tx, &builds).await?;
    for (job, outcome) in others {
        apply(tx, app, job, outcome).await?;
    }
    Ok(())
}

/// Records a job's outcome in the store, inside the transaction that ends the job. Most kinds
/// change the store only when their work succeeded; the others record a failure too.
pub async fn apply(
    tx: &mut Tx,
    app: &App,
    job: &Job,
    outcome: &Result<(), String>,
) -> StoreResult<()> {
    match JobKind::parse(&job.kind) {
        Some(JobKind::CreateServer) => create_server::apply_all(tx, &[(job, outcome)]).await,
        Some(JobKind::DeleteServer) => delete_server::apply(tx, app, job, outcome).await,
        Some(JobKind::PowerOperation) => power_operation::apply(tx, app, job, outcome).await,
        Some(JobKind::ArchiveServer) => {
            if_succeeded(outcome, archive_server::apply(tx, app, job)).await
        }
        Some(JobKind::RestoreServer) => {
            if_succeeded(outcome, restore_server::apply(tx, app, job)).await
        }
        Some(JobKind::CreateSnapshot) => {
            if_succeeded(outcome, create_snapshot::apply(tx, app, job)).await
        }
        Some(JobKind::DeleteSnapshot) => delete_snapshot::apply(tx, app, job, outcome).await,
        Some(JobKind::RevertSnapshot) => {
            if_succeeded(outcome, revert_snapshot::apply(tx, app, job)).await
        }
        Some(JobKind::ChangeServer) => change_server::apply(tx, app, job, outcome).await,
        Some(kind @ (JobKind::AddPublicIp | JobKind::UpdatePublicIp | JobKind::RemovePublicIp)) => {
            public_ips::apply(tx, app, kind, job, outcome).await
        }
        Some(kind @ (JobKind::AddSecondaryNetwork | JobKind::RemoveSecondaryNetwork)) => {
            secondary_networks::apply(tx, app, kind, job, outcome).await
        }
        Some(JobKind::ExpireServer) => {
            if_succeeded(outcome, expire_server::apply(tx, app, job)).await
        }
        Some(JobKind::DeleteGroup) => {
            if_succeeded(outcome, delete_group::apply(tx, app, job)).await
        }
        Some(JobKind::ArchiveGroup) => {
            if_succeeded(outcome, archive_group::apply(tx, app, job)).await
        }
        Some(JobKind::RestoreGroup) => {
            if_succeeded(outcome, restore_group::apply(tx, app, job)).await
        }
        Some(JobKind::ClaimNetwork) => {
            if_succeeded(outcome, claim_network::apply(tx, app, job)).await
        }
        Some(JobKind::UpdateLogForwarding) => {
            if_succeeded(outcome, update_log_forwarding::apply(tx, app, job)).await
        }
        None => Ok(()),
    }
}

/// The effect of a job whose failure leaves the store as it was.
async fn if_succeeded(
    outcome: &Result<(), String>,
    effect: impl std::future::Future<Output = StoreResult<()>>,
) -> StoreResult<()> {
    if outcome.is_ok() {
        effect.await
    } else {
        Ok(())
    }
}
