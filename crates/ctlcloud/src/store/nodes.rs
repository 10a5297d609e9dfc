//! Whether a PostgreSQL node is the only one changing its database, and the changes it makes.
//!
//! A node alone on its database knows of every change to it, as an SQLite node knows of every
//! commit to its file (`store::commits`): it counts its own, and may give out what it read while
//! the count has not moved (`api::answers`). Many nodes cannot know of each other's changes without
//! an exchange, so each node takes its place on a connection of its own by holding one advisory
//! lock: shared among nodes that change the database side by side, exclusive for a node alone.
//!
//! - A node changes the database only while it holds the lock either way ([`Nodes::placed`]),
//!   within a lease renewed by every heartbeat on that connection: a node that cannot reach its
//!   connection stops changing anything before its lease ends.
//! - A node joins by taking the lock exclusive if nobody holds it, else shared. A node alone sees
//!   at its next heartbeat that another waits for the lock, stops giving out what it kept, and
//!   turns its lock shared: the newcomer is granted it only then, before it changes anything. A
//!   node alone that answers no heartbeat for a while is ended by the newcomer
//!   (`pg_terminate_backend` of its connection), which then waits out its lease.
//! - A node that shares the lock takes it exclusive whenever it is free of others, and counts
//!   itself alone one lease later: a node that lost its connection unnoticed has stopped changing
//!   anything by then.
//!
//! Every process that changes the database holds its place this way, `ctlcloud admin` included.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::{StoreError, StoreResult};

/// The advisory lock every node holds (`pg_advisory_lock(4, 0)` and its shared form; the other
/// classes are `store::Lock`'s).
const LOCK: (i32, i32) = (4, 0);

/// [`LOCK`] as `pg_locks` shows it (a condition on its rows): advisory locks of every database
/// are in that view.
fn in_pg_locks() -> String {
    let (class, key) = LOCK;
    format!(
        "locktype = 'advisory' AND classid = {class} AND objid = {key} AND objsubid = 2 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
}

/// A call of the advisory lock function `function` on [`LOCK`]: `pg_advisory_unlock(4, 0)`.
fn on_lock(function: &str) -> String {
    let (class, key) = LOCK;
    format!("{function}({class}, {key})")
}

/// How long a heartbeat vouches for this node's place: it may change the database, or count
/// itself alone, until this long after the heartbeat began.
pub const LEASE: Duration = Duration::from_secs(1);

/// How often a node renews its lease and looks for nodes waiting to join.
const HEARTBEAT: Duration = Duration::from_millis(100);

/// How long a node joining waits for a node alone to make room before ending its connection.
const MAKING_ROOM: Duration = Duration::from_secs(3);

/// How long a change waits for this node to hold its place (it is joining, or reconnecting).
const WAIT_FOR_PLACE: Duration = Duration::from_secs(10);

/// Waits between attempts to connect again: the first, doubling up to the last.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// Changes in flight are the low bits of [`Nodes::changes`], the count of changes the rest.
const IN_FLIGHT_BITS: u32 = 16;
const IN_FLIGHT: u64 = (1 << IN_FLIGHT_BITS) - 1;

/// This node's place among the nodes on its database, and the changes it makes.
#[derive(Debug)]
pub struct Nodes {
    /// What the deadlines below count from.
    origin: Instant,
    /// Until when this node may change the database (nanoseconds from `origin`; 0: not now).
    writable_until: AtomicU64,
    /// Until when this node is alone on the database (nanoseconds from `origin`; 0: not now).
    alone_until: AtomicU64,
    /// The changes this node has finished, shifted, plus those in flight. A change is in flight
    /// from before it can be seen by anyone until this node knows it happened.
    changes: AtomicU64,
    /// Told each time the lease is renewed.
    renewed: Notify,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Nodes {
    /// Starts taking this node's place on the database at `options`, on a connection of its own,
    /// and holding it until [`Nodes::leave`]. Changes wait until the place is taken.
    pub fn join(options: &PgConnectOptions) -> Arc<Nodes> {
        let nodes = Nodes::unplaced();
        // Waiting for the lock is part of joining, not a slow statement to warn of.
        let options = options
            .clone()
            .application_name("ctlcloud node")
            .disable_statement_logging();
        // Subscribed here, so that a `leave` before the task first runs still stops it.
        let stop = nodes.stop.subscribe();
        let task = tokio::spawn(hold(options, nodes.clone(), stop));
        *nodes.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        nodes
    }

    /// A node that holds no place yet, with nothing holding it.
    fn unplaced() -> Arc<Nodes> {
        Arc::new(Nodes {
            origin: Instant::now(),
            writable_until: AtomicU64::new(0),
            alone_until: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            renewed: Notify::new(),
            stop: watch::channel(false).0,
            task: Mutex::new(None),
        })
    }

    /// Gives up the place: its connection is closed, so the lock is free at once.
    pub async fn leave(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        // After the task, which renews them no more.
        self.writable_until.store(0, Ordering::Release);
        self.alone_until.store(0, Ordering::Release);
    }

    /// The count of changes this node has made, while it is alone on the database and has no
    /// change in flight: what is read from now on is as of this count or later, and what was read
    /// under a count holds while the count is the same. `None` otherwise.
    pub fn count(&self) -> Option<u64> {
        let changes = self.changes.load(Ordering::Acquire);
        let alone = self.now() < self.alone_until.load(Ordering::Acquire);
        (alone && changes & IN_FLIGHT == 0).then_some(changes >> IN_FLIGHT_BITS)
    }

    /// Waits until this node may change the database, then counts a change in flight until the
    /// [`Change`] returned ends.
    pub async fn change(self: &Arc<Self>) -> StoreResult<Change> {
        self.placed().await?;
        self.changes.fetch_add(1, Ordering::AcqRel);
        Ok(Change {
            nodes: self.clone(),
            changed: true,
        })
    }

    /// Waits until this node holds its place, for a while at most.
    pub async fn placed(&self) -> StoreResult<()> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_PLACE;
        loop {
            let renewed = self.renewed.notified();
            if self.now() < self.writable_until.load(Ordering::Acquire) {
                return Ok(());
            }
            if *self.stop.borrow() {
                return Err(StoreError("the store is closed".into()));
            }
            if tokio::time::timeout_at(deadline, renewed).await.is_err() {
                return Err(StoreError(
                    "this node has not held its place on the database for 10 s; nothing was changed"
                        .into(),
                ));
            }
        }
    }

    fn now(&self) -> u64 {
        self.nanos(Instant::now())
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_nanos() as u64
    }

    /// Renews the lease from a heartbeat begun at `began`, alone or not.
    fn renew(&self, began: Instant, alone: bool) {
        let until = self.nanos(began + LEASE);
        self.writable_until.store(until, Ordering::Release);
        self.alone_until
            .store(if alone { until } else { 0 }, Ordering::Release);
        self.renewed.notify_waiters();
    }

    /// This node is no longer alone, or may be again: nothing read before counts.
    fn no_longer_alone(&self) {
        self.alone_until.store(0, Ordering::Release);
        self.changes
            .fetch_add(1 << IN_FLIGHT_BITS, Ordering::AcqRel);
    }
}

/// A change of this node in flight: it ends when dropped, or with [`Change::unchanged`].
#[derive(Debug)]
pub struct Change {
    nodes: Arc<Nodes>,
    changed: bool,
}

impl Change {
    /// Ends it as having changed nothing (a statement that matched no row).
    pub fn unchanged(mut self) {
        self.changed = false;
    }
}

impl Drop for Change {
    fn drop(&mut self) {
        let counted: u64 = if self.changed { 1 << IN_FLIGHT_BITS } else { 0 };
        // One addition: the count moves as the change leaves the flight.
        self.nodes
            .changes
            .fetch_add(counted.wrapping_sub(1), Ordering::AcqRel);
    }
}

/// Holds this node's place until told to stop, connecting again whenever the connection is lost.
async fn hold(options: PgConnectOptions, nodes: Arc<Nodes>, mut stop: watch::Receiver<bool>) {
    let mut retry = RETRY_FIRST;
    while !*stop.borrow_and_update() {
        let held = async {
            let mut conn = options.connect().await?;
            retry = RETRY_FIRST;
            let outcome = keep_place(&mut conn, &nodes).await;
            let _ = conn.close().await;
            outcome
        };
        let outcome = tokio::select! {
            outcome = held => outcome,
            _ = stop.changed() => return,
        };
        nodes.no_longer_alone();
        nodes.writable_until.store(0, Ordering::Release);
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "lost this node's place on the database; taking it again");
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = stop.changed() => return,
        }
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Takes this node's place on `conn` and renews it at every heartbeat; returns only on error.
async fn keep_place(conn: &mut PgConnection, nodes: &Nodes) -> Result<(), sqlx::Error> {
    // The statements of the heartbeats, made once.
    let exclusive = format!("SELECT {}", on_lock("pg_try_advisory_lock"));
    let shared = format!("SELECT {}", on_lock("pg_advisory_lock_shared"));
    let unlock = format!("SELECT {}", on_lock("pg_advisory_unlock"));
    let waiting = format!(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE {} AND NOT granted)",
        in_pg_locks()
    );
    let free_of_others = format!(
        "SELECT CASE WHEN {} THEN {} ELSE false END",
        on_lock("pg_try_advisory_lock"),
        on_lock("pg_advisory_unlock_shared")
    );
    let alone = scalar(conn, &exclusive).await?;
    let mut alone_from = None;
    if alone {
        // Anyone who held the lock until a moment ago may still change the database until its
        // lease ends.
        alone_from = Some(Instant::now() + LEASE);
    } else {
        join_others(conn, &shared).await?;
    }
    loop {
        let began = Instant::now();
        match alone_from {
            Some(from) => {
                if scalar(conn, &waiting).await? {
                    // Nothing kept is given out from here on; then the lock turns shared (no
                    // conflict with this node's own exclusive hold) and the newcomer gets it.
                    nodes.no_longer_alone();
                    alone_from = None;
                    execute(conn, &shared).await?;
                    scalar(conn, &unlock).await?;
                    nodes.renew(began, false);
                } else {
                    nodes.renew(began, began >= from);
                }
            }
            None => {
                if scalar(conn, &free_of_others).await? {
                    nodes.no_longer_alone();
                    alone_from = Some(began + LEASE);
                }
                nodes.renew(began, false);
            }
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

/// Takes the lock shared (with `shared`), waiting for a node alone to make room; one that does
/// not in time has its connection ended, and its lease is waited out.
async fn join_others(conn: &mut PgConnection, shared: &str) -> Result<(), sqlx::Error> {
    let timeout = MAKING_ROOM.as_millis();
    execute(conn, &format!("SET lock_timeout = {timeout}")).await?;
    let took = execute(conn, shared).await;
    execute(conn, "SET lock_timeout = 0").await?;
    match took {
        Ok(()) => Ok(()),
        // 55P03: the lock was not granted in time.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
            tracing::warn!(
                "the node alone on the database did not make room in time; ending its connection"
            );
            let holder = format!(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {} \
                 AND mode = 'ExclusiveLock' AND granted",
                in_pg_locks()
            );
            execute(conn, &holder).await?;
            execute(conn, shared).await?;
            tokio::time::sleep(LEASE).await;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

async fn execute(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql).await.map(drop)
}

async fn scalar(conn: &mut PgConnection, sql: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>(sql).fetch_one(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes with no connection of their own, placed as the test says.
    fn placed(writable: bool, alone: bool) -> Arc<Nodes> {
        let nodes = Nodes::unplaced();
        if writable {
            nodes.renew(Instant::now(), alone);
        }
        nodes
    }

    #[tokio::test]
    async fn a_count_is_known_alone_with_no_change_in_flight() {
        let nodes = placed(true, true);
        let before = nodes.count().expect("alone, nothing in flight");
        let change = nodes.change().await.unwrap();
        assert_eq!(nodes.count(), None, "a change in flight");
        let other = nodes.change().await.unwrap();
        drop(change);
        assert_eq!(nodes.count(), None, "another still in flight");
        other.unchanged();
        let after = nodes.count().expect("none in flight");
        assert_eq!(
            after,
            before + 1,
            "one change made, one that changed nothing"
        );

        nodes.renew(Instant::now(), false);
        assert_eq!(nodes.count(), None, "not alone");
        nodes.no_longer_alone();
        nodes.renew(Instant::now(), true);
        assert_ne!(
            nodes.count(),
            Some(after),
            "what was read before is not trusted again"
        );

        let lapsed = Instant::now().checked_sub(LEASE).unwrap();
        nodes.renew(lapsed, true);
        assert_eq!(nodes.count(), None, "alone no longer vouched for");
    }

    #[tokio::test]
    async fn a_change_waits_for_the_node_to_hold_its_place() {
        let nodes = placed(false, false);
        let waiting = tokio::spawn({
            let nodes = nodes.clone();
            async move { nodes.change().await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        nodes.renew(Instant::now(), false);
        waiting.await.unwrap().unwrap();

        nodes.stop.send_replace(true);
        nodes.writable_until.store(0, Ordering::Release);
        let refused = nodes.change().await.unwrap_err();
        assert!(refused.0.contains("closed"), "{}", refused.0);
    }
}
