//! Network log forwarding of a data center: `GET` and `PUT /v2-experimental/networks/{alias}/{dc}/logging`.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::domain::networks;
use crate::http::body::Fields;
use crate::http::error::ApiResult;
use crate::http::{reply, Call};
use crate::store::log_forwarding;
use crate::wire;

/// The configuration in effect: `{remoteAddress, protocol}`, without `remoteAddress` when
/// forwarding is disabled, and `{}` when it was never configured.
pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let config = log_forwarding::get(app.store.reader(), account.id, &dc.id).await?;
    reply(
        StatusCode::OK,
        &wire::LogForwarding {
            remote_address: config.as_ref().and_then(|c| c.remote_address.clone()),
            protocol: config.map(|c| c.protocol),
        },
    )
}

/// Queues a new configuration: `{remoteAddress?, protocol}`; no address disables forwarding.
pub async fn update(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let body = call.body()?;
    let f = Fields::of(&body)?;
    let protocol = f.required_str("protocol")?;
    let remote_address = f.str("remoteAddress")?;
    let job = networks::forward_logs(
        app,
        call.principal(),
        &account,
        &dc.id,
        remote_address,
        &protocol,
    )
    .await?;
    reply(
        StatusCode::ACCEPTED,
        &wire::LogForwardingUpdate {
            operation_id: job.operation_id,
            status: "pending",
        },
    )
}
