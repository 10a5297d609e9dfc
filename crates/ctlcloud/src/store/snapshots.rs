//! Server snapshots.

use super::db::{self, Exec, Row, Tx};
use super::servers::{add_attached, Attachment};
use super::StoreResult;
use crate::model::Snapshot;

const COLUMNS: &str =
    "id, server_id, taken_at, expires_at, cpu, memory_mb, disks, power_state, delete_job";

fn from_row(row: &Row) -> StoreResult<Snapshot> {
    Ok(Snapshot {
        id: row.try_get("id")?,
        server_id: row.try_get("server_id")?,
        taken_at: row.try_get("taken_at")?,
        expires_at: row.try_get("expires_at")?,
        cpu: row.try_get("cpu")?,
        memory_mb: row.try_get("memory_mb")?,
        disks: serde_json::from_str(row.try_get("disks")?)?,
        power_state: row.try_get("power_state")?,
        delete_job: row.try_get("delete_job")?,
    })
}

/// Records a snapshot just taken; returns it with its id.
pub async fn insert(conn: &mut Tx, s: &Snapshot) -> StoreResult<Snapshot> {
    let row = db::query(&format!(
        "INSERT INTO snapshots (server_id, taken_at, expires_at, cpu, memory_mb, disks, power_state) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
    ))
    .bind(&s.server_id)
    .bind(s.taken_at)
    .bind(s.expires_at)
    .bind(s.cpu)
    .bind(s.memory_mb)
    .bind(serde_json::to_string(&s.disks)?)
    .bind(&s.power_state)
    .fetch_one(&mut *conn)
    .await?;
    add_attached(conn, &s.server_id, Attachment::Snapshots, 1).await?;
    from_row(&row)
}

/// The snapshots of a server, oldest first.
pub async fn of_server(conn: impl Into<Exec<'_>>, server_id: &str) -> StoreResult<Vec<Snapshot>> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM snapshots WHERE server_id = ? ORDER BY id"
    ))
    .bind(server_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A snapshot by its id.
pub async fn get(conn: impl Into<Exec<'_>>, id: i64) -> StoreResult<Option<Snapshot>> {
    let row = db::query(&format!("SELECT {COLUMNS} FROM snapshots WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks a snapshot as being deleted by a job, or (`None`) no longer.
pub async fn set_delete_job(conn: &mut Tx, id: i64, job: Option<i64>) -> StoreResult<()> {
    db::query("UPDATE snapshots SET delete_job = ? WHERE id = ?")
        .bind(job)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a snapshot; `false` if it was gone already.
pub async fn delete(conn: &mut Tx, id: i64) -> StoreResult<bool> {
    let server: Option<String> =
        db::query_scalar("DELETE FROM snapshots WHERE id = ? RETURNING server_id")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(server_id) = server else {
        return Ok(false);
    };
    add_attached(conn, &server_id, Attachment::Snapshots, -1).await?;
    Ok(true)
}
