//! The audit trail: every write that passed authentication, allowed or refused, through the cloud
//! API or the admin API, is recorded with who made it, from which account, what it was, what it
//! was aimed at, how it ended and when. It is written after the write's own transaction, so a
//! crash between the two can lose a record but never a change; for the same reason the answer
//! does not wait for the record to be durable (it joins the store's next commit), and reads of
//! the trail wait for every record written before them ([`crate::store::Store::settled`]).

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
        actor,
        account,
        operation,
        target,
        outcome: outcome.as_u16(),
    };
    let result = async {
        let mut tx = app.store.write().await?;
        store::audit::record(&mut tx, entry).await?;
        tx.commit_unawaited().await
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, operation, "recording the audit trail failed");
    }
}
