//! The audit trail: one row per write, who did it, in which account, what, to what, and how it
//! ended. Rows are only ever added.

use std::sync::Mutex;

use tokio::sync::watch;

use super::accounts::TREE;
use super::db::{self, Engine, Pool, Tx};
use super::{Store, StoreResult};

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
pub struct NewEntry {
    pub at: i64,
    pub actor: String,
    /// The actor's account and its alias; `None` for the operator.
    pub account: Option<(i64, String)>,
    pub operation: String,
    pub target: String,
    pub outcome: u16,
}

/// Records on their way to the store. Under load many requests end between two writes of the
/// trail, so their records are written together: one statement in one write transaction, instead
/// of a transaction each.
pub(super) struct Queue {
    state: Mutex<Queued>,
    /// How many records have been written (or given up on after an error), counted in the order
    /// they were queued.
    written: watch::Sender<u64>,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            state: Mutex::default(),
            written: watch::Sender::new(0),
        }
    }
}

#[derive(Default)]
struct Queued {
    pending: Vec<NewEntry>,
    /// How many records were ever queued.
    count: u64,
    /// A task is writing the pending records.
    writing: bool,
}

impl Store {
    /// Adds a record to the audit trail; a task writes it with the others pending. On PostgreSQL
    /// this returns once the record is committed, as other nodes may read the trail at once; on
    /// SQLite the one node's reads wait for it instead ([`Store::settled`]), so a crash between
    /// the write being answered and its record being committed can lose the record.
    pub async fn audit(&self, entry: NewEntry) {
        let (count, start) = {
            let mut q = self.audit.state.lock().unwrap_or_else(|e| e.into_inner());
            q.pending.push(entry);
            q.count += 1;
            (q.count, !std::mem::replace(&mut q.writing, true))
        };
        if start {
            tokio::spawn(write_queued(self.clone()));
        }
        if self.engine() == Engine::Postgres {
            self.audit_written(count).await;
        }
    }

    /// Returns once every audit record queued before it is in the store; the task's reads from
    /// then on see them (it leaves any snapshot it read in).
    pub async fn settled(&self) {
        super::sqlite::end_snapshot();
        let count = self
            .audit
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .count;
        self.audit_written(count).await;
    }

    async fn audit_written(&self, count: u64) {
        let mut written = self.audit.written.subscribe();
        // The sender lives as long as the store.
        let _ = written.wait_for(|w| *w >= count).await;
    }
}

/// Writes pending records until none is left.
async fn write_queued(store: Store) {
    loop {
        {
            let mut q = store.audit.state.lock().unwrap_or_else(|e| e.into_inner());
            if q.pending.is_empty() {
                q.writing = false;
                return;
            }
        }
        // The records are taken once the write connection is ours: those queued while waiting for
        // it go in the same statement.
        let tx = store.write().await;
        let (entries, upto) = {
            let mut q = store.audit.state.lock().unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut q.pending), q.count)
        };
        let written = async {
            let mut tx = tx?;
            insert(&mut tx, &entries).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = written {
            tracing::error!(error = %e, records = entries.len(), "writing the audit trail failed");
        }
        store.audit.written.send_replace(upto);
    }
}

/// Inserts records, up to 1,000 in each statement.
async fn insert(tx: &mut Tx, entries: &[NewEntry]) -> StoreResult<()> {
    for chunk in entries.chunks(1000) {
        let rows = db::rows(tx.engine(), 7, chunk.len());
        let sql = format!(
            "INSERT INTO audit (at, actor, account_id, account_alias, operation, target, outcome) \
             {rows}"
        );
        db::query(&sql)
            .bind_rows(7, chunk, |q, e| {
                q.bind(e.at)
                    .bind(&e.actor)
                    .bind(e.account.as_ref().map(|(id, _)| *id))
                    .bind(e.account.as_ref().map(|(_, alias)| alias.as_str()))
                    .bind(&e.operation)
                    .bind(&e.target)
                    .bind(e.outcome)
            })
            .execute(&mut *tx)
            .await?;
    }
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
         WHERE {scope} id < ? ORDER BY id DESC {}",
        db::limit("?")
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
