//! PostgreSQL's statistics of the tables, kept current while a new installation's tables grow.
//!
//! PostgreSQL plans each statement from what its statistics say of the tables it reads. A new
//! database has none, and autovacuum looks at a database at most once a minute, while a busy node
//! fills tables from nothing in seconds. Plans made meanwhile are made for a handful of rows, and
//! each connection keeps the plan of a statement it has run a few times: a create's read of the
//! names in use, or a worker's read of the servers it builds, then scans a whole table on every
//! run (up to 3.5 and 2 ms at 15,000 servers, where the indexes answer in 0.04 and 0.2), until
//! autovacuum first analyses it. So every node looks each [`EVERY`] for tables that have grown to
//! more than twice the rows their statistics count (and to [`LEAST_ROWS`] at least) and analyses
//! them, which makes PostgreSQL plan the statements that read them anew. A table growing steadily
//! is analysed about log2 of its rows times in all; after that, autovacuum's own thresholds come
//! first.
//!
//! SQLite plans from its indexes alone (no statistics are gathered here), so this is for
//! PostgreSQL only.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::db::{self, Exec};
use super::{Engine, Lock, Store, StoreResult};

/// How often a node looks for grown tables.
pub const EVERY: Duration = Duration::from_secs(1);
/// Below this many rows a table is not analysed here: PostgreSQL assumes ten pages of rows for a
/// table it has no statistics of, and any plan reads so few quickly.
pub const LEAST_ROWS: i64 = 1_000;

/// The statistics target of the analyses made here: PostgreSQL samples 300 times as many rows.
/// What the plans need is the tables' size and the spread of their keys, which a sample of 3,000
/// rows gives as well as the default 30,000: analysing the four tables creates fill took 51 ms
/// instead of 450 to 520 ms at 28,000 rows each, all of it taken from the work running meanwhile.
/// Autovacuum analyses them again later, at the default.
const STATISTICS_TARGET: i64 = 10;

/// Analyses the tables of the store's schema that have grown to more than twice the rows their
/// statistics count, and to [`LEAST_ROWS`] at least; answers their names. PostgreSQL counts a
/// table's rows as its sessions report their work, up to a second after they committed it. Only
/// one node analyses at a time: while another does, this answers none and the next look decides.
pub async fn analyze_grown(store: &Store) -> StoreResult<Vec<String>> {
    if store.engine() != Engine::Postgres {
        return Ok(Vec::new());
    }
    // One statement while nothing has grown, which is most of the time.
    if grown(Exec::from(store.reader())).await?.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.write().await?;
    let (class, key) = Lock::Statistics.keys();
    let ours: bool = db::query_scalar("SELECT pg_try_advisory_xact_lock(?::INT, ?::INT)")
        .bind(class)
        .bind(key)
        .fetch_one(&mut tx)
        .await?;
    if !ours {
        return Ok(Vec::new());
    }
    // Again under the lock: another node may have analysed them meanwhile.
    let tables = grown(Exec::from(&mut tx)).await?;
    if !tables.is_empty() {
        let quoted: Vec<String> = tables
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect();
        db::query(&format!(
            "SET LOCAL default_statistics_target = {STATISTICS_TARGET}"
        ))
        .execute(&mut tx)
        .await?;
        db::query(&format!("ANALYZE {}", quoted.join(", ")))
            .execute(&mut tx)
            .await?;
    }
    tx.commit().await?;
    Ok(tables)
}

/// The tables that have grown to more than twice the rows their statistics count. Only those this
/// node's role may analyse (its own, as the nodes that migrated the schema made them): PostgreSQL
/// would skip the others with a warning, every second.
async fn grown(exec: Exec<'_>) -> StoreResult<Vec<String>> {
    db::query_scalar(
        "SELECT s.relname::TEXT FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         WHERE s.schemaname = current_schema() AND s.n_live_tup >= ? \
         AND s.n_live_tup > 2 * GREATEST(c.reltuples, 0) \
         AND pg_has_role(c.relowner, 'USAGE') ORDER BY s.relname",
    )
    .bind(LEAST_ROWS)
    .fetch_all(exec)
    .await
}

/// Starts the task that analyses grown tables every [`EVERY`] until `stopping` turns true. A
/// failure is logged and the next look tries again.
pub fn keep_current(store: Store, mut stopping: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stopping.changed() => return,
            }
            match analyze_grown(&store).await {
                Ok(tables) if !tables.is_empty() => {
                    tracing::debug!(?tables, "analysed tables that had grown");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "analysing grown tables failed"),
            }
        }
    })
}
