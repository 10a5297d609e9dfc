//! `/admin/accounts/{alias}/users` and `/admin/users/{username}`: users, their roles, passwords,
//! whether they may log in, and their tokens. Passwords are never shown, except one the server
//! generated, once, in the answer that set it.

use axum::http::StatusCode;
use serde::Serialize;

use super::{account_in_scope, reply, Caller, Reply, Request};
use crate::app::App;
use crate::domain::users as domain;
use crate::http::error::{ApiError, ApiResult};
use crate::store::{accounts, users, users::User};
use crate::wire::ChangeInfo;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserShape {
    user_name: String,
    account_alias: String,
    roles: Vec<String>,
    disabled: bool,
    change_info: ChangeInfo,
    /// Only when the server generated the password just now.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

fn present(user: User, password: Option<String>) -> UserShape {
    UserShape {
        change_info: (&user.change).into(),
        user_name: user.username,
        account_alias: user.account_alias,
        roles: user.roles,
        disabled: user.disabled,
        password,
    }
}

/// A user of an account the caller manages; any other, existing or not, is the same 404.
async fn find(app: &App, caller: &Caller, username: &str) -> ApiResult<User> {
    let pool = app.store.reader();
    let not_found = || ApiError::not_found(format!("User {username} was not found."));
    let user = users::get(pool, username).await?.ok_or_else(not_found)?;
    if let Some(root) = caller.root() {
        accounts::within(pool, root, &user.account_alias)
            .await?
            .ok_or_else(not_found)?;
    }
    Ok(user)
}

/// Re-reads a user after a change, for the answer.
async fn reread(app: &App, user: &User) -> ApiResult<User> {
    users::get(app.store.reader(), &user.username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("User {} was not found.", user.username)))
}

/// The password in the body, or a generated one that the answer shows once.
async fn password_of(request: &Request) -> ApiResult<(String, Option<String>)> {
    let (password, generated) = match request.fields()?.str("password")? {
        Some(p) => (p, None),
        None => {
            let p = crate::ids::new_password();
            (p.clone(), Some(p))
        }
    };
    Ok((domain::hash_password(&password).await?, generated))
}

fn roles_of(request: &Request) -> ApiResult<Vec<String>> {
    request
        .fields()?
        .list("roles")
        .into_iter()
        .map(|r| {
            r.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::invalid("roles", "roles is a list of role names."))
        })
        .collect()
}

pub async fn list(app: &App, caller: &Caller, request: &Request, alias: &str) -> ApiResult<Reply> {
    let account = account_in_scope(app, caller, alias).await?;
    let found = users::list(app.store.reader(), account.id, request.limit()?).await?;
    let body: Vec<UserShape> = found.into_iter().map(|u| present(u, None)).collect();
    reply(StatusCode::OK, &body)
}

pub async fn get(app: &App, caller: &Caller, username: &str) -> ApiResult<Reply> {
    reply(
        StatusCode::OK,
        &present(find(app, caller, username).await?, None),
    )
}

pub async fn create(
    app: &App,
    caller: &Caller,
    request: &Request,
    alias: &str,
) -> ApiResult<Reply> {
    let account = account_in_scope(app, caller, alias).await?;
    let username = request.fields()?.required_str("username")?;
    let roles = roles_of(request)?;
    // Bad roles are refused before the (slow) password hash is computed.
    domain::parse_roles(&roles)?;
    let (hash, generated) = password_of(request).await?;
    let mut tx = app.store.write().await?;
    let now = app.clock.now();
    domain::create(
        &mut tx,
        &account,
        &username,
        &hash,
        &roles,
        now,
        caller.name(),
    )
    .await?;
    tx.commit().await?;
    let user = find(app, caller, &username).await?;
    reply(StatusCode::CREATED, &present(user, generated))
}

pub async fn set_roles(
    app: &App,
    caller: &Caller,
    request: &Request,
    username: &str,
) -> ApiResult<Reply> {
    let user = find(app, caller, username).await?;
    let roles = roles_of(request)?;
    let mut tx = app.store.write().await?;
    domain::set_roles(&mut tx, &user, &roles, app.clock.now(), caller.name()).await?;
    tx.commit().await?;
    reply(StatusCode::OK, &present(reread(app, &user).await?, None))
}

/// Sets a password (given, or generated and shown once) and revokes the user's tokens.
pub async fn set_password(
    app: &App,
    caller: &Caller,
    request: &Request,
    username: &str,
) -> ApiResult<Reply> {
    let user = find(app, caller, username).await?;
    let (hash, generated) = password_of(request).await?;
    let mut tx = app.store.write().await?;
    domain::set_password(&mut tx, &user, &hash, app.clock.now(), caller.name()).await?;
    tx.commit().await?;
    reply(
        StatusCode::OK,
        &present(reread(app, &user).await?, generated),
    )
}

/// Disables a user (revoking their tokens) or enables them again.
pub async fn set_disabled(
    app: &App,
    caller: &Caller,
    username: &str,
    disabled: bool,
) -> ApiResult<Reply> {
    let user = find(app, caller, username).await?;
    let mut tx = app.store.write().await?;
    domain::set_disabled(&mut tx, &user, disabled, app.clock.now(), caller.name()).await?;
    tx.commit().await?;
    reply(StatusCode::OK, &present(reread(app, &user).await?, None))
}

#[derive(Serialize)]
struct Revoked {
    revoked: u64,
}

/// Revokes every token of a user; they log in again to get a new one.
pub async fn revoke_tokens(app: &App, caller: &Caller, username: &str) -> ApiResult<Reply> {
    let user = find(app, caller, username).await?;
    let mut tx = app.store.write().await?;
    let revoked = domain::revoke_tokens(&mut tx, &user, app.clock.now(), caller.name()).await?;
    tx.commit().await?;
    reply(StatusCode::OK, &Revoked { revoked })
}
