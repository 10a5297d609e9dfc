//! `/admin/accounts/{alias}/customFields` and `/admin/accounts/{alias}/networks`: what an account
//! defines for its servers (custom fields) and the private networks it gets beyond its first.

use axum::http::StatusCode;
use serde_json::Value;

use super::{account_in_scope, reply, Caller, Reply, Request};
use crate::app::App;
use crate::domain::{accounts as domain_accounts, custom_fields};
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::store::accounts;
use crate::wire;

pub async fn list_custom_fields(app: &App, caller: &Caller, alias: &str) -> ApiResult<Reply> {
    let account = account_in_scope(app, caller, alias).await?;
    let defs = accounts::custom_fields(app.store.reader(), account.id).await?;
    let body: Vec<wire::CustomFieldDef> = defs.into_iter().map(Into::into).collect();
    reply(StatusCode::OK, &body)
}

/// Defines a custom field: `{name, type: text|checkbox|option, isRequired?, options?: [{name, value}]}`.
pub async fn create_custom_field(
    app: &App,
    caller: &Caller,
    request: &Request,
    alias: &str,
) -> ApiResult<Reply> {
    let account = account_in_scope(app, caller, alias).await?;
    let fields = request.fields()?;
    let options = fields
        .list("options")
        .into_iter()
        .map(|o: &Value| {
            let o = Fields::of(o).map_err(|_| {
                ApiError::invalid("options", "Each option is an object {name, value}.")
            })?;
            Ok((o.required_str("name")?, o.required_str("value")?))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let new = custom_fields::NewDefinition {
        name: fields.str("name")?.unwrap_or_default(),
        kind: fields.required_str("type")?,
        required: fields.bool("isRequired")?.unwrap_or(false),
        options,
    };
    let mut tx = app.store.write().await?;
    let def = custom_fields::define(&mut tx, &account, new).await?;
    tx.commit().await?;
    reply(StatusCode::CREATED, &wire::CustomFieldDef::from(def))
}

/// Gives the account another private /24 network in a data center: `{dataCenter}`.
pub async fn create_network(
    app: &App,
    caller: &Caller,
    request: &Request,
    alias: &str,
) -> ApiResult<Reply> {
    let account = account_in_scope(app, caller, alias).await?;
    let dc = request.fields()?.required_str("dataCenter")?;
    let dc = app
        .catalog
        .datacenter(&dc)
        .ok_or_else(|| ApiError::invalid("dataCenter", format!("There is no data center {dc}.")))?
        .id
        .clone();
    let mut tx = app.store.write().await?;
    let network = domain_accounts::create_networks(&mut tx, &account, &[&dc])
        .await?
        .remove(0);
    tx.commit().await?;
    reply(
        StatusCode::CREATED,
        &serde_json::json!({
            "id": network.id,
            "name": network.name,
            "cidr": network.cidr(),
            "dataCenter": network.dc,
            "accountAlias": account.alias,
        }),
    )
}
