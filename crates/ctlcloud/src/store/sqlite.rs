//! SQLite connections, run in-process: a statement runs on the thread that asks for it, which
//! takes microseconds for the store's queries, and its prepared form is kept per connection.
//! Only the statements that wait on the disk or on another process (`COMMIT`, and `BEGIN
//! IMMEDIATE` while another process writes) go to a blocking thread, in [`super::writer`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use super::db::{Param, Row, Value};
use super::{StoreError, StoreResult};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// How long a statement waits for another process's lock on the file.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many prepared statements each connection keeps: more than the store has queries.
const STATEMENT_CACHE: usize = 256;

/// Opens a connection with the store's settings: WAL, `synchronous=FULL`, foreign keys, temporary
/// data in memory, memory-mapped reads, and a wait of up to 30 s for another process's write lock.
pub fn open(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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
    Ok(conn)
}

/// Read connections, opened as they are needed and kept for reuse. Readers never wait for the
/// writer (WAL), and each request holds one only while its statements run.
#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
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

    /// Closes the idle connections; those in use close when they are returned.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A read connection on loan; it goes back to the pool when dropped, with any transaction it
/// was left in rolled back.
pub struct Reader {
    conn: Option<Connection>,
    readers: Arc<Readers>,
}

impl Reader {
    pub fn conn(&self) -> &Connection {
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

    pub fn conn(&self) -> &Connection {
        self.0.conn()
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
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
pub fn fetch_all(conn: &Connection, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>> {
    let mut statement = conn.prepare_cached(sql)?;
    let names: Arc<[String]> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let width = names.len();
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
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
