//! SQLite connections, run in-process: a statement runs on the thread that asks for it, which
//! takes microseconds for the store's queries, and its prepared form is kept per connection.
//! Only the statements that wait on the disk or on another process (`COMMIT`, and `BEGIN
//! IMMEDIATE` while another process writes) go to a blocking thread, in [`super::writer`].

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement, ToSql};

use super::db::{Columns, Param, Row, Value};
use super::statements::{self, ByText};
use super::{StoreError, StoreResult};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// How long a statement waits for another process's lock on the file.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection, with the column names of the queries it has run: a row is read by its columns'
/// names, and asking SQLite for them (a C string each, checked to be UTF-8 and copied) is done
/// once per query and connection.
#[derive(Debug)]
pub struct Conn {
    raw: Connection,
    columns: RefCell<ByText<Arc<Columns>>>,
}

impl std::ops::Deref for Conn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.raw
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.raw
    }
}

impl Conn {
    /// The names of the columns `statement` (prepared from `sql`) returns.
    fn column_names(&self, sql: &str, statement: &Statement<'_>) -> Arc<Columns> {
        let Ok(names) = self.columns.borrow_mut().get(
            sql,
            |names| names.count() == statement.column_count(),
            || {
                Ok::<_, Infallible>(Columns::new(
                    statement.column_names().into_iter().map(str::to_owned),
                ))
            },
        );
        names
    }
}

/// Opens a connection with the store's settings: WAL, `synchronous=FULL`, foreign keys, temporary
/// data in memory, memory-mapped reads, and a wait of up to 30 s for another process's write lock.
pub fn open(path: &Path, read_only: bool) -> StoreResult<Conn> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(statements::KEPT);
    if !read_only {
        conn.pragma_update(None, "journal_mode", "wal")?;
    }
    // Each write transaction is a savepoint inside its batch (see `writer`); the pages a savepoint
    // would need to undo are kept in memory rather than written to a temporary file. Pages are
    // read through a memory map of the file's first 2 GiB (SQLite's own maximum), without a system
    // call each and shared by every connection, rather than copied into each one's page cache.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
         PRAGMA mmap_size = 2147483648;",
    )?;
    Ok(Conn {
        raw: conn,
        columns: RefCell::default(),
    })
}

/// Read connections, opened as they are needed and kept for reuse. Readers never wait for the
/// writer (WAL), and each request holds one only while its statements run.
#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Conn>>,
    closed: AtomicBool,
}

impl Readers {
    pub fn new(path: &Path) -> Arc<Readers> {
        Arc::new(Readers {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        })
    }

    /// An idle connection, or a new one.
    pub fn get(self: &Arc<Self>) -> StoreResult<Reader> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open(&self.path, true)?,
        };
        Ok(Reader {
            conn: Some(conn),
            readers: self.clone(),
        })
    }

    /// Runs `task` with its reads through this pool in one read transaction, which begins at its
    /// first read: the token and what a `GET` shows are one consistent view, and SQLite takes its
    /// read locks once, not for each statement (those locks, shared by every connection of the
    /// process, are what concurrent reads contend for). A write ends the snapshot for the rest of
    /// the task, whose reads from then on see what it wrote; so does [`Readers::begin`], which
    /// hands the snapshot over to the caller. (Not an `async fn`, which would hold `task` twice.)
    pub fn in_snapshot<F: Future>(self: &Arc<Self>, task: F) -> impl Future<Output = F::Output> {
        let slot = Snapshot {
            readers: self.clone(),
            state: SnapshotState::NotBegun { commits: None },
        };
        SNAPSHOT.scope(RefCell::new(slot), task)
    }

    /// Runs one statement's work on the task's snapshot (see [`Readers::in_snapshot`]), or else on
    /// a connection of its own, in a read transaction of its own.
    pub fn with_conn<T>(
        self: &Arc<Self>,
        work: impl FnOnce(&Conn) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut work = Some(work);
        let in_snapshot = self.own_snapshot(|state| {
            if matches!(state, SnapshotState::NotBegun { .. }) {
                match self.get().and_then(ReadTx::begin) {
                    Ok(tx) => *state = SnapshotState::Open(tx),
                    Err(e) => return Some(Err(e)),
                }
            }
            let SnapshotState::Open(tx) = state else {
                return None;
            };
            work.take().map(|work| work(tx.conn()))
        });
        match in_snapshot.flatten() {
            Some(done) => done,
            None => (work.take().expect("not run yet"))(self.get()?.conn()),
        }
    }

    /// A read transaction: the task's snapshot if it has one open on this pool, which it no
    /// longer reads in, or a new one.
    pub fn begin(self: &Arc<Self>) -> StoreResult<ReadTx> {
        let open =
            self.own_snapshot(
                |state| match std::mem::replace(state, SnapshotState::Ended) {
                    SnapshotState::Open(tx) => Some(tx),
                    _ => None,
                },
            );
        match open.flatten() {
            Some(tx) => Ok(tx),
            None => ReadTx::begin(self.get()?),
        }
    }

    /// The count of commits (`count`, see `store::commits`) that the task's next read on this
    /// pool is as of, or later: counted now, or, in a snapshot not yet begun, once for all that
    /// the task checks before its first read; `None` in a snapshot begun already.
    pub fn commits_for_next_read(
        self: &Arc<Self>,
        count: impl FnOnce() -> Option<u64>,
    ) -> Option<u64> {
        let mut count = Some(count);
        let mut take = || (count.take().expect("counted once"))();
        let decided = self.own_snapshot(|state| match state {
            SnapshotState::NotBegun { commits } => {
                if commits.is_none() {
                    *commits = take();
                }
                Some(*commits)
            }
            SnapshotState::Open(_) => Some(None),
            SnapshotState::Ended => None,
        });
        match decided.flatten() {
            Some(commits) => commits,
            None => take(),
        }
    }

    /// Runs `f` on the state of the task's snapshot if the task has one on this pool.
    fn own_snapshot<T>(self: &Arc<Self>, f: impl FnOnce(&mut SnapshotState) -> T) -> Option<T> {
        SNAPSHOT
            .try_with(|slot| {
                let mut slot = slot.borrow_mut();
                Arc::ptr_eq(&slot.readers, self).then(|| f(&mut slot.state))
            })
            .ok()
            .flatten()
    }

    /// Closes the idle connections; those in use close when they are returned.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

tokio::task_local! {
    /// The read transaction a task reads in (see [`Readers::in_snapshot`]).
    static SNAPSHOT: RefCell<Snapshot>;
}

struct Snapshot {
    /// The pool it reads from: a task may read other stores, outside its snapshot.
    readers: Arc<Readers>,
    state: SnapshotState,
}

// The state stays where it is, in its task's local, from the request's start to its end; the
// size of its open transaction is never moved about.
#[allow(clippy::large_enum_variant)]
enum SnapshotState {
    /// The count of commits its first read will be as of or later, once asked for.
    NotBegun {
        commits: Option<u64>,
    },
    Open(ReadTx),
    /// The task wrote or took the transaction over: every read is again on its own.
    Ended,
}

/// Ends the task's snapshot, if it has one, before it writes: its reads from now on see the
/// latest committed state, its own writes included.
pub fn end_snapshot() {
    let open = SNAPSHOT
        .try_with(|slot| std::mem::replace(&mut slot.borrow_mut().state, SnapshotState::Ended));
    // Rolled back (and its connection returned) here, outside the borrow.
    drop(open);
}

/// A read connection on loan; it goes back to the pool when dropped, with any transaction it
/// was left in rolled back.
pub struct Reader {
    conn: Option<Conn>,
    readers: Arc<Readers>,
}

impl Reader {
    pub fn conn(&self) -> &Conn {
        self.conn.as_ref().expect("a loaned connection")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self.readers.closed.load(Ordering::SeqCst)
            || (!conn.is_autocommit() && control(&conn, &["ROLLBACK"]).is_err())
        {
            return;
        }
        self.readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }
}

/// A read transaction: one consistent view of the database for several statements.
pub struct ReadTx(Reader);

impl ReadTx {
    pub fn begin(reader: Reader) -> StoreResult<ReadTx> {
        control(reader.conn(), &["BEGIN"])?;
        Ok(ReadTx(reader))
    }

    pub fn conn(&self) -> &Conn {
        self.0.conn()
    }

    pub fn conn_mut(&mut self) -> &mut Conn {
        self.0.conn.as_mut().expect("a loaned connection")
    }

    pub fn commit(self) -> StoreResult<()> {
        control(self.0.conn(), &["COMMIT"])?;
        Ok(())
    }
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let value = match self {
            Param::Int(Some(v)) => ValueRef::Integer(*v),
            Param::Real(Some(v)) => ValueRef::Real(*v),
            Param::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Param::Bytes(Some(v)) => ValueRef::Blob(v),
            Param::Bool(Some(v)) => ValueRef::Integer(i64::from(*v)),
            Param::Int(None)
            | Param::Real(None)
            | Param::Text(None)
            | Param::Bytes(None)
            | Param::Bool(None) => ValueRef::Null,
        };
        Ok(ToSqlOutput::Borrowed(value))
    }
}

/// Runs transaction control statements (`BEGIN`, `SAVEPOINT`, `COMMIT`, …) in order, each
/// prepared once per connection rather than parsed every time.
pub fn control(conn: &Connection, statements: &[&str]) -> StoreResult<()> {
    for sql in statements {
        conn.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}

/// Runs a statement that returns no rows; the number of rows it changed.
pub fn execute(conn: &Connection, sql: &str, params: &[Param]) -> StoreResult<u64> {
    let mut statement = conn.prepare_cached(sql)?;
    Ok(statement.execute(rusqlite::params_from_iter(params))? as u64)
}

/// Runs a query and reads all its rows.
pub fn fetch_all(conn: &Conn, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    let mut names = None;
    while let Some(row) = rows.next()? {
        // Named once it has run: a statement prepared before the schema changed is prepared
        // again by its first step, and its columns are then the new ones.
        let names = names.get_or_insert_with(|| conn.column_names(sql, row.as_ref()));
        let mut values = Vec::with_capacity(names.count());
        for i in 0..names.count() {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => Value::Real(v),
                ValueRef::Text(v) => Value::Text(
                    std::str::from_utf8(v)
                        .map_err(|e| StoreError(format!("stored text is not UTF-8: {e}")))?
                        .to_owned(),
                ),
                ValueRef::Blob(v) => Value::Bytes(v.to_vec()),
            });
        }
        out.push(Row::new(names.clone(), values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::store::db::{self, Pool};
    use crate::store::{Scratch, Store};

    /// The columns of `SELECT * FROM t` on `conn`, by the names it was answered with.
    fn columns_of_t(conn: &super::Conn) -> Vec<(String, i64)> {
        let rows = super::fetch_all(conn, "SELECT * FROM t", &[]).unwrap();
        ["a", "b"]
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), rows[0].try_get(name).ok()?)))
            .collect()
    }

    #[tokio::test]
    async fn a_query_is_read_by_the_names_of_its_columns_as_they_are() {
        let scratch = Scratch::open().await;
        let path = scratch.dir.join("test.db");
        let conn = super::open(&path, false).unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        let a = vec![("a".to_owned(), 1)];
        assert_eq!(columns_of_t(&conn), a);
        assert_eq!(columns_of_t(&conn), a);
        // Another process (a newer ctlcloud's migration) adds a column.
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 2")
            .unwrap();
        let ab = vec![("a".to_owned(), 1), ("b".to_owned(), 2)];
        assert_eq!(columns_of_t(&conn), ab);
        assert_eq!(columns_of_t(&conn), ab);
        scratch.close().await;
    }

    async fn rows(exec: impl Into<db::Exec<'_>>) -> i64 {
        db::query_scalar("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(exec)
            .await
            .unwrap()
    }

    /// A row added by another task, committed before this returns.
    async fn added_elsewhere(store: &Store, version: i64) {
        let store = store.clone();
        tokio::spawn(async move { add(&store, version).await })
            .await
            .unwrap();
    }

    async fn add(store: &Store, version: i64) {
        let mut tx = store.write().await.unwrap();
        db::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)")
            .bind(version)
            .execute(&mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_task_reads_one_snapshot_until_it_writes() {
        let scratch = Scratch::open().await;
        let store = &scratch.store;
        let reader: &Pool = store.reader();
        let before = rows(reader).await;
        store
            .in_snapshot(async {
                assert_eq!(rows(reader).await, before);
                added_elsewhere(store, 1001).await;
                // Still the view of the first read.
                assert_eq!(rows(reader).await, before);
                // A read transaction asked for continues it.
                let mut tx = store.read().await.unwrap();
                assert_eq!(rows(&mut tx).await, before);
                drop(tx);
                // Once the snapshot is handed over, reads are each on their own again.
                assert_eq!(rows(reader).await, before + 1);
            })
            .await;
        store
            .in_snapshot(async {
                assert_eq!(rows(reader).await, before + 1);
                added_elsewhere(store, 1002).await;
                assert_eq!(rows(reader).await, before + 1);
                // The task's own write ends the snapshot: it reads what it wrote, and what others
                // committed meanwhile.
                add(store, 1003).await;
                assert_eq!(rows(reader).await, before + 3);
                added_elsewhere(store, 1004).await;
                assert_eq!(rows(reader).await, before + 4);
            })
            .await;
        // Outside a snapshot every read sees the latest commit.
        added_elsewhere(store, 1005).await;
        assert_eq!(rows(reader).await, before + 5);
        scratch.close().await;
    }

    #[tokio::test]
    async fn a_snapshot_is_of_its_own_store_alone() {
        let (one, two) = (Scratch::open().await, Scratch::open().await);
        let before = rows(two.store.reader()).await;
        one.store
            .in_snapshot(async {
                rows(one.store.reader()).await;
                assert_eq!(rows(two.store.reader()).await, before);
                added_elsewhere(&two.store, 1001).await;
                assert_eq!(rows(two.store.reader()).await, before + 1);
            })
            .await;
        one.close().await;
        two.close().await;
    }
}
