//! Waking the idle workers of every node on one PostgreSQL database at once when a job is queued,
//! through `LISTEN`/`NOTIFY` on the [`CHANNEL`] channel; and hearing of changes to callers
//! committed by any node (see `store::callers`), on that module's channel.
//!
//! The node that queues a job announces it after the job's transaction commits ([`Announcer`]):
//! a background task sends `NOTIFY`, so the request that queued the job never waits for it nor
//! fails because of it, and a burst of jobs makes one notification per short moment. Every node
//! listens ([`listen`]) and wakes its own workers on each notification from another node. For
//! work, notifications are an optimisation only: a lost one (a failed `NOTIFY`, a listener between
//! connections) delays a job until the next poll of some node's workers, never more. A change to
//! callers is notified by the transaction that makes it; one missed while the listener was between
//! connections is made up for when it is connected again, and until then no kept caller is given
//! out for longer than the node's trust window.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use crate::store::callers::{self, Callers};
use crate::store::lineages::{self, Lineages};

/// The channel nodes notify and listen on.
pub const CHANNEL: &str = "ctlcloud_jobs";
/// The `application_name` of each node's listening connection.
pub const LISTENER_NAME: &str = "ctlcloud listener";
/// The shortest time between two notifications from one node: the jobs queued meanwhile share
/// the next one.
const MIN_GAP: Duration = Duration::from_millis(20);
/// How long a `NOTIFY` may take before it is given up (and logged).
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Waits between attempts to connect the listener again: the first, doubling up to the last.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// Tells the other nodes that work is queued. Cheap to clone; announcing never waits. The default
/// announces nothing (SQLite, where this process is the only node).
#[derive(Clone, Default)]
pub struct Announcer {
    pending: Option<mpsc::Sender<()>>,
}

impl Announcer {
    /// Asks for a notification soon. Announcements made before one is sent share it.
    pub fn announce(&self) {
        if let Some(pending) = &self.pending {
            // Full: a notification is pending already and covers this job too.
            let _ = pending.try_send(());
        }
    }
}

/// Starts the task that sends this node's notifications through `pool`, tagged with `node` so
/// that the node's own listener ignores them. It stops when `shutdown` turns true, after sending
/// the notification still pending, if any.
pub fn announcer(
    pool: crate::store::Pool,
    node: String,
    mut shutdown: watch::Receiver<bool>,
) -> (Announcer, JoinHandle<()>) {
    let (pending, mut requests) = mpsc::channel(1);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                request = requests.recv() => {
                    if request.is_none() {
                        return;
                    }
                }
                _ = shutdown.changed() => {
                    if requests.try_recv().is_ok() {
                        notify(&pool, &node).await;
                    }
                    return;
                }
            }
            notify(&pool, &node).await;
            tokio::time::sleep(MIN_GAP).await;
        }
    });
    let announcer = Announcer {
        pending: Some(pending),
    };
    (announcer, task)
}

/// Sends one notification; a failure is only logged, since workers poll anyway.
async fn notify(pool: &crate::store::Pool, node: &str) {
    let sent = crate::store::db::query("SELECT pg_notify(?, ?)")
        .bind(CHANNEL)
        .bind(node)
        .execute(pool);
    match tokio::time::timeout(SEND_TIMEOUT, sent).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "notifying other nodes of queued work failed; they find it at their next poll")
        }
        Err(_) => {
            tracing::warn!(
                "notifying other nodes of queued work timed out; they find it at their next poll"
            )
        }
    }
}

/// Listens for the notifications of other nodes on a connection of its own to `url`: signals
/// `queued` on each about work, and tells `callers` and `lineages` of each change to callers and
/// to groups. The first connection is made before this returns, so work announced from then on
/// wakes this node (unless that connection failed: then it is retried in the background, and the
/// workers poll meanwhile). A lost connection is made again; after each new connection the
/// workers are woken and the callers and lineages kept forgotten, for the notifications missed in
/// between. Stops when `shutdown` turns true.
pub async fn listen(
    url: &str,
    node: String,
    queued: Arc<Notify>,
    callers: Arc<Callers>,
    lineages: Arc<Lineages>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, String> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| format!("the database URL: {e}"))?
        .application_name(LISTENER_NAME);
    let first = match subscribe(&options).await {
        Ok(listener) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for work queued by other nodes yet; retrying, workers poll meanwhile");
            None
        }
    };
    Ok(tokio::spawn(async move {
        let mut listener = first;
        let mut retry = RETRY_FIRST;
        loop {
            let Some(current) = listener.as_mut() else {
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    _ = shutdown.changed() => return,
                }
                match subscribe(&options).await {
                    Ok(l) => {
                        tracing::info!("listening for work queued by other nodes again");
                        listener = Some(l);
                        retry = RETRY_FIRST;
                        queued.notify_one();
                        callers.changed();
                        lineages.changed();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for work queued by other nodes; retrying, workers poll meanwhile");
                        retry = (retry * 2).min(RETRY_MAX);
                    }
                }
                continue;
            };
            let received = tokio::select! {
                r = current.try_recv() => r,
                _ = shutdown.changed() => return,
            };
            match received {
                Ok(Some(n)) if n.channel() == callers::CHANNEL => callers.changed(),
                Ok(Some(n)) if n.channel() == lineages::CHANNEL => lineages.changed(),
                Ok(Some(n)) if n.payload() == node => {}
                Ok(Some(_)) => queued.notify_one(),
                Ok(None) => {
                    // The connection was lost and has been made again (or the next call makes
                    // it): notifications sent in between are lost, so look for work now, and
                    // read callers and lineages again.
                    tracing::warn!(
                        "lost the connection listening for work queued by other nodes; reconnected"
                    );
                    queued.notify_one();
                    callers.changed();
                    lineages.changed();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "listening for work queued by other nodes failed; reconnecting, workers poll meanwhile");
                    listener = None;
                }
            }
        }
    }))
}

/// A listener with its own connection, subscribed to [`CHANNEL`] and to changes to callers and
/// groups.
async fn subscribe(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    listener
        .listen_all([CHANNEL, callers::CHANNEL, lineages::CHANNEL])
        .await?;
    Ok(listener)
}
