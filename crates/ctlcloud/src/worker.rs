//! Workers: they claim queued jobs under a lease, run their steps (`crate::steps`), and record each
//! outcome together with its effect atomically. A job whose worker died is claimed again when its
//! lease runs out; every step can run twice without harm.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::app::App;
use crate::model::{Job, JobStatus};
use crate::steps;
use crate::store::{db, jobs, Engine, StoreResult, Tx};

/// At most this many finished jobs are recorded in one write transaction.
const MOST_FINISHED_AT_ONCE: usize = 256;

/// How one node runs jobs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a claim on a job lasts, in seconds; a job still unfinished then (its node died)
    /// is claimed again by any node.
    pub lease_secs: i64,
    /// How often idle workers look for work nobody woke them for: jobs whose time has come, and
    /// jobs queued by other nodes whose notification was lost.
    pub poll: Duration,
    /// Jobs run at once by this node (at least 1).
    pub max_running: usize,
}

/// Runs jobs until `shutdown` turns true, then stops claiming and lets running jobs finish for a
/// short grace period.
pub async fn run(app: Arc<App>, settings: Settings, mut shutdown: watch::Receiver<bool>) {
    let Settings {
        lease_secs,
        poll,
        max_running,
    } = settings;
    let owner = crate::ids::new_id();
    let (recorder, batches) = Recorder::start(&app, &owner);
    let mut running = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let room = max_running.max(1).saturating_sub(running.len());
        let claimed = if room > 0 {
            claim(&app, &owner, lease_secs, room).await
        } else {
            Ok(Vec::new())
        };
        let claimed = claimed.unwrap_or_else(|e| {
            tracing::error!(error = %e, "claiming jobs failed");
            Vec::new()
        });
        let idle = claimed.is_empty();
        for job in claimed {
            let (app, recorder) = (app.clone(), recorder.clone());
            running.spawn(async move { execute(&app, job, &recorder).await });
        }
        while running.try_join_next().is_some() {}
        if idle {
            tokio::select! {
                _ = app.queued.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
    let grace = tokio::time::timeout(Duration::from_secs(10), async {
        while running.join_next().await.is_some() {}
    });
    if grace.await.is_err() {
        // Unfinished jobs keep their lease; the next start claims them again.
        running.abort_all();
    }
    drop(recorder);
    if let Some(batches) = batches {
        let _ = batches.await;
    }
}

async fn claim(app: &App, owner: &str, lease_secs: i64, limit: usize) -> StoreResult<Vec<Job>> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let claimed = jobs::claim(&mut tx, owner, now, now + lease_secs, limit as i64).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Where the outcomes of jobs go once their steps have run.
///
/// On SQLite, to one task that records all the jobs that finished while the write connection was
/// busy in one transaction, each in a savepoint of its own so that one that fails is rolled back
/// alone: one write connection serves the whole node, and this spares it a transaction per job.
/// On PostgreSQL, each job records its own outcome in a transaction of its own, at the same time as
/// the others: other nodes write at the same time, and one transaction touching the rows of many
/// accounts could deadlock with theirs.
#[derive(Clone)]
enum Recorder {
    Batched(mpsc::UnboundedSender<Finished>),
    Alone(String),
}

impl Recorder {
    /// The recorder for this node's worker `owner`, and the task that records batches if any.
    fn start(app: &Arc<App>, owner: &str) -> (Recorder, Option<JoinHandle<()>>) {
        match app.store.engine() {
            Engine::Sqlite => {
                let (sender, receiver) = mpsc::unbounded_channel();
                let task = tokio::spawn(record_batches(app.clone(), owner.to_owned(), receiver));
                (Recorder::Batched(sender), Some(task))
            }
            Engine::Postgres => (Recorder::Alone(owner.to_owned()), None),
        }
    }
}

/// A job whose steps have run, on its way to be recorded.
struct Finished {
    job: Job,
    outcome: Result<(), String>,
    /// The task waiting for the outcome to be recorded (or not to be, after an error).
    recorded: Option<oneshot::Sender<()>>,
}

/// Runs a job's steps, then records the outcome, so that the job counts as running until then.
async fn execute(app: &App, job: Job, recorder: &Recorder) {
    let outcome = match steps::perform(app, &job).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // The lease stays; the job runs again when it expires.
            tracing::error!(job = job.id, error = %e, "job step failed");
            return;
        }
    };
    match recorder {
        Recorder::Batched(sender) => {
            let (recorded, wait) = oneshot::channel();
            let finished = Finished {
                job,
                outcome,
                recorded: Some(recorded),
            };
            if sender.send(finished).is_ok() {
                let _ = wait.await;
            }
        }
        Recorder::Alone(owner) => {
            let tx = app.store.write().await;
            let finished = Finished {
                job,
                outcome,
                recorded: None,
            };
            record(app, owner, tx, vec![finished]).await;
        }
    }
}

/// Records the finished jobs sent to it, many to a transaction, until every sender is gone.
async fn record_batches(
    app: Arc<App>,
    owner: String,
    mut to_record: mpsc::UnboundedReceiver<Finished>,
) {
    while let Some(first) = to_record.recv().await {
        let tx = app.store.write().await;
        // Those that finished while this waited for the connection go in the same transaction.
        let mut batch = vec![first];
        while batch.len() < MOST_FINISHED_AT_ONCE {
            match to_record.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        record(&app, &owner, tx, batch).await;
    }
}

/// Records finished jobs, each with its effect, in one transaction, and tells each job's task.
async fn record(app: &App, owner: &str, tx: StoreResult<Tx>, batch: Vec<Finished>) {
    let recorded = async {
        let mut tx = tx?;
        // A job recorded alone needs no savepoint: the transaction is its own.
        let alone = batch.len() == 1;
        let mut kept = Vec::with_capacity(batch.len());
        for f in &batch {
            kept.push(finish(&mut tx, app, owner, &f.job, &f.outcome, alone).await?);
        }
        if kept.contains(&true) {
            tx.commit().await?;
        }
        StoreResult::Ok(kept)
    };
    match recorded.await {
        Ok(kept) => {
            for (f, _) in batch.iter().zip(kept).filter(|(_, kept)| *kept) {
                let status = if f.outcome.is_ok() {
                    "succeeded"
                } else {
                    "failed"
                };
                tracing::info!(job = f.job.id, kind = f.job.kind, status, "job finished");
            }
        }
        // The leases stay; the jobs run again when they expire.
        Err(e) => {
            tracing::error!(jobs = batch.len(), error = %e, "recording finished jobs failed")
        }
    }
    for waiting in batch.into_iter().filter_map(|f| f.recorded) {
        let _ = waiting.send(());
    }
}

/// Records one job's outcome and its effect, if this worker still holds the job: `true` if it did.
/// Whatever goes wrong with this job is rolled back to its savepoint and logged, or, for a job
/// `alone` in its transaction, left for the caller to roll back by not committing; an error is
/// returned only when the transaction itself can go no further.
async fn finish(
    tx: &mut Tx,
    app: &App,
    owner: &str,
    job: &Job,
    outcome: &Result<(), String>,
    alone: bool,
) -> StoreResult<bool> {
    if !alone {
        db::query("SAVEPOINT job").execute(&mut *tx).await?;
    }
    let recorded = async {
        steps::apply(tx, app, job, outcome).await?;
        let status = if outcome.is_ok() {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        };
        let error = outcome.as_ref().err().map(String::as_str);
        jobs::finish(tx, job.id, owner, status, error, app.clock.now()).await
    }
    .await;
    let kept = match recorded {
        Ok(true) => true,
        Ok(false) => {
            tracing::warn!(
                job = job.id,
                "job was taken over by another worker; its outcome here is dropped"
            );
            false
        }
        Err(e) => {
            // The lease stays; the job runs again when it expires.
            tracing::error!(job = job.id, error = %e, "job step failed");
            false
        }
    };
    if !alone {
        if !kept {
            db::query("ROLLBACK TO job").execute(&mut *tx).await?;
        }
        db::query("RELEASE job").execute(&mut *tx).await?;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::domain::accounts::{create_account, NewAccount};
    use crate::model::JobKind;
    use crate::store::{networks, Scratch};

    fn app(store: &crate::store::Store) -> App {
        App::simulated(store.clone(), Catalog::built_in())
    }

    async fn account(app: &App, tx: &mut Tx) -> crate::model::Account {
        let new = NewAccount {
            alias: "WRK",
            name: "WRK",
            parent: None,
            primary_dc: "WA1",
        };
        create_account(tx, &app.catalog, new, app.clock.now(), "t")
            .await
            .unwrap()
    }

    fn claim_network(account: &crate::model::Account, network_id: &str) -> jobs::NewJob<'static> {
        jobs::NewJob {
            account_id: account.id,
            dc: "WA1",
            kind: JobKind::ClaimNetwork,
            server_id: None,
            payload: serde_json::json!({ "networkId": network_id }),
            requested_by: "t",
            run_after: 0,
        }
    }

    /// Two claim-network jobs claimed by "me", the lease of the one at `stolen` then taken by
    /// another worker, in `tx`: the account, each job's network id and the claimed jobs.
    async fn two_claimed(
        app: &App,
        tx: &mut Tx,
        stolen: usize,
    ) -> (crate::model::Account, Vec<String>, Vec<Job>) {
        let now = app.clock.now();
        let account = account(app, tx).await;
        let nets = vec![crate::ids::new_id(), crate::ids::new_id()];
        for net in &nets {
            jobs::insert(tx, claim_network(&account, net), now)
                .await
                .unwrap();
        }
        let claimed = jobs::claim(tx, "me", now, now + 60, 10).await.unwrap();
        db::query("UPDATE jobs SET lease_owner = 'another' WHERE id = ?")
            .bind(claimed[stolen].id)
            .execute(&mut *tx)
            .await
            .unwrap();
        (account, nets, claimed)
    }

    /// Whether a claim-network job's network exists, and the job's status.
    async fn outcome(
        store: &crate::store::Store,
        account: &crate::model::Account,
        net: &str,
        job: &Job,
    ) -> (bool, JobStatus) {
        let mut tx = store.read().await.unwrap();
        let exists = networks::by_id(&mut tx, net).await.unwrap().is_some();
        drop(tx);
        let job = jobs::get(store.reader(), account.id, job.id).await.unwrap();
        (exists, job.unwrap().status)
    }

    /// A job recorded alone in its transaction, without a savepoint: if another worker took its
    /// lease, nothing of it is kept; otherwise all of it is.
    #[tokio::test]
    async fn a_job_recorded_alone_is_kept_only_while_its_lease_is_held() {
        let scratch = Scratch::open().await;
        let store = scratch.store.clone();
        let app = app(&store);
        let mut tx = store.write().await.unwrap();
        let (account, nets, claimed) = two_claimed(&app, &mut tx, 0).await;
        tx.commit().await.unwrap();
        for job in &claimed {
            let finished = Finished {
                job: job.clone(),
                outcome: Ok(()),
                recorded: None,
            };
            record(&app, "me", store.write().await, vec![finished]).await;
        }
        let lost = outcome(&store, &account, &nets[0], &claimed[0]).await;
        let kept = outcome(&store, &account, &nets[1], &claimed[1]).await;
        assert_eq!(lost, (false, JobStatus::Executing));
        assert_eq!(kept, (true, JobStatus::Succeeded));
        scratch.close().await;
    }

    /// Two finished jobs recorded in one transaction: the one whose lease was taken over by
    /// another worker changes nothing, and the other is kept.
    #[tokio::test]
    async fn a_job_recorded_with_others_is_rolled_back_alone() {
        let scratch = Scratch::open().await;
        let store = scratch.store.clone();
        let app = app(&store);
        let mut tx = store.write().await.unwrap();
        let (account, nets, claimed) = two_claimed(&app, &mut tx, 1).await;
        let mut kept = Vec::new();
        for job in &claimed {
            kept.push(
                finish(&mut tx, &app, "me", job, &Ok(()), false)
                    .await
                    .unwrap(),
            );
        }
        tx.commit().await.unwrap();
        assert_eq!(kept, [true, false]);
        let kept = outcome(&store, &account, &nets[0], &claimed[0]).await;
        let lost = outcome(&store, &account, &nets[1], &claimed[1]).await;
        assert_eq!(kept, (true, JobStatus::Succeeded));
        assert_eq!(lost, (false, JobStatus::Executing));
        scratch.close().await;
    }
}
