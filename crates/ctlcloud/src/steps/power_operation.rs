//! Power and maintenance-mode operations: the state machine decides again against the server as
//! it is when the job runs, the driver acts, and the server's new state is recorded.

use crate::app::App;
use crate::domain::power::{self, Operation, Transition};
use crate::model::{Job, Server};
use crate::store::{servers, StoreError, StoreResult, Tx};

/// The operation a job carries in its payload.
fn operation(job: &Job) -> Option<Operation> {
    job.payload
        .get("operation")
        .and_then(|o| o.as_str())
        .and_then(Operation::parse)
}

/// The server a job works on, as it is now; `Err` with the job's failure if it is gone.
pub(super) async fn server(app: &App, job: &Job) -> StoreResult<Result<Server, String>> {
    let id = job.server_id.as_deref().unwrap_or_default();
    Ok(servers::get(app.store.reader(), job.account_id, id)
        .await?
        .ok_or_else(|| format!("Server {id} no longer exists.")))
}

/// Runs `op` on the job's server if the server's state allows it; nothing to do is success.
pub(super) async fn operate(
    app: &App,
    job: &Job,
    op: Operation,
) -> StoreResult<Result<(), String>> {
    let server = match server(app, job).await? {
        Ok(s) => s,
        Err(gone) => return Ok(Err(gone)),
    };
    Ok(match power::transition(&server, op) {
        Err(reason) => Err(reason),
        Ok(Transition::AlreadyThere) => Ok(()),
        Ok(Transition::To { .. }) => app.compute.operate(&server, op).await,
    })
}

/// Records what a successful `op` did, moving the server to `group_id` if given. The state is
/// checked again inside the transaction; should it have changed since the driver acted, the
/// transaction is abandoned and the job runs again once its lease expires, which then reports
/// the operation as impossible rather than recording it.
pub(super) async fn record(
    tx: &mut Tx,
    app: &App,
    job: &Job,
    op: Operation,
    group_id: Option<&str>,
) -> StoreResult<()> {
    let id = job.server_id.as_deref().unwrap_or_default();
    let Some(server) = servers::get(&mut *tx, job.account_id, id).await? else {
        return Ok(());
    };
    match power::transition(&server, op) {
        Ok(Transition::AlreadyThere) => Ok(()),
        Ok(Transition::To {
            status,
            power_state,
            in_maintenance,
        }) => {
            servers::set_condition(
                tx,
                &server.id,
                status,
                power_state,
                in_maintenance,
                group_id,
                &job.requested_by,
                app.clock.now(),
            )
            .await
        }
        Err(reason) => Err(StoreError(format!(
            "job {} ({}) found server {} changed before it could record its outcome: {reason}",
            job.id,
            op.as_str(),
            server.id
        ))),
    }
}

pub async fn perform(app: &App, job: &Job) -> StoreResult<Result<(), String>> {
    match operation(job) {
        Some(op) => operate(app, job, op).await,
        None => Ok(Err(format!(
            "The job names no known power operation: {}.",
            job.payload
        ))),
    }
}

pub async fn apply(
    tx: &mut Tx,
    app: &App,
    job: &Job,
    outcome: &Result<(), String>,
) -> StoreResult<()> {
    match (outcome, operation(job)) {
        (Ok(()), Some(op)) => record(tx, app, job, op, None).await,
        _ => Ok(()),
    }
}
