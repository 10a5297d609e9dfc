//! Building a server: the driver builds it; the server becomes active and started, or failed.

use std::collections::HashMap;

use crate::app::App;
use crate::model::{Job, JobKind, Server};
use crate::store::{servers, StoreResult, Tx};

/// Builds the job's server: `read` is the server if it was read with others already.
pub async fn perform(
    app: &App,
    job: &Job,
    read: Option<Server>,
) -> StoreResult<Result<(), String>> {
    let server_id = job.server_id.as_deref().unwrap_or_default();
    let server = match read {
        Some(server) => Some(server),
        None => servers::get(app.store.reader(), job.account_id, server_id).await?,
    };
    match server {
        Some(server) => Ok(app.compute.build(&server).await),
        None => Ok(Err(format!("Server {server_id} no longer exists."))),
    }
}

/// The servers of the builds among `jobs`, read in one statement, by job id. A server that is not
/// found, or not its job's account's, is left out: its build reads it again, and fails if it is
/// gone.
pub async fn read_servers(app: &App, jobs: &[Job]) -> StoreResult<HashMap<i64, Server>> {
    let builds: Vec<&Job> = jobs
        .iter()
        .filter(|job| JobKind::parse(&job.kind) == Some(JobKind::CreateServer))
        .collect();
    let ids: Vec<&str> = builds
        .iter()
        .filter_map(|job| job.server_id.as_deref())
        .collect();
    let mut found: HashMap<String, Server> =
        servers::get_many(app.store.reader(), servers::Key::Name, &ids)
            .await?
            .into_iter()
            .map(|server| (server.id.clone(), server))
            .collect();
    Ok(builds
        .iter()
        .filter_map(|job| {
            let server = found.remove(job.server_id.as_deref()?)?;
            (server.account_id == job.account_id).then_some((job.id, server))
        })
        .collect())
}

/// The outcomes of builds: each server becomes active and started, or failed and stopped, with
/// one statement for each outcome.
pub async fn apply_all(tx: &mut Tx, builds: &[(&Job, &Result<(), String>)]) -> StoreResult<()> {
    let servers_where = |ok: bool| -> Vec<&str> {
        builds
            .iter()
            .filter(|(_, outcome)| outcome.is_ok() == ok)
            .map(|(job, _)| job.server_id.as_deref().unwrap_or_default())
            .collect()
    };
    let (built, failed) = (servers_where(true), servers_where(false));
    servers::set_state(tx, &built, "active", "started").await?;
    servers::set_state(tx, &failed, "failed", "stopped").await
}
