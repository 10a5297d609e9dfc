//! The audit trail: one row per write, who did it, in which account, what, to what, and how it
//! ended. Rows are only ever added.

use super::accounts::TREE;
use super::db::{self, Pool, Tx};
use super::StoreResult;

static TREE_SCOPE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("account_id IN {TREE} AND"));

/// One recorded write.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub account_alias: Option<String>,
    pub operation: String,
    pub target: String,
    pub outcome: i64,
}

/// What is recorded; the store assigns the id.
pub struct NewEntry<'a> {
    pub at: i64,
    pub actor: &'a str,
    /// The actor's account; `None` for the operator.
    pub account: Option<(i64, &'a str)>,
    pub operation: &'a str,
    pub target: &'a str,
    pub outcome: u16,
}

pub async fn record(conn: &mut Tx, e: NewEntry<'_>) -> StoreResult<()> {
    db::query(
        "INSERT INTO audit (at, actor, account_id, account_alias, operation, target, outcome) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(e.at)
    .bind(e.actor)
    .bind(e.account.map(|(id, _)| id))
    .bind(e.account.map(|(_, alias)| alias))
    .bind(e.operation)
    .bind(e.target)
    .bind(e.outcome)
    .execute(conn)
    .await?;
    Ok(())
}

/// Which entries a reader may see.
pub enum Filter {
    /// Everything (the operator).
    All,
    /// Entries by actors of one account and the accounts below it.
    Tree(i64),
    /// Entries by actors of exactly one account.
    Account(i64),
}

/// Newest first, at most `limit`, only those older than `before` if given.
pub async fn list(
    pool: &Pool,
    filter: Filter,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let (scope, id) = match filter {
        Filter::All => ("", None),
        Filter::Tree(root) => (TREE_SCOPE.as_str(), Some(root)),
        Filter::Account(account) => ("account_id = ? AND", Some(account)),
    };
    let sql = format!(
        "SELECT id, at, actor, account_alias, operation, target, outcome FROM audit \
         WHERE {scope} id < ? ORDER BY id DESC LIMIT ?"
    );
    let mut query = db::query(&sql);
    if let Some(id) = id {
        query = query.bind(id);
    }
    let rows = query
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                account_alias: row.try_get("account_alias")?,
                operation: row.try_get("operation")?,
                target: row.try_get("target")?,
                outcome: row.try_get("outcome")?,
            })
        })
        .collect()
}
