//! Archiving a group: it moves under its data center's `Archive` group, and it, the groups below
//! it and their servers become archived (servers stopped).

use crate::app::App;
use crate::model::Job;
use crate::store::{self, groups, servers, StoreResult, Tx};

fn group_id(job: &Job) -> &str {
    job.payload["groupId"].as_str().unwrap_or_default()
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let id = group_id(job);
    Ok(
        match groups::get(app.store.reader(), job.account_id, id).await? {
            Some(_) => Ok(()),
            None => Err(format!("Group {id} no longer exists.")),
        },
    )
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    // Creates into the group wait, so that none lands in it unarchived.
    store::lock(tx, store::Lock::Account(job.account_id)).await?;
    let Some(mut group) = groups::get(&mut *tx, job.account_id, group_id(job)).await? else {
        return Ok(());
    };
    // Archived already: a retried job has nothing left to do.
    if group.is_archived() {
        return Ok(());
    }
    let Some(archive) = groups::system(tx, job.account_id, &group.dc, "archive").await? else {
        return Ok(());
    };
    let (now, by) = (app.clock.now(), job.requested_by.as_str());
    group.parent_id = Some(archive.id);
    group.change.touch(now, by);
    groups::update(tx, &group).await?;
    groups::set_subtree_status(tx, &group.id, "archived", now, by).await?;
    servers::set_state_in_subtree(tx, &group.id, "archived", "stopped", now, by).await
}
