//! Archiving a server: it is stopped and moved to the account's Archive group of its data center.

use crate::app::App;
use crate::domain::power::Operation;
use crate::model::Job;
use crate::store::{groups, StoreError, StoreResult, Tx};

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    if groups::archive(app.store.reader(), job.account_id, &job.dc)
        .await?
        .is_none()
    {
        return Ok(Err(format!(
            "The account has no Archive group in {}.",
            job.dc
        )));
    }
    super::power_operation::operate(app, job, Operation::Archive).await
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    let archive = groups::archive(&mut *tx, job.account_id, &job.dc)
        .await?
        .ok_or_else(|| StoreError(format!("the Archive group of {} is gone", job.dc)))?;
    super::power_operation::record(tx, app, job, Operation::Archive, Some(&archive.id)).await
}
