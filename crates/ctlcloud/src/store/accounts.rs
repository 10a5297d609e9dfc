//! Accounts and their custom field definitions.

use super::db::{self, Exec, Pool, Row, Tx};

use super::StoreResult;
use crate::model::{Account, CustomFieldDef};

/// An account is read from its own row alone: it is read with every request's token.
pub(super) const COLUMNS: &str =
    "a.id, a.alias, a.name, a.parent_alias, a.primary_dc, a.status, a.created_at, \
     a.custom_fields_count > 0 AS has_custom_fields FROM accounts a";

/// The ids of an account and of every account below it, as a subquery taking one parameter: the
/// id of the account at the top.
pub const TREE: &str = "(WITH RECURSIVE tree(id) AS (SELECT ? UNION \
     SELECT c.id FROM accounts c JOIN tree t ON c.parent_id = t.id) SELECT id FROM tree)";

pub(super) fn from_row(row: &Row) -> StoreResult<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        alias: row.try_get("alias")?,
        name: row.try_get("name")?,
        parent_alias: row.try_get("parent_alias")?,
        primary_dc: row.try_get("primary_dc")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        has_custom_fields: row.try_get("has_custom_fields")?,
    })
}

/// Inserts an account; `None` when the alias is taken.
pub async fn insert(
    conn: &mut Tx,
    alias: &str,
    name: &str,
    parent_id: Option<i64>,
    primary_dc: &str,
    now: i64,
) -> StoreResult<Option<Account>> {
    let id: Option<i64> = db::query_scalar(
        "INSERT INTO accounts (alias, name, parent_id, parent_alias, primary_dc, status, created_at) \
         VALUES (?, ?, ?, (SELECT p.alias FROM accounts p WHERE p.id = ?), ?, 'Active', ?) \
         ON CONFLICT (alias) DO NOTHING RETURNING id",
    )
    .bind(alias.to_uppercase())
    .bind(name)
    .bind(parent_id)
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

pub async fn by_id(conn: &mut Tx, id: i64) -> StoreResult<Option<Account>> {
    let row = db::query(&format!("SELECT {COLUMNS} WHERE a.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An account by alias, any case.
pub async fn by_alias(pool: &Pool, alias: &str) -> StoreResult<Option<Account>> {
    let row = db::query(&format!("SELECT {COLUMNS} WHERE a.alias = ?"))
        .bind(alias.to_uppercase())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An account by alias (any case), if it is `root` or below it.
pub async fn within(pool: &Pool, root: i64, alias: &str) -> StoreResult<Option<Account>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} WHERE a.alias = ? AND a.id IN {TREE}"
    ))
    .bind(alias.to_uppercase())
    .bind(root)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Accounts by alias, all of them or `root` and those below it; at most `limit`.
pub async fn list(pool: &Pool, root: Option<i64>, limit: i64) -> StoreResult<Vec<Account>> {
    let rows = match root {
        Some(root) => {
            db::query(&format!(
                "SELECT {COLUMNS} WHERE a.id IN {TREE} ORDER BY a.alias {}",
                db::limit("?")
            ))
            .bind(root)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            db::query(&format!(
                "SELECT {COLUMNS} ORDER BY a.alias {}",
                db::limit("?")
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

pub async fn count(pool: &Pool) -> StoreResult<i64> {
    db::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(pool)
        .await
}

/// The account's custom field definitions, in the order they were defined.
pub async fn custom_fields(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
) -> StoreResult<Vec<CustomFieldDef>> {
    // Sorted here rather than by an ORDER BY, which would cost SQLite a temporary b-tree on every
    // create of a server.
    let mut rows = db::query(
        "SELECT id, name, is_required, type, options, position FROM custom_fields WHERE account_id = ?",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        let options: Vec<(String, String)> =
            serde_json::from_str(row.try_get::<&str, _>("options")?)?;
        let def = CustomFieldDef {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            is_required: row.try_get("is_required")?,
            kind: row.try_get("type")?,
            options,
        };
        Ok((row.try_get::<i64, _>("position")?, def))
    })
    .collect::<StoreResult<Vec<_>>>()?;
    rows.sort_by_key(|(position, _)| *position);
    Ok(rows.into_iter().map(|(_, def)| def).collect())
}

/// Adds a custom field definition; `false` when the account already has a field of that name.
pub async fn insert_custom_field(
    conn: &mut Tx,
    account_id: i64,
    def: &CustomFieldDef,
) -> StoreResult<bool> {
    let done = db::query(
        "INSERT INTO custom_fields (id, account_id, name, is_required, type, options, position) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
                 (SELECT COALESCE(MAX(position), 0) + 1 FROM custom_fields WHERE account_id = ?2)) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&def.id)
    .bind(account_id)
    .bind(&def.name)
    .bind(def.is_required)
    .bind(&def.kind)
    .bind(serde_json::to_string(&def.options)?)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    db::query("UPDATE accounts SET custom_fields_count = custom_fields_count + 1 WHERE id = ?")
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    // Whether the account has custom fields is read with its callers.
    super::callers::count_change(conn).await?;
    Ok(true)
}
