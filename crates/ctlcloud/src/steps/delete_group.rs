//! Deleting a group: the driver removes every server below it; then the servers and the groups go.

use crate::app::App;
use crate::model::Job;
use crate::store::{self, groups, servers, StoreResult, Tx};

fn group_id(job: &Job) -> &str {
    job.payload["groupId"].as_str().unwrap_or_default()
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let pool = app.store.reader();
    for id in groups::servers_in_subtree(pool, group_id(job)).await? {
        // A server gone already (deleted on its own, or by an earlier try) needs nothing more.
        if let Some(server) = servers::get(pool, job.account_id, &id).await? {
            if let Err(e) = app.compute.destroy(&server).await {
                return Ok(Err(e));
            }
        }
    }
    Ok(Ok(()))
}

pub async fn apply(tx: &mut Tx, _app: &App, job: &Job) -> StoreResult<()> {
    // Creates into the group wait, and then find it gone.
    store::lock(tx, store::Lock::Account(job.account_id)).await?;
    // Whatever is below the group now goes with it, including a server accepted into it while
    // the driver was working: the group cannot be removed while anything is left in it.
    for id in groups::servers_in_subtree(&mut *tx, group_id(job)).await? {
        servers::delete(tx, &id).await?;
    }
    for id in groups::subtree(tx, group_id(job)).await? {
        groups::delete(tx, &id).await?;
    }
    Ok(())
}
