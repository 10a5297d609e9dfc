//! `/admin/accounts`: the accounts a caller manages, creating sub-accounts, and `/admin/roles`.

use axum::http::StatusCode;
use serde::Serialize;

use super::{account_in_scope, reply, Caller, Reply, Request};
use crate::access::Role;
use crate::app::App;
use crate::domain::accounts::{create_account, NewAccount};
use crate::http::error::{ApiError, ApiResult};
use crate::model::Account;
use crate::store::accounts;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountShape {
    account_alias: String,
    parent_alias: Option<String>,
    business_name: String,
    primary_data_center: String,
    status: String,
    created_date: String,
}

fn present(a: Account) -> AccountShape {
    AccountShape {
        account_alias: a.alias,
        parent_alias: a.parent_alias,
        business_name: a.name,
        primary_data_center: a.primary_dc,
        status: a.status,
        created_date: crate::clock::format_utc(a.created_at),
    }
}

#[derive(Serialize)]
struct RoleShape {
    role: &'static str,
    permissions: Vec<&'static str>,
}

/// The role table.
pub fn roles() -> ApiResult<Reply> {
    let body: Vec<RoleShape> = Role::ALL
        .into_iter()
        .map(|r| RoleShape {
            role: r.name(),
            permissions: r.permissions().iter().map(|p| p.name()).collect(),
        })
        .collect();
    reply(StatusCode::OK, &body)
}

pub async fn list(app: &App, caller: &Caller, request: &Request) -> ApiResult<Reply> {
    let found = accounts::list(app.store.reader(), caller.root(), request.limit()?).await?;
    let body: Vec<AccountShape> = found.into_iter().map(present).collect();
    reply(StatusCode::OK, &body)
}

pub async fn get(app: &App, caller: &Caller, alias: &str) -> ApiResult<Reply> {
    reply(
        StatusCode::OK,
        &present(account_in_scope(app, caller, alias).await?),
    )
}

/// Creates an account with its groups and networks. A user's new account is always a sub-account,
/// of their own account unless `parentAlias` names another one they manage; the operator may
/// create top-level accounts.
pub async fn create(app: &App, caller: &Caller, request: &Request) -> ApiResult<Reply> {
    let fields = request.fields()?;
    let alias = fields.required_str("alias")?;
    let name = fields.str("name")?.unwrap_or_else(|| alias.clone());
    let parent = match (fields.str("parentAlias")?, caller) {
        (Some(p), _) => {
            Some(account_in_scope(app, caller, &p).await.map_err(|_| {
                ApiError::invalid("parentAlias", format!("There is no account {p}."))
            })?)
        }
        (None, Caller::User(me)) => Some(account_in_scope(app, caller, &me.account.alias).await?),
        (None, Caller::Operator(_)) => None,
    };
    let dc = match fields.str("primaryDataCenter")? {
        Some(dc) => dc,
        None => parent
            .as_ref()
            .map(|p| p.primary_dc.clone())
            .unwrap_or_else(|| app.catalog.datacenters[0].id.clone()),
    };
    let mut tx = app.store.write().await?;
    let account = create_account(
        &mut tx,
        &app.catalog,
        NewAccount {
            alias: &alias,
            name: &name,
            parent: parent.as_ref(),
            primary_dc: &dc,
        },
        app.clock.now(),
        caller.name(),
    )
    .await?;
    tx.commit().await?;
    reply(StatusCode::CREATED, &present(account))
}
