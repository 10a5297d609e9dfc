//! Private networks and the addresses assigned on them.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::StoreResult;
use crate::model::Network;

const COLUMNS: &str = "id, account_id, dc, name, description, base, prefix, vlan";

/// The first network base handed out: 10.0.0.0. Each new network takes the next /24.
const FIRST_BASE: i64 = 10 << 24;
const LAST_BASE: i64 = (10 << 24) | 0x00ff_ff00;

fn from_row(row: &SqliteRow) -> StoreResult<Network> {
    Ok(Network {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        dc: row.try_get("dc")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        base: row.try_get::<i64, _>("base")? as u32,
        prefix: row.try_get::<i64, _>("prefix")? as u8,
        vlan: row.try_get("vlan")?,
    })
}

/// Reserves the next free /24 and VLAN for a new network in a data center: (base, vlan).
/// `None` when the private range is exhausted.
pub async fn next_range(conn: &mut SqliteConnection, dc: &str) -> StoreResult<Option<(u32, i64)>> {
    let base: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(base) + 256, ?) FROM networks")
        .bind(FIRST_BASE)
        .fetch_one(&mut *conn)
        .await?;
    let vlan: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(vlan) + 1, 100) FROM networks WHERE dc = ?")
            .bind(dc)
            .fetch_one(&mut *conn)
            .await?;
    Ok((base <= LAST_BASE).then_some((base as u32, vlan)))
}

pub async fn insert(conn: &mut SqliteConnection, n: &Network) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO networks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&n.id)
    .bind(n.account_id)
    .bind(&n.dc)
    .bind(&n.name)
    .bind(&n.description)
    .bind(i64::from(n.base))
    .bind(i64::from(n.prefix))
    .bind(n.vlan)
    .execute(conn)
    .await?;
    Ok(())
}

/// The account's networks in a data center, oldest first.
pub async fn list(
    conn: impl sqlx::SqliteExecutor<'_>,
    account_id: i64,
    dc: &str,
) -> StoreResult<Vec<Network>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM networks WHERE account_id = ? AND dc = ? ORDER BY base"
    ))
    .bind(account_id)
    .bind(dc.to_uppercase())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// One of the account's networks in a data center, by id (any case).
pub async fn get(
    conn: impl sqlx::SqliteExecutor<'_>,
    account_id: i64,
    dc: &str,
    id: &str,
) -> StoreResult<Option<Network>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM networks WHERE id = ? AND account_id = ? AND dc = ?"
    ))
    .bind(id.to_lowercase())
    .bind(account_id)
    .bind(dc.to_uppercase())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The addresses assigned on a network, with the server each belongs to, in address order.
pub async fn assigned(
    conn: impl sqlx::SqliteExecutor<'_>,
    network_id: &str,
) -> StoreResult<Vec<(u32, String)>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT address, server_id FROM ip_addresses WHERE network_id = ? ORDER BY address",
    )
    .bind(network_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(a, s)| (a as u32, s)).collect())
}

/// Is this address on this network already assigned?
pub async fn is_assigned(
    conn: &mut SqliteConnection,
    network_id: &str,
    address: u32,
) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ip_addresses WHERE network_id = ? AND address = ?",
    )
    .bind(network_id)
    .bind(i64::from(address))
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// The network columns, its `free_from` mark, and its lowest free address (NULL when full): the
/// lowest of the mark and the addresses just above taken ones that nobody holds. Every address
/// below the mark is taken, so this reads only the addresses at or above it.
fn with_free() -> String {
    format!(
        "SELECT {COLUMNS}, free_from, \
             (SELECT MIN(c.a) FROM ( \
                 SELECT MAX(n.free_from, n.base + {first}) AS a \
                 UNION ALL SELECT i.address + 1 FROM ip_addresses i \
                 WHERE i.network_id = n.id AND i.address >= MAX(n.free_from, n.base + {first})) c \
              WHERE c.a <= n.base + (1 << (32 - n.prefix)) - 2 \
                AND NOT EXISTS (SELECT 1 FROM ip_addresses t \
                                WHERE t.network_id = n.id AND t.address = c.a)) AS free \
         FROM networks n",
        first = Network::FIRST_ASSIGNABLE
    )
}

/// Reads a row of `with_free` and moves the network's mark up to what was found (past the end
/// when the network is full), so the next search starts there.
async fn take_row(
    conn: &mut SqliteConnection,
    row: &SqliteRow,
) -> StoreResult<(Network, Option<u32>)> {
    let network = from_row(row)?;
    let mark: i64 = row.try_get("free_from")?;
    let free: Option<i64> = row.try_get("free")?;
    let new_mark = free.unwrap_or(i64::from(*network.assignable().end()) + 1);
    if new_mark > mark {
        sqlx::query("UPDATE networks SET free_from = ? WHERE id = ? AND free_from < ?")
            .bind(new_mark)
            .bind(&network.id)
            .bind(new_mark)
            .execute(conn)
            .await?;
    }
    Ok((network, free.map(|a| a as u32)))
}

/// The lowest assignable address of the network that nobody holds.
pub async fn lowest_free(
    conn: &mut SqliteConnection,
    network: &Network,
) -> StoreResult<Option<u32>> {
    let row = sqlx::query(&format!("{} WHERE n.id = ?", with_free()))
        .bind(&network.id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(take_row(conn, &row).await?.1)
}

/// The account's oldest network in a data center that has a free address, with the lowest one.
/// Networks found full are marked so and skipped from then on.
pub async fn first_free(
    conn: &mut SqliteConnection,
    account_id: i64,
    dc: &str,
) -> StoreResult<Option<(Network, u32)>> {
    loop {
        let rows = sqlx::query(&format!(
            "{} WHERE n.account_id = ? AND n.dc = ? \
             AND n.free_from <= n.base + (1 << (32 - n.prefix)) - 2 ORDER BY n.base LIMIT 4",
            with_free()
        ))
        .bind(account_id)
        .bind(dc.to_uppercase())
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        for row in &rows {
            if let (network, Some(address)) = take_row(conn, row).await? {
                return Ok(Some((network, address)));
            }
        }
    }
}

pub async fn assign(
    conn: &mut SqliteConnection,
    network_id: &str,
    address: u32,
    server_id: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO ip_addresses (network_id, address, server_id) VALUES (?, ?, ?)")
        .bind(network_id)
        .bind(i64::from(address))
        .bind(server_id)
        .execute(conn)
        .await?;
    Ok(())
}
