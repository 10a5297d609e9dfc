//! The store: ctlcloud's records in an embedded SQLite database (WAL, synchronous=FULL).
//!
//! Writes go through one connection, so concurrent writers in this process queue up instead of
//! failing, and their transactions are committed in batches (group commit, see [`writer`]): one
//! fsync makes many writes durable. Every batch starts with `BEGIN IMMEDIATE`, so another process
//! on the same file (`ctlcloud admin`) waits for the lock instead of failing on upgrade. Reads use
//! a pool of their own and never wait for writers.

pub mod accounts;
pub mod groups;
pub mod jobs;
pub mod networks;
pub mod servers;
pub mod users;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqlitePool};

pub use writer::Tx;

/// An error from the database. Its text is for the logs, never for clients.
#[derive(Debug, Clone)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(format!("stored JSON: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The schema, in order. A migration is never edited once released; add a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (6, include_str!("../../migrations/0006_address_hint.sql")),
];

#[derive(Clone)]
pub struct Store {
    writer: Arc<writer::Writer>,
    reader: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<Store> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let writer = writer::Writer::start(options.connect().await?).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            // A ping per acquire would double the round trips to SQLite's threads on every read.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.read_only(true))
            .await?;
        let store = Store { writer, reader };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await?;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, unixepoch())",
            )
            .bind(version)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Starts a write transaction. Nothing it does is visible or durable until `commit` returns.
    pub async fn write(&self) -> StoreResult<Tx> {
        self.writer.begin().await
    }

    /// Batches of writes committed since the store opened.
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }

    /// The pool for reads.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// True when an error is a UNIQUE constraint violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
