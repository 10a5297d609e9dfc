//! `/admin/audit`: the audit trail of the accounts a caller manages, newest first, a page at a
//! time (`?limit=`, and `?before=` the `nextBefore` of the previous page).

use axum::http::StatusCode;
use serde::Serialize;

use super::{account_in_scope, reply, Caller, Reply, Request};
use crate::app::App;
use crate::http::error::ApiResult;
use crate::store::audit::{self, Filter};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: i64,
    date: String,
    user: String,
    account_alias: Option<String>,
    operation: String,
    target: String,
    outcome: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    items: Vec<Entry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

pub async fn list(app: &App, caller: &Caller, request: &Request) -> ApiResult<Reply> {
    let filter = match (request.query("account"), caller.root()) {
        (Some(alias), _) => Filter::Account(account_in_scope(app, caller, alias).await?.id),
        (None, Some(root)) => Filter::Tree(root),
        (None, None) => Filter::All,
    };
    let limit = request.limit()?;
    let before = request.query_int("before", 1..=i64::MAX)?;
    // The records of writes answered before this read may still be on their way to the store.
    app.store.settled().await;
    let entries = audit::list(app.store.reader(), filter, before, limit).await?;
    let next_before = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let items = entries
        .into_iter()
        .map(|e| Entry {
            id: e.id,
            date: crate::clock::format_utc(e.at),
            user: e.actor,
            account_alias: e.account_alias,
            operation: e.operation,
            target: e.target,
            outcome: e.outcome,
        })
        .collect();
    reply(StatusCode::OK, &Page { items, next_before })
}
