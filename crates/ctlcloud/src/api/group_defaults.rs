//! Group defaults: `GET` and `POST /v2/groups/{alias}/{id}/defaults`.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::domain::group_defaults::{self, Effective, Inherited};
use crate::http::body::Fields;
use crate::http::error::ApiResult;
use crate::http::{reply, Call};
use crate::model::GroupDefaults;
use crate::wire;

fn one<T>(d: Inherited<T>) -> wire::GroupDefault<T> {
    wire::GroupDefault {
        value: d.value,
        inherited: d.inherited,
    }
}

fn present(e: Effective) -> wire::GroupDefaults {
    wire::GroupDefaults {
        cpu: one(e.cpu),
        memory: one(e.memory_gb.clone()),
        memory_gb: one(e.memory_gb),
        network_id: one(e.network_id),
        primary_dns: one(e.primary_dns),
        secondary_dns: one(e.secondary_dns),
        template_name: one(e.template_name),
    }
}

pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let effective = group_defaults::get(app, &account, call.param("groupId")).await?;
    reply(StatusCode::OK, &present(effective))
}

/// Sets the defaults the body names (numbers may come as strings, as in the docs and Go's
/// client) and answers the group's defaults.
pub async fn set(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let f = Fields::of(&body)?;
    let given = GroupDefaults {
        cpu: f.int_in("cpu", 1..=16)?,
        memory_gb: f.int_in("memoryGB", 1..=128)?,
        network_id: f.str("networkId")?,
        primary_dns: f.str("primaryDns")?,
        secondary_dns: f.str("secondaryDns")?,
        template_name: f.str("templateName")?,
    };
    let effective = group_defaults::set(
        app,
        call.principal(),
        &account,
        call.param("groupId"),
        given,
    )
    .await?;
    reply(StatusCode::OK, &present(effective))
}
