//! Workers: they claim queued jobs under a lease, run their steps (`crate::steps`), and record the
//! outcome together with its effect in one transaction. A job whose worker died is claimed again
//! when its lease runs out; every step can run twice without harm.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;
use crate::model::{Job, JobStatus};
use crate::steps;
use crate::store::{jobs, StoreResult};

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
            let (app, owner) = (app.clone(), owner.clone());
            running.spawn(async move { execute(&app, &owner, job).await });
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
}

async fn claim(app: &App, owner: &str, lease_secs: i64, limit: usize) -> StoreResult<Vec<Job>> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let claimed = jobs::claim(&mut tx, owner, now, now + lease_secs, limit as i64).await?;
    tx.commit().await?;
    Ok(claimed)
}

async fn execute(app: &App, owner: &str, job: Job) {
    let step = async {
        let outcome = steps::perform(app, &job).await?;
        finish(app, owner, &job, outcome).await
    };
    if let Err(e) = step.await {
        // The lease stays; the job runs again when it expires.
        tracing::error!(job = job.id, error = %e, "job step failed");
    }
}

/// Records a job's outcome and its effect in one transaction, if this worker still holds the job.
async fn finish(app: &App, owner: &str, job: &Job, outcome: Result<(), String>) -> StoreResult<()> {
    let mut tx = app.store.write().await?;
    steps::apply(&mut tx, app, job, &outcome).await?;
    let status = if outcome.is_ok() {
        JobStatus::Succeeded
    } else {
        JobStatus::Failed
    };
    let error = outcome.err();
    if jobs::finish(
        &mut tx,
        job.id,
        owner,
        status,
        error.as_deref(),
        app.clock.now(),
    )
    .await?
    {
        tx.commit().await?;
        tracing::info!(
            job = job.id,
            kind = job.kind,
            status = status.as_str(),
            "job finished"
        );
    } else {
        tracing::warn!(
            job = job.id,
            "job was taken over by another worker; its outcome here is dropped"
        );
    }
    Ok(())
}
