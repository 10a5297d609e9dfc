//! Accepted server creates written together: the servers, the primary addresses handed out to
//! them and the jobs queued for them, counted in their accounts and networks.
//!
//! On PostgreSQL this is one statement, its parts joined by `WITH`, so that an account's batch of
//! creates, decided one batch at a time under the account's lock, spends one exchange with the
//! server on its writes instead of five. SQLite, in-process, runs the parts one after another.

use std::sync::LazyLock;

use super::db::{self, Engine, Tx};
use super::networks::{self, Assignment};
use super::servers::{self, Provisioning};
use super::{jobs, StoreResult};
use crate::model::{Job, JobStatus, Server};

/// The one statement on PostgreSQL; each part's rows are unnested arrays ([`db::rows`]).
static AT_ONCE: LazyLock<String> = LazyLock::new(|| {
    let rows = |width| db::rows(Engine::Postgres, width, 0);
    format!(
        "WITH added AS ({}), \
         counted AS (UPDATE accounts SET servers_count = servers_count + c.n \
            FROM UNNEST(?, ?) AS c(id, n) WHERE accounts.id = c.id), \
         assigned AS ({}), \
         held AS (UPDATE networks SET held = held + h.n, free = free - h.n \
            FROM UNNEST(?, ?) AS h(id, n) WHERE networks.id = h.id) \
         {}",
        servers::insert_sql(&rows(servers::BOUND_PER_SERVER)),
        networks::assign_sql(&rows(networks::BOUND_PER_ASSIGNMENT)),
        jobs::insert_sql(&rows(jobs::BOUND_PER_JOB)),
    )
});

/// Writes `servers`, hands out `assignments` and queues `jobs` (`notStarted`); answers the jobs in
/// the order given.
pub async fn write(
    tx: &mut Tx,
    servers: &[(&Server, &Provisioning<'_>)],
    assignments: &[Assignment<'_>],
    jobs: Vec<jobs::NewJob<'_>>,
    now: i64,
) -> StoreResult<Vec<Job>> {
    // Each part of the one statement needs rows.
    let some_of_each = !(servers.is_empty() || assignments.is_empty() || jobs.is_empty());
    if tx.engine() == Engine::Sqlite || !some_of_each {
        servers::insert(tx, servers).await?;
        networks::assign(tx, assignments).await?;
        return jobs::insert_all(tx, jobs, now).await;
    }
    let queueing = jobs::Queueing::new(&jobs, JobStatus::NotStarted, now);
    let query = servers::bind_rows(db::query(&AT_ONCE), servers)?.bind_rows(
        2,
        servers::per_account(servers),
        |q, (id, n)| q.bind(id).bind(n),
    );
    let query = networks::bind_assignments(query, assignments).bind_rows(
        2,
        networks::per_network(assignments),
        |q, (id, n)| q.bind(id).bind(n),
    );
    let returned = queueing.bind_rows(query).fetch_all(&mut *tx).await?;
    queueing.queued(returned)
}
