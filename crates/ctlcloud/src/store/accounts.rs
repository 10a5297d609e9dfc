//! Accounts and their custom field definitions.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreResult;
use crate::model::{Account, CustomFieldDef};

const COLUMNS: &str =
    "a.id, a.alias, a.name, p.alias AS parent_alias, a.primary_dc, a.status, a.created_at \
     FROM accounts a LEFT JOIN accounts p ON p.id = a.parent_id";

pub(super) fn from_row(row: &SqliteRow) -> StoreResult<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        alias: row.try_get("alias")?,
        name: row.try_get("name")?,
        parent_alias: row.try_get("parent_alias")?,
        primary_dc: row.try_get("primary_dc")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Inserts an account; `None` when the alias is taken.
pub async fn insert(
    conn: &mut SqliteConnection,
    alias: &str,
    name: &str,
    parent_id: Option<i64>,
    primary_dc: &str,
    now: i64,
) -> StoreResult<Option<Account>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO accounts (alias, name, parent_id, primary_dc, status, created_at) \
         VALUES (?, ?, ?, ?, 'Active', ?) ON CONFLICT (alias) DO NOTHING RETURNING id",
    )
    .bind(alias.to_uppercase())
    .bind(name)
    .bind(parent_id)
    .bind(primary_dc.to_uppercase())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => by_id(conn, id).await,
        None => Ok(None),
    }
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> StoreResult<Option<Account>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} WHERE a.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An account by alias, any case.
pub async fn by_alias(pool: &SqlitePool, alias: &str) -> StoreResult<Option<Account>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} WHERE a.alias = ?"))
        .bind(alias.to_uppercase())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn count(pool: &SqlitePool) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(pool)
        .await?)
}

/// The account's custom field definitions, in the order they were defined.
pub async fn custom_fields(pool: &SqlitePool, account_id: i64) -> StoreResult<Vec<CustomFieldDef>> {
    let rows = sqlx::query(
        "SELECT id, name, is_required, type, options FROM custom_fields WHERE account_id = ? ORDER BY rowid",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let options: Vec<(String, String)> =
                serde_json::from_str(row.try_get::<&str, _>("options")?)?;
            Ok(CustomFieldDef {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                is_required: row.try_get("is_required")?,
                kind: row.try_get("type")?,
                options,
            })
        })
        .collect()
}
