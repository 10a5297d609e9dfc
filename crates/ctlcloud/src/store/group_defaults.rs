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

pub(super) fn from_row(row: &db::Row) -> StoreResult<GroupDefaults> {
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
    .execute(&mut *conn)
    .await?;
    super::lineages::count_change(conn).await
}

/// Forgets a network every group named as its default, once the network is gone. Counted as a
/// change to groups only if a group named it.
pub async fn forget_network(conn: &mut Tx, network_id: &str) -> StoreResult<()> {
    let forgotten = db::query("UPDATE group_defaults SET network_id = NULL WHERE network_id = ?")
        .bind(network_id)
        .execute(&mut *conn)
        .await?;
    if forgotten.rows_affected() == 0 {
        return Ok(());
    }
    super::lineages::count_change(conn).await
}
