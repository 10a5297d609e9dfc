//! A server's time to live ran out: its deletion is queued like any other, so it runs after the
//! work already queued on the server. The server is named by uuid, so a later server that reuses
//! the name is never touched.

use crate::app::App;
use crate::model::{Job, JobKind};
use crate::store::{jobs, servers, StoreResult, Tx};

pub async fn perform(_app: &App, _job: &Job) -> StoreResult<Result<(), String>> {
    Ok(Ok(()))
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    let uuid = job.payload["uuid"].as_str().unwrap_or_default();
    // Gone already, or its deletion queued already: nothing to add.
    let Some(server_id) = servers::id_by_uuid(tx, job.account_id, uuid).await? else {
        return Ok(());
    };
    if jobs::open_for_server(tx, &server_id, JobKind::DeleteServer)
        .await?
        .is_some()
    {
        return Ok(());
    }
    jobs::insert(
        tx,
        jobs::NewJob {
            account_id: job.account_id,
            dc: &job.dc,
            kind: JobKind::DeleteServer,
            server_id: Some(&server_id),
            payload: serde_json::Value::Null,
            requested_by: &job.requested_by,
            run_after: 0,
        },
        app.clock.now(),
    )
    .await?;
    Ok(())
}
