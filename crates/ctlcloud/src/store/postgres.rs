//! PostgreSQL connections, pooled here rather than by sqlx's pool: that one sends a round trip of
//! its own over every connection given back to it (and, unless told not to, over every one it
//! hands out), so that a statement run alone cost PostgreSQL two or three exchanges instead of one.
//!
//! Here a connection goes back to the pool as it is when whatever was asked of it finished: a
//! statement that failed in the database leaves it usable, as sqlx reads the rest of a failed
//! exchange before the next. One whose statement never finished (its request was cancelled) or
//! failed on the wire is closed instead, with every idle one (the server has most likely gone
//! away), and one given back inside a transaction is rolled back first. A connection idle for a
//! second or more is checked before it is handed out. A connection is closed when given back after
//! half an hour of use: its server process's caches (of the catalog, of plans) only grow, and a
//! new connection starts afresh.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::db::{self, PgShape, Writes};
use super::kept::Counted;
use super::nodes::{Change, Nodes};
use super::statements::{self, ByText};
use super::{StoreError, StoreResult};

/// How long a request waits for a connection when all are in use.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection may have been idle and still be handed out without a check.
const TRUSTED_IDLE: Duration = Duration::from_secs(1);

/// How long a connection is used before it is replaced.
const MAX_AGE: Duration = Duration::from_secs(30 * 60);

/// What a connection keeps for each statement it has run: the text sent for it, its `?`
/// placeholders renumbered, what it may change, and how its rows are read.
#[derive(Debug, Default)]
struct Kept {
    texts: ByText<(Arc<str>, Writes)>,
    shapes: ByText<Arc<PgShape>>,
}

/// A new connection. Its server process, while it runs a statement, checks every second that
/// this node is still connected: one whose client went away while it waited (for a lock, most
/// often, its request cancelled) would otherwise wait on until granted what it waited for,
/// holding its place in the queue and a connection slot. PostgreSQL 14 and later; older servers
/// refuse the setting, so it is asked only of those that know it. It is set by a statement rather
/// than among the connection's startup options, which connection poolers such as PgBouncer refuse.
async fn connect(options: &PgConnectOptions) -> StoreResult<PgConnection> {
    let mut raw = options.connect().await?;
    if raw.server_version_num().is_some_and(|v| v >= 140_000) {
        sqlx::Executor::execute(&mut raw, "SET client_connection_check_interval = '1s'").await?;
    }
    Ok(raw)
}

/// A connection in the pool: what it knows of its statements' results, when it was made, and since
/// when it is idle.
#[derive(Debug)]
struct Idle {
    raw: PgConnection,
    kept: Kept,
    made: Instant,
    since: Instant,
}

/// The connections of one node to its database: at most `max` at once.
#[derive(Debug)]
pub struct Conns {
    options: PgConnectOptions,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    closed: AtomicBool,
    /// [`MAX_AGE`], shorter in tests.
    max_age: Duration,
    /// Transactions committed through this pool that changed what nodes keep, by [`Counted`].
    changes: [AtomicU64; 2],
    /// This node's place among the nodes on the database, which every change waits for, and the
    /// count of its changes.
    nodes: Arc<Nodes>,
}

impl Conns {
    /// Connects once, so that a wrong address or password fails at once, and keeps that
    /// connection for the first to ask.
    pub async fn open(options: PgConnectOptions, max: usize) -> StoreResult<Arc<Conns>> {
        Conns::open_aging(options, max, MAX_AGE).await
    }

    async fn open_aging(
        options: PgConnectOptions,
        max: usize,
        max_age: Duration,
    ) -> StoreResult<Arc<Conns>> {
        let options = options.statement_cache_capacity(statements::KEPT);
        // Taken while the first connection is made: the first change (a migration) waits for it.
        let nodes = Nodes::join(&options);
        let first = match connect(&options).await {
            Ok(first) => first,
            Err(e) => {
                nodes.leave().await;
                return Err(e);
            }
        };
        let now = Instant::now();
        Ok(Arc::new(Conns {
            options,
            idle: Mutex::new(vec![Idle {
                raw: first,
                kept: Kept::default(),
                made: now,
                since: now,
            }]),
            permits: Arc::new(Semaphore::new(max)),
            closed: AtomicBool::new(false),
            max_age,
            changes: Default::default(),
            nodes,
        }))
    }

    /// A connection outside any transaction: the most recently used idle one, or a new one.
    pub async fn acquire(self: &Arc<Self>) -> StoreResult<Conn> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| StoreError("no database connection came free within 60 s".into()))?
            .map_err(|_| StoreError("the store is closed".into()))?;
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let (raw, kept, made) = match idle {
                Some(Idle {
                    mut raw,
                    kept,
                    made,
                    since,
                }) => {
                    if since.elapsed() >= TRUSTED_IDLE && raw.ping().await.is_err() {
                        // Gone while idle (the server restarted, a proxy timed it out).
                        continue;
                    }
                    (raw, kept, made)
                }
                None => (
                    connect(&self.options).await?,
                    Kept::default(),
                    Instant::now(),
                ),
            };
            return Ok(Conn {
                raw: Some(raw),
                kept,
                made,
                conns: self.clone(),
                permit: Some(permit),
                busy: false,
                in_transaction: false,
                outdated: false,
                changed: [false; 2],
                wrote: false,
                change: None,
            });
        }
    }

    /// A connection in a transaction of its own.
    pub async fn begin(self: &Arc<Self>) -> StoreResult<Conn> {
        let mut conn = self.acquire().await?;
        conn.control("BEGIN").await?;
        conn.in_transaction = true;
        Ok(conn)
    }

    /// A connection in a transaction of its own that holds the transaction-level advisory lock
    /// `(class, key)`, both asked for in one exchange with the server.
    pub async fn begin_locked(self: &Arc<Self>, class: i32, key: i32) -> StoreResult<Conn> {
        let mut conn = self.acquire().await?;
        // Set first: if the lock is not granted (the request is cancelled while it waits), the
        // connection is rolled back before anyone else uses it.
        conn.in_transaction = true;
        // Two statements in one simple query; the keys are integers, so formatting is safe.
        let sql = format!("BEGIN; SELECT pg_advisory_xact_lock({class}, {key})");
        let raw: &mut PgConnection = conn.statement();
        let result = sqlx::Executor::execute(raw, sqlx::raw_sql(&sql)).await;
        conn.finished(result)?;
        Ok(conn)
    }

    /// Transactions changing `what` committed through this pool.
    pub fn changes(&self, what: Counted) -> u64 {
        self.changes[what as usize].load(Ordering::Acquire)
    }

    /// This node's place among the nodes on the database.
    pub fn nodes(&self) -> &Nodes {
        &self.nodes
    }

    /// Closes the idle connections, and gives up this node's place; those in use close when they
    /// are given back.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.permits.close();
        for idle in self.take_idle() {
            let _ = idle.raw.close().await;
        }
        self.nodes.leave().await;
    }

    fn forget_idle(&self) {
        for idle in self.take_idle() {
            close_later(idle.raw);
        }
    }

    fn take_idle(&self) -> Vec<Idle> {
        std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn give_back(&self, raw: PgConnection, kept: Kept, made: Instant) {
        if self.closed.load(Ordering::SeqCst) || made.elapsed() >= self.max_age {
            close_later(raw);
            return;
        }
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Idle {
                raw,
                kept,
                made,
                since: Instant::now(),
            });
    }
}

/// A connection on loan from [`Conns`].
#[derive(Debug)]
pub struct Conn {
    raw: Option<PgConnection>,
    kept: Kept,
    /// When the connection was made (see [`MAX_AGE`]).
    made: Instant,
    conns: Arc<Conns>,
    /// Held until the connection is back in the pool (or closed).
    permit: Option<OwnedSemaphorePermit>,
    /// A statement was started and has not finished.
    busy: bool,
    in_transaction: bool,
    /// Its prepared statements were made before a migration changed what they return: closed
    /// when given back (see [`Conn::prepare_again`]).
    outdated: bool,
    /// What its transaction changed, by [`Counted`]: counted in the pool once it commits.
    changed: [bool; 2],
    /// Its transaction changed something: its commit is a change of this node (see [`Nodes`]).
    wrote: bool,
    /// The change of this node in flight on it, if any: until it is known to have happened.
    change: Option<Change>,
}

impl Conn {
    /// The connection, for one statement; [`Conn::finished`] must follow with its outcome, or
    /// the connection is closed rather than reused.
    pub fn statement(&mut self) -> &mut PgConnection {
        self.busy = true;
        self.raw.as_mut().expect("a loaned connection")
    }

    /// Records how the statement begun with [`Conn::statement`] ended, and hands its result on.
    /// A database's refusal leaves the connection ready for the next statement; a lost connection
    /// is closed.
    pub fn finished<T>(&mut self, result: Result<T, sqlx::Error>) -> StoreResult<T> {
        match &result {
            Err(e) if connection_lost(e) => {
                // Most often the server went away (a restart, a failover): the idle connections
                // went with it, and are dropped rather than handed out to fail one by one.
                self.conns.forget_idle();
            }
            _ => self.busy = false,
        }
        Ok(result?)
    }

    /// Whether the statement that produced `result` should simply run again. PostgreSQL refuses
    /// a statement prepared before a migration (of another node, in a rolling upgrade) changed
    /// the type of a column it returns ("cached plan must not change result type"), and goes on
    /// refusing it on that connection. Outside a transaction the connection drops what it keeps
    /// prepared and the statement runs again; in one, the transaction has failed, and the
    /// connection is closed rather than given back. Either way the idle connections, prepared
    /// before the migration too, are closed, so that one request at most meets the refusal on
    /// each connection in use.
    pub async fn prepare_again<T>(&mut self, result: &Result<T, sqlx::Error>) -> bool {
        let Err(sqlx::Error::Database(e)) = result else {
            return false;
        };
        if e.code().as_deref() != Some("0A000") || !e.message().contains("cached plan") {
            return false;
        }
        self.conns.forget_idle();
        self.kept = Kept::default();
        if !self.in_transaction {
            let raw = self.raw.as_mut().expect("a loaned connection");
            if raw.clear_cached_statements().await.is_ok() {
                return true;
            }
        }
        self.outdated = true;
        false
    }

    /// Before `sql` runs: outside a transaction, a statement that may change anything waits for
    /// this node's place and is a change in flight until [`Conn::after`] (inside one, its commit
    /// is). Returns the text to send for it (its `?` placeholders renumbered `$1, $2, …`) and
    /// what it may change.
    pub async fn before(&mut self, sql: &str) -> StoreResult<(Arc<str>, Writes)> {
        let Ok((text, writes)) = self.kept.texts.get(
            sql,
            |_| true,
            || Ok::<_, Infallible>((Arc::from(db::postgres_sql(sql)), Writes::of(sql))),
        );
        if writes != Writes::Nothing && !self.in_transaction {
            self.change = Some(self.conns.nodes.change().await?);
        }
        Ok((text, writes))
    }

    /// After a statement that may change `writes` ran, with the rows it reported if known.
    pub fn after(&mut self, writes: Writes, rows: Option<u64>) {
        let changed = writes.changed(rows);
        if self.in_transaction {
            self.wrote |= changed;
        } else if let Some(change) = self.change.take() {
            if !changed {
                change.unchanged();
            }
        }
    }

    /// How the rows `sql` returned, `first` among them, are read.
    pub fn shape(&mut self, sql: &str, first: &PgRow) -> StoreResult<Arc<PgShape>> {
        self.kept.shapes.get(
            sql,
            |shape| shape.fits(first),
            || PgShape::of(first).map(Arc::new),
        )
    }

    /// Commits the transaction begun by [`Conns::begin`]. One that changed anything waits for this
    /// node's place first, and is a change in flight until its `COMMIT` is answered.
    pub async fn commit(mut self) -> StoreResult<()> {
        if self.wrote {
            self.change = Some(self.conns.nodes.change().await?);
        }
        self.control("COMMIT").await?;
        self.change = None;
        self.in_transaction = false;
        for (count, changed) in self.conns.changes.iter().zip(self.changed) {
            if changed {
                count.fetch_add(1, Ordering::AcqRel);
            }
        }
        Ok(())
    }

    /// Counts a change to `what` in the pool: at once outside a transaction (the statement has
    /// committed), when the transaction commits inside one.
    pub fn count_change(&mut self, what: Counted) {
        if self.in_transaction {
            self.changed[what as usize] = true;
        } else {
            self.conns.changes[what as usize].fetch_add(1, Ordering::AcqRel);
        }
    }

    async fn control(&mut self, sql: &'static str) -> StoreResult<()> {
        let conn: &mut PgConnection = self.statement();
        let result = sqlx::Executor::execute(conn, sql).await;
        self.finished(result).map(|_| ())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(mut raw) = self.raw.take() else {
            return;
        };
        let permit = self.permit.take();
        let kept = std::mem::take(&mut self.kept);
        let made = self.made;
        if self.busy {
            // A statement cut short may still change something until the connection is closed: a
            // change in flight ends only then.
            let change = self.change.take();
            spawn(async move {
                let _ = raw.close().await;
                drop(change);
            });
        } else if self.outdated {
            close_later(raw);
        } else if self.in_transaction {
            // Rolled back before anyone else may use it; until then it still counts as in use.
            let conns = self.conns.clone();
            spawn(async move {
                if sqlx::Executor::execute(&mut raw, "ROLLBACK").await.is_ok() {
                    conns.give_back(raw, kept, made);
                }
                drop(permit);
            });
        } else {
            self.conns.give_back(raw, kept, made);
        }
    }
}

/// Whether an error ended the connection, rather than the statement: anything but an error the
/// server answered, and those of its answers that close the connection (SQLSTATE class 08, and
/// 57P01 to 57P04: the server or the database shutting down).
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => true,
    }
}

/// Says goodbye to the server in the background; dropped outright outside a runtime.
fn close_later(raw: PgConnection) {
    spawn(async move {
        let _ = raw.close().await;
    });
}

fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(task);
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::store::db::{self, Exec};

    async fn conns() -> Arc<Conns> {
        aging(MAX_AGE).await
    }

    async fn aging(max_age: Duration) -> Arc<Conns> {
        let url = std::env::var("CTLCLOUD_TEST_DATABASE_URL")
            .expect("CTLCLOUD_TEST_DATABASE_URL is set (scripts/test sets it)");
        Conns::open_aging(PgConnectOptions::from_str(&url).unwrap(), 2, max_age)
            .await
            .unwrap()
    }

    /// Both connections of a test's pool, each in a transaction if `begun`, waiting (10 s at
    /// most) for those still in use.
    async fn both(conns: &Arc<Conns>, begun: bool) -> Vec<Conn> {
        let mut both = Vec::new();
        for _ in 0..2 {
            let conn = match begun {
                true => tokio::time::timeout(Duration::from_secs(10), conns.begin()).await,
                false => tokio::time::timeout(Duration::from_secs(10), conns.acquire()).await,
            };
            let conn = conn.expect("a connection comes free");
            both.push(conn.unwrap());
        }
        both
    }

    /// The server process behind a connection: the same one means the same connection.
    async fn backend(conn: &mut Conn) -> i64 {
        db::query_scalar("SELECT pg_backend_pid()::BIGINT")
            .fetch_one(Exec::Postgres(conn))
            .await
            .unwrap()
    }

    /// Every column type the store reads comes back as its value, over more than one row; a type
    /// it does not read is refused by the column's name.
    #[tokio::test]
    async fn values_of_each_column_type_are_read_and_others_refused() {
        let conns = conns().await;
        let mut conn = conns.acquire().await.unwrap();
        let rows = db::query(
            "SELECT n::BIGINT AS i8, n::INT AS i4, n::SMALLINT AS i2, n > 1 AS b, \
             n / 2.0::FLOAT8 AS f8, n::FLOAT4 AS f4, 'é'::BYTEA AS bytes, n::TEXT AS t, \
             'x'::VARCHAR AS v, NULL::TEXT AS missing \
             FROM generate_series(1, 2) AS n",
        )
        .fetch_all(Exec::Postgres(&mut conn))
        .await
        .unwrap();
        let second = &rows[1];
        assert_eq!(second.try_get::<i64, _>("i8").unwrap(), 2);
        assert_eq!(second.try_get::<i64, _>("i4").unwrap(), 2);
        assert_eq!(second.try_get::<i64, _>("i2").unwrap(), 2);
        assert!(second.try_get::<bool, _>("b").unwrap());
        assert!(!rows[0].try_get::<bool, _>("b").unwrap());
        assert_eq!(second.try_get::<f64, _>("f8").unwrap(), 1.0);
        assert_eq!(second.try_get::<f64, _>("f4").unwrap(), 2.0);
        assert_eq!(
            second.try_get::<Vec<u8>, _>("bytes").unwrap(),
            "é".as_bytes()
        );
        assert_eq!(second.try_get::<String, _>("t").unwrap(), "2");
        assert_eq!(second.try_get::<String, _>("v").unwrap(), "x");
        assert_eq!(
            second.try_get::<Option<String>, _>("missing").unwrap(),
            None
        );
        let refused = db::query("SELECT now() AS started")
            .fetch_all(Exec::Postgres(&mut conn))
            .await
            .expect_err("a timestamp is not read");
        assert!(refused.0.contains("started"), "{refused}");
        drop(conn);
        conns.close().await;
    }

    /// A connection keeps each statement's text as sent and its shape, given back to the pool and
    /// handed out again: its rows are read by name in any order, and a name selected twice is its
    /// first column.
    #[tokio::test]
    async fn rows_are_read_by_name_from_the_shape_their_connection_keeps() {
        let conns = conns().await;
        let sql = "SELECT n AS a, -n AS a, n * 10 AS b FROM generate_series(?::BIGINT, ?) AS n";
        let mut kept: Option<(Arc<str>, Arc<PgShape>)> = None;
        for _ in 0..2 {
            let mut conn = conns.acquire().await.unwrap();
            for _ in 0..2 {
                let rows = db::query(sql)
                    .bind(1)
                    .bind(3)
                    .fetch_all(Exec::Postgres(&mut conn))
                    .await
                    .unwrap();
                assert_eq!(rows.len(), 3);
                for (n, row) in (1..).zip(&rows) {
                    // Out of select order, then in it: the second `a` never answers.
                    for name in ["b", "a", "a", "b", "a"] {
                        let expected = if name == "a" { n } else { n * 10 };
                        assert_eq!(row.try_get::<i64, _>(name).unwrap(), expected, "{name}");
                    }
                }
            }
            let (text, writes) = conn.kept.texts.kept(sql).expect("the text is kept").clone();
            assert_eq!(writes, Writes::Nothing);
            assert_eq!(
                &*text,
                "SELECT n AS a, -n AS a, n * 10 AS b FROM generate_series($1::BIGINT, $2) AS n"
            );
            let shape = conn
                .kept
                .shapes
                .kept(sql)
                .expect("the shape is kept")
                .clone();
            if let Some((kept_text, kept_shape)) = &kept {
                assert!(Arc::ptr_eq(kept_text, &text), "renumbered again");
                assert!(Arc::ptr_eq(kept_shape, &shape), "worked out again");
            }
            kept = Some((text, shape));
            drop(conn);
        }
        conns.close().await;
    }

    /// A connection keeps every statement it has run prepared, however many the store has.
    #[tokio::test]
    async fn a_connection_keeps_every_statement_prepared() {
        let conns = conns().await;
        let mut conn = conns.acquire().await.unwrap();
        let texts: Vec<String> = (0..150)
            .map(|n| format!("SELECT {n}::BIGINT AS n"))
            .collect();
        for _ in 0..2 {
            for (n, sql) in (0..).zip(&texts) {
                let answer: i64 = db::query_scalar(sql)
                    .fetch_one(Exec::Postgres(&mut conn))
                    .await
                    .unwrap();
                assert_eq!(answer, n);
            }
        }
        let prepared: i64 = db::query_scalar(
            "SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT % AS n'",
        )
        .fetch_one(Exec::Postgres(&mut conn))
        .await
        .unwrap();
        assert_eq!(prepared, 150);
        drop(conn);
        conns.close().await;
    }

    /// A table of its own for one test, with one row: `a` = 1.
    async fn table_of_its_own(conn: &mut Conn) -> String {
        let table = format!("shape_{}", crate::ids::new_id());
        for sql in [
            format!("CREATE TABLE {table} (a BIGINT)"),
            format!("INSERT INTO {table} VALUES (1)"),
        ] {
            db::query(&sql).execute(Exec::Postgres(conn)).await.unwrap();
        }
        table
    }

    /// Runs `sql` on a connection of its own, as another node's migration would.
    async fn elsewhere(conns: &Conns, sql: &str) {
        let mut other = conns.options.connect().await.unwrap();
        sqlx::Executor::execute(&mut other, sql).await.unwrap();
        other.close().await.unwrap();
    }

    /// The rows of `SELECT * FROM table`.
    async fn every_column(exec: Exec<'_>, table: &str) -> StoreResult<Vec<db::Row>> {
        db::query(&format!("SELECT * FROM {table}"))
            .fetch_all(exec)
            .await
    }

    /// The values of `a` and `b` in `rows`, as integers.
    fn a_and_b(rows: &[db::Row]) -> Vec<[Option<i64>; 2]> {
        let int = |row: &db::Row, name| row.try_get::<i64, _>(name).ok();
        rows.iter().map(|r| [int(r, "a"), int(r, "b")]).collect()
    }

    /// A statement prepared before another node's migration changed what it returns (a column
    /// added, a column's type changed), which PostgreSQL then refuses to run ("cached plan must
    /// not change result type"), is prepared again and read by its new columns.
    #[tokio::test]
    async fn a_statement_whose_result_a_migration_changed_is_prepared_again() {
        let conns = conns().await;
        let mut conn = conns.acquire().await.unwrap();
        let table = table_of_its_own(&mut conn).await;
        let rows = every_column(Exec::Postgres(&mut conn), &table).await;
        assert_eq!(a_and_b(&rows.unwrap()), [[Some(1), None]]);
        elsewhere(
            &conns,
            &format!("ALTER TABLE {table} ADD COLUMN b BIGINT DEFAULT 2"),
        )
        .await;
        let rows = every_column(Exec::Postgres(&mut conn), &table).await;
        assert_eq!(a_and_b(&rows.unwrap()), [[Some(1), Some(2)]]);
        // As many columns, one of another type: how the rows are read is worked out again.
        elsewhere(
            &conns,
            &format!("ALTER TABLE {table} ALTER COLUMN b TYPE TEXT"),
        )
        .await;
        let rows = every_column(Exec::Postgres(&mut conn), &table)
            .await
            .unwrap();
        assert_eq!(rows[0].try_get::<String, _>("b").unwrap(), "2");
        db::query(&format!("DROP TABLE {table}"))
            .execute(Exec::Postgres(&mut conn))
            .await
            .unwrap();
        drop(conn);
        conns.close().await;
    }

    /// In a transaction such a refusal fails the transaction, and its connection is closed
    /// rather than given back to fail again.
    #[tokio::test]
    async fn a_connection_whose_statements_a_migration_outdated_in_a_transaction_is_closed() {
        let conns = conns().await;
        let mut conn = conns.begin().await.unwrap();
        let first = backend(&mut conn).await;
        let table = table_of_its_own(&mut conn).await;
        every_column(Exec::Postgres(&mut conn), &table)
            .await
            .unwrap();
        conn.commit().await.unwrap();
        elsewhere(
            &conns,
            &format!("ALTER TABLE {table} ADD COLUMN b BIGINT DEFAULT 2"),
        )
        .await;
        let mut conn = conns.begin().await.unwrap();
        assert_eq!(backend(&mut conn).await, first);
        let refused = every_column(Exec::Postgres(&mut conn), &table).await;
        assert!(refused.is_err_and(|e| e.0.contains("cached plan")));
        drop(conn);
        // Both of the pool's connections, once the first is back or closed: neither is the first.
        let mut both = both(&conns, true).await;
        for conn in &mut both {
            assert_ne!(backend(conn).await, first);
        }
        let rows = every_column(Exec::Postgres(&mut both[0]), &table).await;
        assert_eq!(a_and_b(&rows.unwrap()), [[Some(1), Some(2)]]);
        db::query(&format!("DROP TABLE {table}"))
            .execute(Exec::Postgres(&mut both[0]))
            .await
            .unwrap();
        for conn in both {
            conn.commit().await.unwrap();
        }
        conns.close().await;
    }

    #[tokio::test]
    async fn a_refused_statement_leaves_its_connection_in_the_pool_and_a_cancelled_one_does_not() {
        let conns = conns().await;
        let mut conn = conns.acquire().await.unwrap();
        let first = backend(&mut conn).await;
        let refused = db::query("SELECT 1 / 0")
            .execute(Exec::Postgres(&mut conn))
            .await;
        assert!(refused.is_err());
        drop(conn);

        let mut conn = conns.acquire().await.unwrap();
        assert_eq!(backend(&mut conn).await, first);
        let sleep = db::query("SELECT pg_sleep(30)").execute(Exec::Postgres(&mut conn));
        assert!(tokio::time::timeout(Duration::from_millis(100), sleep)
            .await
            .is_err());
        drop(conn);

        let mut conn = conns.acquire().await.unwrap();
        assert_ne!(backend(&mut conn).await, first);
        drop(conn);
        conns.close().await;
    }

    /// An advisory lock key for one test alone: test runs sharing the server's database (a CI job
    /// and a developer's run) would otherwise queue behind each other's locks. Above 2^30, far from
    /// the ids of accounts, whose creates lock `(1, id)`.
    fn key_of_its_own() -> i32 {
        let [a, b, c, d] = crate::ids::random_bytes::<4>();
        i32::from_be_bytes([a & 0x3f, b, c, d]) | 0x4000_0000
    }

    /// Whether another connection could take the advisory lock `(1, key)` right now.
    async fn free(conns: &Arc<Conns>, key: i32) -> bool {
        let mut conn = conns.acquire().await.unwrap();
        db::query_scalar("SELECT pg_try_advisory_xact_lock(1, ?::INT)")
            .bind(i64::from(key))
            .fetch_one(Exec::Postgres(&mut conn))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_transaction_begun_locked_holds_its_lock_until_it_ends() {
        let conns = conns().await;
        let key = key_of_its_own();
        let held = conns.begin_locked(1, key).await.unwrap();
        assert!(!free(&conns, key).await);
        // Another transaction asking for it waits; given up, its connection is not reused.
        let waiting = conns.begin_locked(1, key);
        assert!(tokio::time::timeout(Duration::from_millis(100), waiting)
            .await
            .is_err());
        assert!(!free(&conns, key).await);
        held.commit().await.unwrap();
        // The abandoned wait may still be queued (it ends within a second of its client going,
        // see below); granted first, its server process finds its client gone and ends,
        // letting the lock go.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !free(&conns, key).await {
            assert!(std::time::Instant::now() < deadline, "the lock stays taken");
            tokio::task::yield_now().await;
        }
        let again = conns.begin_locked(1, key).await.unwrap();
        assert!(!free(&conns, key).await);
        drop(again);
        conns.close().await;
    }

    /// A wait for a lock given up by its request ends on the server while the lock is still
    /// held, rather than lingering in the queue until granted.
    #[tokio::test]
    async fn a_lock_wait_given_up_ends_on_the_server_at_once() {
        let conns = conns().await;
        let key = key_of_its_own();
        let held = conns.begin_locked(1, key).await.unwrap();
        let waiting = conns.begin_locked(1, key);
        assert!(tokio::time::timeout(Duration::from_millis(100), waiting)
            .await
            .is_err());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut conn = conns.acquire().await.unwrap();
            let waiters: i64 = db::query_scalar(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1 \
                 AND objid = ?::INT AND NOT granted",
            )
            .bind(i64::from(key))
            .fetch_one(Exec::Postgres(&mut conn))
            .await
            .unwrap();
            if waiters == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the abandoned wait is still queued"
            );
            drop(conn);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        held.commit().await.unwrap();
        conns.close().await;
    }

    #[tokio::test]
    async fn a_connection_used_for_its_whole_age_is_replaced_when_given_back() {
        for (max_age, replaced) in [(MAX_AGE, false), (Duration::ZERO, true)] {
            let conns = aging(max_age).await;
            let mut conn = conns.acquire().await.unwrap();
            let first = backend(&mut conn).await;
            drop(conn);
            let mut conn = conns.acquire().await.unwrap();
            assert_eq!(backend(&mut conn).await != first, replaced, "{max_age:?}");
            drop(conn);
            conns.close().await;
        }
    }

    #[tokio::test]
    async fn connections_the_server_dropped_fail_one_statement_not_one_each() {
        let conns = conns().await;
        let (mut one, mut two) = (
            conns.acquire().await.unwrap(),
            conns.acquire().await.unwrap(),
        );
        let backends = [backend(&mut one).await, backend(&mut two).await];
        drop((one, two));
        // The server ends both, as a restart would, while they are idle in the pool (and is
        // waited for).
        let mut outside = conns.options.connect().await.unwrap();
        for pid in backends {
            sqlx::query("SELECT pg_terminate_backend($1::INT, 10000)")
                .bind(pid)
                .execute(&mut outside)
                .await
                .unwrap();
        }
        outside.close().await.unwrap();
        // Ended connections may still be handed out, within a second of their last use; the
        // first statement on one fails, and the pool then forgets the other.
        let mut failed = 0;
        for _ in 0..2 {
            let mut conn = conns.acquire().await.unwrap();
            let answered = db::query_scalar::<i64>("SELECT pg_backend_pid()::BIGINT")
                .fetch_one(Exec::Postgres(&mut conn))
                .await;
            match answered {
                Ok(pid) => assert!(!backends.contains(&pid)),
                Err(_) => failed += 1,
            }
        }
        assert!(failed <= 1, "{failed} statements failed");
        conns.close().await;
    }

    #[tokio::test]
    async fn a_connection_given_back_in_a_transaction_is_rolled_back_before_its_reuse() {
        let conns = conns().await;
        let mut conn = conns.begin().await.unwrap();
        let first = backend(&mut conn).await;
        db::query("SELECT txid_current()")
            .execute(Exec::Postgres(&mut conn))
            .await
            .unwrap();
        drop(conn);
        // The rollback runs in the background, and the connection counts as in use until it
        // ends: of the pool's two connections, one is the first, back from its rollback.
        let mut both = both(&conns, false).await;
        let mut came_back = false;
        for conn in &mut both {
            if backend(conn).await == first {
                came_back = true;
                let in_transaction: bool =
                    db::query_scalar("SELECT txid_current_if_assigned() IS NOT NULL")
                        .fetch_one(Exec::Postgres(conn))
                        .await
                        .unwrap();
                assert!(!in_transaction);
            }
        }
        assert!(came_back);
        drop(both);
        conns.close().await;
    }
}
