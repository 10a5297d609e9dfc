//! What an account uses, counted for its caps. Counted inside the write transaction that would
//! add more, so concurrent creates cannot slip past a cap together.

use super::db::{self, Tx};
use super::StoreResult;

/// Counts servers added to (or, negative, removed from) an account in its `servers_count`: kept
/// with every insert and delete, so that checking its cap ([`super::accepted::standing`]) costs
/// the same in an account of a million servers as in an empty one.
pub async fn add_servers(conn: &mut Tx, account_id: i64, n: i64) -> StoreResult<()> {
    db::query("UPDATE accounts SET servers_count = servers_count + ? WHERE id = ?")
        .bind(n)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The account's own groups: every group but the four each data center starts with (its root
/// and the root's Default Group, Archive and Templates).
pub async fn groups(conn: &mut Tx, account_id: i64) -> StoreResult<i64> {
    db::query_scalar(
        "SELECT COUNT(*) FROM groups g JOIN groups p ON p.id = g.parent_id \
         WHERE g.account_id = ? AND NOT (p.parent_id IS NULL AND \
         ((g.type = 'default' AND g.name = 'Default Group') OR g.type IN ('archive', 'templates')))",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await
}
