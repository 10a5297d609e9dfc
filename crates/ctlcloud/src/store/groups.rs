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

/// The ids of the servers in each group of the account in a data center, as (group, server) pairs
/// ordered by server id.
pub async fn memberships(
    pool: &SqlitePool,
    account_id: i64,
    dc: &str,
) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT group_id, id FROM servers WHERE account_id = ? AND dc = ? ORDER BY id",
    )
    .bind(account_id)
    .bind(dc)
    .fetch_all(pool)
    .await?)
}

/// A recursive query naming `subtree(id, depth)`: the group bound as `?1` (depth 0) and every
/// group below it.
pub(super) const SUBTREE: &str = "WITH RECURSIVE subtree(id, depth) AS ( \
     SELECT id, 0 FROM groups WHERE id = ?1 \
     UNION ALL SELECT g.id, s.depth + 1 FROM groups g JOIN subtree s ON g.parent_id = s.id)";

/// Saves what a group's owner can change: name, description, parent, status, custom fields, and
/// the modification stamp.
pub async fn update(conn: &mut SqliteConnection, g: &Group) -> StoreResult<()> {
    sqlx::query(
        "UPDATE groups SET name = ?, description = ?, parent_id = ?, status = ?, custom_fields = ?, \
         modified_at = ?, modified_by = ? WHERE id = ?",
    )
    .bind(&g.name)
    .bind(&g.description)
    .bind(&g.parent_id)
    .bind(&g.status)
    .bind(serde_json::to_string(&g.custom_fields)?)
    .bind(g.change.modified_at)
    .bind(&g.change.modified_by)
    .bind(&g.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of a group and every group below it, deepest first, so that deleting them in this
/// order never leaves a child without its parent.
pub async fn subtree(conn: &mut SqliteConnection, group_id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(&format!(
        "{SUBTREE} SELECT id FROM subtree ORDER BY depth DESC, id"
    ))
    .bind(group_id.to_lowercase())
    .fetch_all(conn)
    .await?)
}

/// The ids of the servers in a group and every group below it.
pub async fn servers_in_subtree(
    conn: impl sqlx::SqliteExecutor<'_>,
    group_id: &str,
) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(&format!(
        "{SUBTREE} SELECT id FROM servers WHERE group_id IN (SELECT id FROM subtree) ORDER BY id"
    ))
    .bind(group_id.to_lowercase())
    .fetch_all(conn)
    .await?)
}

/// Sets the status of a group and every group below it, stamping each as modified.
pub async fn set_subtree_status(
    conn: &mut SqliteConnection,
    group_id: &str,
    status: &str,
    now: i64,
    by: &str,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "{SUBTREE} UPDATE groups SET status = ?2, modified_at = ?3, modified_by = ?4 \
         WHERE id IN (SELECT id FROM subtree)"
    ))
    .bind(group_id.to_lowercase())
    .bind(status)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// A group and its ancestors up to the root, nearest first.
pub async fn lineage(
    conn: &mut SqliteConnection,
    account_id: i64,
    id: &str,
) -> StoreResult<Vec<Group>> {
    let mut chain: Vec<Group> = Vec::new();
    let mut next = Some(id.to_lowercase());
    // The tree is never deeper than this; a longer chain could only be a cycle.
    while let Some(id) = next.take().filter(|_| chain.len() < 256) {
        let Some(group) = get(&mut *conn, account_id, &id).await? else {
            break;
        };
        next = group.parent_id.clone();
        chain.push(group);
    }
    Ok(chain)
}

/// The system group of a kind (`archive`, `templates`) of the account in a data center.
pub async fn system(
    conn: &mut SqliteConnection,
    account_id: i64,
    dc: &str,
    kind: &str,
) -> StoreResult<Option<Group>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE account_id = ? AND dc = ? AND type = ? \
         ORDER BY rowid LIMIT 1"
    ))
    .bind(account_id)
    .bind(dc.to_uppercase())
    .bind(kind)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Removes a group that has no servers and no child groups left.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM groups WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
