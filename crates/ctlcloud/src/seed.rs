//! `ctlcloud admin seed`: large accounts for benchmarks and load tests, written straight into the
//! store in big transactions instead of through the API and the queue. Seeded servers are built
//! and started at once (status `active`, power `started`); they hold no private address, since a
//! million servers do not fit in an account's networks.
//!
//! Only the admin command reaches this: it is no part of the API.

use crate::catalog::Catalog;
use crate::domain::accounts as domain;
use crate::ids;
use crate::model::{ChangeInfo, Disk, Group};
use crate::store::{accounts, groups, Store};

/// Rows written per transaction: big enough to be fast, small enough that a running server's
/// writers get their turn between chunks.
const CHUNK: i64 = 50_000;

/// What to add to an account.
pub struct Seed {
    pub account: String,
    /// Servers to create in a new group.
    pub servers: i64,
    /// The name of that group, under the root group of the account's primary data center.
    pub group: String,
    /// Private /24 networks to add in the primary data center.
    pub networks: u32,
}

/// Digits in a seeded server's name: the alias and the name share 10 characters, one is the `S`.
fn name_width(alias: &str) -> usize {
    10usize.saturating_sub(alias.len() + 1)
}

/// The name of the `i`-th server seeded into an account (counting from 0 over every seeding).
pub fn server_name(alias: &str, dc: &str, i: i64) -> String {
    let width = name_width(alias);
    format!("{dc}{alias}S{:0width$}{:02}", i / 99, i % 99 + 1)
}

/// Adds the servers and networks; returns a report, one line per thing done.
pub async fn run(store: &Store, catalog: &Catalog, seed: Seed, now: i64) -> Result<String, String> {
    let err = |e: crate::store::StoreError| e.to_string();
    if seed.servers > 0 && store.engine() != crate::store::Engine::Sqlite {
        // The bulk insert of servers is written in SQLite's SQL; networks are seeded anywhere.
        return Err("seeding servers works on the SQLite store only".into());
    }
    let account = accounts::by_alias(store.reader(), &seed.account)
        .await
        .map_err(err)?
        .ok_or(format!("there is no account {}", seed.account))?;
    let dc = account.primary_dc.clone();
    let mut report = String::new();
    if seed.networks > 0 {
        let mut tx = store.write().await.map_err(err)?;
        for _ in 0..seed.networks {
            domain::create_network(&mut tx, &account, &dc)
                .await
                .map_err(|e| e.message)?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        report.push_str(&format!(
            "added {} networks in {dc} to {}\n",
            seed.networks, account.alias
        ));
    }
    if seed.servers <= 0 {
        return Ok(report);
    }
    // Names are `DC + ALIAS + S + digits + NN` (`server_name`).
    let width = name_width(&account.alias);
    if width == 0 || (seed.servers - 1) / 99 >= 10i64.saturating_pow(width as u32) {
        return Err(format!(
            "{} servers do not fit in the names account {} can give",
            seed.servers, account.alias
        ));
    }
    let template = catalog
        .templates_in(&dc)
        .next()
        .ok_or(format!("data center {dc} offers no template"))?;
    let disks: Vec<Disk> = template
        .disks()?
        .into_iter()
        .enumerate()
        .map(|(i, d)| Disk {
            id: format!("0:{i}"),
            size_gb: d.size_gb,
            paths: d.paths,
        })
        .collect();
    let disks = serde_json::to_string(&disks).map_err(|e| e.to_string())?;
    let stem = format!("{dc}{}S", account.alias);

    let mut tx = store.write().await.map_err(err)?;
    let root = groups::root(store.reader(), account.id, &dc)
        .await
        .map_err(err)?
        .ok_or(format!(
            "account {} has no root group in {dc}",
            account.alias
        ))?;
    let by = "seed".to_owned();
    let group = Group {
        id: ids::new_id(),
        account_id: account.id,
        dc: dc.clone(),
        parent_id: Some(root.id.clone()),
        name: seed.group.clone(),
        description: seed.group.clone(),
        kind: "default".into(),
        status: "active".into(),
        custom_fields: Vec::new(),
        change: ChangeInfo {
            created_at: now,
            created_by: by.clone(),
            modified_at: now,
            modified_by: by,
        },
    };
    groups::insert(&mut tx, &group).await.map_err(err)?;
    // Seeding twice continues the numbering instead of colliding with the first run's names.
    let first: i64 = crate::store::db::query_scalar(
        "SELECT COUNT(*) FROM servers WHERE account_id = ? AND name_prefix GLOB ? || '[0-9]*'",
    )
    .bind(account.id)
    .bind(&stem)
    .fetch_one(&mut tx)
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;

    let password = ids::new_password();
    let mut from = first;
    while from < first + seed.servers {
        let to = (from + CHUNK).min(first + seed.servers);
        let mut tx = store.write().await.map_err(err)?;
        crate::store::db::query(
            "WITH RECURSIVE n (i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2), \
             named (i, prefix) AS (SELECT i, ?3 || printf('%0' || ?4 || 'd', i / 99) FROM n) \
             INSERT INTO servers (id, uuid, account_id, dc, group_id, name_prefix, seq, description, \
                 template, cpu, memory_mb, type, storage_type, managed_os, managed_backup, status, \
                 power_state, in_maintenance, password, disks, custom_fields, packages, \
                 created_at, created_by, modified_at, modified_by) \
             SELECT prefix || printf('%02d', i % 99 + 1), lower(hex(randomblob(16))), ?5, ?6, ?7, \
                 prefix, i % 99 + 1, 'seeded', ?8, 1, 2048, 'standard', 'standard', 0, 0, 'active', \
                 'started', 0, ?9, ?10, '[]', '[]', ?11, 'seed', ?11, 'seed' FROM named",
        )
        .bind(from)
        .bind(to)
        .bind(&stem)
        .bind(width as i64)
        .bind(account.id)
        .bind(&dc)
        .bind(&group.id)
        .bind(&template.name)
        .bind(&password)
        .bind(&disks)
        .bind(now)
        .execute(&mut tx)
        .await
        .map_err(|e| e.to_string())?;
        crate::store::usage::add_servers(&mut tx, account.id, to - from)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(|e| e.to_string())?;
        from = to;
    }
    report.push_str(&format!(
        "seeded {} servers in group {} ({}) of {}\n",
        seed.servers, group.id, group.name, account.alias
    ));
    Ok(report)
}
