//! Servers and the private addresses they hold.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreResult;
use crate::model::{ChangeInfo, Server};

const COLUMNS: &str = "id, uuid, account_id, dc, group_id, description, template, cpu, memory_mb, \
     type, storage_type, managed_os, managed_backup, status, power_state, in_maintenance, disks, \
     custom_fields, created_at, created_by, modified_at, modified_by";

/// What a new server row holds besides the [`Server`] itself.
pub struct Provisioning<'a> {
    pub name_prefix: &'a str,
    pub seq: i64,
    pub password: &'a str,
    pub primary_dns: Option<&'a str>,
    pub secondary_dns: Option<&'a str>,
    pub packages: &'a serde_json::Value,
}

fn from_row(row: &SqliteRow) -> StoreResult<Server> {
    Ok(Server {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        account_id: row.try_get("account_id")?,
        dc: row.try_get("dc")?,
        group_id: row.try_get("group_id")?,
        description: row.try_get("description")?,
        template: row.try_get("template")?,
        cpu: row.try_get("cpu")?,
        memory_mb: row.try_get("memory_mb")?,
        server_type: row.try_get("type")?,
        storage_type: row.try_get("storage_type")?,
        managed_os: row.try_get("managed_os")?,
        managed_backup: row.try_get("managed_backup")?,
        status: row.try_get("status")?,
        power_state: row.try_get("power_state")?,
        in_maintenance: row.try_get("in_maintenance")?,
        disks: serde_json::from_str(row.try_get("disks")?)?,
        custom_fields: serde_json::from_str(row.try_get("custom_fields")?)?,
        change: ChangeInfo {
            created_at: row.try_get("created_at")?,
            created_by: row.try_get("created_by")?,
            modified_at: row.try_get("modified_at")?,
            modified_by: row.try_get("modified_by")?,
        },
        addresses: Vec::new(),
    })
}

/// The sequence numbers in use for a name prefix (`DC + ALIAS + NAME`), ascending.
pub async fn used_seqs(conn: &mut SqliteConnection, name_prefix: &str) -> StoreResult<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT seq FROM servers WHERE name_prefix = ? ORDER BY seq")
            .bind(name_prefix)
            .fetch_all(conn)
            .await?,
    )
}

pub async fn insert(
    conn: &mut SqliteConnection,
    s: &Server,
    p: &Provisioning<'_>,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO servers ({COLUMNS}, name_prefix, seq, password, primary_dns, secondary_dns, packages) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&s.id)
    .bind(&s.uuid)
    .bind(s.account_id)
    .bind(&s.dc)
    .bind(&s.group_id)
    .bind(&s.description)
    .bind(&s.template)
    .bind(s.cpu)
    .bind(s.memory_mb)
    .bind(&s.server_type)
    .bind(&s.storage_type)
    .bind(s.managed_os)
    .bind(s.managed_backup)
    .bind(&s.status)
    .bind(&s.power_state)
    .bind(s.in_maintenance)
    .bind(serde_json::to_string(&s.disks)?)
    .bind(serde_json::to_string(&s.custom_fields)?)
    .bind(s.change.created_at)
    .bind(&s.change.created_by)
    .bind(s.change.modified_at)
    .bind(&s.change.modified_by)
    .bind(p.name_prefix)
    .bind(p.seq)
    .bind(p.password)
    .bind(p.primary_dns)
    .bind(p.secondary_dns)
    .bind(p.packages.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// A server read with its addresses (ascending) in the same query.
async fn get_where(
    pool: &SqlitePool,
    account_id: i64,
    column: &str,
    value: String,
) -> StoreResult<Option<Server>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, (SELECT json_group_array(address) FROM \
             (SELECT address FROM ip_addresses WHERE server_id = servers.id ORDER BY address)) \
             AS addresses \
         FROM servers WHERE {column} = ? AND account_id = ?"
    ))
    .bind(value)
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut server = from_row(&row)?;
    server.addresses = serde_json::from_str(row.try_get("addresses")?)?;
    Ok(Some(server))
}

/// A server of the account by its name (any case).
pub async fn get(pool: &SqlitePool, account_id: i64, id: &str) -> StoreResult<Option<Server>> {
    get_where(pool, account_id, "id", id.to_uppercase()).await
}

/// A server of the account by its uuid (any case).
pub async fn get_by_uuid(
    pool: &SqlitePool,
    account_id: i64,
    uuid: &str,
) -> StoreResult<Option<Server>> {
    get_where(pool, account_id, "uuid", uuid.to_lowercase()).await
}

pub async fn exists(conn: &mut SqliteConnection, id: &str) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers WHERE id = ?")
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// The guest administrator password of a server.
pub async fn password(pool: &SqlitePool, server_id: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT password FROM servers WHERE id = ?")
            .bind(server_id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Moves a server to a new status and power state.
pub async fn set_state(
    conn: &mut SqliteConnection,
    id: &str,
    status: &str,
    power_state: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE servers SET status = ?, power_state = ? WHERE id = ?")
        .bind(status)
        .bind(power_state)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a server and frees its addresses.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM ip_addresses WHERE server_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM servers WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
