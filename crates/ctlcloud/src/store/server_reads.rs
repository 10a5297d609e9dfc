//! GETs of a server on PostgreSQL, read together. A GET there is one statement, and PostgreSQL
//! spends about as much on receiving, planning and answering a statement as on finding its row;
//! at many connections at once its processes and the node's few connections to it are the queue.
//! So for each key (name or uuid) one task reads at a time: the GETs that arrive while it waits
//! for a connection or runs its statement wait for its next one, which reads all their servers.
//! Each request then takes its own server, checked to be its account's (asked of another account,
//! the server is not found). With 64 connections GETting one server this answered three times as
//! many GETs as a statement each, at less than half of PostgreSQL's CPU per GET
//! (docs/performance.md).
//!
//! A statement starts only after each GET it reads for arrived: every GET sees what was committed
//! before it came. SQLite reads in the request's own snapshot instead, with no round trip to
//! share (see `api::answers` for what it keeps).

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
    /// Whether the task reading for this key runs: it takes what is waiting.
    reading: bool,
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
            !std::mem::replace(&mut queue.reading, true)
        };
        if start {
            // A task of its own, so that a client that goes away takes no other GET with it.
            tokio::spawn(read(self.clone(), pool.clone(), key));
        }
        answered.await.unwrap_or_else(|_| {
            Err(StoreError(
                "the read of servers gathered ended without an answer".into(),
            ))
        })
    }
}

/// Reads the servers waiting for `key`, a statement at a time, until none wait; answers each GET.
async fn read(reads: Arc<ServerReads>, pool: Pool, key: Key) {
    // Ends the turn if this task ends without ending it itself (a panic): the GETs waiting are
    // answered with an error, and the next GET starts a read instead of waiting for this one.
    struct Turn<'a>(&'a ServerReads, Key, bool);
    impl Drop for Turn<'_> {
        fn drop(&mut self) {
            if !self.2 {
                let mut queue = self.0.queue(self.1);
                queue.waiting.clear();
                queue.reading = false;
            }
        }
    }
    let mut turn = Turn(&reads, key, false);
    loop {
        {
            let mut queue = reads.queue(key);
            if queue.waiting.is_empty() {
                queue.reading = false;
                turn.2 = true;
                return;
            }
        }
        // The connection first, then the GETs (none but this task takes them): those that arrive
        // while it is awaited, or while the statement before runs, are read together.
        let conn = pool.read().await;
        let batch: Vec<Wanted> = {
            let mut queue = reads.queue(key);
            let n = queue.waiting.len().min(MOST_AT_ONCE);
            queue.waiting.drain(..n).collect()
        };
        let found = match conn {
            Ok(mut conn) => {
                let mut values: Vec<&str> = batch.iter().map(|w| w.value.as_str()).collect();
                values.sort_unstable();
                values.dedup();
                servers::get_many(&mut conn, key, &values).await
            }
            Err(e) => Err(e),
        };
        answer(key, batch, found);
    }
}

/// Gives each GET the server its account has under the key it asked for, if one was found.
fn answer(key: Key, batch: Vec<Wanted>, found: StoreResult<Vec<Server>>) {
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
