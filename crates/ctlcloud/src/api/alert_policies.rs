//! `/v2/alertPolicies/{alias}[/{policyId}]`: the account's alert policies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::app::App;
use crate::domain::alert_policies::parse;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::ids;
use crate::store::alert_policies::{self as stored, AlertPolicy};
use crate::wire::Link;

#[derive(Serialize)]
struct Entity {
    id: String,
    name: String,
    actions: Value,
    triggers: Value,
    #[serde(serialize_with = "crate::access::links::shown")]
    links: Vec<Link>,
}

#[derive(Serialize)]
struct List {
    items: Vec<Entity>,
    #[serde(serialize_with = "crate::access::links::shown")]
    links: Vec<Link>,
}

/// A policy applied to a server: its id, and the link that removes it.
#[derive(Serialize)]
struct Attached {
    id: String,
    #[serde(serialize_with = "crate::access::links::shown")]
    links: Vec<Link>,
}

fn present(alias: &str, p: AlertPolicy) -> Entity {
    let href = format!("/v2/alertPolicies/{alias}/{}", p.id);
    Entity {
        links: vec![Link::new("self", href).verbs(&["GET", "DELETE", "PUT"])],
        id: p.id,
        name: p.name,
        actions: p.actions,
        triggers: p.triggers,
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Alert policy {id} was not found."))
}

pub async fn list(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let alias = &account.alias;
    let items = stored::list(app.store.reader(), account.id)
        .await?
        .into_iter()
        .map(|p| present(alias, p))
        .collect();
    let links =
        vec![Link::new("self", format!("/v2/alertPolicies/{alias}")).verbs(&["GET", "POST"])];
    reply(StatusCode::OK, &List { items, links })
}

pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let id = call.param("policyId");
    let policy = stored::get(app.store.reader(), account.id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    reply(StatusCode::OK, &present(&account.alias, policy))
}

pub async fn create(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let p = parse(&call.body()?)?;
    let policy = AlertPolicy {
        id: ids::new_id(),
        name: p.name,
        actions: p.actions,
        triggers: p.triggers,
    };
    let mut tx = app.store.write().await?;
    stored::insert(&mut tx, account.id, &policy, app.clock.now()).await?;
    tx.commit().await?;
    reply(StatusCode::CREATED, &present(&account.alias, policy))
}

/// Replaces a policy's name, actions and triggers (all three required, as on create).
pub async fn update(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let id = call.param("policyId");
    let p = parse(&call.body()?)?;
    let policy = AlertPolicy {
        id: id.to_lowercase(),
        name: p.name,
        actions: p.actions,
        triggers: p.triggers,
    };
    let mut tx = app.store.write().await?;
    if !stored::update(&mut tx, account.id, &policy).await? {
        return Err(not_found(id));
    }
    tx.commit().await?;
    reply(StatusCode::OK, &present(&account.alias, policy))
}

/// Deletes a policy: 200 with no body, as the API documents.
pub async fn delete(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let id = call.param("policyId");
    let mut tx = app.store.write().await?;
    if !stored::delete(&mut tx, account.id, id).await? {
        return Err(not_found(id));
    }
    tx.commit().await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /v2/servers/{alias}/{serverId}/alertPolicies` `{id}`: applies a policy of the account to
/// the server. Applying one that already applies answers the same.
pub async fn attach(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let server = super::servers::find(app, call, &account).await?;
    let body = call.body()?;
    let id = crate::http::body::Fields::of(&body)?.required_str("id")?;
    let policy = stored::get(app.store.reader(), account.id, &id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "id",
                format!(
                    "There is no alert policy {id} in account {}.",
                    account.alias
                ),
            )
        })?;
    let mut tx = app.store.write().await?;
    stored::attach(&mut tx, &server.id, &policy.id).await?;
    crate::store::servers::touch(
        &mut tx,
        &server.id,
        app.clock.now(),
        &call.principal().username,
    )
    .await?;
    tx.commit().await?;
    let href = format!(
        "/v2/servers/{}/{}/alertPolicies/{}",
        account.alias,
        server.id.to_lowercase(),
        policy.id
    );
    reply(
        StatusCode::CREATED,
        &Attached {
            id: policy.id,
            links: vec![Link::new("self", href).verbs(&["DELETE"])],
        },
    )
}

/// `DELETE /v2/servers/{alias}/{serverId}/alertPolicies/{policyId}`: 200 with no body.
pub async fn detach(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let server = super::servers::find(app, call, &account).await?;
    let id = call.param("policyId");
    let mut tx = app.store.write().await?;
    if !stored::detach(&mut tx, &server.id, id).await? {
        return Err(ApiError::not_found(format!(
            "Alert policy {id} does not apply to server {}.",
            server.id
        )));
    }
    crate::store::servers::touch(
        &mut tx,
        &server.id,
        app.clock.now(),
        &call.principal().username,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::OK.into_response())
}
