//! Adding, changing and removing a server's public IP address: the driver sets up the address
//! translation, then the store shows (or stops showing) the address.

use crate::app::App;
use crate::domain::public_ips::PublicIpJob;
use crate::model::{ipv4, Job, JobKind};
use crate::store::{public_ips, servers, StoreResult, Tx};

fn payload(job: &Job) -> StoreResult<PublicIpJob> {
    Ok(serde_json::from_value(job.payload.clone())?)
}

pub async fn perform(app: &App, kind: JobKind, job: &Job) -> StoreResult<Result<(), String>> {
    let payload = payload(job)?;
    let pool = app.store.reader();
    let server_id = job.server_id.as_deref().unwrap_or_default();
    // Removing an address that is gone already (alone or with its server) is done.
    let gone = |why: String| match kind {
        JobKind::RemovePublicIp => Ok(()),
        _ => Err(why),
    };
    let Some(server) = servers::get(pool, job.account_id, server_id).await? else {
        return Ok(gone(format!("Server {server_id} no longer exists.")));
    };
    let current = match payload.address() {
        Some(address) => public_ips::get(pool, &server.id, address).await?,
        None => None,
    };
    if current.is_none() {
        return Ok(gone(format!(
            "Public IP address {} no longer exists.",
            payload.public_ip
        )));
    }
    if let Some(settings) = &payload.settings {
        if !server.addresses.contains(&settings.internal) {
            return Ok(Err(format!(
                "{} is no longer an address of server {}.",
                ipv4(settings.internal),
                server.id
            )));
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
    let payload = payload(job)?;
    let Some(address) = payload.address() else {
        return Ok(());
    };
    match (kind, outcome.is_ok()) {
        (JobKind::AddPublicIp, true) => public_ips::confirm(tx, address).await?,
        // An address whose job failed goes back to the pool.
        (JobKind::AddPublicIp, false) => public_ips::release(tx, address).await?,
        (JobKind::UpdatePublicIp, true) => match &payload.settings {
            Some(settings) => public_ips::set_settings(tx, address, settings).await?,
            None => return Ok(()),
        },
        (JobKind::RemovePublicIp, true) => public_ips::release(tx, address).await?,
        _ => return Ok(()),
    }
    if outcome.is_ok() {
        let server_id = job.server_id.as_deref().unwrap_or_default();
        servers::touch(tx, server_id, app.clock.now(), &job.requested_by).await?;
    }
    Ok(())
}
