//! Adding and removing a secondary network adapter: the driver plugs the adapter in or out, then
//! the server shows its address on that network, or the address is freed.

use crate::app::App;
use crate::domain::secondary_networks::{blocking_public_ip, AdapterJob};
use crate::model::{Job, JobKind};
use crate::store::{networks, servers, StoreResult, Tx};

fn payload(job: &Job) -> StoreResult<AdapterJob> {
    Ok(serde_json::from_value(job.payload.clone())?)
}

pub async fn perform(app: &App, kind: JobKind, job: &Job) -> StoreResult<Result<(), String>> {
    let network_id = payload(job)?.network_id;
    let pool = app.store.reader();
    let server_id = job.server_id.as_deref().unwrap_or_default();
    // Removing an adapter that is gone already (alone or with its server) is done.
    let gone = |why: String| match kind {
        JobKind::RemoveSecondaryNetwork => Ok(()),
        _ => Err(why),
    };
    let Some(server) = servers::get(pool, job.account_id, server_id).await? else {
        return Ok(gone(format!("Server {server_id} no longer exists.")));
    };
    let attachment = networks::attachments(pool, &server.id)
        .await?
        .into_iter()
        .find(|a| a.secondary && a.network_id == network_id);
    let Some(attachment) = attachment else {
        return Ok(gone(format!(
            "Server {} has no adapter on network {network_id}.",
            server.id
        )));
    };
    if kind == JobKind::RemoveSecondaryNetwork {
        if let Some(why) = blocking_public_ip(pool, &server, attachment.address).await? {
            return Ok(Err(why));
        }
    }
    Ok(app.compute.reconfigure(&server).await)
}

pub async fn apply(
    tx: &mut Tx,
    app: &App,
    kind: JobKind,
    job: &Job,
    outcome: &Result<(), String>,
) -> StoreResult<()> {
    let network_id = payload(job)?.network_id;
    let server_id = job.server_id.as_deref().unwrap_or_default();
    match (kind, outcome.is_ok()) {
        (JobKind::AddSecondaryNetwork, true) => {
            networks::confirm_secondary(tx, &network_id, server_id).await?
        }
        // The address reserved for an adapter that could not be added is freed.
        (JobKind::AddSecondaryNetwork, false) | (JobKind::RemoveSecondaryNetwork, true) => {
            networks::release_secondary(tx, &network_id, server_id).await?
        }
        _ => return Ok(()),
    }
    if outcome.is_ok() {
        servers::touch(tx, server_id, app.clock.now(), &job.requested_by).await?;
    }
    Ok(())
}
