//! `GET /v2/accounts/{alias}` and its custom field definitions.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::http::error::ApiResult;
use crate::http::{reply, Call};
use crate::wire::{self, Link};

pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let mut links = vec![Link::new("self", format!("/v2/accounts/{}", account.alias))];
    // The parent is linked only for callers who may follow the link; a sub-account's users see
    // its alias and nothing more.
    if let Some(parent) = &account.parent_alias {
        if super::reachable(app, call.principal(), parent)
            .await?
            .is_some()
        {
            links.push(
                Link::new("parentAccount", format!("/v2/accounts/{parent}")).id(parent.clone()),
            );
        }
    }
    reply(
        StatusCode::OK,
        &wire::Account {
            account_alias: account.alias,
            parent_alias: account.parent_alias,
            primary_data_center: account.primary_dc,
            business_name: account.name,
            status: account.status,
            is_managed: false,
            links,
        },
    )
}

pub async fn custom_fields(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let defs = crate::store::accounts::custom_fields(app.store.reader(), account.id).await?;
    let body: Vec<wire::CustomFieldDef> = defs.into_iter().map(Into::into).collect();
    reply(StatusCode::OK, &body)
}
