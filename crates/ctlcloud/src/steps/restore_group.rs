//! Restoring an archived group: it moves into the target group, and it, the groups below it and
//! their servers become active again (servers started).

use crate::app::App;
use crate::model::{Group, Job};
use crate::store::{self, groups, servers, StoreResult, Tx};

/// The group and the target, if both still exist and the move is still possible.
async fn check(
    conn: &mut crate::store::Tx,
    job: &Job,
) -> StoreResult<Result<(Group, Group), String>> {
    let group_id = job.payload["groupId"].as_str().unwrap_or_default();
    let target_id = job.payload["targetGroupId"].as_str().unwrap_or_default();
    let Some(group) = groups::get(&mut *conn, job.account_id, group_id).await? else {
        return Ok(Err(format!("Group {group_id} no longer exists.")));
    };
    let Some(target) = groups::get(&mut *conn, job.account_id, target_id).await? else {
        return Ok(Err(format!(
            "The target group {target_id} no longer exists."
        )));
    };
    if target.is_archived() || target.is_system() {
        return Ok(Err(format!(
            "The target group {} can no longer hold groups.",
            target.name
        )));
    }
    Ok(Ok((group, target)))
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let mut conn = app.store.read().await?;
    Ok(check(&mut conn, job).await?.map(|_| ()))
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    // The target may be being archived or deleted meanwhile: one of the two goes first.
    store::lock(tx, store::Lock::Account(job.account_id)).await?;
    // Checked again in this transaction: the target may have gone since `perform` looked.
    let Ok((mut group, target)) = check(tx, job).await? else {
        return Ok(());
    };
    // Restored already: a retried job has nothing left to do.
    if !group.is_archived() {
        return Ok(());
    }
    let (now, by) = (app.clock.now(), job.requested_by.as_str());
    group.parent_id = Some(target.id);
    group.change.touch(now, by);
    groups::update(tx, &group).await?;
    groups::set_subtree_status(tx, &group.id, "active", now, by).await?;
    servers::set_state_in_subtree(tx, &group.id, "active", "started", now, by).await
}
