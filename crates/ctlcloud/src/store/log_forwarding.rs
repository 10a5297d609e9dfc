//! Network log forwarding: where an account's network logs in a data center are sent.

use super::db::{self, Exec, Tx};
use super::StoreResult;

/// The configuration of one account in one data center.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogForwarding {
    /// `None`: forwarding is disabled.
    pub remote_address: Option<String>,
    pub protocol: String,
}

pub async fn get(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    dc: &str,
) -> StoreResult<Option<LogForwarding>> {
    let row: Option<(Option<String>, String)> = db::query_as(
        "SELECT remote_address, protocol FROM log_forwarding WHERE account_id = ? AND dc = ?",
    )
    .bind(account_id)
    .bind(dc.to_uppercase())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(remote_address, protocol)| LogForwarding {
        remote_address,
        protocol,
    }))
}

pub async fn put(
    conn: &mut Tx,
    account_id: i64,
    dc: &str,
    config: &LogForwarding,
    now: i64,
    by: &str,
) -> StoreResult<()> {
    db::query(
        "INSERT INTO log_forwarding (account_id, dc, remote_address, protocol, modified_at, modified_by) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, dc) DO UPDATE SET \
         remote_address = excluded.remote_address, protocol = excluded.protocol, \
         modified_at = excluded.modified_at, modified_by = excluded.modified_by",
    )
    .bind(account_id)
    .bind(dc.to_uppercase())
    .bind(&config.remote_address)
    .bind(&config.protocol)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}
