//! The defaults a group sets for servers created in it.

use super::db::{self, Exec, Tx};
use super::StoreResult;
use crate::model::GroupDefaults;

/// A group's own defaults (nothing inherited); all `None` when it sets none.
pub async fn get(conn: impl Into<Exec<'_>>, group_id: &str) -> StoreResult<GroupDefaults> {
    let row = db::query(
        "SELECT cpu, memory_gb, network_id, primary_dns, secondary_dns, template_name \
         FROM group_defaults WHERE group_id = ?",
    )
    .bind(group_id.to_lowercase())
    .fetch_optional(conn)
    .await?;
    row.as_ref()
        .map_or_else(|| Ok(GroupDefaults::default()), from_row)
}

/// The own defaults of a group of the account and of each of its ancestors, the group first, in one
/// statement. Empty when the account has no such group.
pub async fn lineage(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    group_id: &str,
) -> StoreResult<Vec<GroupDefaults>> {
    // The tree is never deeper than 256; a longer chain could only be a cycle.
    // The group is found by its key alone and its account checked last (see the store's module
    // notes).
    let rows = db::query(
        "WITH RECURSIVE chain (id, parent_id, account_id, depth) AS ( \
             SELECT id, parent_id, account_id, 0 FROM groups WHERE id = ?1 \
             UNION ALL \
             SELECT g.id, g.parent_id, g.account_id, c.depth + 1 \
             FROM groups g JOIN chain c ON g.id = c.parent_id WHERE c.depth < 255) \
         SELECT d.cpu, d.memory_gb, d.network_id, d.primary_dns, d.secondary_dns, d.template_name \
         FROM chain c LEFT JOIN group_defaults d ON d.group_id = c.id \
         WHERE c.account_id = ?2 ORDER BY c.depth",
    )
    .bind(group_id.to_lowercase())
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &db::Row) -> StoreResult<GroupDefaults> {
    Ok(GroupDefaults {
        cpu: row.try_get("cpu")?,
        memory_gb: row.try_get("memory_gb")?,
        network_id: row.try_get("network_id")?,
        primary_dns: row.try_get("primary_dns")?,
        secondary_dns: row.try_get("secondary_dns")?,
        template_name: row.try_get("template_name")?,
    })
}

/// Replaces a group's own defaults.
pub async fn put(conn: &mut Tx, group_id: &str, d: &GroupDefaults) -> StoreResult<()> {
    db::query(
        "INSERT INTO group_defaults (group_id, cpu, memory_gb, network_id, primary_dns, secondary_dns, \
         template_name) VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (group_id) DO UPDATE SET cpu = excluded.cpu, memory_gb = excluded.memory_gb, \
         network_id = excluded.network_id, primary_dns = excluded.primary_dns, \
         secondary_dns = excluded.secondary_dns, template_name = excluded.template_name",
    )
    .bind(group_id.to_lowercase())
    .bind(d.cpu)
    .bind(d.memory_gb)
    .bind(&d.network_id)
    .bind(&d.primary_dns)
    .bind(&d.secondary_dns)
    .bind(&d.template_name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a network every group named as its default, once the network is gone.
pub async fn forget_network(conn: &mut Tx, network_id: &str) -> StoreResult<()> {
    db::query("UPDATE group_defaults SET network_id = NULL WHERE network_id = ?")
        .bind(network_id)
        .execute(conn)
        .await?;
    Ok(())
}
