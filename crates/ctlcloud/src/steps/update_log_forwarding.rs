//! Updating network log forwarding: the new configuration takes effect.

use crate::app::App;
use crate::model::Job;
use crate::store::log_forwarding::{self, LogForwarding};
use crate::store::{StoreResult, Tx};

pub async fn perform(_app: &App, _job: &Job) -> StoreResult<Result<(), String>> {
    Ok(Ok(()))
}

pub async fn apply(tx: &mut Tx, app: &App, job: &Job) -> StoreResult<()> {
    let config = LogForwarding {
        remote_address: job.payload["remoteAddress"].as_str().map(str::to_owned),
        protocol: job.payload["protocol"].as_str().unwrap_or("udp").to_owned(),
    };
    let now = app.clock.now();
    log_forwarding::put(tx, job.account_id, &job.dc, &config, now, &job.requested_by).await
}
