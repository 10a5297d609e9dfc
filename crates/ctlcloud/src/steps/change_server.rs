//! Changing a server's cpu, memory, disks or guest password (a PATCH's job): the driver brings the
//! machine to the new configuration, then the server's record takes it.

use crate::app::App;
use crate::domain::server_changes::Reconfiguration;
use crate::model::{Job, Server};
use crate::store::{jobs, servers, StoreError, StoreResult, Tx};

fn change(job: &Job) -> StoreResult<Reconfiguration> {
    Ok(serde_json::from_value(job.payload.clone())?)
}

/// The server as the job is to leave it, checked against the server as it is now: earlier jobs on
/// the server may have changed it since the request was accepted.
/// The server as the change leaves it, or why the change cannot be made to it now.
fn target(
    app: &App,
    job: &Job,
    server: Option<Server>,
    password: Option<String>,
) -> StoreResult<Result<Server, String>> {
    let Some(server) = server else {
        let server_id = job.server_id.as_deref().unwrap_or_default();
        return Ok(Err(format!("Server {server_id} no longer exists.")));
    };
    Ok(change(job)?
        .target(&app.catalog, &server, &password.unwrap_or_default())
        .map_err(|e| e.message))
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let reader = app.store.reader();
    let server_id = job.server_id.as_deref().unwrap_or_default();
    let server = servers::get(reader, job.account_id, server_id).await?;
    let password = servers::password(reader, server_id).await?;
    match target(app, job, server, password)? {
        Ok(server) => Ok(app.compute.reconfigure(&server).await),
        Err(why) => Ok(Err(why)),
    }
}

pub async fn apply(
    tx: &mut Tx,
    app: &App,
    job: &Job,
    outcome: &Result<(), String>,
) -> StoreResult<()> {
    let change = change(job)?;
    if outcome.is_ok() {
        // Jobs on one server run one at a time, so what `perform` checked still holds here.
        let server_id = job.server_id.as_deref().unwrap_or_default();
        let server = servers::get(&mut *tx, job.account_id, server_id).await?;
        let password = servers::password(&mut *tx, server_id).await?;
        let mut server = target(app, job, server, password)?.map_err(StoreError)?;
        server.change.modified_at = app.clock.now();
        server.change.modified_by = job.requested_by.clone();
        servers::save(tx, &server).await?;
        if let Some(password) = &change.password {
            servers::set_password(tx, &server.id, &password.password).await?;
        }
    }
    if change.password.is_some() {
        // The passwords were only needed to run the job; the queue keeps no copy of them.
        let kept = serde_json::to_value(change.without_secrets())?;
        jobs::set_payload(tx, job.id, &kept).await?;
    }
    Ok(())
}
