//! Groups: the tree each data center's servers live in.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreResult;
use crate::model::{ChangeInfo, Group};

const COLUMNS: &str =
    "id, account_id, dc, parent_id, name, description, type, status, custom_fields, \
     created_at, created_by, modified_at, modified_by";

fn from_row(row: &SqliteRow) -> StoreResult<Group> {
    Ok(Group {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        dc: row.try_get("dc")?,
        parent_id: row.try_get("parent_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        kind: row.try_get("type")?,
        status: row.try_get("status")?,
        custom_fields: serde_json::from_str(row.try_get("custom_fields")?)?,
        change: ChangeInfo {
            created_at: row.try_get("created_at")?,
            created_by: row.try_get("created_by")?,
            modified_at: row.try_get("modified_at")?,
            modified_by: row.try_get("modified_by")?,
        },
    })
}

pub async fn insert(conn: &mut SqliteConnection, g: &Group) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO groups ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&g.id)
    .bind(g.account_id)
    .bind(&g.dc)
    .bind(&g.parent_id)
    .bind(&g.name)
    .bind(&g.description)
    .bind(&g.kind)
    .bind(&g.status)
    .bind(serde_json::to_string(&g.custom_fields)?)
    .bind(g.change.created_at)
    .bind(&g.change.created_by)
    .bind(g.change.modified_at)
    .bind(&g.change.modified_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// A group of the account, by id (any case).
pub async fn get(
    conn: impl sqlx::SqliteExecutor<'_>,
    account_id: i64,
    id: &str,
) -> StoreResult<Option<Group>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE id = ? AND account_id = ?"
    ))
    .bind(id.to_lowercase())
    .bind(account_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The root group (`<DC> Hardware`) of the account in a data center.
pub async fn root(pool: &SqlitePool, account_id: i64, dc: &str) -> StoreResult<Option<Group>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE account_id = ? AND dc = ? AND parent_id IS NULL"
    ))
    .bind(account_id)
    .bind(dc.to_uppercase())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every group of the account in a data center, in creation order.
pub async fn in_datacenter(
    pool: &SqlitePool,
    account_id: i64,
    dc: &str,
) -> StoreResult<Vec<Group>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE account_id = ? AND dc = ? ORDER BY rowid"
    ))
    .bind(account_id)
    .bind(dc)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The ids of the servers directly in the given groups of the account, as (group, server) pairs
/// ordered by server id.
pub async fn memberships(
    pool: &SqlitePool,
    account_id: i64,
    group_ids: &[&str],
) -> StoreResult<Vec<(String, String)>> {
    let ids = serde_json::to_string(group_ids)?;
    // One row per group with its servers as a JSON array: a group of ten thousand servers comes
    // back from SQLite's thread in one piece instead of row by row. `+account_id` keeps SQLite on
    // the group index; by the account's index, a group in an account of a million reads the million.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT group_id, json_group_array(id) FROM servers \
         WHERE group_id IN (SELECT value FROM json_each(?)) AND +account_id = ? GROUP BY group_id",
    )
    .bind(ids)
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    let mut pairs = Vec::new();
    for (group, servers) in rows {
        let servers: Vec<String> = serde_json::from_str(&servers)?;
        pairs.extend(servers.into_iter().map(|s| (group.clone(), s)));
    }
    pairs.sort_unstable_by(|a, b| a.1.cmp(&b.1));
    Ok(pairs)
}
