//! What ctlcloud does, in the API's words: accounts and their data centers, logins, groups,
//! What ctlcloud does, in the API's words: accounts and their data centers, logins, groups,
//! networks and servers, the changes made to them, their power and snapshots, secondary networks
//! and public IP addresses. Validation, naming and state changes live here; the wire shapes do not.

pub mod accounts;
pub mod alert_policies;
pub mod custom_fields;
pub mod disks;
pub mod group_actions;
pub mod group_defaults;
pub mod group_patch;
pub mod groups;
pub mod limits;
pub mod networks;
pub mod operations;
pub mod packages;
pub mod passwords;
pub mod power;
pub mod public_ips;
pub mod secondary_networks;
pub mod server_changes;
pub mod server_creates;
pub mod server_source;
pub mod servers;
pub mod snapshots;
pub mod users;

/// Queues a job that works on no single server in the transaction that accepted it, commits
/// both, and wakes the workers.
pub async fn commit_job(
    app: &crate::app::App,
    mut tx: crate::store::Tx,
    who: &crate::model::Principal,
    account_id: i64,
    dc: &str,
    kind: crate::model::JobKind,
    payload: serde_json::Value,
) -> crate::http::error::ApiResult<crate::model::Job> {
    let job = crate::store::jobs::insert(
        &mut tx,
        crate::store::jobs::NewJob {
            account_id,
            dc,
            kind,
            server_id: None,
            payload,
            requested_by: &who.username,
            run_after: 0,
        },
        app.clock.now(),
    )
    .await?;
    tx.commit().await?;
    app.wake_workers();
    Ok(job)
}
