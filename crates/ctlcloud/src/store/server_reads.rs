//! GETs of a server on PostgreSQL, read together. Each GET there is one statement, and at many
//! connections at once the node's few database connections are the queue: every statement costs
//! PostgreSQL about as much to receive, plan and answer as to find its row. So the GETs that arrive
//! while a read waits for a connection join it, and one statement reads all their servers; each
//! request then takes its own server, checked to be its account's (asked of another account, the
//! server is not found).
//!
//! A read starts only once it holds its connection, after each GET in it arrived: every GET sees
//! what was committed before it came. SQLite reads in the request's own snapshot instead, with no
//! round trip to share (see `api::answers` for what it keeps).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::servers::{self, Key};
use super::{Pool, StoreError, StoreResult};
use crate::model::Server;

/// The most servers one statement reads; more wait for the next.
const MOST_AT_ONCE: usize = 256;

type Answer = StoreResult<Option<Server>>;

struct Wanted {
    account_id: i64,
    /// The key's value, as stored.
    value: String,
    answer: oneshot::Sender<Answer>,
}

/// The GETs waiting for a read, for one key.
#[derive(Default)]
struct Queue {
    waiting: Vec<Wanted>,
    /// Whether a read is on its way that will take what is waiting: one waits for a connection.
    read_coming: bool,
}

/// The GETs of servers waiting, by name and by uuid.
#[derive(Default)]
pub struct ServerReads {
    by_name: Mutex<Queue>,
    by_uuid: Mutex<Queue>,
}

impl ServerReads {
    fn queue(&self, key: Key) -> std::sync::MutexGuard<'_, Queue> {
        match key {
            Key::Name => &self.by_name,
            Key::Uuid => &self.by_uuid,
        }
        .lock()
        .unwrap_or_else(|e| e.into_inner())
    }

    /// The server of the account whose `key` is `value` (any case), with its addresses, read with
    /// the others asked for meanwhile.
    pub async fn get(
        self: &Arc<Self>,
        pool: &Pool,
        account_id: i64,
        key: Key,
        value: &str,
    ) -> Answer {
        let (answer, answered) = oneshot::channel();
        let wanted = Wanted {
            account_id,
            value: key.stored(value),
            answer,
        };
        let start = {
            let mut queue = self.queue(key);
            queue.waiting.push(wanted);
            !std::mem::replace(&mut queue.read_coming, true)
        };
        if start {
            // A task of its own, so that a client that goes away takes no other GET with it.
            start_read(self.clone(), pool.clone(), key);
        }
        answered.await.unwrap_or_else(|_| {
            Err(StoreError(
                "the read of servers gathered ended without an answer".into(),
            ))
        })
    }
}

fn start_read(reads: Arc<ServerReads>, pool: Pool, key: Key) {
    // Boxed: a read may start the next, and a future cannot hold itself.
    let read: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
        Box::pin(read(reads, pool, key));
    tokio::spawn(read);
}

/// Reads the servers waiting for `key` once a connection is free, and answers each GET.
async fn read(reads: Arc<ServerReads>, pool: Pool, key: Key) {
    // Ends the turn if this task ends without taking what waits (a panic): those GETs are
    // answered with an error, and the next GET starts a read instead of waiting for this one.
    struct Turn<'a>(&'a ServerReads, Key, bool);
    impl Drop for Turn<'_> {
        fn drop(&mut self) {
            if !self.2 {
                let mut queue = self.0.queue(self.1);
                queue.waiting.clear();
                queue.read_coming = false;
            }
        }
    }
    let mut turn = Turn(&reads, key, false);
    // The connection first, then the GETs: those that arrive while it is awaited join this read.
    let conn = pool.read().await;
    let batch: Vec<Wanted> = {
        let mut queue = reads.queue(key);
        let n = queue.waiting.len().min(MOST_AT_ONCE);
        let batch = queue.waiting.drain(..n).collect();
        // More than one statement's worth: the next read is on its way.
        queue.read_coming = !queue.waiting.is_empty();
        if queue.read_coming {
            start_read(reads.clone(), pool.clone(), key);
        }
        batch
    };
    turn.2 = true;
    let found = match conn {
        Ok(mut conn) => {
            let mut values: Vec<&str> = batch.iter().map(|w| w.value.as_str()).collect();
            values.sort_unstable();
            values.dedup();
            servers::get_many(&mut conn, key, &values).await
        }
        Err(e) => Err(e),
    };
    match found {
        Ok(found) => {
            let by_value: HashMap<&str, &Server> = found.iter().map(|s| (key.of(s), s)).collect();
            for w in batch {
                let server = by_value
                    .get(w.value.as_str())
                    .filter(|s| s.account_id == w.account_id)
                    .map(|s| (*s).clone());
                let _ = w.answer.send(Ok(server));
            }
        }
        Err(e) => {
            for w in batch {
                let _ = w.answer.send(Err(e.clone()));
            }
        }
    }
}
