//! Deleting a server: the driver removes its machine; the server goes, and its private and public
//! addresses return to their networks and pools.

use crate::app::App;
use crate::model::Job;
use crate::store::{self, public_ips, servers, StoreResult, Tx};

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let server_id = job.server_id.as_deref().unwrap_or_default();
    match servers::get(app.store.reader(), job.account_id, server_id).await? {
        Some(server) => Ok(app.compute.destroy(&server).await),
        // Deleted already: a retried delete has nothing left to do.
        None => Ok(Ok(())),
    }
}

pub async fn apply(
    tx: &mut Tx,
    _app: &App,
    job: &Job,
    outcome: &Result<(), String>,
) -> StoreResult<()> {
    if outcome.is_ok() {
        // A new adapter's address for the server, taken under the account's lock, is committed
        // by the time the lock is held here, and goes with the server's others.
        store::lock(tx, store::Lock::Account(job.account_id)).await?;
        let server_id = job.server_id.as_deref().unwrap_or_default();
        public_ips::release_server(tx, server_id).await?;
        servers::delete(tx, server_id).await?;
    }
    Ok(())
}
