//! Users and their bearer tokens. Tokens are stored only as SHA-256 hashes.

use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreResult;
use crate::model::{Account, Principal};

/// What login needs to check a password and answer.
#[derive(Debug)]
pub struct LoginRecord {
    pub user_id: i64,
    pub username: String,
    pub password_hash: String,
    pub disabled: bool,
    pub roles: Vec<String>,
    pub account_alias: String,
    pub primary_dc: String,
}

fn roles(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Inserts a user; `None` when the username is taken (usernames are unique in the whole cloud).
pub async fn insert(
    conn: &mut SqliteConnection,
    account_id: i64,
    username: &str,
    password_hash: &str,
    role_names: &[String],
    now: i64,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO users (account_id, username, password_hash, roles, created_at) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(username)
    .bind(password_hash)
    .bind(role_names.join(","))
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

pub async fn for_login(pool: &SqlitePool, username: &str) -> StoreResult<Option<LoginRecord>> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.password_hash, u.disabled, u.roles, a.alias, a.primary_dc \
         FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.username = ?",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(LoginRecord {
            user_id: row.try_get("id")?,
            username: row.try_get("username")?,
            password_hash: row.try_get("password_hash")?,
            disabled: row.try_get("disabled")?,
            roles: roles(row.try_get("roles")?),
            account_alias: row.try_get("alias")?,
            primary_dc: row.try_get("primary_dc")?,
        })
    })
    .transpose()
}

/// Sets a user's password hash and revokes every token they hold. `false` if no such user.
pub async fn set_password(
    conn: &mut SqliteConnection,
    username: &str,
    password_hash: &str,
) -> StoreResult<bool> {
    let id: Option<i64> =
        sqlx::query_scalar("UPDATE users SET password_hash = ? WHERE username = ? RETURNING id")
            .bind(password_hash)
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?;
    match id {
        Some(id) => revoke_tokens(conn, id).await.map(|_| true),
        None => Ok(false),
    }
}

/// Disables a user and revokes every token they hold. `false` if no such user.
pub async fn disable(conn: &mut SqliteConnection, username: &str) -> StoreResult<bool> {
    let id: Option<i64> =
        sqlx::query_scalar("UPDATE users SET disabled = 1 WHERE username = ? RETURNING id")
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?;
    match id {
        Some(id) => revoke_tokens(conn, id).await.map(|_| true),
        None => Ok(false),
    }
}

async fn revoke_tokens(conn: &mut SqliteConnection, user_id: i64) -> StoreResult<()> {
    sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = ?")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_token(
    conn: &mut SqliteConnection,
    hash: &[u8],
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The caller a token belongs to and their account, if the token is known, unexpired, unrevoked
/// and its user enabled. One query: every authenticated request starts with it.
pub async fn principal(
    pool: &SqlitePool,
    hash: &[u8],
    now: i64,
) -> StoreResult<Option<(Principal, Account)>> {
    let row = sqlx::query(
        "SELECT u.id AS user_id, u.username, u.roles, a.id, a.alias, a.name, \
             p.alias AS parent_alias, a.primary_dc, a.status, a.created_at \
         FROM tokens t JOIN users u ON u.id = t.user_id JOIN accounts a ON a.id = u.account_id \
         LEFT JOIN accounts p ON p.id = a.parent_id \
         WHERE t.hash = ? AND t.revoked = 0 AND t.expires_at > ? AND u.disabled = 0",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let account = super::accounts::from_row(&row)?;
        let principal = Principal {
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            account_id: account.id,
            account_alias: account.alias.clone(),
            roles: roles(row.try_get("roles")?),
        };
        Ok((principal, account))
    })
    .transpose()
}
