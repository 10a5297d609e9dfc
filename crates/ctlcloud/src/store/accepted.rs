//! An account's batch of server creates, decided one batch at a time under the account's lock:
//! what the batch is decided against, read together, and the servers accepted, written together
//! (the servers, the primary addresses handed out to them and the jobs queued for them, counted
//! in their accounts and networks).
//!
//! Each is one statement, so that on PostgreSQL the batch spends one exchange with the server on
//! its reads and one on its writes instead of three and five: the next batch waits for this
//! one's lock, so every exchange lengthens the wait of every create behind it.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::db::{self, Engine, Tx};
use super::groups;
use super::networks::{self, Assignment};
use super::servers::{self, Provisioning};
use super::{jobs, StoreError, StoreResult};
use crate::model::{Group, Job, JobStatus, Server};

/// What a batch of creates is decided against.
#[derive(Debug, Default)]
pub struct Standing {
    /// The account's servers, whatever their state (see [`super::usage`]).
    pub servers: i64,
    /// The batch's groups as they are now, by id; one gone or of another account is absent.
    pub groups: HashMap<String, Group>,
    /// The sequence numbers in use for each of the batch's name prefixes, ascending; a prefix
    /// with none in use is absent.
    pub seqs: HashMap<String, Vec<i64>>,
}

/// Reads what a batch of creates of the account is decided against, for its groups (ids in any
/// case, at least one) and its name prefixes (`DC + ALIAS + NAME`, at least one), in one
/// statement: each part's rows are told apart by `part`, and carry the other parts' columns as
/// nulls.
pub async fn standing(
    tx: &mut Tx,
    account_id: i64,
    group_ids: &[&str],
    name_prefixes: &[&str],
) -> StoreResult<Standing> {
    let group_ids: Vec<String> = group_ids.iter().map(|id| id.to_lowercase()).collect();
    let group_ids: Vec<&str> = group_ids.iter().map(String::as_str).collect();
    // The groups' part first: its columns name and type the union's.
    let nulls = vec!["NULL"; groups::COLUMN_COUNT].join(", ");
    let sql = format!(
        "SELECT 'group' AS part, NULL AS n, NULL AS name_prefix, {} FROM groups WHERE id IN ({}) \
         UNION ALL SELECT 'servers', servers_count, NULL, {nulls} FROM accounts WHERE id = ? \
         UNION ALL SELECT 'seq', seq, name_prefix, {nulls} FROM servers WHERE name_prefix IN ({})",
        groups::COLUMNS,
        db::in_list(group_ids.len()),
        db::in_list(name_prefixes.len()),
    );
    let rows = db::query(&sql)
        .bind_in_list(&group_ids)
        .bind(account_id)
        .bind_in_list(name_prefixes)
        .fetch_all(&mut *tx)
        .await?;
    let mut standing = Standing::default();
    for row in &rows {
        match row.try_get::<&str, _>("part")? {
            "group" => {
                let group = groups::from_row(row)?;
                // By its key alone, then checked to be the account's (see the store's notes).
                if group.account_id == account_id {
                    standing.groups.insert(group.id.clone(), group);
                }
            }
            "servers" => standing.servers = row.try_get("n")?,
            "seq" => {
                let seqs = standing
                    .seqs
                    .entry(row.try_get("name_prefix")?)
                    .or_default();
                seqs.push(row.try_get("n")?);
            }
            other => return Err(StoreError(format!("a part named {other} was read"))),
        }
    }
    for seqs in standing.seqs.values_mut() {
        seqs.sort_unstable();
    }
    Ok(standing)
}

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
