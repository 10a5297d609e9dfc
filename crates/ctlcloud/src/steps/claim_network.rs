//! Claiming a network: the account gets the data center's next free /24, under the id chosen
//! when the claim was accepted.

use crate::app::App;
use crate::domain::networks::allocate;
use crate::model::Job;
use crate::store::{networks, StoreResult, Tx};

fn network_id(job: &Job) -> &str {
    job.payload["networkId"].as_str().unwrap_or_default()
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    let mut conn = app.store.read().await?;
    Ok(match networks::next_ranges(&mut conn, &[&job.dc]).await? {
        Some(_) => Ok(()),
        None => Err(format!(
            "No network can be claimed in {}: the private address range is exhausted.",
            job.dc
        )),
    })
}

pub async fn apply(tx: &mut Tx, _app: &App, job: &Job) -> StoreResult<()> {
    // Claimed already: a retried job has nothing left to do.
    if networks::by_id(&mut *tx, network_id(job)).await?.is_some() {
        return Ok(());
    }
    let wanted = [(job.dc.as_str(), network_id(job).to_owned())];
    let allocated = allocate(tx, job.account_id, &wanted).await?;
    if allocated.is_none() {
        // The last range went between `perform` and now; the job still reports success, so say
        // so loudly.
        tracing::error!(
            job = job.id,
            "network claim found the address range exhausted"
        );
    }
    Ok(())
}
