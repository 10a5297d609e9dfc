//! Group commit: the one write connection runs consecutive write transactions as savepoints inside
//! one SQLite transaction, and one `COMMIT` (one fsync with `synchronous=FULL`) makes a whole batch
//! durable. Each member's `commit()` returns only after the batch holding it has committed, so a
//! caller never answers before its change is on disk.
//!
//! A member that fails rolls back to its own savepoint and leaves the others alone; a `COMMIT` that
//! fails fails every member of its batch. The batch commits as soon as nobody is waiting to write
//! (or it is large), so an idle server never holds the database's write lock and `ctlcloud admin`
//! in another process gets its turn.
//!
//! Statements run on the calling thread, except those that wait on the disk or on another process:
//! `COMMIT`, and `BEGIN IMMEDIATE` when another process holds the file's write lock. Those run on a
//! blocking thread, inside a task of their own, so a request whose future is dropped half-way (a
//! client hanging up) cannot leave the connection in between states.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{oneshot, Mutex, Notify, OwnedMutexGuard};

use super::sqlite::Conn;
use super::{StoreError, StoreResult};

/// A batch commits when it has this many members even if more writers wait, to bound latency.
const MAX_BATCH: usize = 128;
/// How long a writer waits for the connection before giving up.
const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What the committer task and every write transaction share.
pub(super) struct Writer {
    batch: Arc<Mutex<Batch>>,
    /// Writers queued for the connection; a member that sees none commits its batch at once.
    waiting: AtomicUsize,
    /// Wakes the committer: a batch was left open for writers that were waiting.
    wake: Notify,
    closing: AtomicBool,
    /// Batches committed since the store opened.
    commits: AtomicU64,
}

/// The connection and the state of the open batch; owned by whoever holds the lock.
struct Batch {
    /// `None` once the store is closed.
    conn: Option<Conn>,
    /// `BEGIN IMMEDIATE` has run and the batch is not yet committed.
    open: bool,
    /// A member ended without committing; its savepoint is rolled back by the next holder.
    abandoned: bool,
    /// The savepoint of the next member is already open: the last member, seeing writers wait,
    /// opened it in the same round trip as its own release.
    ready: bool,
    /// Set by SQLite's rollback hook: an error rolled the whole transaction back by itself.
    lost: Arc<AtomicBool>,
    /// Members whose savepoints are released, waiting for the batch's `COMMIT`.
    members: Vec<oneshot::Sender<StoreResult<()>>>,
}

/// A write transaction: a savepoint in the open batch, holding the write connection until it
/// commits or is dropped. Dropping it without `commit` rolls its changes back.
pub struct Tx {
    batch: Option<OwnedMutexGuard<Batch>>,
    writer: Arc<Writer>,
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.batch
            .as_ref()
            .and_then(|b| b.conn.as_ref())
            .expect("a live transaction holds the open connection")
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        self.batch
            .as_mut()
            .and_then(|b| b.conn.as_mut())
            .expect("a live transaction holds the open connection")
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(mut batch) = self.batch.take() {
            batch.abandoned = true;
            drop(batch);
            // Whoever takes the connection next undoes the savepoint; the committer makes sure
            // someone does, and commits what the other members of the batch are waiting for.
            self.writer.wake.notify_one();
        }
    }
}

impl Tx {
    /// Makes the transaction's changes durable: returns once the batch holding them committed.
    pub async fn commit(mut self) -> StoreResult<()> {
        let batch = self.batch.take().expect("a transaction commits once");
        let (done, outcome) = oneshot::channel();
        if let Some(mut batch) = release(&self.writer, batch, done) {
            // The COMMIT runs in a task of its own, so that it finishes even if nobody waits for
            // it any more (the caller was dropped).
            let writer = self.writer.clone();
            tokio::spawn(async move { flush(&writer, &mut batch).await });
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(StoreError("the store closed before the commit".into())))
    }
}

/// Counts a writer as waiting for the connection until it gets it or gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Writer {
    /// Takes over the write connection and starts the committer task.
    pub(super) fn start(conn: Conn) -> Arc<Writer> {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        conn.rollback_hook(Some(move || flag.store(true, Ordering::SeqCst)));
        let writer = Arc::new(Writer {
            batch: Arc::new(Mutex::new(Batch {
                conn: Some(conn),
                open: false,
                abandoned: false,
                ready: false,
                lost,
                members: Vec::new(),
            })),
            waiting: AtomicUsize::new(0),
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            commits: AtomicU64::new(0),
        });
        tokio::spawn(committer(writer.clone()));
        writer
    }

    /// Starts a write transaction: waits for the connection, then opens a savepoint in the open
    /// batch (beginning one with `BEGIN IMMEDIATE` if none is open).
    pub(super) async fn begin(self: &Arc<Self>) -> StoreResult<Tx> {
        let batch = {
            let _waiting = Waiting::new(&self.waiting);
            // A writer that never finishes (or a transaction started inside another) must end in
            // an error, not in a server that hangs.
            tokio::time::timeout(LOCK_TIMEOUT, self.batch.clone().lock_owned())
                .await
                .map_err(|_| StoreError("timed out waiting for the write connection".into()))?
        };
        let mut batch = batch;
        settle(&mut batch);
        // The usual case under load: the last member opened this one's savepoint already, and
        // nothing needs to run before the caller's first statement.
        if std::mem::take(&mut batch.ready) {
            return Ok(Tx {
                batch: Some(batch),
                writer: self.clone(),
            });
        }
        if !batch.open {
            if !try_begin(&batch)? {
                // Another process holds the file's write lock: wait for it on a blocking thread,
                // in a task of its own, so that the batch is begun and the member's savepoint
                // opened (or not) as a whole whatever happens to this caller.
                let writer = self.clone();
                return tokio::spawn(async move {
                    let mut batch = batch;
                    run_blocking(&mut batch, "BEGIN IMMEDIATE").await?;
                    batch.open = true;
                    batch.lost.store(false, Ordering::SeqCst);
                    writer.member(batch)
                })
                .await
                .map_err(|e| StoreError(format!("starting a write transaction: {e}")))?;
            }
            batch.open = true;
            batch.lost.store(false, Ordering::SeqCst);
        }
        self.member(batch)
    }

    /// Opens a member's savepoint in the open batch.
    fn member(self: &Arc<Self>, batch: OwnedMutexGuard<Batch>) -> StoreResult<Tx> {
        if let Err(e) = run(&batch, &["SAVEPOINT member"]) {
            // The committer ends the batch for the members already in it.
            self.wake.notify_one();
            return Err(e);
        }
        Ok(Tx {
            batch: Some(batch),
            writer: self.clone(),
        })
    }

    /// Batches committed since the store opened.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commits what is pending and closes the connection.
    pub(super) async fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        let mut batch = self.batch.clone().lock_owned().await;
        settle(&mut batch);
        flush(self, &mut batch).await;
        batch.conn = None;
    }
}

/// Runs transaction control statements on the write connection, on this thread.
fn run(batch: &Batch, statements: &[&str]) -> StoreResult<()> {
    let conn = batch
        .conn
        .as_ref()
        .ok_or_else(|| StoreError("the store is closed".into()))?;
    super::sqlite::control(conn, statements)
}

/// Begins a batch on this thread if the file's write lock is free: `false`, and nothing begun, when
/// another process holds it.
fn try_begin(batch: &Batch) -> StoreResult<bool> {
    let conn = batch
        .conn
        .as_ref()
        .ok_or_else(|| StoreError("the store is closed".into()))?;
    conn.busy_timeout(std::time::Duration::ZERO)?;
    let begun = conn.prepare_cached("BEGIN IMMEDIATE")?.execute([]);
    conn.busy_timeout(super::sqlite::BUSY_TIMEOUT)?;
    match begun {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs a statement that waits on the disk or on another process's lock on a blocking thread, so
/// that the runtime's threads go on serving meanwhile. Its caller is a task of its own: the
/// connection is away while the statement runs.
async fn run_blocking(batch: &mut Batch, sql: &'static str) -> StoreResult<()> {
    let conn = batch
        .conn
        .take()
        .ok_or_else(|| StoreError("the store is closed".into()))?;
    let (conn, outcome) = tokio::task::spawn_blocking(move || {
        let outcome = super::sqlite::control(&conn, &[sql]);
        (conn, outcome)
    })
    .await
    .map_err(|e| StoreError(format!("{sql} did not finish: {e}")))?;
    batch.conn = Some(conn);
    outcome
}

/// Ends a member that committed: releases its savepoint, then either leaves the batch open for the
/// writers waiting to join it, handing the connection straight to the next of them, or, when none
/// is waiting (or the batch is full), returns the batch for its `COMMIT`. It runs on the calling
/// thread: handing the work to a task of its own would leave the connection idle until the runtime
/// gets round to that task.
fn release(
    writer: &Writer,
    mut batch: OwnedMutexGuard<Batch>,
    done: oneshot::Sender<StoreResult<()>>,
) -> Option<OwnedMutexGuard<Batch>> {
    let keep_open =
        writer.waiting.load(Ordering::SeqCst) > 0 && batch.members.len() + 1 < MAX_BATCH;
    let released = if keep_open {
        // The next writer's savepoint at once, so that it can start on its statements.
        run(&batch, &["RELEASE member", "SAVEPOINT member"])
    } else {
        run(&batch, &["RELEASE member"])
    };
    batch.members.push(done);
    if batch.lost.load(Ordering::SeqCst) || released.is_err() {
        // An error (disk full, I/O) made SQLite roll the whole transaction back, or left it in a
        // state nothing can be added to: the batch fails as a whole.
        let why = released.err().map_or(
            "the transaction was rolled back by the database".into(),
            |e| e.0,
        );
        abort(&mut batch, &why);
        return None;
    }
    if keep_open {
        batch.ready = true;
        drop(batch);
        writer.wake.notify_one();
        None
    } else {
        Some(batch)
    }
}

/// Undoes the savepoint of a member that ended without committing.
fn settle(batch: &mut Batch) {
    if !std::mem::take(&mut batch.abandoned) || batch.conn.is_none() {
        return;
    }
    let undone = run(batch, &["ROLLBACK TO member", "RELEASE member"]);
    if undone.is_err() || batch.lost.load(Ordering::SeqCst) {
        abort(batch, "the transaction was rolled back by the database");
    }
}

/// Commits the open batch and tells every member the outcome.
async fn flush(writer: &Writer, batch: &mut Batch) {
    if !batch.open || batch.conn.is_none() {
        return;
    }
    let outcome = run_blocking(batch, "COMMIT").await;
    if let Err(e) = &outcome {
        tracing::error!(error = %e, members = batch.members.len(), "a batch failed to commit");
        // A failed COMMIT can leave the transaction open; end it so the next batch starts clean.
        let _ = run(batch, &["ROLLBACK"]);
    } else {
        writer.commits.fetch_add(1, Ordering::Relaxed);
    }
    batch.open = false;
    batch.ready = false;
    for member in batch.members.drain(..) {
        let _ = member.send(outcome.clone());
    }
}

/// Ends a batch that cannot commit: rolls back what is left and fails every member.
fn abort(batch: &mut Batch, why: &str) {
    tracing::error!(members = batch.members.len(), "{why}");
    let _ = run(batch, &["ROLLBACK"]);
    batch.open = false;
    batch.ready = false;
    batch.lost.store(false, Ordering::SeqCst);
    for member in batch.members.drain(..) {
        let _ = member.send(Err(StoreError(why.to_owned())));
    }
}

/// Commits batches that their last member left open because other writers were waiting, and
/// cleans up after members that were dropped. It takes its turn for the connection behind the
/// writers already waiting, so they join the batch before it commits.
async fn committer(writer: Arc<Writer>) {
    loop {
        writer.wake.notified().await;
        if writer.closing.load(Ordering::SeqCst) {
            return;
        }
        let mut batch = writer.batch.clone().lock_owned().await;
        settle(&mut batch);
        flush(&writer, &mut batch).await;
    }
}

#[cfg(test)]
mod tests;
