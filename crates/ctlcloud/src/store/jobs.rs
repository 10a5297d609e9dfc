//! The queue: jobs, claimed by workers under a lease so that work outlives a crash.

use super::db::{self, Engine, Pool, Row, Tx};

use super::gathered::{Found, Gather};
use super::{StoreError, StoreResult};
use crate::model::{Job, JobKind, JobStatus};

const COLUMNS: &str =
    "id, operation_id, account_id, dc, kind, server_id, payload, status, error_message, \
     requested_by, created_at, run_after";

fn from_row(row: &Row) -> StoreResult<Job> {
    Ok(Job {
        id: row.try_get("id")?,
        operation_id: row.try_get("operation_id")?,
        account_id: row.try_get("account_id")?,
        dc: row.try_get("dc")?,
        kind: row.try_get("kind")?,
        server_id: row.try_get("server_id")?,
        payload: serde_json::from_str(row.try_get("payload")?)?,
        status: JobStatus::parse(row.try_get("status")?),
        error_message: row.try_get("error_message")?,
        requested_by: row.try_get("requested_by")?,
        created_at: row.try_get("created_at")?,
        run_after: row.try_get("run_after")?,
    })
}

/// A job to queue.
pub struct NewJob<'a> {
    pub account_id: i64,
    pub dc: &'a str,
    pub kind: JobKind,
    /// The server the job works on: jobs on one server run one at a time, in order.
    pub server_id: Option<&'a str>,
    /// What the job's steps need to know beyond the server, e.g. the new cpu count.
    pub payload: serde_json::Value,
    pub requested_by: &'a str,
    /// Not run before this time (epoch seconds); `0` for at once.
    pub run_after: i64,
}

/// Queues a job, `notStarted`.
pub async fn insert(conn: &mut Tx, job: NewJob<'_>, now: i64) -> StoreResult<Job> {
    let mut queued = insert_as(conn, vec![job], JobStatus::NotStarted, now).await?;
    Ok(queued.remove(0))
}

/// Queues jobs, `notStarted`, many in each statement; answers them in the order given.
pub async fn insert_all(conn: &mut Tx, jobs: Vec<NewJob<'_>>, now: i64) -> StoreResult<Vec<Job>> {
    insert_as(conn, jobs, JobStatus::NotStarted, now).await
}

/// Records work that was done in the accepting transaction itself as a job that has already
/// succeeded, for clients that expect a status link for every change.
pub async fn insert_done(conn: &mut Tx, job: NewJob<'_>, now: i64) -> StoreResult<Job> {
    let mut done = insert_as(conn, vec![job], JobStatus::Succeeded, now).await?;
    Ok(done.remove(0))
}

/// How many values each job row binds.
pub(super) const BOUND_PER_JOB: usize = 11;

/// The statement queueing jobs from `rows` ([`db::rows`]), bound by [`Queueing`]. Only the ids
/// come back, by operation id (neither engine promises the rows' order): the rest is what was
/// written.
pub(super) fn insert_sql(rows: &str) -> String {
    format!(
        "INSERT INTO jobs (operation_id, account_id, dc, kind, server_id, payload, status, \
         requested_by, run_after, created_at, updated_at) {rows} RETURNING id, operation_id"
    )
}

/// Jobs on their way into the queue, each with its new operation id.
pub(super) struct Queueing<'j, 'a> {
    jobs: &'j [NewJob<'a>],
    operation_ids: Vec<String>,
    status: JobStatus,
    now: i64,
}

impl<'j, 'a> Queueing<'j, 'a> {
    pub(super) fn new(jobs: &'j [NewJob<'a>], status: JobStatus, now: i64) -> Self {
        let operation_ids = jobs.iter().map(|_| crate::ids::new_id()).collect();
        Queueing {
            jobs,
            operation_ids,
            status,
            now,
        }
    }

    /// Binds the jobs' rows to [`insert_sql`].
    pub(super) fn bind_rows<'q>(&self, query: db::Query<'q>) -> db::Query<'q> {
        let (status, now) = (self.status, self.now);
        let rows = self.jobs.iter().zip(&self.operation_ids);
        query.bind_rows(BOUND_PER_JOB, rows, |q, (job, operation_id)| {
            q.bind(operation_id)
                .bind(job.account_id)
                .bind(job.dc)
                .bind(job.kind.as_str())
                .bind(job.server_id)
                .bind(job.payload.to_string())
                .bind(status.as_str())
                .bind(job.requested_by)
                .bind(job.run_after)
                .bind(now)
                .bind(now)
        })
    }

    /// The jobs as queued, in order, from the rows [`insert_sql`] returned.
    pub(super) fn queued(self, returned: Vec<Row>) -> StoreResult<Vec<Job>> {
        let ids = returned
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("operation_id")?, r.try_get("id")?)))
            .collect::<StoreResult<std::collections::HashMap<String, i64>>>()?;
        self.jobs
            .iter()
            .zip(self.operation_ids)
            .map(|(job, operation_id)| {
                let id = *ids
                    .get(&operation_id)
                    .ok_or_else(|| StoreError("a queued job's id did not come back".into()))?;
                Ok(Job {
                    id,
                    operation_id,
                    account_id: job.account_id,
                    dc: job.dc.to_owned(),
                    kind: job.kind.as_str().to_owned(),
                    server_id: job.server_id.map(str::to_owned),
                    payload: job.payload.clone(),
                    status: self.status,
                    error_message: None,
                    requested_by: job.requested_by.to_owned(),
                    created_at: self.now,
                    run_after: job.run_after,
                })
            })
            .collect()
    }
}

async fn insert_as(
    conn: &mut Tx,
    jobs: Vec<NewJob<'_>>,
    status: JobStatus,
    now: i64,
) -> StoreResult<Vec<Job>> {
    let mut queued = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(500) {
        let sql = insert_sql(&db::rows(conn.engine(), BOUND_PER_JOB, chunk.len()));
        let queueing = Queueing::new(chunk, status, now);
        let returned = queueing
            .bind_rows(db::query(&sql))
            .fetch_all(&mut *conn)
            .await?;
        queued.extend(queueing.queued(returned)?);
    }
    Ok(queued)
}

/// A job of the account by its number.
pub async fn get(pool: &Pool, account_id: i64, id: i64) -> StoreResult<Option<Job>> {
    // By its key alone, then checked to be the account's (see the store's module notes).
    let found = with_one_of(pool, "id", &[id]).await?;
    Ok(found.into_iter().find(|j| j.account_id == account_id))
}

/// What a job is asked for by: the number of its status id (`wa1-123`), or its 32-hex operation
/// id (any case). Each is unique.
#[derive(Clone, Copy, Debug)]
pub enum Id<'a> {
    Number(i64),
    Operation(&'a str),
}

/// Polls of the queue's status by job number, read together on PostgreSQL (see
/// [`super::gathered`]).
pub struct ByNumber;

impl Gather for ByNumber {
    type Key = i64;
    type Row = Job;

    async fn read(&self, conn: &mut Tx, numbers: &[i64]) -> StoreResult<Vec<Found<ByNumber>>> {
        let jobs = with_one_of(conn, "id", numbers).await?;
        Ok(jobs
            .into_iter()
            .map(|job| Found {
                key: job.id,
                account_id: job.account_id,
                row: job,
            })
            .collect())
    }
}

/// Polls of the queue's status by operation id (as stored, in lower case), read together on
/// PostgreSQL (see [`super::gathered`]).
pub struct ByOperation;

impl Gather for ByOperation {
    type Key = String;
    type Row = Job;

    async fn read(&self, conn: &mut Tx, ids: &[String]) -> StoreResult<Vec<Found<ByOperation>>> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let jobs = with_one_of(conn, "operation_id", &ids).await?;
        Ok(jobs
            .into_iter()
            .map(|job| Found {
                key: job.operation_id.clone(),
                account_id: job.account_id,
                row: job,
            })
            .collect())
    }
}

/// The jobs whose `column` (a unique one) holds one of `values`, whatever their accounts.
async fn with_one_of<V: db::ToParam + Copy>(
    conn: impl Into<db::Exec<'_>>,
    column: &str,
    values: &[V],
) -> StoreResult<Vec<Job>> {
    let mut conn = conn.into();
    let mut found = Vec::with_capacity(values.len());
    for chunk in values.chunks(256) {
        let rows = db::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE {column} IN ({})",
            db::in_list(chunk.len())
        ))
        .bind_in_list(chunk)
        .fetch_all(conn.reborrow())
        .await?;
        for row in &rows {
            found.push(from_row(row)?);
        }
    }
    Ok(found)
}

/// A job of the account by its 32-hex operation id (any case).
pub async fn get_by_operation_id(
    pool: &Pool,
    account_id: i64,
    operation_id: &str,
) -> StoreResult<Option<Job>> {
    let found = with_one_of(
        pool,
        "operation_id",
        &[operation_id.to_lowercase().as_str()],
    )
    .await?;
    Ok(found.into_iter().find(|j| j.account_id == account_id))
}

/// The unfinished job of this kind on a server, if any.
pub async fn open_for_server(
    conn: &mut Tx,
    server_id: &str,
    kind: JobKind,
) -> StoreResult<Option<Job>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE server_id = ? AND kind = ? \
         AND status IN ('notStarted', 'executing') ORDER BY id LIMIT 1"
    ))
    .bind(server_id)
    .bind(kind.as_str())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The kinds of job on a whole group, as an SQL list; `jobs_open_group` is indexed on the same.
const GROUP_KINDS: &str = "('deleteGroup', 'archiveGroup', 'restoreGroup')";

/// What a claim takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claiming {
    /// Queued jobs whose time (`run_after`) has come.
    Queued,
    /// Jobs whose worker's lease ran out: their node died or lost the database. They are looked
    /// for apart from queued jobs and less often, since a lease lasts long enough that looking
    /// on every claim would find nothing nearly every time.
    Abandoned,
}

/// The statement that claims jobs: `?1` owner, `?2` lease end, `?3` now, `?4` how many.
fn claim_sql(engine: Engine, claiming: Claiming) -> String {
    // On PostgreSQL, nodes claiming at once skip each other's rows instead of waiting or
    // claiming the same job; SQLite has one writer at a time.
    let skip_locked = match engine {
        Engine::Postgres => "FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    // Each condition on a status is that of an index (`jobs_queued`, `jobs_running`,
    // `jobs_open_server`, `jobs_open_group`), so that both engines read that index instead of
    // every job ever queued. `OFFSET 0` keeps PostgreSQL from turning the check for older work on
    // the same server into a join: as a join, while the table had no statistics yet, it was
    // planned as a read of every unfinished job for each candidate, 3 ms per claim under load;
    // kept a subquery, it is one probe of `jobs_open_server` per candidate.
    let candidates = match claiming {
        Claiming::Queued => "j.status = 'notStarted' AND j.run_after <= ?3",
        Claiming::Abandoned => "j.status = 'executing' AND j.lease_expires_at < ?3",
    };
    let limit = db::limit("?4");
    format!(
        "UPDATE jobs SET status = 'executing', lease_owner = ?1, lease_expires_at = ?2, \
             attempts = attempts + 1, updated_at = ?3 \
         WHERE id IN ( \
             SELECT j.id FROM jobs j \
             WHERE {candidates} \
               AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.server_id = j.server_id AND e.id < j.id \
                               AND e.status IN ('notStarted', 'executing') LIMIT 1 OFFSET 0) \
               AND NOT EXISTS (SELECT 1 FROM jobs g WHERE g.account_id = j.account_id AND g.id < j.id \
                               AND g.status IN ('notStarted', 'executing') AND g.kind IN {GROUP_KINDS}) \
               AND (j.kind NOT IN {GROUP_KINDS} \
                    OR (NOT EXISTS (SELECT 1 FROM jobs r WHERE r.status = 'notStarted' \
                                    AND r.account_id = j.account_id AND r.id < j.id AND r.run_after <= ?3) \
                        AND NOT EXISTS (SELECT 1 FROM jobs x WHERE x.status = 'executing' \
                                        AND x.account_id = j.account_id AND x.id < j.id))) \
             ORDER BY j.id {limit} {skip_locked}) \
         RETURNING {COLUMNS}"
    )
}

/// Claims up to `limit` jobs of the kind `claiming` names for `owner` until `lease_until`. A job
/// waits while an older job on the same server is unfinished, so the work on one server happens
/// in the order it was accepted. Work on a whole group (delete, archive, restore) waits for every
/// older job of its account whose time has come, and every younger job of the account waits for
/// it: a group is never archived under a server still being built, nor a server built into a
/// group already archived.
pub async fn claim(
    conn: &mut Tx,
    claiming: Claiming,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    let rows = db::query(&claim_sql(conn.engine(), claiming))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let mut jobs = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Ends a job, if `owner` still holds it. `false` when the lease was lost to another worker, in
/// which case the job's effect must not be written (the worker ends the job before writing it).
pub async fn finish(
    conn: &mut Tx,
    id: i64,
    owner: &str,
    status: JobStatus,
    error_message: Option<&str>,
    now: i64,
) -> StoreResult<bool> {
    let ended = finish_all(conn, &[id], owner, status, error_message, now).await?;
    Ok(!ended.is_empty())
}

/// Ends jobs with one outcome, those `owner` still holds: the ids of the jobs it ended (see
/// [`finish`]).
pub async fn finish_all(
    conn: &mut Tx,
    ids: &[i64],
    owner: &str,
    status: JobStatus,
    error_message: Option<&str>,
    now: i64,
) -> StoreResult<Vec<i64>> {
    let mut ended = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(256) {
        let sql = format!(
            "UPDATE jobs SET status = ?, error_message = ?, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = ? \
             WHERE id IN ({}) AND lease_owner = ? AND status = 'executing' RETURNING id",
            db::in_list(chunk.len())
        );
        let query = db::query_scalar::<i64>(&sql)
            .bind(status.as_str())
            .bind(error_message)
            .bind(now)
            .bind_in_list(chunk)
            .bind(owner);
        ended.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(ended)
}

/// Replaces a job's payload, e.g. to drop secrets it no longer needs once it has ended.
pub async fn set_payload(conn: &mut Tx, id: i64, payload: &serde_json::Value) -> StoreResult<()> {
    db::query("UPDATE jobs SET payload = ? WHERE id = ?")
        .bind(payload.to_string())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every lease at once: used when the only node of a store starts, since no other process
/// can be working on its jobs.
pub async fn expire_leases(conn: &mut Tx) -> StoreResult<u64> {
    let done = db::query("UPDATE jobs SET lease_expires_at = 0 WHERE status = 'executing'")
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// True while a server has queued or running work that is due: work accepted now runs after it,
/// so whether it is possible is only known when it runs.
pub async fn server_busy(conn: &mut Tx, server_id: &str, now: i64) -> StoreResult<bool> {
    let n: i64 = db::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE server_id = ? AND status IN ('notStarted', 'executing') \
         AND run_after <= ?",
    )
    .bind(server_id)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// A job by its number, in any account (for steps and for records that point at a job).
pub async fn get_in_tx(conn: &mut Tx, id: i64) -> StoreResult<Option<Job>> {
    let row = db::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Unfinished jobs of one kind (`?`) of work on whole groups. The conditions repeat those of
/// `jobs_open_group`, so that they are read from it.
fn open_group_jobs_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM jobs WHERE status IN ('notStarted', 'executing') \
         AND kind IN {GROUP_KINDS} AND kind = ?"
    )
}

/// The unfinished job of this kind (one of the kinds of work on a whole group) on a group, named
/// by the `groupId` of its payload, if any.
pub async fn open_for_group(
    conn: &mut Tx,
    group_id: &str,
    kind: JobKind,
) -> StoreResult<Option<Job>> {
    // Unfinished group jobs are few: they are filtered and put in order here rather than with
    // either engine's JSON functions and sort.
    let rows = db::query(&open_group_jobs_sql())
        .bind(kind.as_str())
        .fetch_all(conn)
        .await?;
    let mut on_group = Vec::new();
    for row in &rows {
        let job = from_row(row)?;
        if job.payload["groupId"].as_str() == Some(group_id) {
            on_group.push(job);
        }
    }
    Ok(on_group.into_iter().min_by_key(|job| job.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scratch;

    /// The claim's list of group jobs names every kind of job on a whole group, as the index it
    /// is meant to seek in does.
    #[test]
    fn group_kinds_match_the_group_jobs_and_their_index() {
        for kind in [
            JobKind::DeleteGroup,
            JobKind::ArchiveGroup,
            JobKind::RestoreGroup,
        ] {
            assert!(GROUP_KINDS.contains(&format!("'{}'", kind.as_str())));
        }
        let index = super::super::MIGRATIONS
            .iter()
            .find(|(_, sql)| sql.contains("CREATE INDEX jobs_open_group"))
            .unwrap();
        assert!(index.1.contains(&format!("kind IN {GROUP_KINDS}")));
    }

    /// The steps of SQLite's plan for an `EXPLAIN QUERY PLAN` statement.
    async fn plan(explain: db::Query<'_>) -> Vec<String> {
        let scratch = Scratch::open().await;
        let plan = scratch.plan(explain).await;
        scratch.close().await;
        plan
    }

    /// Whether the plan reads the table under `alias`, and only through `index`.
    fn reads_through(plan: &[String], alias: &str, index: &str) -> bool {
        let reads: Vec<&String> = plan
            .iter()
            .filter(|d| d.split(' ').nth(1) == Some(alias))
            .collect();
        !reads.is_empty() && reads.iter().all(|d| d.contains(index))
    }

    /// The claim, run by every worker whenever it looks for work, stays prepared whatever it is
    /// bound to.
    #[tokio::test]
    async fn the_claim_is_prepared_once() {
        use rusqlite::types::Value::{Integer, Text};
        let scratch = Scratch::open().await;
        for claiming in [Claiming::Queued, Claiming::Abandoned] {
            let runs: Vec<_> = (1..=3)
                .map(|i| {
                    vec![
                        Text(format!("node{i}")),
                        Integer(100 + i),
                        Integer(i),
                        Integer(i),
                    ]
                })
                .collect();
            let again = scratch.prepared_again(&claim_sql(Engine::Sqlite, claiming), &runs);
            assert_eq!(again, 0, "{claiming:?}");
        }
        scratch.close().await;
    }

    /// Claiming reads only the jobs it may take and the unfinished ones that may hold them up,
    /// however long the history of finished jobs.
    #[tokio::test]
    async fn claiming_reads_the_indexes_of_unfinished_jobs() {
        for (claiming, candidates) in [
            (Claiming::Queued, "jobs_queued"),
            (Claiming::Abandoned, "jobs_running"),
        ] {
            let explain = format!("EXPLAIN QUERY PLAN {}", claim_sql(Engine::Sqlite, claiming));
            let plan = plan(db::query(&explain).bind("owner").bind(2).bind(1).bind(10)).await;
            // How the candidates `j` are read: `SCAN j` alone would be every job.
            assert!(reads_through(&plan, "j", candidates), "{plan:?}");
            // Older work on the same server, on a group, and in the account.
            assert!(reads_through(&plan, "e", "jobs_open_server"), "{plan:?}");
            assert!(reads_through(&plan, "g", "jobs_open_group"), "{plan:?}");
            assert!(reads_through(&plan, "r", "jobs_queued"), "{plan:?}");
            assert!(reads_through(&plan, "x", "jobs_running"), "{plan:?}");
        }
    }

    /// Looking for the unfinished work on a group reads the index of unfinished group jobs.
    #[tokio::test]
    async fn unfinished_group_jobs_are_read_from_their_index() {
        let explain = format!("EXPLAIN QUERY PLAN {}", open_group_jobs_sql());
        let plan = plan(db::query(&explain).bind("deleteGroup")).await;
        assert!(reads_through(&plan, "jobs", "jobs_open_group"), "{plan:?}");
    }
}
