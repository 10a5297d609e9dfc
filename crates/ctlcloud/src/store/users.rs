//! Users and their bearer tokens. Tokens are stored only as SHA-256 hashes.

use super::db::{self, Exec, Pool, Row, Tx};
use super::StoreResult;
use crate::model::{ChangeInfo, Principal};

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

/// A user as the admin API shows it.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub account_id: i64,
    pub account_alias: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub change: ChangeInfo,
}

const USER_COLUMNS: &str = "u.id, u.username, u.account_id, a.alias, u.roles, u.disabled, \
     u.created_at, u.created_by, u.modified_at, u.modified_by \
     FROM users u JOIN accounts a ON a.id = u.account_id";

fn user_from_row(row: &Row) -> StoreResult<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        account_id: row.try_get("account_id")?,
        account_alias: row.try_get("alias")?,
        roles: roles(row.try_get("roles")?),
        disabled: row.try_get("disabled")?,
        change: super::change_info(row)?,
    })
}

/// Inserts a user; `None` when the username is taken (usernames are unique in the whole cloud).
pub async fn insert(
    conn: &mut Tx,
    account_id: i64,
    username: &str,
    password_hash: &str,
    role_names: &[&str],
    now: i64,
    by: &str,
) -> StoreResult<Option<i64>> {
    db::query_scalar(
        "INSERT INTO users (account_id, username, password_hash, roles, created_at, created_by, \
         modified_at, modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(username)
    .bind(password_hash)
    .bind(role_names.join(","))
    .bind(now)
    .bind(by)
    .bind(now)
    .bind(by)
    .fetch_optional(conn)
    .await
}

/// A user by username (any case).
pub async fn get(conn: impl Into<Exec<'_>>, username: &str) -> StoreResult<Option<User>> {
    let row = db::query(&format!(
        "SELECT {USER_COLUMNS} WHERE lower(u.username) = lower(?)"
    ))
    .bind(username.trim())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// An account's users by username, at most `limit`.
pub async fn list(pool: &Pool, account_id: i64, limit: i64) -> StoreResult<Vec<User>> {
    let rows = db::query(&format!(
        "SELECT {USER_COLUMNS} WHERE u.account_id = ? ORDER BY u.username {}",
        db::limit("?")
    ))
    .bind(account_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn for_login(pool: &Pool, username: &str) -> StoreResult<Option<LoginRecord>> {
    let row = db::query(
        "SELECT u.id, u.username, u.password_hash, u.disabled, u.roles, a.alias, a.primary_dc \
         FROM users u JOIN accounts a ON a.id = u.account_id WHERE lower(u.username) = lower(?)",
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

/// Records who changed a user and when.
pub async fn touch(conn: &mut Tx, id: i64, now: i64, by: &str) -> StoreResult<()> {
    db::query("UPDATE users SET modified_at = ?, modified_by = ? WHERE id = ?")
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets a user's password hash and revokes every token they hold (the password is not read with
/// a caller: the revocation is the change to callers).
pub async fn set_password(
    conn: &mut Tx,
    id: i64,
    password_hash: &str,
    now: i64,
    by: &str,
) -> StoreResult<()> {
    db::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(password_hash)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    touch(conn, id, now, by).await?;
    revoke_tokens(conn, id).await.map(|_| ())
}

pub async fn set_roles(
    conn: &mut Tx,
    id: i64,
    role_names: &[&str],
    now: i64,
    by: &str,
) -> StoreResult<()> {
    db::query("UPDATE users SET roles = ? WHERE id = ?")
        .bind(role_names.join(","))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    super::callers::count_change(conn).await?;
    touch(conn, id, now, by).await
}

/// Disables or enables a user; disabling revokes every token they hold.
pub async fn set_disabled(
    conn: &mut Tx,
    id: i64,
    disabled: bool,
    now: i64,
    by: &str,
) -> StoreResult<()> {
    db::query("UPDATE users SET disabled = ? WHERE id = ?")
        .bind(disabled)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    super::callers::count_change(conn).await?;
    touch(conn, id, now, by).await?;
    if disabled {
        revoke_tokens(conn, id).await?;
    }
    Ok(())
}

/// Revokes every token a user holds; returns how many were not revoked before.
pub async fn revoke_tokens(conn: &mut Tx, user_id: i64) -> StoreResult<u64> {
    let revoked =
        db::query("UPDATE tokens SET revoked = TRUE WHERE user_id = ? AND revoked = FALSE")
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if revoked > 0 {
        super::callers::count_change(conn).await?;
    }
    Ok(revoked)
}

pub async fn insert_token(
    conn: &mut Tx,
    hash: &[u8],
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    db::query("INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The caller a token belongs to, with when the token expires, if the token is known, unexpired,
/// unrevoked and its user enabled. Requests ask [`super::Store::caller`], which keeps callers.
pub async fn principal(
    pool: &Pool,
    hash: &[u8],
    now: i64,
) -> StoreResult<Option<(Principal, i64)>> {
    let row = db::query(&format!(
        "SELECT u.id AS user_id, u.username, u.roles, t.expires_at, {} \
         JOIN users u ON u.account_id = a.id JOIN tokens t ON t.user_id = u.id \
         WHERE t.hash = ? AND t.revoked = FALSE AND t.expires_at > ? AND u.disabled = FALSE",
        super::accounts::COLUMNS
    ))
    .bind(hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let principal = Principal {
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            account: super::accounts::from_row(&row)?,
            roles: roles(row.try_get("roles")?),
        };
        Ok((principal, row.try_get("expires_at")?))
    })
    .transpose()
}
