//! Accepting server creates: the one transaction that names a new server, gives it an address and
//! queues its build, run for many creates of one account at once.
//!
//! An account's creates must be decided one after another: each takes the lowest free name and
//! address, and the account's cap counts them all. On PostgreSQL that means a lock held for the
//! whole transaction, commit included, so one account's creates would be capped by the commit's
//! round trips. Instead, every create that arrives while the account's transaction runs waits for
//! the next one, which decides them all together: one lock, one read of each count and set-wise
//! inserts, then one commit. Each create is answered only after the transaction that holds it has
//! committed, and each can still fail alone (a full network, a taken address, the cap).
//!
//! The next transaction does not wait for the last one's commit to start: it takes the creates
//! waiting once it holds the write connection (SQLite) or the account's lock (PostgreSQL), so
//! those that arrived while the last one committed join it. On SQLite the two often share one
//! group commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::http::error::{ApiError, ApiResult};
use crate::model::{self, Account, Job, JobKind, Server};
use crate::store::{self, accepted, jobs, networks, servers, Store, StoreResult, Tx};

use super::limits::{self, Limits};
use super::servers::{lowest_free_seq, pick_address};

/// The most creates decided in one transaction; more wait for the next.
const MOST_AT_ONCE: usize = 256;

/// A validated create, everything decided but its name and address.
pub struct Planned {
    /// The server as it will be stored; `id` and `addresses` are filled in here.
    pub server: Server,
    /// `DC + ALIAS + NAME`: the name is this and the lowest free two-digit number, `seq`.
    pub name_prefix: String,
    /// Filled in here.
    pub seq: i64,
    pub password: String,
    pub primary_dns: Option<String>,
    pub secondary_dns: Option<String>,
    pub packages: serde_json::Value,
    /// The network asked for; the oldest with room in the data center if `None`.
    pub network_id: Option<String>,
    /// The address asked for.
    pub ip_address: Option<u32>,
    /// When the server is to be deleted (epoch seconds).
    pub ttl: Option<i64>,
    pub requested_by: String,
    pub now: i64,
}

type Answer = ApiResult<(Server, Job)>;

struct Waiting {
    planned: Planned,
    answer: oneshot::Sender<Answer>,
}

/// The creates waiting, per account. An account's entry exists while a task is deciding its
/// creates; that task takes whatever is waiting each time it starts a transaction.
#[derive(Default)]
pub struct Creates {
    waiting: Mutex<HashMap<i64, Vec<Waiting>>>,
}

impl Creates {
    /// Decides a create with the account's others and commits it; answers once it is durable.
    pub async fn accept(
        self: &Arc<Self>,
        store: &Store,
        limits: Limits,
        account: &Account,
        planned: Planned,
    ) -> Answer {
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting { planned, answer };
        let first = {
            let mut all = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            match all.get_mut(&account.id) {
                Some(queue) => {
                    queue.push(waiting);
                    false
                }
                None => {
                    all.insert(account.id, vec![waiting]);
                    true
                }
            }
        };
        if first {
            // A task of its own, so that a client that goes away takes no other create with it.
            let decider = Decider {
                creates: self.clone(),
                store: store.clone(),
                limits,
                account: account.clone(),
            };
            tokio::spawn(decider.run());
        }
        answered.await.unwrap_or_else(|_| {
            Err(ApiError::internal(
                "the transaction deciding a create ended without an answer",
            ))
        })
    }
}

/// The task deciding one account's creates until none are waiting.
struct Decider {
    creates: Arc<Creates>,
    store: Store,
    limits: Limits,
    account: Account,
}

/// Ends a decider's turn if it stops without ending it itself (a panic): the account's queue goes,
/// its creates are answered with an error, and the next create starts a new decider instead of
/// waiting for this one.
struct Turn<'a> {
    creates: &'a Creates,
    account_id: i64,
    ended: bool,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let mut all = self
                .creates
                .waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            all.remove(&self.account_id);
        }
    }
}

impl Decider {
    async fn run(self) {
        let mut turn = Turn {
            creates: &self.creates,
            account_id: self.account.id,
            ended: false,
        };
        loop {
            if !self.has_waiting(&mut turn) {
                return;
            }
            // The connection first, then the batch: creates that arrive while the transaction
            // waits for its turn (the previous batch's `COMMIT` among others) join it.
            let tx = self
                .store
                .write_locked(store::Lock::Account(self.account.id))
                .await;
            let batch = self.take_waiting();
            let (planned, answers): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|w| (w.planned, w.answer)).unzip();
            let n = planned.len();
            let mut tx = match tx {
                Ok(tx) => tx,
                Err(e) => {
                    answer_all(answers, vec![Err(ApiError::from(e)); n]);
                    continue;
                }
            };
            let decided = match decide(&mut tx, &self.limits, &self.account, planned).await {
                Ok(decided) => decided,
                Err(e) => {
                    drop(tx);
                    answer_all(answers, vec![Err(ApiError::from(e)); n]);
                    continue;
                }
            };
            // The next batch is decided while this one commits: on SQLite it joins the same
            // group commit or the next, on PostgreSQL it waits for the account's lock. Either
            // way it sees this batch's names and addresses, and fails with it if it fails.
            tokio::spawn(async move {
                match tx.commit().await {
                    Ok(()) => answer_all(answers, decided),
                    Err(e) => answer_all(answers, vec![Err(ApiError::from(e)); n]),
                }
            });
        }
    }

    /// Whether creates wait; ends the turn if none do.
    fn has_waiting(&self, turn: &mut Turn) -> bool {
        let mut all = self
            .creates
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match all.get(&self.account.id) {
            None => false,
            Some(queue) if queue.is_empty() => {
                all.remove(&self.account.id);
                turn.ended = true;
                false
            }
            Some(_) => true,
        }
    }

    /// Takes the creates waiting, at most [`MOST_AT_ONCE`].
    fn take_waiting(&self) -> Vec<Waiting> {
        let mut all = self
            .creates
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(queue) = all.get_mut(&self.account.id) else {
            return Vec::new();
        };
        let n = queue.len().min(MOST_AT_ONCE);
        queue.drain(..n).collect()
    }
}

fn answer_all(answers: Vec<oneshot::Sender<Answer>>, decided: Vec<Answer>) {
    for (answer, decided) in answers.into_iter().zip(decided) {
        let _ = answer.send(decided);
    }
}

/// Ongoing hand-out of the oldest free addresses of an account's networks in one data center.
#[derive(Default)]
struct Addresses {
    network: Option<model::Network>,
    free: std::collections::VecDeque<u32>,
    exhausted: bool,
}

impl Addresses {
    /// The next free address, reading at most `most` at a time from a network.
    async fn next(
        &mut self,
        tx: &mut Tx,
        account_id: i64,
        dc: &str,
        most: usize,
    ) -> StoreResult<Option<(String, u32)>> {
        loop {
            if let (Some(network), Some(address)) = (&self.network, self.free.pop_front()) {
                return Ok(Some((network.id.clone(), address)));
            }
            if self.exhausted {
                return Ok(None);
            }
            let after = self.network.as_ref().map(|n| n.base);
            match networks::next_with_room(tx, account_id, dc, after, most).await? {
                Some((network, free)) => {
                    self.free = free.into();
                    self.network = Some(network);
                }
                None => self.exhausted = true,
            }
        }
    }
}

/// Decides the batch inside the account's locked transaction: an answer for each create, in order.
/// Only a store failure fails the whole batch.
async fn decide(
    tx: &mut Tx,
    limits: &Limits,
    account: &Account,
    mut batch: Vec<Planned>,
) -> StoreResult<Vec<Answer>> {
    let distinct = |of: fn(&Planned) -> &str| {
        let mut all: Vec<&str> = batch.iter().map(of).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let group_ids = distinct(|p| &p.server.group_id);
    let prefixes = distinct(|p| &p.name_prefix);
    let standing = accepted::standing(tx, account.id, &group_ids, &prefixes).await?;
    // A group may have gone or been archived since its request read it.
    let group_ok: HashMap<String, ApiResult<()>> = group_ids
        .iter()
        .map(|id| {
            let ok = match standing.groups.get(&id.to_lowercase()) {
                Some(group) => super::groups::check_parent("groupId", group),
                None => Err(super::groups::no_such_group(account, "groupId", id)),
            };
            (id.to_string(), ok)
        })
        .collect();
    let mut room = limits.servers_per_account - standing.servers;
    let mut used = standing.seqs;

    let n = batch.len();
    let mut answers: Vec<Option<Answer>> = (0..n).map(|_| None).collect();
    let mut addresses: HashMap<String, Addresses> = HashMap::new();
    // Creates given an address here, as (index, network id). Those that asked for a network or an
    // address are decided after these are written, against what is stored.
    let mut decided: Vec<(usize, String)> = Vec::new();
    let mut asked: Vec<usize> = Vec::new();
    for (i, p) in batch.iter_mut().enumerate() {
        if let Err(e) = &group_ok[&p.server.group_id] {
            answers[i] = Some(Err(e.clone()));
            continue;
        }
        if p.network_id.is_some() || p.ip_address.is_some() {
            asked.push(i);
            continue;
        }
        let Some(seq) = or_answer(&mut answers[i], take_seq(&used, p, room, account, limits))
        else {
            continue;
        };
        let dc = p.server.dc.clone();
        let next = addresses
            .entry(dc.clone())
            .or_default()
            .next(tx, account.id, &dc, n - i)
            .await?;
        let Some((network_id, address)) = next else {
            answers[i] = Some(Err(no_free_address(&dc)));
            continue;
        };
        accept(&mut used, p, seq, address);
        room -= 1;
        decided.push((i, network_id));
    }
    let written = write(tx, account, &batch, &decided).await?;
    for ((i, _), job) in decided.iter().zip(written) {
        answers[*i] = Some(Ok((batch[*i].server.clone(), job)));
    }

    for i in asked {
        let p = &mut batch[i];
        let Some(seq) = or_answer(&mut answers[i], take_seq(&used, p, room, account, limits))
        else {
            continue;
        };
        let dc = p.server.dc.clone();
        let picked = pick_address(tx, account, &dc, p.network_id.as_deref(), p.ip_address).await?;
        let Some((network, address)) = or_answer(&mut answers[i], picked) else {
            continue;
        };
        accept(&mut used, p, seq, address);
        room -= 1;
        let mut job = write(tx, account, &batch, &[(i, network.id)]).await?;
        answers[i] = Some(Ok((batch[i].server.clone(), job.remove(0))));
    }
    Ok(answers
        .into_iter()
        .map(|a| a.expect("every create of the batch is answered"))
        .collect())
}

/// The value, or `None` with the error put in the create's answer.
fn or_answer<T>(answer: &mut Option<Answer>, result: ApiResult<T>) -> Option<T> {
    result.map_err(|e| *answer = Some(Err(e))).ok()
}

/// The lowest free number for the create's name, if the account has room for one more server.
fn take_seq(
    used: &HashMap<String, Vec<i64>>,
    p: &Planned,
    room: i64,
    account: &Account,
    limits: &Limits,
) -> ApiResult<i64> {
    if room <= 0 {
        return Err(limits::servers_refused(account, limits));
    }
    lowest_free_seq(used.get(&p.name_prefix).map_or(&[], Vec::as_slice)).ok_or_else(|| {
        ApiError::conflict(format!(
            "All 99 names {0}01 to {0}99 are in use.",
            p.name_prefix
        ))
    })
}

/// Accepts the create: names it with `seq`, which counts as used from now on, and gives it
/// `address`.
fn accept(used: &mut HashMap<String, Vec<i64>>, p: &mut Planned, seq: i64, address: u32) {
    p.server.addresses = vec![address];
    let seqs = used.entry(p.name_prefix.clone()).or_default();
    let at = seqs.partition_point(|s| *s < seq);
    seqs.insert(at, seq);
    p.seq = seq;
    p.server.id = format!("{}{seq:02}", p.name_prefix);
}

/// Writes the servers at `which` (index into `batch`, network id of their address) with their
/// addresses and jobs; answers their build jobs, in order.
async fn write(
    tx: &mut Tx,
    account: &Account,
    batch: &[Planned],
    which: &[(usize, String)],
) -> StoreResult<Vec<Job>> {
    if which.is_empty() {
        return Ok(Vec::new());
    }
    let provisioning: Vec<servers::Provisioning> = which
        .iter()
        .map(|(i, _)| {
            let p = &batch[*i];
            servers::Provisioning {
                name_prefix: &p.name_prefix,
                seq: p.seq,
                password: &p.password,
                primary_dns: p.primary_dns.as_deref(),
                secondary_dns: p.secondary_dns.as_deref(),
                packages: &p.packages,
            }
        })
        .collect();
    let rows: Vec<_> = which
        .iter()
        .zip(&provisioning)
        .map(|((i, _), p)| (&batch[*i].server, p))
        .collect();
    let assignments: Vec<networks::Assignment> = which
        .iter()
        .map(|(i, network_id)| {
            let s = &batch[*i].server;
            (network_id.as_str(), s.addresses[0], s.id.as_str())
        })
        .collect();
    let builds = which.iter().map(|(i, _)| {
        let p = &batch[*i];
        jobs::NewJob {
            account_id: account.id,
            dc: &p.server.dc,
            kind: JobKind::CreateServer,
            server_id: Some(&p.server.id),
            payload: serde_json::Value::Null,
            requested_by: &p.requested_by,
            run_after: 0,
        }
    });
    // A time to live is a job scheduled without a server of its own, so that it holds up no
    // other work on the server until its time comes; it then queues the deletion behind
    // whatever is queued by then.
    let expiries = which.iter().filter_map(|(i, _)| {
        let p = &batch[*i];
        Some(jobs::NewJob {
            account_id: account.id,
            dc: &p.server.dc,
            kind: JobKind::ExpireServer,
            server_id: None,
            payload: serde_json::json!({ "serverId": p.server.id, "uuid": p.server.uuid }),
            requested_by: &p.requested_by,
            run_after: p.ttl?,
        })
    });
    let now = batch[which[0].0].now;
    let jobs = builds.chain(expiries).collect();
    let mut queued = accepted::write(tx, &rows, &assignments, jobs, now).await?;
    queued.truncate(which.len());
    Ok(queued)
}

pub fn no_free_address(dc: &str) -> ApiError {
    ApiError::conflict(format!(
        "No free address is left on the account's networks in {dc}."
    ))
}
