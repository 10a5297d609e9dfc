//! The store's conformance suite: the same checks on every engine, SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;

use common::{TempDir, TestDatabase};
use ctlcloud::catalog::Catalog;
use ctlcloud::domain::accounts::{create_account, NewAccount};
use ctlcloud::model::{Account, ChangeInfo, CustomFieldDef, JobKind, JobStatus, Server};
use ctlcloud::store::jobs::Claiming;
use ctlcloud::store::{
    self, accounts, audit, groups, jobs, networks, servers, users, Location, Store,
};

/// Runs a check against a fresh store on each engine.
macro_rules! on_every_engine {
    ($check:ident) => {
        mod $check {
            #[tokio::test]
            async fn sqlite() {
                let dir = super::TempDir::new();
                let store = super::Store::open(super::Location::File(&dir.0.join("store.db")))
                    .await
                    .unwrap();
                super::$check(&store).await;
                store.close().await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = super::TestDatabase::create().await;
                let store = super::Store::open(super::Location::Postgres(&db.url))
                    .await
                    .unwrap();
                super::$check(&store).await;
                store.close().await;
            }
        }
    };
}

const NOW: i64 = 1_800_000_000;

async fn account(store: &Store, alias: &str) -> Account {
    let mut tx = store.write().await.unwrap();
    let new = NewAccount {
        alias,
        name: alias,
        parent: None,
        primary_dc: "WA1",
    };
    let account = create_account(&mut tx, &Catalog::built_in(), new, NOW, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    account
}

on_every_engine!(migrations_run_once_and_reopen_cleanly);
async fn migrations_run_once_and_reopen_cleanly(store: &Store) {
    assert_eq!(accounts::count(store.reader()).await.unwrap(), 0);
    account(store, "ONE").await;
    assert_eq!(accounts::count(store.reader()).await.unwrap(), 1);
}

/// The tables whose rows must name an existing account, as the engine checks them.
/// The store's foreign keys, as (table, table it references), in order.
async fn foreign_keys(store: &Store) -> Vec<(String, String)> {
    let sql = match store.engine() {
        store::Engine::Sqlite => {
            "SELECT m.name, f.\"table\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' ORDER BY 1, 2"
        }
        store::Engine::Postgres => {
            "SELECT conrelid::regclass::TEXT, confrelid::regclass::TEXT FROM pg_constraint \
             WHERE contype = 'f' ORDER BY 1, 2"
        }
    };
    store::db::query_as(sql)
        .fetch_all(store.reader())
        .await
        .unwrap()
}

/// The tables with a foreign key to `referenced`.
async fn checked_against(store: &Store, referenced: &str) -> Vec<String> {
    let keys = foreign_keys(store).await;
    keys.into_iter()
        .filter(|(_, to)| to == referenced)
        .map(|(from, _)| from)
        .collect()
}

/// Asserts that `versions` are recorded as applied: on SQLite too, for those PostgreSQL alone runs,
/// so that SQLite never runs them.
async fn recorded(store: &Store, versions: &[i64]) {
    let applied: Vec<i64> = store::db::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(store.reader())
        .await
        .unwrap();
    for version in versions {
        assert!(applied.contains(version), "{version}: {applied:?}");
    }
}

on_every_engine!(rows_name_their_account_without_locking_it_on_postgresql);
async fn rows_name_their_account_without_locking_it_on_postgresql(store: &Store) {
    let checked = checked_against(store, "accounts").await;
    match store.engine() {
        // An account's parent alone: every other row takes its account from its request, and
        // checking it would lock the account's row (migration 16).
        store::Engine::Postgres => assert_eq!(checked, ["accounts"]),
        store::Engine::Sqlite => {
            for table in ["accounts", "audit", "jobs", "servers", "users"] {
                assert!(checked.iter().any(|t| t == table), "{table}: {checked:?}");
            }
        }
    }
    recorded(store, &[16]).await;
}

on_every_engine!(addresses_name_their_network_and_server_without_locking_them_on_postgresql);
async fn addresses_name_their_network_and_server_without_locking_them_on_postgresql(store: &Store) {
    let keys = foreign_keys(store).await;
    let of_addresses: Vec<&str> = keys
        .iter()
        .filter(|(from, _)| from == "ip_addresses")
        .map(|(_, to)| to.as_str())
        .collect();
    match store.engine() {
        // Changes that would leave an address naming a network or server that is gone are made
        // under the account's lock instead (migration 17).
        store::Engine::Postgres => assert_eq!(of_addresses, Vec::<&str>::new()),
        store::Engine::Sqlite => assert_eq!(of_addresses, ["networks", "servers"]),
    }
    // A server still names its group, on both engines.
    assert!(
        keys.contains(&("servers".into(), "groups".into())),
        "{keys:?}"
    );
    recorded(store, &[17]).await;
}

on_every_engine!(accounts_get_a_tree_and_a_network_of_their_own_everywhere);
async fn accounts_get_a_tree_and_a_network_of_their_own_everywhere(store: &Store) {
    let catalog = Catalog::built_in();
    let one = account(store, "one").await;
    let two = account(store, "TWO").await;
    assert_eq!(one.alias, "ONE");
    assert_eq!(
        accounts::by_alias(store.reader(), "one")
            .await
            .unwrap()
            .unwrap()
            .id,
        one.id
    );
    let mut tx = store.write().await.unwrap();
    let taken = create_account(
        &mut tx,
        &catalog,
        NewAccount {
            alias: "One",
            name: "x",
            parent: None,
            primary_dc: "WA1",
        },
        NOW,
        "t",
    )
    .await;
    assert!(taken.is_err(), "an alias is unique in any case");
    drop(tx);
    let mut bases = HashSet::new();
    for a in [&one, &two] {
        for dc in &catalog.datacenters {
            let root = groups::root(store.reader(), a.id, &dc.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(root.name, format!("{} Hardware", dc.id));
            let tree = groups::in_datacenter(store.reader(), a.id, &dc.id)
                .await
                .unwrap();
            let names: Vec<&str> = tree.iter().map(|g| g.name.as_str()).collect();
            assert_eq!(names.len(), 4, "{names:?}");
            for n in ["Default Group", "Archive", "Templates"] {
                assert!(names.contains(&n));
            }
            let nets = networks::list(store.reader(), a.id, &dc.id).await.unwrap();
            assert_eq!(nets.len(), 1);
            assert!(
                bases.insert(nets[0].base),
                "two networks share {}",
                nets[0].cidr()
            );
        }
    }
    // Nothing of one account is reachable through the other.
    let root = groups::root(store.reader(), one.id, "WA1")
        .await
        .unwrap()
        .unwrap();
    assert!(groups::get(store.reader(), two.id, &root.id)
        .await
        .unwrap()
        .is_none());
    let net = &networks::list(store.reader(), one.id, "WA1").await.unwrap()[0];
    assert!(networks::get(store.reader(), two.id, "WA1", &net.id)
        .await
        .unwrap()
        .is_none());

    // VLANs count up per data center, across accounts; bases count up across the cloud, also
    // when one call claims several networks, the same data center more than once.
    let vlan_of = |a: i64, dc: &'static str| async move {
        networks::list(store.reader(), a, dc).await.unwrap()[0].vlan
    };
    assert_eq!(vlan_of(one.id, "WA1").await, 100);
    assert_eq!(vlan_of(two.id, "WA1").await, 101);
    let other = catalog.datacenters[1].id.as_str();
    let highest = *bases.iter().max().unwrap();
    let mut tx = store.write().await.unwrap();
    let more = ctlcloud::domain::accounts::create_networks(&mut tx, &one, &["WA1", other, "WA1"])
        .await
        .unwrap();
    let none = ctlcloud::domain::accounts::create_networks(&mut tx, &one, &[])
        .await
        .unwrap();
    assert!(none.is_empty());
    tx.commit().await.unwrap();
    let got: Vec<(&str, i64, u32)> = more
        .iter()
        .map(|n| (n.dc.as_str(), n.vlan, n.base))
        .collect();
    assert_eq!(
        got,
        [
            ("WA1", 102, highest + 256),
            (other, 102, highest + 512),
            ("WA1", 103, highest + 768)
        ]
    );
    let wa1 = networks::list(store.reader(), one.id, "WA1").await.unwrap();
    assert_eq!(wa1.len(), 3);
    assert!(wa1[2].name.starts_with("vlan_103_10."), "{}", wa1[2].name);
}

on_every_engine!(group_defaults_are_read_along_the_lineage);
async fn group_defaults_are_read_along_the_lineage(store: &Store) {
    use ctlcloud::model::GroupDefaults;
    use ctlcloud::store::group_defaults;
    let one = account(store, "GDA").await;
    let two = account(store, "GDB").await;
    let tree = groups::in_datacenter(store.reader(), one.id, "WA1")
        .await
        .unwrap();
    let root = tree.iter().find(|g| g.parent_id.is_none()).unwrap();
    let default = tree.iter().find(|g| g.name == "Default Group").unwrap();
    let mut tx = store.write().await.unwrap();
    let root_defaults = GroupDefaults {
        cpu: Some(2),
        template_name: Some("UBUNTU-22-64-TEMPLATE".into()),
        ..GroupDefaults::default()
    };
    group_defaults::put(&mut tx, &root.id, &root_defaults)
        .await
        .unwrap();
    let own = GroupDefaults {
        cpu: Some(4),
        ..GroupDefaults::default()
    };
    group_defaults::put(&mut tx, &default.id, &own)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // The group first, then its parent, each with its own defaults; in any case of the id.
    let lineage = groups::lineage(store.reader(), one.id, &default.id.to_uppercase())
        .await
        .unwrap();
    let ids: Vec<&str> = lineage.iter().map(|(g, _)| g.id.as_str()).collect();
    assert_eq!(ids, [default.id.as_str(), root.id.as_str()]);
    let defaults: Vec<GroupDefaults> = lineage.into_iter().map(|(_, d)| d).collect();
    assert_eq!(defaults, vec![own, root_defaults.clone()]);
    // A group that sets nothing still has its place in the lineage.
    let archive = tree.iter().find(|g| g.name == "Archive").unwrap();
    let lineage = groups::lineage(store.reader(), one.id, &archive.id)
        .await
        .unwrap();
    let defaults: Vec<GroupDefaults> = lineage.into_iter().map(|(_, d)| d).collect();
    assert_eq!(defaults, vec![GroupDefaults::default(), root_defaults]);
    // Another account's group has no lineage here.
    assert!(groups::lineage(store.reader(), two.id, &default.id)
        .await
        .unwrap()
        .is_empty());
}

on_every_engine!(kept_lineages_hold_until_a_group_or_its_defaults_change);
async fn kept_lineages_hold_until_a_group_or_its_defaults_change(store: &Store) {
    use ctlcloud::model::GroupDefaults;
    use ctlcloud::store::{group_defaults, lineages::Lineages};
    // Kept for longer than the test can take, however slow the machine.
    let lineages = std::sync::Arc::new(Lineages::trusting_for(std::time::Duration::from_secs(600)));
    let store = &store.clone().keeping_lineages_in(lineages.clone());
    let one = account(store, "LIN").await;
    let tree = groups::in_datacenter(store.reader(), one.id, "WA1")
        .await
        .unwrap();
    let root = tree.iter().find(|g| g.parent_id.is_none()).unwrap();
    let default = tree.iter().find(|g| g.name == "Default Group").unwrap();
    let lineage = || async {
        let mut conn = store.read().await.unwrap();
        let id = default.id.to_uppercase();
        store.lineage(&mut conn, one.id, &id).await.unwrap()
    };
    let behind_the_stores_back = |sql: String| async move {
        let mut tx = store.write().await.unwrap();
        store::db::query(&sql).execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
    };
    let rename = |name: &str| {
        format!(
            "UPDATE groups SET name = '{name}' WHERE id = '{}'",
            default.id
        )
    };
    let first = lineage().await;
    let ids: Vec<&str> = first.iter().map(|(g, _)| g.id.as_str()).collect();
    assert_eq!(ids, [default.id.as_str(), root.id.as_str()]);

    // A change nothing counted is not seen while the lineage is kept...
    behind_the_stores_back(rename("Renamed")).await;
    assert_eq!(lineage().await[0].0.name, "Default Group");
    // ...one the store counts is, with everything committed before it.
    let mut tx = store.write().await.unwrap();
    let cpu = GroupDefaults {
        cpu: Some(2),
        network_id: Some("net-1".into()),
        ..GroupDefaults::default()
    };
    group_defaults::put(&mut tx, &root.id, &cpu).await.unwrap();
    tx.commit().await.unwrap();
    let read = lineage().await;
    assert_eq!(read[0].0.name, "Renamed");
    assert_eq!(read[1].1, cpu);

    // Another node's change: counted in the file it shares (SQLite), or notified (PostgreSQL).
    behind_the_stores_back(rename("Again")).await;
    assert_eq!(lineage().await[0].0.name, "Renamed");
    match store.engine() {
        store::Engine::Sqlite => {
            behind_the_stores_back("UPDATE groups_changes SET n = n + 1".into()).await
        }
        store::Engine::Postgres => lineages.changed(),
    }
    assert_eq!(lineage().await[0].0.name, "Again");

    // Every statement that changes a group or its defaults counts.
    let mut tx = store.write().await.unwrap();
    group_defaults::forget_network(&mut tx, "net-1")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(lineage().await[1].1.network_id, None);
    let mut tx = store.write().await.unwrap();
    let mut renamed = lineage().await[0].0.clone();
    renamed.name = "Patched".into();
    groups::update(&mut tx, &renamed).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(lineage().await[0].0.name, "Patched");
    let mut tx = store.write().await.unwrap();
    groups::set_subtree_status(&mut tx, &root.id, "archived", NOW, "t")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let statuses: Vec<String> = lineage()
        .await
        .iter()
        .map(|(g, _)| g.status.clone())
        .collect();
    assert_eq!(statuses, ["archived", "archived"]);
    let mut tx = store.write().await.unwrap();
    groups::delete(&mut tx, &default.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(lineage().await.is_empty());
}

on_every_engine!(reads_go_on_after_another_node_adds_a_column);
/// A newer node's migration adds columns while this one runs: its statements, already prepared on
/// its connections, still answer (on PostgreSQL a prepared statement whose result would gain a
/// column is refused, so none reads `table.*` into its result).
async fn reads_go_on_after_another_node_adds_a_column(store: &Store) {
    let one = account(store, "ADD").await;
    let tree = groups::in_datacenter(store.reader(), one.id, "WA1")
        .await
        .unwrap();
    let default = tree.iter().find(|g| g.name == "Default Group").unwrap();
    let before = groups::lineage(store.reader(), one.id, &default.id)
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    let new = server(&one, &default.id, "WA1ADDSRV01");
    servers::insert(&mut tx, &[(&new, &provisioning("WA1ADDSRV", 1))])
        .await
        .unwrap();
    let user = users::insert(&mut tx, one.id, "adder", "hash", &["ServerAdmin"], NOW, "t")
        .await
        .unwrap()
        .unwrap();
    users::insert_token(&mut tx, b"token-add", user, NOW, NOW + 100)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let caller = || async move {
        let (p, _) = users::principal(store.reader(), b"token-add", NOW)
            .await
            .unwrap()
            .expect("the token's caller");
        format!("{p:?}")
    };
    let caller_before = caller().await;
    let server_before = servers::get(store.reader(), one.id, &new.id)
        .await
        .unwrap()
        .expect("inserted");
    for table in [
        "groups",
        "group_defaults",
        "servers",
        "accounts",
        "ip_addresses",
        "users",
        "tokens",
    ] {
        let mut tx = store.write().await.unwrap();
        store::db::query(&format!("ALTER TABLE {table} ADD COLUMN added_later TEXT"))
            .execute(&mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    for _ in 0..3 {
        let after = groups::lineage(store.reader(), one.id, &default.id)
            .await
            .unwrap();
        assert_eq!(format!("{after:?}"), format!("{before:?}"));
        let server_after = servers::get(store.reader(), one.id, &new.id).await.unwrap();
        assert_eq!(
            format!("{server_after:?}"),
            format!("{:?}", Some(&server_before))
        );
        assert_eq!(caller().await, caller_before);
    }
}

on_every_engine!(users_and_tokens);
async fn users_and_tokens(store: &Store) {
    // Callers kept for longer than the test can take, however slow the machine.
    let callers = store::callers::Callers::trusting_for(std::time::Duration::from_secs(600));
    let store = &store
        .clone()
        .keeping_callers_in(std::sync::Arc::new(callers));
    let a = account(store, "USR").await;
    let mut tx = store.write().await.unwrap();
    let roles = ["ServerAdmin"];
    let id = users::insert(&mut tx, a.id, "Alice", "hash-1", &roles, NOW, "t")
        .await
        .unwrap()
        .unwrap();
    let again = users::insert(&mut tx, a.id, "alice", "hash-2", &roles, NOW, "t")
        .await
        .unwrap();
    assert!(again.is_none(), "usernames are unique in any case");
    users::insert_token(&mut tx, b"token-a", id, NOW, NOW + 100)
        .await
        .unwrap();
    users::insert_token(&mut tx, b"token-b", id, NOW, NOW + 100)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let login = users::for_login(store.reader(), "ALICE")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            login.username.as_str(),
            login.password_hash.as_str(),
            login.disabled
        ),
        ("Alice", "hash-1", false)
    );
    assert_eq!(login.roles, vec!["ServerAdmin".to_owned()]);
    let p = store.caller(b"token-a", NOW + 99).await.unwrap().unwrap();
    assert_eq!((p.user_id, p.account.alias.as_str()), (id, "USR"));
    assert!(
        store.caller(b"token-a", NOW + 100).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.caller(b"unknown", NOW).await.unwrap().is_none());
    // The caller is kept: a change nothing counted is not seen (within the trust window)...
    let behind_the_stores_back = |sql: String| async move {
        let mut tx = store.write().await.unwrap();
        store::db::query(&sql).execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
    };
    behind_the_stores_back(format!(
        "UPDATE users SET roles = 'AccountViewer' WHERE id = {id}"
    ))
    .await;
    let kept = store.caller(b"token-a", NOW).await.unwrap().unwrap();
    assert_eq!(kept.roles, ["ServerAdmin"], "read again");
    // ...one the store counts is, with everything committed before it.
    let mut tx = store.write().await.unwrap();
    users::set_roles(&mut tx, id, &["AccountViewer", "BillingManager"], NOW, "t")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let read = store.caller(b"token-a", NOW).await.unwrap().unwrap();
    assert_eq!(
        read.roles,
        ["AccountViewer", "BillingManager"],
        "not read again"
    );
    // Every statement that changes callers counts: a new password (which revokes the tokens),
    // disabling, revoking, a custom field for the account.
    let mut tx = store.write().await.unwrap();
    users::set_password(&mut tx, id, "hash-3", NOW, "t")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        store.caller(b"token-a", NOW).await.unwrap().is_none(),
        "revoked"
    );
    let token = |name: &'static [u8]| async move {
        let mut tx = store.write().await.unwrap();
        users::insert_token(&mut tx, name, id, NOW, NOW + 100)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(store.caller(name, NOW).await.unwrap().is_some(), "kept");
    };
    token(b"token-r").await;
    let mut tx = store.write().await.unwrap();
    assert_eq!(users::revoke_tokens(&mut tx, id).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert!(
        store.caller(b"token-r", NOW).await.unwrap().is_none(),
        "revoked"
    );
    token(b"token-f").await;
    let mut tx = store.write().await.unwrap();
    let field = CustomFieldDef {
        id: "f-1".into(),
        name: "Cost center".into(),
        is_required: false,
        kind: "text".into(),
        options: Vec::new(),
    };
    assert!(accounts::insert_custom_field(&mut tx, a.id, &field)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let read = store.caller(b"token-f", NOW).await.unwrap().unwrap();
    assert!(read.account.has_custom_fields, "read again");
    token(b"token-c").await;
    let mut tx = store.write().await.unwrap();
    users::set_disabled(&mut tx, id, true, NOW, "t")
        .await
        .unwrap();
    assert!(users::get(&mut tx, "nobody").await.unwrap().is_none());
    assert_eq!(users::get(&mut tx, "ALICE").await.unwrap().unwrap().id, id);
    tx.commit().await.unwrap();
    assert!(
        store.caller(b"token-c", NOW).await.unwrap().is_none(),
        "disabled"
    );
    assert!(
        users::for_login(store.reader(), "alice")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
}

on_every_engine!(an_account_shows_its_parent_and_whether_it_has_custom_fields);
async fn an_account_shows_its_parent_and_whether_it_has_custom_fields(store: &Store) {
    let parent = account(store, "TOP").await;
    let mut tx = store.write().await.unwrap();
    let new = NewAccount {
        alias: "sub",
        name: "Sub",
        parent: Some(&parent),
        primary_dc: "WA1",
    };
    let sub = create_account(&mut tx, &Catalog::built_in(), new, NOW, "t")
        .await
        .unwrap();
    let id = users::insert(&mut tx, sub.id, "sub-admin", "hash", &[], NOW, "t")
        .await
        .unwrap()
        .unwrap();
    users::insert_token(&mut tx, b"token-sub", id, NOW, NOW + 100)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(sub.parent_alias.as_deref(), Some("TOP"));
    assert_eq!(parent.parent_alias, None);
    // Read with the caller's token, as every request reads it.
    let caller = || async {
        users::principal(store.reader(), b"token-sub", NOW)
            .await
            .unwrap()
            .unwrap()
            .0
            .account
    };
    assert_eq!(caller().await.parent_alias.as_deref(), Some("TOP"));
    assert!(!caller().await.has_custom_fields);

    let field = |name: &str| CustomFieldDef {
        id: format!("id-{name}"),
        name: name.to_owned(),
        is_required: false,
        kind: "text".into(),
        options: Vec::new(),
    };
    let mut tx = store.write().await.unwrap();
    assert!(
        accounts::insert_custom_field(&mut tx, sub.id, &field("Cost Center"))
            .await
            .unwrap()
    );
    assert!(
        !accounts::insert_custom_field(&mut tx, sub.id, &field("cost center"))
            .await
            .unwrap(),
        "names are unique in any case"
    );
    tx.commit().await.unwrap();
    assert!(caller().await.has_custom_fields);
    let by_alias = accounts::by_alias(store.reader(), "SUB")
        .await
        .unwrap()
        .unwrap();
    assert!(by_alias.has_custom_fields);
    // The parent has none of its own.
    let top = accounts::by_alias(store.reader(), "TOP")
        .await
        .unwrap()
        .unwrap();
    assert!(!top.has_custom_fields);
}

/// A snapshot of a server, as taken now.
fn snapshot(server_id: &str) -> ctlcloud::model::Snapshot {
    ctlcloud::model::Snapshot {
        id: 0,
        server_id: server_id.into(),
        taken_at: NOW,
        expires_at: NOW + 86_400,
        cpu: 1,
        memory_mb: 1024,
        disks: Vec::new(),
        power_state: "started".into(),
        delete_job: None,
    }
}

fn server(a: &Account, group_id: &str, id: &str) -> Server {
    Server {
        id: id.into(),
        uuid: ctlcloud::ids::new_id(),
        account_id: a.id,
        dc: "WA1".into(),
        group_id: group_id.into(),
        description: "d".into(),
        template: "UBUNTU-16-64-TEMPLATE".into(),
        cpu: 1,
        memory_mb: 1024,
        server_type: "standard".into(),
        storage_type: "standard".into(),
        managed_os: false,
        managed_backup: true,
        status: "underConstruction".into(),
        power_state: "stopped".into(),
        in_maintenance: false,
        disks: vec![ctlcloud::model::Disk {
            id: "0:0".into(),
            size_gb: 2,
            paths: vec!["/".into()],
        }],
        custom_fields: Vec::new(),
        change: ChangeInfo {
            created_at: NOW,
            created_by: "t".into(),
            modified_at: NOW,
            modified_by: "t".into(),
        },
        addresses: Vec::new(),
        attached: Default::default(),
    }
}

/// A new account with its root group and its first network in WA1.
async fn account_in_wa1(
    store: &Store,
    alias: &str,
) -> (Account, ctlcloud::model::Group, ctlcloud::model::Network) {
    let a = account(store, alias).await;
    let root = groups::root(store.reader(), a.id, "WA1")
        .await
        .unwrap()
        .unwrap();
    let net = networks::list(store.reader(), a.id, "WA1")
        .await
        .unwrap()
        .remove(0);
    (a, root, net)
}

on_every_engine!(the_lowest_free_address_fills_holes_first);
async fn the_lowest_free_address_fills_holes_first(store: &Store) {
    let (a, group, net) = account_in_wa1(store, "GAP").await;
    let first = *net.assignable().start();
    let mut tx = store.write().await.unwrap();
    let mut hold = Vec::new();
    for seq in 1..=4 {
        let name = format!("WA1GAPWEB{seq:02}");
        let provisioning = provisioning("WA1GAPWEB", seq);
        servers::insert(&mut tx, &[(&server(&a, &group.id, &name), &provisioning)])
            .await
            .unwrap();
        hold.push(name);
    }
    assert_eq!(
        networks::lowest_free(&mut tx, &net).await.unwrap(),
        Some(first)
    );
    // A run from the first address: the next one after it.
    networks::assign(
        &mut tx,
        &[(&net.id, first, &hold[0]), (&net.id, first + 1, &hold[1])],
    )
    .await
    .unwrap();
    assert_eq!(
        networks::lowest_free(&mut tx, &net).await.unwrap(),
        Some(first + 2)
    );
    assert_eq!(
        networks::free_addresses(&mut tx, &net, 3).await.unwrap(),
        vec![first + 2, first + 3, first + 4]
    );
    // A hole in the run: the hole, then the addresses after the highest.
    networks::assign(&mut tx, &[(&net.id, first + 3, &hold[2])])
        .await
        .unwrap();
    assert_eq!(
        networks::lowest_free(&mut tx, &net).await.unwrap(),
        Some(first + 2)
    );
    assert_eq!(
        networks::free_addresses(&mut tx, &net, 3).await.unwrap(),
        vec![first + 2, first + 4, first + 5]
    );
    // A hole at the start (its server deleted): the start.
    networks::assign(&mut tx, &[(&net.id, first + 2, &hold[3])])
        .await
        .unwrap();
    servers::delete(&mut tx, &hold[0]).await.unwrap();
    assert_eq!(
        networks::lowest_free(&mut tx, &net).await.unwrap(),
        Some(first)
    );
    drop(tx);
}

on_every_engine!(tables_that_grow_are_analysed_on_postgresql);
async fn tables_that_grow_are_analysed_on_postgresql(store: &Store) {
    let (a, group, _) = account_in_wa1(store, "GROW").await;
    if store.engine() == store::Engine::Postgres {
        // Autovacuum could analyse the table first; this test's database is its own.
        store::db::query("ALTER TABLE servers SET (autovacuum_enabled = false)")
            .execute(store.reader())
            .await
            .unwrap();
    }
    let insert = |prefixes: Vec<String>| {
        let (a, group) = (a.clone(), group.clone());
        async move {
            let rows: Vec<(Server, servers::Provisioning)> = prefixes
                .iter()
                .map(|prefix| {
                    (
                        server(&a, &group.id, &format!("{prefix}01")),
                        provisioning(prefix, 1),
                    )
                })
                .collect();
            let mut tx = store.write().await.unwrap();
            let refs: Vec<_> = rows.iter().map(|(s, p)| (s, p)).collect();
            servers::insert(&mut tx, &refs).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let prefixes: Vec<String> = (0..1_200).map(|i| format!("WA1GROW{i:04}")).collect();
    insert(prefixes.clone()).await;

    let analysed = || async { store::statistics::analyze_grown(store).await.unwrap() };
    if store.engine() == store::Engine::Sqlite {
        assert_eq!(analysed().await, Vec::<String>::new());
        return;
    }
    // PostgreSQL counts the rows once the inserting session reports them, within a second or so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let tables = analysed().await;
        if tables.iter().any(|t| t == "servers") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "servers were never analysed; last time: {tables:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        !analysed().await.iter().any(|t| t == "servers"),
        "a table is analysed again only once it has grown again"
    );
    // A create's read of the names in use, for a batch of thirty, is planned from the statistics:
    // PostgreSQL expects a row for each name (each is used once), not a share of the table's rows.
    let some: Vec<String> = prefixes[..30].iter().map(|p| format!("'{p}'")).collect();
    let plan: Vec<String> = store::db::query_scalar(&format!(
        "EXPLAIN SELECT name_prefix, seq FROM servers WHERE name_prefix IN ({})",
        some.join(", ")
    ))
    .fetch_all(store.reader())
    .await
    .unwrap();
    assert!(plan[0].contains(" rows=30 "), "{plan:?}");
    // From a small sample: a histogram of ten buckets rather than the default hundred.
    let bounds: i64 = store::db::query_scalar(
        "SELECT array_length(histogram_bounds::TEXT::TEXT[], 1)::BIGINT FROM pg_stats \
         WHERE schemaname = current_schema() AND tablename = 'servers' AND attname = 'id'",
    )
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!(bounds, 11);

    // Grown twice over again while another node analyses: this one leaves it to that node.
    insert((0..1_300).map(|i| format!("WA1GROWN{i:04}")).collect()).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let counted: i64 = store::db::query_scalar(
            "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'servers'",
        )
        .fetch_one(store.reader())
        .await
        .unwrap();
        if counted >= 2_500 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{counted} servers counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut other_node = store.write().await.unwrap();
    store::lock(&mut other_node, store::Lock::Statistics)
        .await
        .unwrap();
    assert_eq!(analysed().await, Vec::<String>::new());
    other_node.commit().await.unwrap();
    assert!(analysed().await.iter().any(|t| t == "servers"));
}

on_every_engine!(a_batch_of_creates_reads_its_groups_count_and_names_together);
async fn a_batch_of_creates_reads_its_groups_count_and_names_together(store: &Store) {
    let (a, group, _) = account_in_wa1(store, "STD").await;
    let (_, others, _) = account_in_wa1(store, "OTS").await;
    let mut tx = store.write().await.unwrap();
    for (prefix, seq) in [("WA1STDWEB", 3), ("WA1STDWEB", 1), ("WA1STDDB", 2)] {
        let name = format!("{prefix}{seq:02}");
        servers::insert(
            &mut tx,
            &[(&server(&a, &group.id, &name), &provisioning(prefix, seq))],
        )
        .await
        .unwrap();
    }
    // More prefixes than the statement's smallest list holds, most of them unused.
    let unused: Vec<String> = (0..40).map(|i| format!("WA1STDAPP{i}")).collect();
    let mut prefixes = vec!["WA1STDWEB", "WA1STDDB"];
    prefixes.extend(unused.iter().map(String::as_str));
    let upper = group.id.to_uppercase();
    let asked = [upper.as_str(), others.id.as_str(), "no-such-group"];
    let standing = store::accepted::standing(&mut tx, a.id, &asked, &prefixes)
        .await
        .unwrap();
    assert_eq!(standing.servers, 3);
    let found: Vec<&String> = standing.groups.keys().collect();
    assert_eq!(
        found,
        vec![&group.id],
        "another account's group is not read"
    );
    assert_eq!(standing.groups[&group.id].name, group.name);
    assert_eq!(standing.seqs.len(), 2, "{:?}", standing.seqs);
    assert_eq!(standing.seqs["WA1STDWEB"], vec![1, 3]);
    assert_eq!(standing.seqs["WA1STDDB"], vec![2]);
}

/// What a create of `WA1SRVWEB`, `WA1SRVDB` or `WA1SRVAPP` in the account would be decided against.
async fn srv_standing(tx: &mut store::Tx, account_id: i64) -> store::accepted::Standing {
    let prefixes = ["WA1SRVWEB", "WA1SRVDB", "WA1SRVAPP"];
    store::accepted::standing(tx, account_id, &["no-such-group"], &prefixes)
        .await
        .unwrap()
}

on_every_engine!(servers_names_and_addresses_never_collide);
async fn servers_names_and_addresses_never_collide(store: &Store) {
    let (a, group, net) = account_in_wa1(store, "SRV").await;
    let provisioning = |seq| servers::Provisioning {
        secondary_dns: Some("10.0.0.2"),
        ..provisioning("WA1SRVWEB", seq)
    };
    let mut tx = store.write().await.unwrap();
    let mut other = provisioning(3);
    other.name_prefix = "WA1SRVDB";
    servers::insert(
        &mut tx,
        &[
            (&server(&a, &group.id, "WA1SRVWEB01"), &provisioning(1)),
            (&server(&a, &group.id, "WA1SRVDB03"), &other),
        ],
    )
    .await
    .unwrap();
    let first = networks::lowest_free(&mut tx, &net).await.unwrap().unwrap();
    networks::assign(&mut tx, &[(&net.id, first, "WA1SRVWEB01")])
        .await
        .unwrap();
    let used = srv_standing(&mut tx, a.id).await;
    assert_eq!(used.servers, 2);
    assert_eq!(used.seqs.len(), 2, "{:?}", used.seqs);
    assert_eq!(used.seqs["WA1SRVWEB"], vec![1]);
    assert_eq!(used.seqs["WA1SRVDB"], vec![3]);
    assert_ne!(
        networks::lowest_free(&mut tx, &net).await.unwrap().unwrap(),
        first
    );
    assert!(networks::is_assigned(&mut tx, &net.id, first)
        .await
        .unwrap());
    tx.commit().await.unwrap();

    // The constraints hold even if the allocation logic were wrong.
    let mut tx = store.write().await.unwrap();
    assert!(servers::insert(
        &mut tx,
        &[(&server(&a, &group.id, "WA1SRVWEB99"), &provisioning(1))]
    )
    .await
    .is_err());
    drop(tx);
    let mut tx = store.write().await.unwrap();
    servers::insert(
        &mut tx,
        &[(&server(&a, &group.id, "WA1SRVWEB02"), &provisioning(2))],
    )
    .await
    .unwrap();
    assert!(
        networks::assign(&mut tx, &[(&net.id, first, "WA1SRVWEB02")])
            .await
            .is_err()
    );
    drop(tx);

    let stored = servers::get(store.reader(), a.id, "wa1srvweb01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.addresses, vec![first]);
    assert!(stored.managed_backup && !stored.managed_os);
    assert_eq!(stored.disks[0].paths, vec!["/".to_owned()]);
    assert_eq!(
        servers::get_by(
            store.reader(),
            a.id,
            servers::Key::Uuid,
            &stored.uuid.to_uppercase()
        )
        .await
        .unwrap()
        .unwrap()
        .id,
        "WA1SRVWEB01"
    );
    assert_eq!(
        servers::password(store.reader(), "WA1SRVWEB01")
            .await
            .unwrap()
            .as_deref(),
        Some("secret-pw")
    );
    assert!(servers::get(store.reader(), a.id + 1, "WA1SRVWEB01")
        .await
        .unwrap()
        .is_none());
    let mut members = groups::memberships(store.reader(), &[group.id.as_str()])
        .await
        .unwrap();
    members.sort();
    assert_eq!(
        members,
        vec![
            (group.id.clone(), "WA1SRVDB03".into()),
            (group.id.clone(), "WA1SRVWEB01".into())
        ]
    );

    let mut tx = store.write().await.unwrap();
    servers::set_state(&mut tx, &["WA1SRVWEB01"], "active", "started")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let active = servers::get(store.reader(), a.id, "WA1SRVWEB01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (active.status.as_str(), active.power_state.as_str()),
        ("active", "started")
    );
    let mut tx = store.write().await.unwrap();
    servers::delete(&mut tx, "WA1SRVWEB01").await.unwrap();
    servers::delete(&mut tx, "WA1SRVDB03").await.unwrap();
    tx.commit().await.unwrap();
    assert!(servers::get(store.reader(), a.id, "WA1SRVWEB01")
        .await
        .unwrap()
        .is_none());
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        srv_standing(&mut tx, a.id).await.servers,
        0,
        "the count follows deletes and rollbacks"
    );
    drop(tx);
    assert!(
        networks::assigned(store.reader(), &net.id)
            .await
            .unwrap()
            .is_empty(),
        "the address is free again"
    );
}

/// How a test server is provisioned: a password, no DNS servers, no packages.
fn provisioning(name_prefix: &str, seq: i64) -> servers::Provisioning<'_> {
    static NO_PACKAGES: serde_json::Value = serde_json::Value::Array(Vec::new());
    servers::Provisioning {
        name_prefix,
        seq,
        password: "secret-pw",
        primary_dns: None,
        secondary_dns: None,
        packages: &NO_PACKAGES,
    }
}

fn job<'a>(a: &Account, server: Option<&'a str>, run_after: i64) -> jobs::NewJob<'a> {
    jobs::NewJob {
        account_id: a.id,
        dc: "WA1",
        kind: JobKind::CreateServer,
        server_id: server,
        payload: serde_json::json!({"n": 1}),
        requested_by: "t",
        run_after,
    }
}

on_every_engine!(servers_read_together_come_with_their_own_addresses_and_attachments);
async fn servers_read_together_come_with_their_own_addresses_and_attachments(store: &Store) {
    let (a, group, net) = account_in_wa1(store, "MNY").await;
    let (b, b_group, _) = account_in_wa1(store, "MNZ").await;
    let first = *net.assignable().start();
    let mut tx = store.write().await.unwrap();
    servers::insert(
        &mut tx,
        &[
            (
                &server(&a, &group.id, "WA1MNYWEB01"),
                &provisioning("WA1MNYWEB", 1),
            ),
            (
                &server(&a, &group.id, "WA1MNYWEB02"),
                &provisioning("WA1MNYWEB", 2),
            ),
            (
                &server(&a, &group.id, "WA1MNYWEB03"),
                &provisioning("WA1MNYWEB", 3),
            ),
            (
                &server(&b, &b_group.id, "WA1MNZWEB01"),
                &provisioning("WA1MNZWEB", 1),
            ),
        ],
    )
    .await
    .unwrap();
    // WEB01: its secondary adapter's address stored first and below its primary address; WEB02:
    // an adapter still being added, not shown; WEB03: no address at all.
    networks::reserve_secondary(&mut tx, &net.id, first + 3, "WA1MNYWEB01")
        .await
        .unwrap();
    networks::confirm_secondary(&mut tx, &net.id, "WA1MNYWEB01")
        .await
        .unwrap();
    networks::assign(
        &mut tx,
        &[
            (&net.id, first + 5, "WA1MNYWEB01"),
            (&net.id, first + 1, "WA1MNYWEB02"),
        ],
    )
    .await
    .unwrap();
    networks::reserve_secondary(&mut tx, &net.id, first + 2, "WA1MNYWEB02")
        .await
        .unwrap();
    // WEB01 also has a snapshot, which is read with it as attached.
    store::snapshots::insert(&mut tx, &snapshot("WA1MNYWEB01"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let names = [
        "WA1MNYWEB03",
        "WA1MNYWEB01",
        "WA1NOSUCH01",
        "WA1MNZWEB01",
        "WA1MNYWEB02",
    ];
    let mut read = servers::get_many(store.reader(), servers::Key::Name, &names)
        .await
        .unwrap();
    read.sort_by(|x, y| x.id.cmp(&y.id));
    let seen: Vec<(&str, i64, Vec<u32>, bool)> = read
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.account_id,
                s.addresses.clone(),
                s.attached.snapshots,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("WA1MNYWEB01", a.id, vec![first + 5, first + 3], true),
            ("WA1MNYWEB02", a.id, vec![first + 1], false),
            ("WA1MNYWEB03", a.id, vec![], false),
            ("WA1MNZWEB01", b.id, vec![], false),
        ]
    );
    assert!(read
        .iter()
        .all(|s| !s.attached.public_ips && !s.attached.alert_policies));
    for s in &read {
        let alone = servers::get(store.reader(), s.account_id, &s.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (alone.uuid.as_str(), &alone.addresses),
            (s.uuid.as_str(), &s.addresses)
        );
    }
    // More names than one statement takes.
    let mut many: Vec<String> = (0..300).map(|i| format!("WA1NONE{i:03}")).collect();
    many.push("WA1MNYWEB01".into());
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let found = servers::get_many(store.reader(), servers::Key::Name, &many)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].addresses, vec![first + 5, first + 3]);
    let uuids = [found[0].uuid.as_str(), "no-such-uuid"];
    let by_uuid = servers::get_many(store.reader(), servers::Key::Uuid, &uuids)
        .await
        .unwrap();
    assert_eq!(by_uuid.len(), 1);
    assert_eq!(by_uuid[0].id, "WA1MNYWEB01");
    assert!(servers::get_many(store.reader(), servers::Key::Name, &[])
        .await
        .unwrap()
        .is_empty());
}

on_every_engine!(rows_written_together_keep_each_value_and_null);
/// Rows inserted in one statement (on PostgreSQL one array per column) keep each row's own values,
/// nulls among them, in every kind of column, whatever the number of rows.
async fn rows_written_together_keep_each_value_and_null(store: &Store) {
    let (a, group, _) = account_in_wa1(store, "ROW").await;
    for n in [1usize, 2, 7, 300] {
        let made: Vec<Server> = (0..n)
            .map(|i| {
                let mut s = server(&a, &group.id, &format!("WA1ROW{n}X{i:03}"));
                s.managed_os = i % 2 == 0;
                s.cpu = i as i64 + 1;
                s.description = format!("row {i} of {n}");
                s
            })
            .collect();
        let prefix = format!("WA1ROW{n}X");
        let dns: Vec<String> = (0..n).map(|i| format!("10.0.0.{i}")).collect();
        let provisions: Vec<servers::Provisioning> = (0..n)
            .map(|i| servers::Provisioning {
                // Every third without a DNS server: nulls among values in one column.
                primary_dns: (i % 3 != 0).then_some(dns[i].as_str()),
                ..provisioning(&prefix, i as i64)
            })
            .collect();
        let rows: Vec<_> = made.iter().zip(&provisions).collect();
        let mut tx = store.write().await.unwrap();
        servers::insert(&mut tx, &rows).await.unwrap();
        tx.commit().await.unwrap();

        let stored: Vec<(String, i64, bool, String, Option<String>, i64)> = store::db::query(
            "SELECT id, cpu, managed_os, description, primary_dns, seq FROM servers \
             WHERE name_prefix = ? ORDER BY seq",
        )
        .bind(&prefix)
        .fetch_all(store.reader())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let get = |i| r.try_get::<String, _>(i).unwrap();
            let int = |i| r.try_get::<i64, _>(i).unwrap();
            (
                get(0),
                int(1),
                r.try_get(2).unwrap(),
                get(3),
                r.try_get(4).unwrap(),
                int(5),
            )
        })
        .collect();
        let expected: Vec<_> = made
            .iter()
            .zip(&provisions)
            .map(|(s, p)| {
                let dns = p.primary_dns.map(str::to_owned);
                (
                    s.id.clone(),
                    s.cpu,
                    s.managed_os,
                    s.description.clone(),
                    dns,
                    p.seq,
                )
            })
            .collect();
        assert_eq!(stored, expected, "{n} rows");
    }
}

on_every_engine!(accepted_creates_are_written_and_counted_together);
/// Accepted creates: each server with its address and its jobs, counted in the account and the
/// network, the jobs answered in the order given with the ids they were stored under.
async fn accepted_creates_are_written_and_counted_together(store: &Store) {
    let (a, group, net) = account_in_wa1(store, "ACC").await;
    let first = *net.assignable().start();
    let made: Vec<Server> = (1..=3)
        .map(|i| server(&a, &group.id, &format!("WA1ACCWEB0{i}")))
        .collect();
    let provisions: Vec<_> = (1..=3).map(|i| provisioning("WA1ACCWEB", i)).collect();
    let rows: Vec<_> = made.iter().zip(&provisions).collect();
    let assignments: Vec<networks::Assignment> = made
        .iter()
        .zip(0..)
        .map(|(s, i)| (net.id.as_str(), first + i, s.id.as_str()))
        .collect();
    let mut queued: Vec<jobs::NewJob> = made.iter().map(|s| job(&a, Some(&s.id), 0)).collect();
    // A job without a server, as a time to live is queued.
    queued.push(job(&a, None, NOW + 3600));
    let mut tx = store.write().await.unwrap();
    let answered = store::accepted::write(&mut tx, &rows, &assignments, queued, NOW)
        .await
        .unwrap();
    assert_eq!(srv_standing(&mut tx, a.id).await.servers, 3);
    tx.commit().await.unwrap();

    let servers_of_jobs: Vec<Option<&str>> =
        answered.iter().map(|j| j.server_id.as_deref()).collect();
    assert_eq!(
        servers_of_jobs,
        vec![
            Some("WA1ACCWEB01"),
            Some("WA1ACCWEB02"),
            Some("WA1ACCWEB03"),
            None
        ]
    );
    for j in &answered {
        let stored = jobs::get(store.reader(), a.id, j.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                stored.operation_id.as_str(),
                stored.server_id.as_deref(),
                stored.run_after
            ),
            (j.operation_id.as_str(), j.server_id.as_deref(), j.run_after)
        );
        assert_eq!(stored.status, JobStatus::NotStarted);
    }
    let names: Vec<&str> = made.iter().map(|s| s.id.as_str()).collect();
    let mut read = servers::get_many(store.reader(), servers::Key::Name, &names)
        .await
        .unwrap();
    read.sort_by(|x, y| x.id.cmp(&y.id));
    let addresses: Vec<Vec<u32>> = read.iter().map(|s| s.addresses.clone()).collect();
    assert_eq!(
        addresses,
        vec![vec![first], vec![first + 1], vec![first + 2]]
    );
    let counted = store::db::query("SELECT held, free FROM networks WHERE id = ?")
        .bind(&net.id)
        .fetch_one(store.reader())
        .await
        .unwrap();
    let (held, free): (i64, i64) = (counted.try_get(0).unwrap(), counted.try_get(1).unwrap());
    assert_eq!((held, free), (3, net.capacity() - 3));
}

on_every_engine!(servers_asked_for_at_once_are_each_their_askers_own);
async fn servers_asked_for_at_once_are_each_their_askers_own(store: &Store) {
    let (a, group, net) = account_in_wa1(store, "ASK").await;
    let (b, _, _) = account_in_wa1(store, "ASL").await;
    let first = *net.assignable().start();
    let made: Vec<Server> = (1..=3)
        .map(|i| server(&a, &group.id, &format!("WA1ASKWEB0{i}")))
        .collect();
    let provisioning: Vec<servers::Provisioning> =
        (1..=3).map(|i| provisioning("WA1ASKWEB", i)).collect();
    let rows: Vec<_> = made.iter().zip(&provisioning).collect();
    let mut tx = store.write().await.unwrap();
    servers::insert(&mut tx, &rows).await.unwrap();
    networks::assign(&mut tx, &[(&net.id, first + 7, "WA1ASKWEB02")])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // More at once than one statement reads (on PostgreSQL they are read together): by name in
    // any case and by uuid in any case, by the account and by another account, and names that
    // are no server's. Each gets the server its own account has under that key, or none.
    let mut asked = tokio::task::JoinSet::new();
    for i in 0..600 {
        let s = &made[i % 3];
        let (account_id, key, value, expected) = match i % 6 {
            0 => (
                a.id,
                servers::Key::Name,
                s.id.to_lowercase(),
                Some(s.id.clone()),
            ),
            1 => (
                a.id,
                servers::Key::Uuid,
                s.uuid.to_uppercase(),
                Some(s.id.clone()),
            ),
            2 => (b.id, servers::Key::Name, s.id.clone(), None),
            3 => (b.id, servers::Key::Uuid, s.uuid.clone(), None),
            4 => (a.id, servers::Key::Name, format!("WA1ASKNONE{i}"), None),
            _ => (a.id, servers::Key::Name, s.id.clone(), Some(s.id.clone())),
        };
        let store = store.clone();
        asked.spawn(async move {
            let got = store.server(account_id, key, &value).await.unwrap();
            (i, got, expected)
        });
    }
    let answers = tokio::time::timeout(std::time::Duration::from_secs(60), asked.join_all())
        .await
        .expect("every server asked for is answered");
    assert_eq!(answers.len(), 600);
    for (i, got, expected) in answers {
        assert_eq!(got.as_ref().map(|s| s.id.clone()), expected, "ask {i}");
        if let Some(got) = got {
            assert_eq!(got.account_id, a.id);
            let addresses = if got.id == "WA1ASKWEB02" {
                vec![first + 7]
            } else {
                vec![]
            };
            assert_eq!(got.addresses, addresses, "ask {i}");
        }
    }
}

on_every_engine!(jobs_asked_for_at_once_are_each_their_askers_own);
async fn jobs_asked_for_at_once_are_each_their_askers_own(store: &Store) {
    let a = account(store, "JAS").await;
    let b = account(store, "JAT").await;
    let mut tx = store.write().await.unwrap();
    let queued = jobs::insert_all(
        &mut tx,
        vec![
            job(&a, Some("S1"), 0),
            job(&a, Some("S2"), 0),
            job(&a, None, 0),
        ],
        NOW,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<i64> = queued.iter().map(|j| j.id).collect();
    let operations: Vec<String> = queued.iter().map(|j| j.operation_id.clone()).collect();
    let unknown = ids.iter().max().unwrap() + 1000;

    // More at once than one statement reads (on PostgreSQL they are read together): by number and
    // by operation id in any case, by the account and by another account, and ids of no job.
    // Each gets its own account's job, or none.
    enum Asked {
        Number(i64),
        Operation(String),
    }
    let ask = |expected_status: JobStatus| {
        let mut asked = tokio::task::JoinSet::new();
        for i in 0..600 {
            let (id, operation) = (ids[i % 3], operations[i % 3].to_uppercase());
            let (account_id, asked_for, expected) = match i % 6 {
                0 => (a.id, Asked::Number(id), Some((id, expected_status))),
                1 => (
                    a.id,
                    Asked::Operation(operation),
                    Some((id, expected_status)),
                ),
                2 => (b.id, Asked::Number(id), None),
                3 => (b.id, Asked::Operation(operation), None),
                4 => (a.id, Asked::Number(unknown + i as i64), None),
                _ => (a.id, Asked::Operation(format!("{i:032x}")), None),
            };
            let store = store.clone();
            asked.spawn(async move {
                let id = match &asked_for {
                    Asked::Number(number) => jobs::Id::Number(*number),
                    Asked::Operation(operation) => jobs::Id::Operation(operation),
                };
                let got = store.job(account_id, id).await.unwrap();
                (i, got.map(|j| (j.id, j.status)), expected)
            });
        }
        async move {
            let answers =
                tokio::time::timeout(std::time::Duration::from_secs(60), asked.join_all())
                    .await
                    .expect("every job asked for is answered");
            assert_eq!(answers.len(), 600);
            for (i, got, expected) in answers {
                assert_eq!(got, expected, "ask {i}");
            }
        }
    };
    ask(JobStatus::NotStarted).await;

    // What was committed before the asks came is what they see.
    let mut tx = store.write().await.unwrap();
    let claimed = jobs::claim(&mut tx, Claiming::Queued, "w", NOW, NOW + 60, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    jobs::finish_all(&mut tx, &ids, "w", JobStatus::Succeeded, None, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    ask(JobStatus::Succeeded).await;
}

on_every_engine!(a_server_knows_what_is_attached_to_it_as_it_changes);
async fn a_server_knows_what_is_attached_to_it_as_it_changes(store: &Store) {
    use store::{alert_policies, public_ips, snapshots};
    let (a, group, _) = account_in_wa1(store, "ATT").await;
    let (one, two) = (
        server(&a, &group.id, "WA1ATTWEB01"),
        server(&a, &group.id, "WA1ATTWEB02"),
    );
    let mut tx = store.write().await.unwrap();
    servers::insert(
        &mut tx,
        &[
            (&one, &provisioning("WA1ATTWEB", 1)),
            (&two, &provisioning("WA1ATTWEB", 2)),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // (snapshots, public IPs, alert policies) of each server, as a read of it shows them.
    let attached = || async {
        let mut read = servers::get_many(
            store.reader(),
            servers::Key::Name,
            &["WA1ATTWEB01", "WA1ATTWEB02"],
        )
        .await
        .unwrap();
        read.sort_by(|x, y| x.id.cmp(&y.id));
        read.iter()
            .map(|s| {
                (
                    s.attached.snapshots,
                    s.attached.public_ips,
                    s.attached.alert_policies,
                )
            })
            .collect::<Vec<_>>()
    };
    const NONE: (bool, bool, bool) = (false, false, false);
    assert_eq!(attached().await, [NONE, NONE]);

    let settings = ctlcloud::model::PublicIpSettings {
        internal: one.addresses.first().copied().unwrap_or(1),
        ports: Vec::new(),
        source_restrictions: Vec::new(),
    };
    let policy = |id: &str| alert_policies::AlertPolicy {
        id: id.into(),
        name: id.into(),
        actions: serde_json::json!([]),
        triggers: serde_json::json!([]),
    };
    let mut tx = store.write().await.unwrap();
    let first = snapshots::insert(&mut tx, &snapshot("WA1ATTWEB01"))
        .await
        .unwrap();
    let second = snapshots::insert(&mut tx, &snapshot("WA1ATTWEB01"))
        .await
        .unwrap();
    let ip_one = public_ips::allocate(&mut tx, a.id, "WA1", "WA1ATTWEB01", &settings, NOW)
        .await
        .unwrap()
        .unwrap();
    let ip_two = public_ips::allocate(&mut tx, a.id, "WA1", "WA1ATTWEB02", &settings, NOW)
        .await
        .unwrap()
        .unwrap();
    public_ips::allocate(&mut tx, a.id, "WA1", "WA1ATTWEB02", &settings, NOW)
        .await
        .unwrap()
        .unwrap();
    alert_policies::insert(&mut tx, a.id, &policy("p1"), NOW)
        .await
        .unwrap();
    alert_policies::insert(&mut tx, a.id, &policy("p2"), NOW)
        .await
        .unwrap();
    assert!(alert_policies::attach(&mut tx, "WA1ATTWEB01", "p1")
        .await
        .unwrap());
    assert!(!alert_policies::attach(&mut tx, "WA1ATTWEB01", "p1")
        .await
        .unwrap());
    assert!(alert_policies::attach(&mut tx, "WA1ATTWEB02", "p1")
        .await
        .unwrap());
    assert!(alert_policies::attach(&mut tx, "WA1ATTWEB02", "p2")
        .await
        .unwrap());
    tx.commit().await.unwrap();
    assert_eq!(attached().await, [(true, true, true), (false, true, true)]);

    // Each goes as it came, one at a time: what is left still shows.
    let mut tx = store.write().await.unwrap();
    assert!(snapshots::delete(&mut tx, first.id).await.unwrap());
    assert!(!snapshots::delete(&mut tx, first.id).await.unwrap());
    public_ips::release(&mut tx, ip_one).await.unwrap();
    public_ips::release(&mut tx, ip_one).await.unwrap();
    public_ips::release(&mut tx, ip_two).await.unwrap();
    assert!(alert_policies::detach(&mut tx, "WA1ATTWEB01", "p1")
        .await
        .unwrap());
    assert!(!alert_policies::detach(&mut tx, "WA1ATTWEB01", "p1")
        .await
        .unwrap());
    // Deleting a policy takes it off every server it applied to, and no other.
    assert!(alert_policies::delete(&mut tx, a.id, "P1").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(
        attached().await,
        [(true, false, false), (false, true, true)]
    );

    let mut tx = store.write().await.unwrap();
    assert!(snapshots::delete(&mut tx, second.id).await.unwrap());
    public_ips::release_server(&mut tx, "WA1ATTWEB02")
        .await
        .unwrap();
    assert!(alert_policies::delete(&mut tx, a.id, "p2").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(attached().await, [NONE, NONE]);
}

on_every_engine!(jobs_are_claimed_once_in_order_and_taken_over_after_their_lease);
async fn jobs_are_claimed_once_in_order_and_taken_over_after_their_lease(store: &Store) {
    let a = account(store, "JOB").await;
    let mut tx = store.write().await.unwrap();
    let first = jobs::insert(&mut tx, job(&a, Some("S1"), 0), NOW)
        .await
        .unwrap();
    // Several in one statement: each answered with its own id.
    let queued = jobs::insert_all(
        &mut tx,
        vec![
            job(&a, Some("S1"), 0),
            job(&a, Some("S2"), 0),
            job(&a, None, NOW + 500),
        ],
        NOW,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let [second, other, later] = <[_; 3]>::try_from(queued).unwrap();
    for queued in [&second, &other, &later] {
        let stored = jobs::get(store.reader(), a.id, queued.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (&stored.operation_id, &stored.server_id, stored.run_after),
            (&queued.operation_id, &queued.server_id, queued.run_after)
        );
    }
    assert_eq!(first.status, JobStatus::NotStarted);
    assert_eq!(first.payload, serde_json::json!({"n": 1}));
    assert!(first.status_id().starts_with("wa1-"));

    let claim_as = |claiming: Claiming, owner: &'static str, now: i64| async move {
        let mut tx = store.write().await.unwrap();
        let claimed = jobs::claim(&mut tx, claiming, owner, now, now + 60, 10)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        claimed.into_iter().map(|j| j.id).collect::<Vec<_>>()
    };
    let claim = |owner: &'static str, now: i64| claim_as(Claiming::Queued, owner, now);
    let take_over = |owner: &'static str, now: i64| claim_as(Claiming::Abandoned, owner, now);
    assert_eq!(
        claim("A", NOW).await,
        vec![first.id, other.id],
        "the second job on S1 waits for the first"
    );
    assert!(
        claim("B", NOW).await.is_empty(),
        "claimed jobs are not claimed again while leased"
    );

    let mut tx = store.write().await.unwrap();
    assert!(
        !jobs::finish(&mut tx, first.id, "B", JobStatus::Succeeded, None, NOW)
            .await
            .unwrap(),
        "only the owner ends a job"
    );
    assert!(jobs::finish(
        &mut tx,
        first.id,
        "A",
        JobStatus::Failed,
        Some("broken"),
        NOW
    )
    .await
    .unwrap());
    tx.commit().await.unwrap();
    let failed = jobs::get(store.reader(), a.id, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (failed.status, failed.error_message.as_deref()),
        (JobStatus::Failed, Some("broken"))
    );
    assert!(jobs::get(store.reader(), a.id + 1, first.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        jobs::get_by_operation_id(store.reader(), a.id, &other.operation_id.to_uppercase())
            .await
            .unwrap()
            .unwrap()
            .id,
        other.id
    );

    assert_eq!(claim("B", NOW).await, vec![second.id]);
    assert!(
        take_over("C", NOW + 60).await.is_empty(),
        "leases hold until they run out"
    );
    // A lease that ran out (its node died) lets another node take the job over; claiming queued
    // work does not.
    assert!(claim("C", NOW + 61).await.is_empty());
    assert_eq!(take_over("C", NOW + 61).await, vec![second.id, other.id]);
    // Scheduled work waits for its time (and C's leases still hold at NOW + 100).
    assert!(claim("C", NOW + 100).await.is_empty());
    assert!(take_over("C", NOW + 100).await.is_empty());
    assert_eq!(take_over("D", NOW + 500).await, vec![second.id, other.id]);
    assert_eq!(claim("D", NOW + 500).await, vec![later.id]);
    let mut tx = store.write().await.unwrap();
    assert_eq!(jobs::expire_leases(&mut tx).await.unwrap(), 3);
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        jobs::open_for_server(&mut tx, "S1", JobKind::CreateServer)
            .await
            .unwrap()
            .unwrap()
            .id,
        second.id
    );
}

on_every_engine!(work_on_a_group_waits_for_older_jobs_and_holds_up_younger_ones);
async fn work_on_a_group_waits_for_older_jobs_and_holds_up_younger_ones(store: &Store) {
    let a = account(store, "GRP").await;
    let b = account(store, "OTHER").await;
    let on_group = |account: &Account| {
        let mut j = job(account, None, 0);
        j.kind = JobKind::ArchiveGroup;
        j
    };
    let mut tx = store.write().await.unwrap();
    let queued = jobs::insert_all(
        &mut tx,
        vec![
            job(&a, None, NOW + 500), // scheduled: holds nothing up before its time
            job(&a, Some("S1"), 0),
            on_group(&a),
            job(&a, Some("S2"), 0),
            job(&b, Some("S3"), 0), // another account's work goes on
        ],
        NOW,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let [scheduled, build, archive, after, elsewhere] = <[_; 5]>::try_from(queued).unwrap();

    let claim = |now: i64| async move {
        let mut tx = store.write().await.unwrap();
        let claimed = jobs::claim(&mut tx, Claiming::Queued, "A", now, now + 60, 10)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        claimed.into_iter().map(|j| j.id).collect::<Vec<_>>()
    };
    let finish = |id: i64| async move {
        let mut tx = store.write().await.unwrap();
        assert!(
            jobs::finish(&mut tx, id, "A", JobStatus::Succeeded, None, NOW)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
    };
    assert_eq!(
        claim(NOW).await,
        vec![build.id, elsewhere.id],
        "the group's job waits for the build, the younger job for the group's"
    );
    finish(build.id).await;
    assert_eq!(claim(NOW).await, vec![archive.id]);
    finish(archive.id).await;
    assert_eq!(claim(NOW).await, vec![after.id]);
    for id in [after.id, elsewhere.id] {
        finish(id).await;
    }
    assert_eq!(claim(NOW + 500).await, vec![scheduled.id]);
}

on_every_engine!(concurrent_claimers_never_share_a_job);
async fn concurrent_claimers_never_share_a_job(store: &Store) {
    let a = account(store, "CLM").await;
    let mut tx = store.write().await.unwrap();
    let ids: Vec<String> = (0..200).map(|i| format!("S{i}")).collect();
    for id in &ids {
        jobs::insert(&mut tx, job(&a, Some(id), 0), NOW)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut claimers = tokio::task::JoinSet::new();
    for owner in 0..4 {
        let store = store.clone();
        claimers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                // As the worker claims: one statement, on PostgreSQL a transaction of its own.
                let mut tx = store.write_one().await.unwrap();
                let claimed = jobs::claim(
                    &mut tx,
                    Claiming::Queued,
                    &format!("node-{owner}"),
                    NOW,
                    NOW + 60,
                    7,
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|j| j.id));
            }
        });
    }
    let mut seen = HashSet::new();
    for claimed in claimers.join_all().await {
        for id in claimed {
            assert!(seen.insert(id), "job {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 200);
}

on_every_engine!(jobs_end_together_only_where_their_worker_still_holds_them);
async fn jobs_end_together_only_where_their_worker_still_holds_them(store: &Store) {
    let a = account(store, "END").await;
    let servers: Vec<String> = (0..5).map(|i| format!("S{i}")).collect();
    let mut tx = store.write().await.unwrap();
    let queued = jobs::insert_all(
        &mut tx,
        servers.iter().map(|s| job(&a, Some(s), 0)).collect(),
        NOW,
    )
    .await
    .unwrap();
    let claimed = jobs::claim(&mut tx, Claiming::Queued, "A", NOW, NOW + 60, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
    tx.commit().await.unwrap();
    let ids: Vec<i64> = queued.iter().map(|j| j.id).collect();
    // The lease of the second was taken over by another worker.
    let mut tx = store.write().await.unwrap();
    let taken = jobs::claim(&mut tx, Claiming::Abandoned, "B", NOW + 61, NOW + 120, 1)
        .await
        .unwrap();
    assert_eq!(taken.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[0]]);
    // Five ids, padded to eight in the statement; the one taken over is left alone.
    let mut ended = jobs::finish_all(&mut tx, &ids, "A", JobStatus::Failed, Some("no"), NOW)
        .await
        .unwrap();
    ended.sort();
    assert_eq!(ended, ids[1..]);
    tx.commit().await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        let stored = jobs::get(store.reader(), a.id, *id).await.unwrap().unwrap();
        let expected = if i == 0 {
            (JobStatus::Executing, None)
        } else {
            (JobStatus::Failed, Some("no"))
        };
        assert_eq!((stored.status, stored.error_message.as_deref()), expected);
    }
}

on_every_engine!(audit_records_written_together_are_all_kept_in_order);
async fn audit_records_written_together_are_all_kept_in_order(store: &Store) {
    let a = account(store, "AUD").await;
    let mut writers = tokio::task::JoinSet::new();
    for n in 0..300 {
        let (store, alias) = (store.clone(), a.alias.clone());
        writers.spawn(async move {
            store
                .audit(audit::NewEntry {
                    at: NOW,
                    actor: "user".into(),
                    account: Some((a.id, alias)),
                    operation: "Create server".into(),
                    target: format!("POST /v2/servers/AUD/{n}"),
                    outcome: 202,
                })
                .await;
        });
    }
    writers.join_all().await;
    // One more from this task: once the store has settled, it is there, after all the others.
    store
        .audit(audit::NewEntry {
            at: NOW,
            actor: "user".into(),
            account: Some((a.id, a.alias.clone())),
            operation: "Delete server".into(),
            target: "DELETE /v2/servers/AUD/last".into(),
            outcome: 202,
        })
        .await;
    store.settled().await;
    let entries = audit::list(store.reader(), audit::Filter::Account(a.id), None, 1000)
        .await
        .unwrap();
    assert_eq!(entries.len(), 301);
    assert_eq!(entries[0].target, "DELETE /v2/servers/AUD/last");
    let targets: HashSet<&str> = entries.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets.len(), 301, "no record is written twice");
}

#[tokio::test]
async fn store_errors_are_errors_not_panics() {
    let missing = Store::open(Location::Postgres(
        "postgres://nobody:wrong@127.0.0.1:1/none",
    ))
    .await;
    assert!(missing.is_err());
    let dir = TempDir::new();
    std::fs::write(dir.0.join("store.db"), b"this is not a database").unwrap();
    assert!(Store::open(Location::File(&dir.0.join("store.db")))
        .await
        .is_err());
    let _ = store::Engine::Sqlite;
}

/// PostgreSQL ends the node's connections (a restart, a failover): the gathered reads that meet an
/// ended connection read again on a new one, so every request is answered with what it asked for,
/// none fails and none waits forever.
#[tokio::test]
async fn gathered_reads_outlive_connections_the_server_ended() {
    let db = TestDatabase::create().await;
    let store = Store::open(Location::Postgres(&db.url)).await.unwrap();
    let (a, group, _) = account_in_wa1(&store, "END").await;
    let made = server(&a, &group.id, "WA1ENDWEB01");
    let mut tx = store.write().await.unwrap();
    servers::insert(&mut tx, &[(&made, &provisioning("WA1ENDWEB", 1))])
        .await
        .unwrap();
    let job = jobs::insert(&mut tx, job(&a, Some("WA1ENDWEB01"), 0), NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let ask_all = || {
        let mut asked = tokio::task::JoinSet::new();
        for i in 0..400usize {
            let store = store.clone();
            asked.spawn(async move {
                let got = if i.is_multiple_of(2) {
                    let got = store.server(a.id, servers::Key::Name, "wa1endweb01").await;
                    got.map(|s| s.map(|s| s.id))
                } else {
                    let got = store.job(a.id, jobs::Id::Number(job.id)).await;
                    got.map(|j| j.map(|j| j.status_id().to_uppercase()))
                };
                (i, got)
            });
        }
        async move {
            tokio::time::timeout(std::time::Duration::from_secs(60), asked.join_all())
                .await
                .expect("every read asked for is answered")
        }
    };
    let expected = |i: usize| {
        if i.is_multiple_of(2) {
            "WA1ENDWEB01".to_owned()
        } else {
            job.status_id().to_uppercase()
        }
    };
    for (i, got) in ask_all().await {
        assert_eq!(got.unwrap(), Some(expected(i)), "ask {i}");
    }

    let outside = sqlx::PgPool::connect(&db.url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&outside)
    .await
    .unwrap();
    assert!(!ended.is_empty(), "the node's connections were ended");
    // The statements that meet an ended connection are read again on a new one: no request fails.
    for round in ["just after", "after"] {
        for (i, got) in ask_all().await {
            assert_eq!(
                got.unwrap(),
                Some(expected(i)),
                "ask {i} {round} the connections ended"
            );
        }
    }
    outside.close().await;
    store.close().await;
}

/// Polls `f` until it is true, for 20 s at most.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A node alone on its PostgreSQL database counts its changes, as an SQLite node counts the
/// commits to its file: the count moves with every change it commits and only then, and is not
/// known while another node (or any process opening the store, `ctlcloud admin` too) shares the
/// database; once the other has gone, the node counts again, anew.
#[tokio::test]
async fn a_node_alone_on_postgresql_counts_its_changes_until_another_joins() {
    let db = TestDatabase::create().await;
    let first = Store::open(Location::Postgres(&db.url)).await.unwrap();
    eventually("alone", || first.commits_seen().is_some()).await;
    let before = first.commits_seen().unwrap();
    let (a, _, _) = account_in_wa1(&first, "ALN").await;
    let counted = first.commits_seen().expect("still alone");
    assert_ne!(counted, before, "its commits move the count");

    // Statements that change nothing leave it: reads, and a claim finding no job.
    servers::get_by(first.reader(), a.id, servers::Key::Name, "none")
        .await
        .unwrap();
    let mut tx = first.write_one().await.unwrap();
    let claimed = jobs::claim(&mut tx, Claiming::Queued, "w", NOW, NOW + 60, 8)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(claimed.is_empty());
    assert_eq!(first.commits_seen(), Some(counted), "nothing changed");

    // Another node joins: by the time it is open, the first no longer counts itself alone.
    let second = Store::open(Location::Postgres(&db.url)).await.unwrap();
    assert_eq!(first.commits_seen(), None, "not alone");
    let (b, _, _) = account_in_wa1(&second, "SEC").await;
    assert_ne!(a.id, b.id);
    assert_eq!(first.commits_seen(), None);
    // Both may change the database side by side.
    account_in_wa1(&first, "THR").await;

    // Once the other has gone, the first is alone again, under a count it has never given.
    second.close().await;
    eventually("alone again", || first.commits_seen().is_some()).await;
    let again = first.commits_seen().unwrap();
    assert!(again > counted, "{again} after {counted}");
    account_in_wa1(&first, "FOU").await;
    assert!(first.commits_seen().unwrap() > again);
    first.close().await;
}
