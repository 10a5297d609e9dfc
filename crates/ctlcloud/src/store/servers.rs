//! Servers and the private addresses they hold.

use std::collections::HashMap;

use super::db::{self, Exec, Row, Tx};

use super::gathered::{Found, Gather};
use super::StoreResult;
use crate::model::{Attached, Server};

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

fn from_row(row: &Row) -> StoreResult<Server> {
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
        change: super::change_info(row)?,
        addresses: Vec::new(),
        attached: Attached {
            snapshots: row.try_get("has_snapshots")?,
            public_ips: row.try_get("has_public_ips")?,
            alert_policies: row.try_get("has_alert_policies")?,
        },
    })
}

/// How many values each server row binds.
pub(super) const BOUND_PER_SERVER: usize = 28;

/// The statement inserting servers from `rows` ([`db::rows`]), bound by [`bind_rows`].
pub(super) fn insert_sql(rows: &str) -> String {
    format!(
        "INSERT INTO servers ({COLUMNS}, name_prefix, seq, password, primary_dns, secondary_dns, \
         packages) {rows}"
    )
}

/// Binds new servers' rows to [`insert_sql`].
pub(super) fn bind_rows<'q>(
    query: db::Query<'q>,
    servers: &[(&Server, &Provisioning<'_>)],
) -> StoreResult<db::Query<'q>> {
    let json: Vec<(String, String)> = servers
        .iter()
        .map(|(s, _)| {
            let disks = serde_json::to_string(&s.disks)?;
            Ok((disks, serde_json::to_string(&s.custom_fields)?))
        })
        .collect::<StoreResult<_>>()?;
    let rows = servers.iter().zip(json);
    Ok(query.bind_rows(
        BOUND_PER_SERVER,
        rows,
        |q, ((s, p), (disks, custom_fields))| {
            q.bind(&s.id)
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
                .bind(disks)
                .bind(custom_fields)
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
        },
    ))
}

/// How many servers of each account are among `servers`, by ascending account: transactions
/// counting in several accounts then lock their rows in the same order.
pub(super) fn per_account(servers: &[(&Server, &Provisioning<'_>)]) -> Vec<(i64, i64)> {
    let mut per_account: std::collections::BTreeMap<i64, i64> = Default::default();
    for (s, _) in servers {
        *per_account.entry(s.account_id).or_default() += 1;
    }
    per_account.into_iter().collect()
}

/// Inserts servers, many in each statement, and counts them in their accounts.
pub async fn insert(conn: &mut Tx, servers: &[(&Server, &Provisioning<'_>)]) -> StoreResult<()> {
    // Well under either engine's limit on bound values.
    for chunk in servers.chunks(256) {
        let sql = insert_sql(&db::rows(conn.engine(), BOUND_PER_SERVER, chunk.len()));
        bind_rows(db::query(&sql), chunk)?
            .execute(&mut *conn)
            .await?;
    }
    for (account_id, n) in per_account(servers) {
        super::usage::add_servers(conn, account_id, n).await?;
    }
    Ok(())
}

/// What a server is looked up by: each is unique.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Its name, stored in upper case.
    Name,
    /// Its uuid, stored in lower case.
    Uuid,
}

impl Key {
    fn column(self) -> &'static str {
        match self {
            Key::Name => "id",
            Key::Uuid => "uuid",
        }
    }

    /// `value` as stored: names and uuids are asked for in any case.
    pub fn stored(self, value: &str) -> String {
        match self {
            Key::Name => value.to_uppercase(),
            Key::Uuid => value.to_lowercase(),
        }
    }

    /// The server's value of this key.
    pub fn of(self, server: &Server) -> &str {
        match self {
            Key::Name => &server.id,
            Key::Uuid => &server.uuid,
        }
    }
}

/// A server of the account by its name (any case), with its addresses. Read inside a write
/// transaction, what is decided from it still holds when the transaction commits.
pub async fn get(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    id: &str,
) -> StoreResult<Option<Server>> {
    get_by(conn, account_id, Key::Name, id).await
}

/// The server of the account whose `key` is `value` (any case), with its addresses.
pub async fn get_by(
    conn: impl Into<Exec<'_>>,
    account_id: i64,
    key: Key,
    value: &str,
) -> StoreResult<Option<Server>> {
    // By its key alone, then checked to be the account's (see the store's module notes).
    let found = with_addresses(conn.into(), key, &[key.stored(value).as_str()]).await?;
    Ok(found.into_iter().find(|s| s.account_id == account_id))
}

/// The servers whose `key` is one of `values` (as stored), each with its addresses, whatever
/// their accounts: for callers that check each against what they asked for (the worker, reads of
/// servers gathered from many requests). Values not found are left out.
pub async fn get_many(
    conn: impl Into<Exec<'_>>,
    key: Key,
    values: &[&str],
) -> StoreResult<Vec<Server>> {
    let mut conn = conn.into();
    let mut found = Vec::with_capacity(values.len());
    for chunk in values.chunks(256) {
        found.extend(with_addresses(conn.reborrow(), key, chunk).await?);
    }
    Ok(found)
}

/// GETs of servers by one key, read together on PostgreSQL (see [`super::gathered`]).
pub struct By(pub Key);

impl Gather for By {
    type Key = String;
    type Row = Server;

    async fn read(&self, conn: &mut Tx, keys: &[String]) -> StoreResult<Vec<Found<By>>> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        Ok(get_many(conn, self.0, &keys)
            .await?
            .into_iter()
            .map(|server| Found {
                key: self.0.of(&server).to_owned(),
                account_id: server.account_id,
                row: server,
            })
            .collect())
    }
}

/// The servers whose `key` is one of `values`, with what is attached to them, in one statement: a
/// row for each address (one with none when a server has none). Each server's addresses as shown:
/// the primary network's first, then the secondary adapters' in address order; an adapter still
/// being added is not shown.
async fn with_addresses(conn: Exec<'_>, key: Key, values: &[&str]) -> StoreResult<Vec<Server>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    // Rows are grouped and addresses put in order here: an ORDER BY would cost SQLite a temporary
    // b-tree on every read of a server.
    let marks = db::in_list(values.len());
    // Servers asked for by name have their addresses asked for by name too. Joined on `s.id`
    // alone, PostgreSQL may plan a hash join that reads every address of every server (as it
    // does while the statistics of a growing table lag behind it); this way the addresses are
    // read through their index whatever the plan.
    let by_name = matches!(key, Key::Name);
    let column = key.column();
    let addresses_of = if by_name {
        format!(" AND a.server_id IN ({marks})")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT s.*, a.address, a.role FROM (SELECT {COLUMNS}, \
             snapshots_count > 0 AS has_snapshots, public_ips_count > 0 AS has_public_ips, \
             alert_policies_count > 0 AS has_alert_policies \
             FROM servers WHERE {column} IN ({marks})) s \
         LEFT JOIN ip_addresses a ON a.server_id = s.id AND a.pending = 0{addresses_of}"
    );
    let mut query = db::query(&sql).bind_in_list(values);
    if by_name {
        query = query.bind_in_list(values);
    }
    let rows = query.fetch_all(conn).await?;
    let mut servers: Vec<(Server, Vec<(bool, u32)>)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        let i = match at.get(&id) {
            Some(&i) => i,
            None => {
                servers.push((from_row(row)?, Vec::new()));
                at.insert(id, servers.len() - 1);
                servers.len() - 1
            }
        };
        if let Some(address) = row.try_get::<Option<i64>, _>("address")? {
            let secondary = row.try_get::<&str, _>("role")? != "primary";
            servers[i].1.push((secondary, address as u32));
        }
    }
    Ok(servers
        .into_iter()
        .map(|(mut server, mut addresses)| {
            addresses.sort_unstable();
            server.addresses = addresses.into_iter().map(|(_, a)| a).collect();
            server
        })
        .collect())
}

/// Writes back what users change on a server: description, group, cpu, memory, disks, custom
/// fields and who changed it when.
pub async fn save(conn: &mut Tx, s: &Server) -> StoreResult<()> {
    db::query(
        "UPDATE servers SET description = ?, group_id = ?, cpu = ?, memory_mb = ?, disks = ?, \
         custom_fields = ?, modified_at = ?, modified_by = ? WHERE id = ?",
    )
    .bind(&s.description)
    .bind(&s.group_id)
    .bind(s.cpu)
    .bind(s.memory_mb)
    .bind(serde_json::to_string(&s.disks)?)
    .bind(serde_json::to_string(&s.custom_fields)?)
    .bind(s.change.modified_at)
    .bind(&s.change.modified_by)
    .bind(&s.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that a server was changed (its addresses, for instance), by whom and when.
pub async fn touch(conn: &mut Tx, id: &str, now: i64, by: &str) -> StoreResult<()> {
    db::query("UPDATE servers SET modified_at = ?, modified_by = ? WHERE id = ?")
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the guest administrator password that `credentials` returns.
pub async fn set_password(conn: &mut Tx, id: &str, password: &str) -> StoreResult<()> {
    db::query("UPDATE servers SET password = ? WHERE id = ?")
        .bind(password)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn exists(conn: &mut Tx, id: &str) -> StoreResult<bool> {
    let n: i64 = db::query_scalar("SELECT COUNT(*) FROM servers WHERE id = ?")
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// The guest administrator password of a server.
pub async fn password(conn: impl Into<Exec<'_>>, server_id: &str) -> StoreResult<Option<String>> {
    db::query_scalar("SELECT password FROM servers WHERE id = ?")
        .bind(server_id)
        .fetch_optional(conn)
        .await
}

/// Moves servers to a new status and power state.
pub async fn set_state(
    conn: &mut Tx,
    ids: &[&str],
    status: &str,
    power_state: &str,
) -> StoreResult<()> {
    for chunk in ids.chunks(256) {
        let sql = format!(
            "UPDATE servers SET status = ?, power_state = ? WHERE id IN ({})",
            db::in_list(chunk.len())
        );
        db::query(&sql)
            .bind(status)
            .bind(power_state)
            .bind_in_list(chunk)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// What a server counts on its own row (see [`add_attached`]).
#[derive(Clone, Copy)]
pub(super) enum Attachment {
    Snapshots,
    PublicIps,
    AlertPolicies,
}

/// Adds `n` (negative to remove) to how many of `what` the server has: a read of the server tells
/// from its own row whether it has any, without looking in their tables.
pub(super) async fn add_attached(
    conn: &mut Tx,
    server_id: &str,
    what: Attachment,
    n: i64,
) -> StoreResult<()> {
    let column = match what {
        Attachment::Snapshots => "snapshots_count",
        Attachment::PublicIps => "public_ips_count",
        Attachment::AlertPolicies => "alert_policies_count",
    };
    db::query(&format!(
        "UPDATE servers SET {column} = {column} + ? WHERE id = ?"
    ))
    .bind(n)
    .bind(server_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a server and frees its addresses.
pub async fn delete(conn: &mut Tx, id: &str) -> StoreResult<()> {
    let freed: Vec<String> =
        db::query_scalar("DELETE FROM ip_addresses WHERE server_id = ? RETURNING network_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    for network_id in &freed {
        super::networks::add_held(conn, network_id, -1).await?;
    }
    let account: Option<i64> =
        db::query_scalar("DELETE FROM servers WHERE id = ? RETURNING account_id")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(account_id) = account {
        super::usage::add_servers(conn, account_id, -1).await?;
    }
    Ok(())
}

/// Records the outcome of a power, maintenance, archive or restore operation: the server's new
/// status, power state and maintenance mode, its group if that changes, and who changed it.
#[allow(clippy::too_many_arguments)]
pub async fn set_condition(
    conn: &mut Tx,
    id: &str,
    status: &str,
    power_state: &str,
    in_maintenance: bool,
    group_id: Option<&str>,
    modified_by: &str,
    modified_at: i64,
) -> StoreResult<()> {
    db::query(
        "UPDATE servers SET status = ?, power_state = ?, in_maintenance = ?, \
         group_id = COALESCE(?, group_id), modified_by = ?, modified_at = ? WHERE id = ?",
    )
    .bind(status)
    .bind(power_state)
    .bind(in_maintenance)
    .bind(group_id)
    .bind(modified_by)
    .bind(modified_at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves every server in a group and the groups below it to a new status and power state,
/// stamping each as modified.
pub async fn set_state_in_subtree(
    conn: &mut Tx,
    group_id: &str,
    status: &str,
    power_state: &str,
    now: i64,
    by: &str,
) -> StoreResult<()> {
    db::query(&format!(
        "{} UPDATE servers SET status = ?2, power_state = ?3, modified_at = ?4, modified_by = ?5 \
         WHERE group_id IN (SELECT id FROM subtree)",
        super::groups::SUBTREE
    ))
    .bind(group_id.to_lowercase())
    .bind(status)
    .bind(power_state)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Brings a server back to what a snapshot recorded: size, disks and power state.
pub async fn revert_to(
    conn: &mut Tx,
    id: &str,
    snapshot: &crate::model::Snapshot,
    modified_by: &str,
    modified_at: i64,
) -> StoreResult<()> {
    db::query(
        "UPDATE servers SET cpu = ?, memory_mb = ?, disks = ?, power_state = ?, \
         modified_by = ?, modified_at = ? WHERE id = ?",
    )
    .bind(snapshot.cpu)
    .bind(snapshot.memory_mb)
    .bind(serde_json::to_string(&snapshot.disks)?)
    .bind(&snapshot.power_state)
    .bind(modified_by)
    .bind(modified_at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The name of the account's server with this uuid, if it still exists.
pub async fn id_by_uuid(conn: &mut Tx, account_id: i64, uuid: &str) -> StoreResult<Option<String>> {
    // By its key alone, then checked to be the account's (see the store's module notes).
    let row = db::query("SELECT id, account_id FROM servers WHERE uuid = ?")
        .bind(uuid.to_lowercase())
        .fetch_optional(conn)
        .await?;
    match row {
        Some(row) if row.try_get::<i64, _>("account_id")? == account_id => {
            Ok(Some(row.try_get("id")?))
        }
        _ => Ok(None),
    }
}
