//! Alert policies, kept as the JSON of their actions and triggers.

use super::db::{self, Exec, Pool, Row, Tx};
use super::servers::{add_attached, Attachment};
use super::StoreResult;

/// A stored alert policy.
#[derive(Clone, Debug)]
pub struct AlertPolicy {
    pub id: String,
    pub name: String,
    pub actions: serde_json::Value,
    pub triggers: serde_json::Value,
}

const COLUMNS: &str = "id, name, actions, triggers";

fn from_row(row: &Row) -> StoreResult<AlertPolicy> {
    Ok(AlertPolicy {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        actions: serde_json::from_str(row.try_get("actions")?)?,
        triggers: serde_json::from_str(row.try_get("triggers")?)?,
    })
}

pub async fn insert(conn: &mut Tx, account_id: i64, p: &AlertPolicy, now: i64) -> StoreResult<()> {
    db::query(
        "INSERT INTO alert_policies (id, account_id, name, actions, triggers, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&p.id)
    .bind(account_id)
    .bind(&p.name)
    .bind(p.actions.to_string())
    .bind(p.triggers.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The account's policies, oldest first.
pub async fn list(pool: &Pool, account_id: i64) -> StoreResult<Vec<AlertPolicy>> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM alert_policies WHERE account_id = ? ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// One of the account's policies, by id (any case).
pub async fn get(pool: &Pool, account_id: i64, id: &str) -> StoreResult<Option<AlertPolicy>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM alert_policies WHERE id = ? AND account_id = ?"
    ))
    .bind(id.to_lowercase())
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces a policy's name, actions and triggers; `false` if the account has no such policy.
pub async fn update(conn: &mut Tx, account_id: i64, p: &AlertPolicy) -> StoreResult<bool> {
    let done = db::query(
        "UPDATE alert_policies SET name = ?, actions = ?, triggers = ? WHERE id = ? AND account_id = ?",
    )
    .bind(&p.name)
    .bind(p.actions.to_string())
    .bind(p.triggers.to_string())
    .bind(p.id.to_lowercase())
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a policy; `false` if the account has no such policy.
pub async fn delete(conn: &mut Tx, account_id: i64, id: &str) -> StoreResult<bool> {
    let id = id.to_lowercase();
    // Its servers no longer count it; their rows for it go with it (ON DELETE CASCADE).
    db::query(
        "UPDATE servers SET alert_policies_count = alert_policies_count - 1 WHERE id IN \
         (SELECT m.server_id FROM server_alert_policies m JOIN alert_policies p ON p.id = m.policy_id \
          WHERE p.id = ? AND p.account_id = ?)",
    )
    .bind(&id)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    let done = db::query("DELETE FROM alert_policies WHERE id = ? AND account_id = ?")
        .bind(&id)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Applies a policy to a server; `false` if it already applied.
pub async fn attach(conn: &mut Tx, server_id: &str, policy_id: &str) -> StoreResult<bool> {
    let done = db::query(
        "INSERT INTO server_alert_policies (server_id, policy_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(server_id)
    .bind(policy_id)
    .execute(&mut *conn)
    .await?;
    let attached = done.rows_affected() == 1;
    if attached {
        add_attached(conn, server_id, Attachment::AlertPolicies, 1).await?;
    }
    Ok(attached)
}

/// Stops applying a policy to a server; `false` if it did not apply.
pub async fn detach(conn: &mut Tx, server_id: &str, policy_id: &str) -> StoreResult<bool> {
    let done = db::query("DELETE FROM server_alert_policies WHERE server_id = ? AND policy_id = ?")
        .bind(server_id)
        .bind(policy_id.to_lowercase())
        .execute(&mut *conn)
        .await?;
    let detached = done.rows_affected() == 1;
    if detached {
        add_attached(conn, server_id, Attachment::AlertPolicies, -1).await?;
    }
    Ok(detached)
}

/// The policies applied to a server, as (id, name), by name.
pub async fn of_server(
    conn: impl Into<Exec<'_>>,
    server_id: &str,
) -> StoreResult<Vec<(String, String)>> {
    // Sorted here: a server has a few policies at most, and an ORDER BY would cost SQLite a
    // temporary b-tree on every GET of a server.
    let mut policies: Vec<(String, String)> = db::query_as(
        "SELECT p.id, p.name FROM server_alert_policies m JOIN alert_policies p ON p.id = m.policy_id \
         WHERE m.server_id = ?",
    )
    .bind(server_id)
    .fetch_all(conn)
    .await?;
    policies.sort_by(|(a_id, a_name), (b_id, b_name)| (a_name, a_id).cmp(&(b_name, b_id)));
    Ok(policies)
}
