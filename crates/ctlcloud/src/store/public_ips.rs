//! Public IP addresses: each data center's pool, and the addresses servers hold from it.

use super::db::{self, Exec, Row, Tx};
use super::servers::{add_attached, Attachment};
use super::StoreResult;
use crate::model::{PublicIp, PublicIpSettings};

/// The range the pools are carved from: 198.18.0.0/15, reserved for benchmarking (RFC 2544) and
/// never routed on the internet, so that no simulated address belongs to anybody real.
const RANGE_BASE: i64 = (198 << 24) | (18 << 16);
const RANGE_PREFIX: u32 = 15;
/// Each data center's pool is a /20 of the range: 4094 usable addresses, 32 data centers.
const POOL_PREFIX: u32 = 20;

const COLUMNS: &str = "address, server_id, internal_address, ports, source_restrictions, pending";

fn from_row(row: &Row) -> StoreResult<PublicIp> {
    Ok(PublicIp {
        address: row.try_get::<i64, _>("address")? as u32,
        server_id: row.try_get("server_id")?,
        settings: PublicIpSettings {
            internal: row.try_get::<i64, _>("internal_address")? as u32,
            ports: serde_json::from_str(row.try_get("ports")?)?,
            source_restrictions: serde_json::from_str(row.try_get("source_restrictions")?)?,
        },
        pending: row.try_get("pending")?,
    })
}

/// The data center's pool as (first, last) address, given one the first time it is needed.
/// `None` when every pool of the range is taken.
async fn pool(conn: &mut Tx, dc: &str) -> StoreResult<Option<(u32, u32)>> {
    let size = 1i64 << (32 - POOL_PREFIX);
    let span = |base: i64| Some((base as u32, (base + size - 1) as u32));
    let base: Option<i64> = db::query_scalar("SELECT base FROM public_ip_pools WHERE dc = ?")
        .bind(dc)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(base) = base {
        return Ok(span(base));
    }
    let base: i64 = db::query_scalar("SELECT COALESCE(MAX(base) + ?, ?) FROM public_ip_pools")
        .bind(size)
        .bind(RANGE_BASE)
        .fetch_one(&mut *conn)
        .await?;
    if base + size > RANGE_BASE + (1i64 << (32 - RANGE_PREFIX)) {
        return Ok(None);
    }
    db::query("INSERT INTO public_ip_pools (dc, base, prefix) VALUES (?, ?, ?)")
        .bind(dc)
        .bind(base)
        .bind(i64::from(POOL_PREFIX))
        .execute(&mut *conn)
        .await?;
    Ok(span(base))
}

/// Allocates the lowest free address of the data center's pool to a server, pending until the job
/// adding it succeeds. Runs inside the accepting write transaction, under the lock on the address
/// space, so two requests never get the same address; `None` when the pool is exhausted.
pub async fn allocate(
    conn: &mut Tx,
    account_id: i64,
    dc: &str,
    server_id: &str,
    settings: &PublicIpSettings,
    now: i64,
) -> StoreResult<Option<u32>> {
    super::lock(conn, super::Lock::AddressSpace).await?;
    let Some((first, last)) = pool(conn, dc).await? else {
        return Ok(None);
    };
    // The pool's own network and broadcast addresses are never handed out.
    let taken: Vec<i64> = db::query_scalar(
        "SELECT address FROM public_ips WHERE address BETWEEN ? AND ? ORDER BY address",
    )
    .bind(i64::from(first))
    .bind(i64::from(last))
    .fetch_all(&mut *conn)
    .await?;
    let mut taken = taken.into_iter().map(|a| a as u32).peekable();
    let mut free = None;
    for candidate in first + 1..last {
        while taken.next_if(|t| *t < candidate).is_some() {}
        if taken.peek() != Some(&candidate) {
            free = Some(candidate);
            break;
        }
    }
    let Some(address) = free else {
        return Ok(None);
    };
    db::query(
        "INSERT INTO public_ips (address, dc, account_id, server_id, internal_address, ports, \
         source_restrictions, pending, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
    )
    .bind(i64::from(address))
    .bind(dc)
    .bind(account_id)
    .bind(server_id)
    .bind(i64::from(settings.internal))
    .bind(serde_json::to_string(&settings.ports)?)
    .bind(serde_json::to_string(&settings.source_restrictions)?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    add_attached(conn, server_id, Attachment::PublicIps, 1).await?;
    Ok(Some(address))
}

/// The public IP addresses of a server, pending ones included, in address order.
pub async fn of_server(conn: impl Into<Exec<'_>>, server_id: &str) -> StoreResult<Vec<PublicIp>> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM public_ips WHERE server_id = ? ORDER BY address"
    ))
    .bind(server_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// One public IP address of a server, pending or not.
pub async fn get(
    conn: impl Into<Exec<'_>>,
    server_id: &str,
    address: u32,
) -> StoreResult<Option<PublicIp>> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM public_ips WHERE server_id = ? AND address = ?"
    ))
    .bind(server_id)
    .bind(i64::from(address))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The job adding the address succeeded: it is shown from now on.
pub async fn confirm(conn: &mut Tx, address: u32) -> StoreResult<()> {
    db::query("UPDATE public_ips SET pending = 0 WHERE address = ?")
        .bind(i64::from(address))
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces what an address does.
pub async fn set_settings(
    conn: &mut Tx,
    address: u32,
    settings: &PublicIpSettings,
) -> StoreResult<()> {
    db::query(
        "UPDATE public_ips SET internal_address = ?, ports = ?, source_restrictions = ? WHERE address = ?",
    )
    .bind(i64::from(settings.internal))
    .bind(serde_json::to_string(&settings.ports)?)
    .bind(serde_json::to_string(&settings.source_restrictions)?)
    .bind(i64::from(address))
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns an address to its pool.
pub async fn release(conn: &mut Tx, address: u32) -> StoreResult<()> {
    let server: Option<String> =
        db::query_scalar("DELETE FROM public_ips WHERE address = ? RETURNING server_id")
            .bind(i64::from(address))
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(server_id) = server {
        add_attached(conn, &server_id, Attachment::PublicIps, -1).await?;
    }
    Ok(())
}

/// Returns every address of a server to its pool (the server is being deleted).
pub async fn release_server(conn: &mut Tx, server_id: &str) -> StoreResult<()> {
    let done = db::query("DELETE FROM public_ips WHERE server_id = ?")
        .bind(server_id)
        .execute(&mut *conn)
        .await?;
    // Most servers deleted hold none: their row needs no update.
    let released = done.rows_affected() as i64;
    if released > 0 {
        add_attached(conn, server_id, Attachment::PublicIps, -released).await?;
    }
    Ok(())
}
