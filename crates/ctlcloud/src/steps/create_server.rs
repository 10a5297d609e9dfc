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

pub async fn apply(
    tx: &mut Tx,
    _app: &App,
    job: &Job,
    outcome: &Result<(), String>,
) -> StoreResult<()> {
    let server_id = job.server_id.as_deref().unwrap_or_default();
    let (status, power_state) = if outcome.is_ok() {
        ("active", "started")
    } else {
        ("failed", "stopped")
    };
    servers::set_state(tx, server_id, status, power_state).await
}
