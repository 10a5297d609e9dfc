//! Workers: they claim queued jobs under a lease, run their steps (`crate::steps`), and record each
//! outcome together with its effect atomically. A job whose worker died is claimed again when its
//! lease runs out; every step can run twice without harm.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::app::App;
use crate::model::{Job, JobKind, JobStatus, Server};
use crate::steps;
use crate::store::jobs::{self, Claiming};
use crate::store::{Engine, StoreResult, Tx};

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
    // When this worker last looked for jobs whose lease ran out: it does once per `poll`.
    let mut looked_for_abandoned: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Listening from before the claim: work queued from now on wakes this worker even if it
        // comes while the claim runs, and a wake-up left from before (for work this claim reads
        // anyway) is used up here rather than by a claim that would find nothing.
        let queued = app.queued.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let mut claimed = Vec::new();
        for claiming in [Claiming::Abandoned, Claiming::Queued] {
            let room = max_running
                .max(1)
                .saturating_sub(running.len() + claimed.len());
            if room == 0 {
                break;
            }
            if claiming == Claiming::Abandoned {
                if looked_for_abandoned.is_some_and(|at| at.elapsed() < poll) {
                    continue;
                }
                looked_for_abandoned = Some(Instant::now());
            }
            match claim(&app, claiming, &owner, lease_secs, room).await {
                Ok(jobs) => claimed.extend(jobs),
                Err(e) => tracing::error!(error = %e, "claiming jobs failed"),
            }
        }
        let idle = claimed.is_empty();
        // Reading ahead only spares statements: if it fails, each job reads for itself.
        let mut read = match steps::read_ahead(&app, &claimed).await {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, "reading the claimed jobs' servers together failed; each job reads its own");
                HashMap::new()
            }
        };
        for job in claimed {
            let (app, recorder) = (app.clone(), recorder.clone());
            let server = read.remove(&job.id);
            running.spawn(async move { execute(&app, job, server, &recorder).await });
        }
        while running.try_join_next().is_some() {}
        if idle {
            tokio::select! {
                _ = queued => {}
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
    batches.join_all().await;
}

async fn claim(
    app: &App,
    claiming: Claiming,
    owner: &str,
    lease_secs: i64,
    limit: usize,
) -> StoreResult<Vec<Job>> {
    let now = app.clock.now();
    // The claim is one statement.
    let mut tx = app.store.write_one().await?;
    let claimed = jobs::claim(
        &mut tx,
        claiming,
        owner,
        now,
        now + lease_secs,
        limit as i64,
    )
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Where the outcomes of jobs go once their steps have run: to the recording task, which records
/// in one transaction all the jobs that finished while it waited for that transaction, or, for a
/// job that must not share one, to a transaction of the job's own. One task, on both engines: on
/// SQLite one write connection serves the whole node; on PostgreSQL four tasks recorded builds
/// mostly one at a time, a transaction each, and one task costs PostgreSQL 11 to 22% less CPU a
/// create for as many builds (docs/performance.md).
///
/// On SQLite every job shares, sparing the write connection a transaction per job. On PostgreSQL
/// only builds of new servers share: each changes nothing but its own job and its own server,
/// which no other job touches before the build is recorded. Any other job could take the locks or
/// rows of its account, and a transaction doing that for many accounts could deadlock with those of
/// other nodes; those jobs record their own outcomes, side by side.
#[derive(Clone)]
struct Recorder {
    batches: mpsc::UnboundedSender<Finished>,
    engine: Engine,
    owner: String,
}

impl Recorder {
    /// The recorder for this node's worker `owner`, and the task that records batches.
    fn start(app: &Arc<App>, owner: &str) -> (Recorder, JoinSet<()>) {
        let (batches, receiver) = mpsc::unbounded_channel();
        let engine = app.store.engine();
        let mut tasks = JoinSet::new();
        tasks.spawn(record_batches(app.clone(), owner.to_owned(), receiver));
        let recorder = Recorder {
            batches,
            engine,
            owner: owner.to_owned(),
        };
        (recorder, tasks)
    }

    /// Whether the job's outcome may be recorded in a transaction shared with other jobs'.
    fn shares(&self, job: &Job) -> bool {
        match self.engine {
            Engine::Sqlite => true,
            Engine::Postgres => JobKind::parse(&job.kind) == Some(JobKind::CreateServer),
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
async fn execute(app: &App, job: Job, server: Option<Server>, recorder: &Recorder) {
    let outcome = match steps::perform(app, &job, server).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // The lease stays; the job runs again when it expires.
            tracing::error!(job = job.id, error = %e, "job step failed");
            return;
        }
    };
    if recorder.shares(&job) {
        let (recorded, wait) = oneshot::channel();
        let finished = Finished {
            job,
            outcome,
            recorded: Some(recorded),
        };
        if recorder.batches.send(finished).is_ok() {
            let _ = wait.await;
        }
    } else {
        let tx = app.store.write().await;
        let finished = Finished {
            job,
            outcome,
            recorded: None,
        };
        record(app, &recorder.owner, tx, vec![finished]).await;
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
        // Those that finished while this waited for the transaction go in it too.
        let mut batch = vec![first];
        while batch.len() < MOST_FINISHED_AT_ONCE {
            match to_record.try_recv() {
                Ok(finished) => batch.push(finished),
                Err(_) => break,
            }
        }
        record(&app, &owner, tx, batch).await;
    }
}

/// Records finished jobs, each with its effect, in the transaction `tx`, and tells each job's
/// task. If that fails, each job is recorded again in a transaction of its own, so that what went
/// wrong with one job costs the others nothing.
async fn record(app: &App, owner: &str, tx: StoreResult<Tx>, batch: Vec<Finished>) {
    let kept = match record_in(app, owner, tx, &batch).await {
        Ok(kept) => kept,
        Err(e) if batch.len() > 1 => {
            tracing::warn!(jobs = batch.len(), error = %e, "recording finished jobs together failed; recording each alone");
            let mut kept = Vec::with_capacity(batch.len());
            for f in &batch {
                let tx = app.store.write().await;
                kept.push(match record_in(app, owner, tx, std::slice::from_ref(f)).await {
                    Ok(one) => one[0],
                    Err(e) => {
                        // The lease stays; the job runs again when it expires.
                        tracing::error!(job = f.job.id, error = %e, "recording a finished job failed");
                        false
                    }
                });
            }
            kept
        }
        Err(e) => {
            tracing::error!(job = batch[0].job.id, error = %e, "recording a finished job failed");
            vec![false]
        }
    };
    for (f, _) in batch.iter().zip(kept).filter(|(_, kept)| *kept) {
        let status = if f.outcome.is_ok() {
            "succeeded"
        } else {
            "failed"
        };
        tracing::info!(job = f.job.id, kind = f.job.kind, status, "job finished");
    }
    for waiting in batch.into_iter().filter_map(|f| f.recorded) {
        let _ = waiting.send(());
    }
}

/// Records finished jobs in `tx` and commits it: for each, whether it was kept (its worker still
/// held it). Each job is ended before its effect is written, and the effect of a job that was
/// taken over by another worker is not written at all, so the transaction goes on with the others.
async fn record_in(
    app: &App,
    owner: &str,
    tx: StoreResult<Tx>,
    batch: &[Finished],
) -> StoreResult<Vec<bool>> {
    let mut tx = tx?;
    let now = app.clock.now();
    // Jobs with the same outcome (success, or failure with the same message) end together.
    let mut by_outcome: BTreeMap<Option<&str>, Vec<i64>> = BTreeMap::new();
    for f in batch {
        let error = f.outcome.as_ref().err().map(String::as_str);
        by_outcome.entry(error).or_default().push(f.job.id);
    }
    let mut ended = HashSet::with_capacity(batch.len());
    for (error, ids) in by_outcome {
        let status = match error {
            None => JobStatus::Succeeded,
            Some(_) => JobStatus::Failed,
        };
        ended.extend(jobs::finish_all(&mut tx, &ids, owner, status, error, now).await?);
    }
    let kept: Vec<bool> = batch.iter().map(|f| ended.contains(&f.job.id)).collect();
    for (f, _) in batch.iter().zip(&kept).filter(|(_, kept)| !**kept) {
        tracing::warn!(
            job = f.job.id,
            "job was taken over by another worker; its outcome here is dropped"
        );
    }
    let effects: Vec<(&Job, &Result<(), String>)> = batch
        .iter()
        .zip(&kept)
        .filter(|(_, kept)| **kept)
        .map(|(f, _)| (&f.job, &f.outcome))
        .collect();
    steps::apply_all(&mut tx, app, &effects).await?;
    if !effects.is_empty() {
        tx.commit().await?;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::domain::accounts::{create_account, NewAccount};
    use crate::model::JobKind;
    use crate::store::{db, networks, Scratch};

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

    /// Two claim-network jobs claimed by "me", the lease of the one at `stolen` (if any) then
    /// taken by another worker, in `tx`: the account, each job's network id and the claimed jobs.
    async fn two_claimed(
        app: &App,
        tx: &mut Tx,
        stolen: Option<usize>,
    ) -> (crate::model::Account, Vec<String>, Vec<Job>) {
        let now = app.clock.now();
        let account = account(app, tx).await;
        let nets = vec![crate::ids::new_id(), crate::ids::new_id()];
        for net in &nets {
            jobs::insert(tx, claim_network(&account, net), now)
                .await
                .unwrap();
        }
        let claimed = jobs::claim(tx, Claiming::Queued, "me", now, now + 60, 10)
            .await
            .unwrap();
        if let Some(stolen) = stolen {
            db::query("UPDATE jobs SET lease_owner = 'another' WHERE id = ?")
                .bind(claimed[stolen].id)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        (account, nets, claimed)
    }

    /// The jobs, finished with success, on their way to be recorded.
    fn succeeded(jobs: &[Job]) -> Vec<Finished> {
        jobs.iter()
            .map(|job| Finished {
                job: job.clone(),
                outcome: Ok(()),
                recorded: None,
            })
            .collect()
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

    /// A job recorded alone in its transaction: if another worker took its lease, nothing of it is
    /// kept; otherwise all of it is.
    #[tokio::test]
    async fn a_job_recorded_alone_is_kept_only_while_its_lease_is_held() {
        let scratch = Scratch::open().await;
        let store = scratch.store.clone();
        let app = app(&store);
        let mut tx = store.write().await.unwrap();
        let (account, nets, claimed) = two_claimed(&app, &mut tx, Some(0)).await;
        tx.commit().await.unwrap();
        for finished in succeeded(&claimed) {
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
    async fn a_job_taken_over_changes_nothing_in_a_shared_transaction() {
        let scratch = Scratch::open().await;
        let store = scratch.store.clone();
        let app = app(&store);
        let mut tx = store.write().await.unwrap();
        let (account, nets, claimed) = two_claimed(&app, &mut tx, Some(1)).await;
        tx.commit().await.unwrap();
        let kept = record_in(&app, "me", store.write().await, &succeeded(&claimed)).await;
        assert_eq!(kept.unwrap(), [true, false]);
        let kept = outcome(&store, &account, &nets[0], &claimed[0]).await;
        let lost = outcome(&store, &account, &nets[1], &claimed[1]).await;
        assert_eq!(kept, (true, JobStatus::Succeeded));
        assert_eq!(lost, (false, JobStatus::Executing));
        scratch.close().await;
    }

    /// Two finished jobs recorded together, the second's effect refused by the store: the shared
    /// transaction is rolled back, and each job is recorded again on its own, so the first is
    /// kept and the second stays with its worker, to run again.
    #[tokio::test]
    async fn a_job_whose_effect_fails_costs_the_others_in_its_batch_nothing() {
        let scratch = Scratch::open().await;
        let store = scratch.store.clone();
        let app = app(&store);
        let mut tx = store.write().await.unwrap();
        let (account, nets, claimed) = two_claimed(&app, &mut tx, None).await;
        db::query(&format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON networks WHEN NEW.id = '{}' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
            nets[1]
        ))
        .execute(&mut tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        record(&app, "me", store.write().await, succeeded(&claimed)).await;
        let kept = outcome(&store, &account, &nets[0], &claimed[0]).await;
        let failed = outcome(&store, &account, &nets[1], &claimed[1]).await;
        assert_eq!(kept, (true, JobStatus::Succeeded));
        assert_eq!(failed, (false, JobStatus::Executing));
        scratch.close().await;
    }
}
