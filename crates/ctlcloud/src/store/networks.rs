//! Private networks and the addresses assigned on them: a server's primary address, and one
//! address per secondary network adapter.

use super::db::{self, Exec, Row, Tx};

use super::StoreResult;
use crate::model::Network;

const COLUMNS: &str = "id, account_id, dc, name, description, base, prefix, vlan";

/// The first network base handed out: 10.0.0.0. Each new network takes the next /24.
const FIRST_BASE: i64 = 10 << 24;
const LAST_BASE: i64 = (10 << 24) | 0x00ff_ff00;

fn from_row(row: &Row) -> StoreResult<Network> {
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

/// The next free /24s and VLANs for new networks, one per entry of `dcs` (a data center may come
/// more than once), in order: (base, vlan) each. `None` when the private range cannot hold them
/// all. Bases are global, VLANs are per data center.
pub async fn next_ranges(conn: &mut Tx, dcs: &[&str]) -> StoreResult<Option<Vec<(u32, i64)>>> {
    if dcs.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut base: i64 = db::query_scalar("SELECT COALESCE(MAX(base) + 256, ?) FROM networks")
        .bind(FIRST_BASE)
        .fetch_one(&mut *conn)
        .await?;
    let mut distinct = dcs.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let marks = db::marks(distinct.len());
    let sql = format!("SELECT dc, MAX(vlan) FROM networks WHERE dc IN ({marks}) GROUP BY dc");
    let mut query = db::query_as::<(String, i64)>(&sql);
    for dc in &distinct {
        query = query.bind(*dc);
    }
    let mut vlans: std::collections::HashMap<String, i64> =
        query.fetch_all(&mut *conn).await?.into_iter().collect();
    let mut ranges = Vec::with_capacity(dcs.len());
    for dc in dcs {
        if base > LAST_BASE {
            return Ok(None);
        }
        let vlan = vlans.entry(dc.to_string()).or_insert(99);
        *vlan += 1;
        ranges.push((base as u32, *vlan));
        base += 256;
    }
    Ok(Some(ranges))
}

/// Inserts networks, up to 1,000 in each statement (well under either engine's limit on bound
/// values).
pub async fn insert(conn: &mut Tx, networks: &[Network]) -> StoreResult<()> {
    for chunk in networks.chunks(1000) {
        let rows = db::rows(conn.engine(), 9, chunk.len());
        let sql = format!("INSERT INTO networks ({COLUMNS}, free) {rows}");
        db::query(&sql)
            .bind_rows(9, chunk, |q, n| {
                q.bind(&n.id)
                    .bind(n.account_id)
                    .bind(&n.dc)
                    .bind(&n.name)
                    .bind(&n.description)
                    .bind(i64::from(n.base))
                    .bind(i64::from(n.prefix))
                    .bind(n.vlan)
                    .bind(n.capacity())
            })
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The account's networks in a data center, oldest first.
pub async fn list(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    dc: &str,
) -> StoreResult<Vec<Network>> {
    let rows = db::query(&format!(
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
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    dc: &str,
    id: &str,
) -> StoreResult<Option<Network>> {
    // By its key alone, then checked to be the account's (see the store's module notes).
    let network = by_id(conn, id).await?;
    Ok(network.filter(|n| n.account_id == account_id && n.dc.eq_ignore_ascii_case(dc)))
}

/// The addresses assigned on a network, with the server each belongs to, in address order.
pub async fn assigned(
    conn: impl Into<Exec<'_>>,
    network_id: &str,
) -> StoreResult<Vec<(u32, String)>> {
    let rows: Vec<(i64, String)> = db::query_as(
        "SELECT address, server_id FROM ip_addresses WHERE network_id = ? ORDER BY address",
    )
    .bind(network_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(a, s)| (a as u32, s)).collect())
}

/// Is this address on this network already assigned?
pub async fn is_assigned(conn: &mut Tx, network_id: &str, address: u32) -> StoreResult<bool> {
    let n: i64 =
        db::query_scalar("SELECT COUNT(*) FROM ip_addresses WHERE network_id = ? AND address = ?")
            .bind(network_id)
            .bind(i64::from(address))
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Counts addresses handed out on (or, negative, taken back from) a network, in `held` and in
/// what is left, `free`.
pub async fn add_held(conn: &mut Tx, network_id: &str, n: i64) -> StoreResult<()> {
    db::query("UPDATE networks SET held = held + ?, free = free - ? WHERE id = ?")
        .bind(n)
        .bind(n)
        .bind(network_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The count of a network's addresses held and the highest of them, beside its columns.
const HELD: &str =
    "held, (SELECT MAX(address) FROM ip_addresses a WHERE a.network_id = n.id) AS highest";

static NEXT_WITH_ROOM: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS}, {HELD} FROM networks n WHERE account_id = ? AND dc = ? AND free > 0 \
         AND base > ? ORDER BY base LIMIT 1"
    )
});

/// The account's oldest network in a data center with an address left, after the network at
/// `after` if given, with up to `most` of its free addresses, lowest first: found from the kept
/// counts and the index of networks with room, without reading the full ones, and with what its
/// free addresses follow from in the same statement.
pub async fn next_with_room(
    conn: &mut Tx,
    account_id: i64,
    dc: &str,
    after: Option<u32>,
    most: usize,
) -> StoreResult<Option<(Network, Vec<u32>)>> {
    let row = db::query(&NEXT_WITH_ROOM)
        .bind(account_id)
        .bind(dc.to_uppercase())
        .bind(after.map_or(-1, i64::from))
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let network = from_row(&row)?;
    let (held, highest) = (row.try_get("held")?, row.try_get("highest")?);
    let free = free_after(conn, &network, held, highest, most).await?;
    Ok(Some((network, free)))
}

/// The lowest assignable address of the network that nobody holds.
pub async fn lowest_free(conn: &mut Tx, network: &Network) -> StoreResult<Option<u32>> {
    Ok(free_addresses(conn, network, 1).await?.first().copied())
}

/// Up to `most` of the network's assignable addresses that nobody holds, lowest first.
pub async fn free_addresses(
    conn: &mut Tx,
    network: &Network,
    most: usize,
) -> StoreResult<Vec<u32>> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {HELD} FROM networks n WHERE id = ?"));
    let (held, highest): (i64, Option<i64>) = db::query_as(&SQL)
        .bind(&network.id)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or((0, None));
    free_after(conn, network, held, highest, most).await
}

/// Up to `most` free addresses of a network that holds `held` addresses, `highest` the highest.
async fn free_after(
    conn: &mut Tx,
    network: &Network,
    held: i64,
    highest: Option<i64>,
    most: usize,
) -> StoreResult<Vec<u32>> {
    let range = network.assignable();
    let (first, last) = (i64::from(*range.start()), i64::from(*range.end()));
    // Addresses are handed out lowest first, so the held ones are usually a run from the first:
    // then the answer follows from the kept count and the highest, both read without reading
    // the others.
    if highest.is_none_or(|h| h == first + held - 1) {
        let next = first + held;
        let end = last.min(next + most as i64 - 1);
        return Ok((next..=end).map(|a| a as u32).collect());
    }
    let taken: Vec<i64> =
        db::query_scalar("SELECT address FROM ip_addresses WHERE network_id = ? ORDER BY address")
            .bind(&network.id)
            .fetch_all(conn)
            .await?;
    let mut taken = taken.into_iter().map(|a| a as u32).peekable();
    let mut free = Vec::new();
    for candidate in range {
        if free.len() == most {
            break;
        }
        while taken.next_if(|t| *t < candidate).is_some() {}
        if taken.peek() != Some(&candidate) {
            free.push(candidate);
        }
    }
    Ok(free)
}

/// An address to hand out: (network id, address, server id).
pub type Assignment<'a> = (&'a str, u32, &'a str);

/// How many values each address handed out binds.
pub(super) const BOUND_PER_ASSIGNMENT: usize = 3;

/// The statement inserting addresses handed out from `rows` ([`db::rows`]), bound by
/// [`bind_assignments`].
pub(super) fn assign_sql(rows: &str) -> String {
    format!("INSERT INTO ip_addresses (network_id, address, server_id) {rows}")
}

/// Binds addresses handed out to [`assign_sql`].
pub(super) fn bind_assignments<'q>(
    query: db::Query<'q>,
    assignments: &[Assignment<'_>],
) -> db::Query<'q> {
    let width = BOUND_PER_ASSIGNMENT;
    query.bind_rows(width, assignments, |q, (network_id, address, server_id)| {
        q.bind(*network_id)
            .bind(i64::from(*address))
            .bind(*server_id)
    })
}

/// How many of `assignments` are on each network.
pub(super) fn per_network<'a>(assignments: &[Assignment<'a>]) -> Vec<(&'a str, i64)> {
    let mut per_network: Vec<(&str, i64)> = Vec::new();
    for (network_id, _, _) in assignments {
        match per_network.iter_mut().find(|(id, _)| id == network_id) {
            Some((_, n)) => *n += 1,
            None => per_network.push((network_id, 1)),
        }
    }
    per_network
}

/// Hands out servers' primary addresses, many in each statement, and counts them on their
/// networks.
pub async fn assign(conn: &mut Tx, assignments: &[Assignment<'_>]) -> StoreResult<()> {
    for chunk in assignments.chunks(1000) {
        let sql = assign_sql(&db::rows(conn.engine(), BOUND_PER_ASSIGNMENT, chunk.len()));
        bind_assignments(db::query(&sql), chunk)
            .execute(&mut *conn)
            .await?;
    }
    for (network_id, n) in per_network(assignments) {
        add_held(conn, network_id, n).await?;
    }
    Ok(())
}

/// A server's address on one network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub network_id: String,
    pub address: u32,
    /// A secondary network adapter (not the network the server was built on).
    pub secondary: bool,
    /// Reserved for an adapter whose job has not succeeded yet.
    pub pending: bool,
}

/// Every network a server has an address on, pending adapters included.
pub async fn attachments(
    conn: impl Into<Exec<'_>>,
    server_id: &str,
) -> StoreResult<Vec<Attachment>> {
    let rows: Vec<(String, i64, String, bool)> = db::query_as(
        "SELECT network_id, address, role, pending FROM ip_addresses WHERE server_id = ? \
         ORDER BY role <> 'primary', address",
    )
    .bind(server_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(network_id, address, role, pending)| Attachment {
            network_id,
            address: address as u32,
            secondary: role == "secondary",
            pending,
        })
        .collect())
}

/// Reserves an address for a secondary network adapter that is being added.
pub async fn reserve_secondary(
    conn: &mut Tx,
    network_id: &str,
    address: u32,
    server_id: &str,
) -> StoreResult<()> {
    db::query(
        "INSERT INTO ip_addresses (network_id, address, server_id, role, pending) \
         VALUES (?, ?, ?, 'secondary', 1)",
    )
    .bind(network_id)
    .bind(i64::from(address))
    .bind(server_id)
    .execute(&mut *conn)
    .await?;
    add_held(conn, network_id, 1).await
}

/// The adapter's job succeeded: its address is the server's from now on.
pub async fn confirm_secondary(
    conn: &mut Tx,
    network_id: &str,
    server_id: &str,
) -> StoreResult<()> {
    db::query(
        "UPDATE ip_addresses SET pending = 0 WHERE network_id = ? AND server_id = ? AND role = 'secondary'",
    )
    .bind(network_id)
    .bind(server_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Frees a server's secondary address on a network (an adapter removed, or one that failed to be
/// added).
pub async fn release_secondary(
    conn: &mut Tx,
    network_id: &str,
    server_id: &str,
) -> StoreResult<()> {
    let freed = db::query(
        "DELETE FROM ip_addresses WHERE network_id = ? AND server_id = ? AND role = 'secondary'",
    )
    .bind(network_id)
    .bind(server_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    add_held(conn, network_id, -(freed as i64)).await
}

/// Renames a network and sets its description.
pub async fn update(conn: &mut Tx, id: &str, name: &str, description: &str) -> StoreResult<()> {
    db::query("UPDATE networks SET name = ?, description = ? WHERE id = ?")
        .bind(name)
        .bind(description)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many addresses of a network servers hold.
pub async fn claimed_count(conn: &mut Tx, network_id: &str) -> StoreResult<i64> {
    db::query_scalar("SELECT COUNT(*) FROM ip_addresses WHERE network_id = ?")
        .bind(network_id)
        .fetch_one(conn)
        .await
}

/// Removes a network nobody holds an address on.
pub async fn delete(conn: &mut Tx, id: &str) -> StoreResult<()> {
    db::query("DELETE FROM networks WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A network by id, whatever account or data center it belongs to (for queued work that
/// already checked both).
pub async fn by_id(conn: impl Into<Exec<'_>>, id: &str) -> StoreResult<Option<Network>> {
    let row = db::query(&format!("SELECT {COLUMNS} FROM networks WHERE id = ?"))
        .bind(id.to_lowercase())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scratch;

    /// The network with room is read from the index of those with room, in address order: neither
    /// the full networks nor a sort; its highest address from the addresses' key.
    #[tokio::test]
    async fn the_network_with_room_is_read_from_its_index() {
        let scratch = Scratch::open().await;
        let explain = format!("EXPLAIN QUERY PLAN {}", *NEXT_WITH_ROOM);
        let plan = scratch
            .plan(db::query(&explain).bind(1).bind("WA1").bind(-1))
            .await;
        scratch.close().await;
        assert_eq!(plan.len(), 3, "{plan:?}");
        assert!(plan[0].contains("networks_with_room"), "{plan:?}");
        assert!(plan[2].contains("USING PRIMARY KEY"), "{plan:?}");
    }
}
