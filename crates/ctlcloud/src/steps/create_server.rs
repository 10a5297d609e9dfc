//! Building a server: the driver builds it; the server becomes active and started, or failed.

use crate::app::App;
use crate::model::Job;
use crate::store::{servers, StoreResult, Tx};

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let server_id = job.server_id.as_deref().unwrap_or_default();
    match servers::get(app.store.reader(), job.account_id, server_id).await? {
        Some(server) => Ok(app.compute.build(&server).await),
        None => Ok(Err(format!("Server {server_id} no longer exists."))),
    }
}

/// The outcomes of builds: each server becomes active and started, or failed and stopped, with
/// one statement for each outcome.
pub async fn apply_all(tx: &mut Tx, builds: &[(&Job, &Result<(), String>)]) -> StoreResult<()> {
    let servers_where = |ok: bool| -> Vec<&str> {
        builds
            .iter()
            .filter(|(_, outcome)| outcome.is_ok() == ok)
            .map(|(job, _)| job.server_id.as_deref().unwrap_or_default())
            .collect()
    };
    let (built, failed) = (servers_where(true), servers_where(false));
    servers::set_state(tx, &built, "active", "started").await?;
    servers::set_state(tx, &failed, "failed", "stopped").await
}
