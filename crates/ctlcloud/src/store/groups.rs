//! Groups: the tree each data center's servers live in.

use super::db::{self, Exec, Pool, Row, Tx};

use super::StoreResult;
use crate::model::{ChangeInfo, Group};

const COLUMNS: &str =
    "id, account_id, dc, parent_id, name, description, type, status, custom_fields, \
     created_at, created_by, modified_at, modified_by";

fn from_row(row: &Row) -> StoreResult<Group> {
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

pub async fn insert(conn: &mut Tx, g: &Group) -> StoreResult<()> {
    db::query(&format!(
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
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    id: &str,
) -> StoreResult<Option<Group>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE id = ? AND account_id = ?"
    ))
    .bind(id.to_lowercase())
    .bind(account_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The root group (`<DC> Hardware`) of the account in a data center.
pub async fn root(pool: &Pool, account_id: i64, dc: &str) -> StoreResult<Option<Group>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE account_id = ? AND dc = ? AND parent_id IS NULL"
    ))
    .bind(account_id)
    .bind(dc.to_uppercase())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every group of the account in a data center, in creation order (by name within a second).
pub async fn in_datacenter(pool: &Pool, account_id: i64, dc: &str) -> StoreResult<Vec<Group>> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE account_id = ? AND dc = ? ORDER BY created_at, name"
    ))
    .bind(account_id)
    .bind(dc)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The ids of the servers in each group of the account in a data center, as (group, server) pairs
/// ordered by server id.
pub async fn memberships(
    pool: &Pool,
    account_id: i64,
    dc: &str,
) -> StoreResult<Vec<(String, String)>> {
    db::query_as("SELECT group_id, id FROM servers WHERE account_id = ? AND dc = ? ORDER BY id")
        .bind(account_id)
        .bind(dc)
        .fetch_all(pool)
        .await
}

/// The account's Archive group in a data center, where archived servers live.
pub async fn archive(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    dc: &str,
) -> StoreResult<Option<Group>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE account_id = ? AND dc = ? AND type = 'archive' \
         ORDER BY created_at LIMIT 1"
    ))
    .bind(account_id)
    .bind(dc)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}
