//! Groups: the tree each data center's servers live in.

use super::db::{self, Exec, Pool, Row, Tx};

use super::StoreResult;
use crate::model::{Group, GroupDefaults};

pub(super) const COLUMNS: &str =
    "id, account_id, dc, parent_id, name, description, type, status, custom_fields, \
     created_at, created_by, modified_at, modified_by";

/// How many [`COLUMNS`] there are.
pub(super) const COLUMN_COUNT: usize = 13;

pub(super) fn from_row(row: &Row) -> StoreResult<Group> {
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
        change: super::change_info(row)?,
    })
}

/// Inserts groups, all in one statement.
pub async fn insert(conn: &mut Tx, groups: &[Group]) -> StoreResult<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let rows = db::rows(conn.engine(), COLUMN_COUNT, groups.len());
    let sql = format!("INSERT INTO groups ({COLUMNS}) {rows}");
    let custom_fields: Vec<String> = groups
        .iter()
        .map(|g| serde_json::to_string(&g.custom_fields))
        .collect::<Result<_, _>>()?;
    let rows = groups.iter().zip(custom_fields);
    db::query(&sql)
        .bind_rows(COLUMN_COUNT, rows, |q, (g, custom_fields)| {
            q.bind(&g.id)
                .bind(g.account_id)
                .bind(&g.dc)
                .bind(&g.parent_id)
                .bind(&g.name)
                .bind(&g.description)
                .bind(&g.kind)
                .bind(&g.status)
                .bind(custom_fields)
                .bind(g.change.created_at)
                .bind(&g.change.created_by)
                .bind(g.change.modified_at)
                .bind(&g.change.modified_by)
        })
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
    // By its key alone, then checked to be the account's (see the store's module notes).
    let row = db::query(&format!("SELECT {COLUMNS} FROM groups WHERE id = ?"))
        .bind(id.to_lowercase())
        .fetch_optional(conn)
        .await?;
    let group = row.as_ref().map(from_row).transpose()?;
    Ok(group.filter(|g| g.account_id == account_id))
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

/// The ids of the servers in these groups, as (group, server) pairs ordered by server id within
/// each group. Read through the group index, so the cost is what the groups hold, not what their
/// account holds; the caller has read the groups from the account it acts on.
pub async fn memberships(pool: &Pool, group_ids: &[&str]) -> StoreResult<Vec<(String, String)>> {
    const CHUNK: usize = 500;
    let mut pairs = Vec::new();
    for chunk in group_ids.chunks(CHUNK) {
        let sql = memberships_sql(chunk.len());
        let mut query = db::query_as(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        pairs.extend(query.fetch_all(pool).await?);
    }
    Ok(pairs)
}

/// The statement of [`memberships`] for `n` groups: it reads the index of servers by group and
/// id alone, which holds the pairs in this order.
fn memberships_sql(n: usize) -> String {
    let marks = db::marks(n);
    format!("SELECT group_id, id FROM servers WHERE group_id IN ({marks}) ORDER BY group_id, id")
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

/// A recursive query naming `subtree(id, depth)`: the group bound as `?1` (depth 0) and every
/// group below it.
pub(super) const SUBTREE: &str = "WITH RECURSIVE subtree(id, depth) AS ( \
     SELECT id, 0 FROM groups WHERE id = ?1 \
     UNION ALL SELECT g.id, s.depth + 1 FROM groups g JOIN subtree s ON g.parent_id = s.id)";

/// Saves what a group's owner can change: name, description, parent, status, custom fields, and
/// the modification stamp.
pub async fn update(conn: &mut Tx, g: &Group) -> StoreResult<()> {
    db::query(
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
    .execute(&mut *conn)
    .await?;
    super::lineages::count_change(conn).await
}

/// The ids of a group and every group below it, deepest first, so that deleting them in this
/// order never leaves a child without its parent.
pub async fn subtree(conn: &mut Tx, group_id: &str) -> StoreResult<Vec<String>> {
    db::query_scalar(&format!(
        "{SUBTREE} SELECT id FROM subtree ORDER BY depth DESC, id"
    ))
    .bind(group_id.to_lowercase())
    .fetch_all(conn)
    .await
}

/// The ids of the servers in a group and every group below it.
pub async fn servers_in_subtree(
    conn: impl Into<Exec<'_>>,
    group_id: &str,
) -> StoreResult<Vec<String>> {
    db::query_scalar(&format!(
        "{SUBTREE} SELECT id FROM servers WHERE group_id IN (SELECT id FROM subtree) ORDER BY id"
    ))
    .bind(group_id.to_lowercase())
    .fetch_all(conn)
    .await
}

/// Sets the status of a group and every group below it, stamping each as modified.
pub async fn set_subtree_status(
    conn: &mut Tx,
    group_id: &str,
    status: &str,
    now: i64,
    by: &str,
) -> StoreResult<()> {
    db::query(&format!(
        "{SUBTREE} UPDATE groups SET status = ?2, modified_at = ?3, modified_by = ?4 \
         WHERE id IN (SELECT id FROM subtree)"
    ))
    .bind(group_id.to_lowercase())
    .bind(status)
    .bind(now)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    super::lineages::count_change(conn).await
}

/// A group and its ancestors (`?1`), each with its own defaults, if of the account (`?2`). The tree
/// is never deeper than 256; a longer chain could only be a cycle. The group is found by its key
/// alone and its account checked last (see the store's module notes). The result names its
/// columns: on PostgreSQL a prepared statement whose result would gain a column (another node's
/// migration) is refused. No column of `group_defaults` shares a name with one of `groups`.
static LINEAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH RECURSIVE chain AS ( \
             SELECT g.*, 0 AS depth FROM groups g WHERE g.id = ?1 \
             UNION ALL \
             SELECT g.*, c.depth + 1 FROM groups g JOIN chain c ON g.id = c.parent_id \
             WHERE c.depth < 255) \
         SELECT {COLUMNS}, depth, cpu, memory_gb, network_id, primary_dns, secondary_dns, \
                template_name \
         FROM chain c LEFT JOIN group_defaults d ON d.group_id = c.id \
         WHERE c.account_id = ?2"
    )
});

/// A group of the account and each of its ancestors, the group first, each with its own defaults,
/// in one statement. Empty when the account has no such group.
pub async fn lineage(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    group_id: &str,
) -> StoreResult<Vec<(Group, GroupDefaults)>> {
    let rows = db::query(&LINEAGE)
        .bind(group_id.to_lowercase())
        .bind(account_id)
        .fetch_all(conn)
        .await?;
    // Put in order here rather than by an ORDER BY, which costs SQLite a temporary b-tree.
    let mut lineage = rows
        .iter()
        .map(|row| {
            let depth: i64 = row.try_get("depth")?;
            Ok((depth, from_row(row)?, super::group_defaults::from_row(row)?))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    lineage.sort_by_key(|(depth, _, _)| *depth);
    Ok(lineage.into_iter().map(|(_, g, d)| (g, d)).collect())
}

/// The system group of a kind (`archive`, `templates`) of the account in a data center.
pub async fn system(
    conn: &mut Tx,
    account_id: i64,
    dc: &str,
    kind: &str,
) -> StoreResult<Option<Group>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM groups WHERE account_id = ? AND dc = ? AND type = ? \
         ORDER BY created_at LIMIT 1"
    ))
    .bind(account_id)
    .bind(dc.to_uppercase())
    .bind(kind)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Removes a group that has no servers and no child groups left.
pub async fn delete(conn: &mut Tx, id: &str) -> StoreResult<()> {
    db::query("DELETE FROM groups WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    super::lineages::count_change(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scratch;

    /// A group's servers are read from the group index alone, already in order: neither a look
    /// into the table for each server nor a sort, whatever the group holds.
    #[tokio::test]
    async fn the_servers_of_groups_are_read_from_their_index_in_order() {
        let scratch = Scratch::open().await;
        for n in [1, 3] {
            let explain = format!("EXPLAIN QUERY PLAN {}", memberships_sql(n));
            let mut query = db::query(&explain);
            for i in 0..n {
                query = query.bind(format!("group{i}"));
            }
            let plan = scratch.plan(query).await;
            assert_eq!(plan.len(), 1, "{plan:?}");
            assert!(
                plan[0].contains("COVERING INDEX servers_group_id"),
                "{plan:?}"
            );
        }
        scratch.close().await;
    }
}
