//! Restoring an archived server: it leaves the Archive group for the requested group of its data
//! center, active and started.

use crate::app::App;
use crate::domain::power::Operation;
use crate::model::Job;
use crate::store::{groups, StoreResult, Tx};

/// The target group the job's payload names.
fn target(job: &Job) -> &str {
    job.payload
        .get("groupId")
        .and_then(|g| g.as_str())
        .unwrap_or_default()
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let group = groups::get(app.store.reader(), job.account_id, target(job)).await?;
    if group.is_none_or(|g| g.dc != job.dc || g.kind == "archive") {
        return Ok(Err(format!(
            "The group {} to restore into no longer exists.",
            target(job)
        )));
    }
    super::power_operation::operate(app, job, Operation::Restore).await
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    // Should the group have gone since `perform`, the foreign key refuses the move and the job
    // runs again, to fail in `perform`.
    super::power_operation::record(tx, app, job, Operation::Restore, Some(target(job))).await
}
