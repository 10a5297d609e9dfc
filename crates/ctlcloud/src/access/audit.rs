//! The audit trail: every write that passed authentication, allowed or refused, through the cloud
//! API or the admin API, is recorded with who made it, from which account, what it was, what it
//! was aimed at, how it ended and when. It is written after the write's own transaction, so a
//! crash between the two can lose a record but never a change. Records are written in batches by
//! the store ([`crate::store::Store::audit`]), and reads of the trail wait for every record
//! queued before them ([`crate::store::Store::settled`]).

use axum::http::StatusCode;

use crate::app::App;
use crate::store;

/// Records one write in the audit trail. A failure to record is logged, not answered: the write
/// itself has already been committed or refused.
pub async fn record(
    app: &App,
    actor: &str,
    account: Option<(i64, &str)>,
    operation: &str,
    target: &str,
    outcome: StatusCode,
) {
    let entry = store::audit::NewEntry {
        at: app.clock.now(),
        actor: actor.to_owned(),
        account: account.map(|(id, alias)| (id, alias.to_owned())),
        operation: operation.to_owned(),
        target: target.to_owned(),
        outcome: outcome.as_u16(),
    };
    app.store.audit(entry).await;
}
