//! Reads on PostgreSQL gathered from many requests: GETs of a server and polls of the queue's
//! status. Each is one statement there, and PostgreSQL spends about as much on receiving,
//! planning and answering a statement as on finding its row; at many connections at once its
//! processes and the node's few connections to it are the queue. So for each kind of read one
//! task reads at a time: the requests that arrive while it waits for a connection or runs its
//! statement wait for its next one, which reads all their rows. Each request then takes its own
//! row, checked to be its account's (asked of another account, the row is not found). With 64
//! connections GETting one server this answered three times as many GETs as a statement each, at
//! less than half of PostgreSQL's CPU per GET (docs/performance.md).
//!
//! A statement starts only after each request it reads for arrived: every request sees what was
//! committed before it came. SQLite reads in the request's own snapshot instead, with no round
//! trip to share (see `api::answers` for what it keeps).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::{Pool, StoreError, StoreResult, Tx};

/// The most rows one statement reads; more wait for the next.
const MOST_AT_ONCE: usize = 256;

/// A kind of read that can be gathered: rows by a key unique among all accounts.
pub trait Gather: Send + Sync + 'static {
    type Key: Clone + Eq + Hash + Ord + Send + Sync + 'static;
    type Row: Clone + Send + 'static;

    /// The rows whose key is one of `keys` (each given once), whatever their accounts, each with
    /// its key and its account's id. Keys of no row are left out.
    fn read(
        &self,
        conn: &mut Tx,
        keys: &[Self::Key],
    ) -> impl Future<Output = StoreResult<Vec<Found<Self>>>> + Send;
}

/// A row read, with its key and its account's id.
pub struct Found<G: Gather + ?Sized> {
    pub key: G::Key,
    pub account_id: i64,
    pub row: G::Row,
}

type Answer<G> = StoreResult<Option<<G as Gather>::Row>>;

struct Wanted<G: Gather> {
    account_id: i64,
    key: G::Key,
    answer: oneshot::Sender<Answer<G>>,
}

/// The requests waiting for a read.
struct Queue<G: Gather> {
    waiting: Vec<Wanted<G>>,
    /// Whether the task reading runs: it takes what is waiting.
    reading: bool,
}

/// One kind of read, and the requests waiting for it.
pub struct Gathered<G: Gather> {
    gather: G,
    queue: Mutex<Queue<G>>,
}

impl<G: Gather> Gathered<G> {
    pub fn new(gather: G) -> Arc<Self> {
        Arc::new(Gathered {
            gather,
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                reading: false,
            }),
        })
    }

    fn queue(&self) -> MutexGuard<'_, Queue<G>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The row of the account under `key`, read with the others asked for meanwhile.
    pub async fn get(self: &Arc<Self>, pool: &Pool, account_id: i64, key: G::Key) -> Answer<G> {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = self.queue();
            queue.waiting.push(Wanted {
                account_id,
                key,
                answer,
            });
            !std::mem::replace(&mut queue.reading, true)
        };
        if start {
            // A task of its own, so that a client that goes away takes no other request with it.
            tokio::spawn(read(self.clone(), pool.clone()));
        }
        answered.await.unwrap_or_else(|_| {
            Err(StoreError(
                "the read gathered ended without an answer".into(),
            ))
        })
    }
}

/// Reads the rows waited for, a statement at a time, until none are; answers each request.
async fn read<G: Gather>(gathered: Arc<Gathered<G>>, pool: Pool) {
    // Ends the turn if this task ends without ending it itself (a panic): the requests waiting
    // are answered with an error, and the next request starts a read instead of waiting for this
    // one.
    struct Turn<'a, G: Gather>(&'a Gathered<G>, bool);
    impl<G: Gather> Drop for Turn<'_, G> {
        fn drop(&mut self) {
            if !self.1 {
                let mut queue = self.0.queue();
                queue.waiting.clear();
                queue.reading = false;
            }
        }
    }
    let mut turn = Turn(&gathered, false);
    loop {
        {
            let mut queue = gathered.queue();
            if queue.waiting.is_empty() {
                queue.reading = false;
                turn.1 = true;
                return;
            }
        }
        // The connection first, then the requests (none but this task takes them): those that
        // arrive while it is awaited, or while the statement before runs, are read together.
        let conn = pool.read().await;
        let batch: Vec<Wanted<G>> = {
            let mut queue = gathered.queue();
            let n = queue.waiting.len().min(MOST_AT_ONCE);
            queue.waiting.drain(..n).collect()
        };
        let mut keys: Vec<G::Key> = batch.iter().map(|w| w.key.clone()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut found = read_on(conn, &gathered.gather, &keys).await;
        if found.is_err() {
            // A connection PostgreSQL ended (a restart, a failover) fails the statement that meets
            // it, and the pool then lets go of the others it holds. A read changes nothing, so
            // the batch is read once more on another connection rather than failing every
            // request in it.
            found = read_on(pool.read().await, &gathered.gather, &keys).await;
        }
        answer(batch, found);
    }
}

/// The rows of `keys`, read on `conn` if there is one.
async fn read_on<G: Gather>(
    conn: StoreResult<Tx>,
    gather: &G,
    keys: &[G::Key],
) -> StoreResult<Vec<Found<G>>> {
    gather.read(&mut conn?, keys).await
}

/// Gives each request the row its account has under the key it asked for, if one was found.
fn answer<G: Gather>(batch: Vec<Wanted<G>>, found: StoreResult<Vec<Found<G>>>) {
    match found {
        Ok(found) => {
            let by_key: HashMap<&G::Key, &Found<G>> = found.iter().map(|f| (&f.key, f)).collect();
            for w in batch {
                let row = by_key
                    .get(&w.key)
                    .filter(|f| f.account_id == w.account_id)
                    .map(|f| f.row.clone());
                let _ = w.answer.send(Ok(row));
            }
        }
        Err(e) => {
            for w in batch {
                let _ = w.answer.send(Err(e.clone()));
            }
        }
    }
}
