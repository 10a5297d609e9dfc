//! Queued work on a whole group: delete, archive and restore. Each request is checked and its job
//! committed before the answer; the job's steps (`crate::steps`) do the work.
//!
//! Archiving moves the group under its data center's `Archive` group and archives it, the groups
//! below it and their servers; restoring moves it into a chosen group and makes it all active again.

use serde_json::json;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{Account, Group, Job, JobKind, Principal};
use crate::store::{self, jobs, Tx};

use super::groups::{check_changeable, check_move, find, find_named};

/// Queues a job on a group, or answers the one already queued for the same work. The payload
/// names the group as `groupId`, and whatever else the job's steps need.
async fn queue(
    app: &App,
    mut tx: Tx,
    who: &Principal,
    group: &Group,
    kind: JobKind,
    mut payload: serde_json::Value,
) -> ApiResult<Job> {
    // Two requests at once for the same work must not both queue it: with the account's lock, the
    // second waits for the first to commit and then answers the first's job.
    store::lock(&mut tx, store::Lock::Account(group.account_id)).await?;
    if let Some(job) = jobs::open_for_group(&mut tx, &group.id, kind).await? {
        return Ok(job);
    }
    payload["groupId"] = json!(group.id);
    super::commit_job(app, tx, who, group.account_id, &group.dc, kind, payload).await
}

/// Queues the deletion of a group, every group below it and every server in them.
pub async fn delete(app: &App, who: &Principal, account: &Account, id: &str) -> ApiResult<Job> {
    let mut tx = app.store.write().await?;
    let group = find(&mut tx, account, id).await?;
    check_changeable(&group)?;
    queue(app, tx, who, &group, JobKind::DeleteGroup, json!({})).await
}

/// Queues the archiving of a group with everything in it.
pub async fn archive(app: &App, who: &Principal, account: &Account, id: &str) -> ApiResult<Job> {
    let mut tx = app.store.write().await?;
    let group = find(&mut tx, account, id).await?;
    check_changeable(&group)?;
    if group.is_archived() {
        return Err(ApiError::bad_request(format!(
            "The group {} is archived already.",
            group.name
        )));
    }
    queue(app, tx, who, &group, JobKind::ArchiveGroup, json!({})).await
}

/// Queues the restoring of an archived group into `target_id`.
pub async fn restore(
    app: &App,
    who: &Principal,
    account: &Account,
    id: &str,
    target_id: &str,
) -> ApiResult<Job> {
    let mut tx = app.store.write().await?;
    let group = find(&mut tx, account, id).await?;
    check_changeable(&group)?;
    if !group.is_archived() {
        return Err(ApiError::bad_request(format!(
            "The group {} is not archived; only archived groups can be restored.",
            group.name
        )));
    }
    let target = find_named(&mut tx, account, "targetGroupId", target_id).await?;
    check_move(&mut tx, "targetGroupId", &group, &target).await?;
    let payload = json!({ "targetGroupId": target.id });
    queue(app, tx, who, &group, JobKind::RestoreGroup, payload).await
}
