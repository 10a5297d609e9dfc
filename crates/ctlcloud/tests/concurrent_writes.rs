//! Writers that race on PostgreSQL, where write transactions run side by side (SQLite has one
//! writer at a time, so they are in turn there by construction). Each test holds one write
//! transaction open, sends the racing request, waits until it waits, commits, and expects the
//! racing request to see the committed state: answered as it would be a moment later, never with
//! the store's constraint error.
//!
//! - Archiving or deleting a group, and creates into it: the account's lock.
//! - Two requests at once for the same work on a group: the account's lock.
//! - Public IP addresses of any accounts: the lock on the address space.
//! - Releasing a network, or adding a secondary network adapter, while a create takes an address
//!   on it: the account's lock.
//! - Deleting a server while an adapter takes an address for it: the account's lock.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDatabase;
use ctlcloud::app::App;
use ctlcloud::catalog::Catalog;
use ctlcloud::domain::accounts::{create_account, NewAccount};
use ctlcloud::domain::group_actions;
use ctlcloud::domain::groups::{self, NewGroup};
use ctlcloud::domain::servers::{self, NewServer};
use ctlcloud::model::{Account, Group, Job, JobKind, Network, Principal, PublicIpSettings};
use ctlcloud::store::{self, Location, Store, Tx};

/// An application on a store in a database of its own.
async fn app_on(db: &TestDatabase) -> Arc<App> {
    let store = Store::open(Location::Postgres(&db.url)).await.unwrap();
    Arc::new(App::simulated(store, Catalog::built_in()))
}

async fn caller(app: &App, alias: &str) -> Principal {
    let mut tx = app.store.write().await.unwrap();
    let new = NewAccount {
        alias,
        name: alias,
        parent: None,
        primary_dc: "WA1",
    };
    let account = create_account(&mut tx, &app.catalog, new, app.clock.now(), "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Principal {
        user_id: 0,
        username: "racer".into(),
        account,
        roles: vec!["AccountAdmin".into()],
    }
}

async fn group(app: &App, who: &Principal) -> Group {
    let root = store::groups::root(app.store.reader(), who.account.id, "WA1")
        .await
        .unwrap()
        .unwrap();
    let new = NewGroup {
        name: "web".into(),
        description: None,
        parent_id: root.id,
        custom_fields: vec![],
    };
    groups::create(app, who, &who.account, new).await.unwrap()
}

fn server_into(group: &Group) -> NewServer {
    NewServer {
        name: "WEB".into(),
        description: None,
        group_id: group.id.clone(),
        source_server_id: Some("UBUNTU-16-64-TEMPLATE".into()),
        source_server_password: None,
        managed_os: false,
        managed_backup: false,
        primary_dns: None,
        secondary_dns: None,
        network_id: None,
        ip_address: None,
        password: None,
        cpu: Some(1),
        memory_gb: Some(1),
        server_type: "standard".into(),
        storage_type: "standard".into(),
        custom_fields: vec![],
        additional_disks: vec![],
        packages: serde_json::json!([]),
        ttl: None,
    }
}

/// Records `job`'s effect in a transaction left open, sends a create into `group` meanwhile, waits
/// until that create waits (or has been answered), then commits. The create's answer is returned.
async fn create_while_recorded(
    app: &Arc<App>,
    db: &TestDatabase,
    who: &Principal,
    group: &Group,
    job: &Job,
) -> Result<(), String> {
    let mut recording = app.store.write().await.unwrap();
    ctlcloud::steps::apply(&mut recording, app, job, &Ok(()))
        .await
        .unwrap();

    let create = tokio::spawn({
        let (app, who, new) = (app.clone(), who.clone(), server_into(group));
        async move {
            let account: Account = who.account.clone();
            servers::create(&app, &who, &account, new)
                .await
                .map(|_| ())
                .map_err(|e| format!("{} {}", e.status, e.message))
        }
    });
    waits_or_ends(db, &create).await;
    recording.commit().await.unwrap();
    create.await.unwrap()
}

/// Returns once another transaction waits for a lock, or `task` has ended.
async fn waits_or_ends<T>(db: &TestDatabase, task: &tokio::task::JoinHandle<T>) {
    let watcher = sqlx::PgPool::connect(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")
            .fetch_one(&watcher)
            .await
            .unwrap();
        if waiting > 0 || task.is_finished() {
            break;
        }
        assert!(Instant::now() < deadline, "neither waits nor ends");
        tokio::task::yield_now().await;
    }
    watcher.close().await;
}

async fn servers_in(app: &App, group: &Group) -> usize {
    store::groups::servers_in_subtree(app.store.reader(), &group.id)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_create_into_a_group_being_archived_waits_and_is_refused() {
    let db = TestDatabase::create().await;
    let app = app_on(&db).await;
    let who = caller(&app, "RACE").await;
    let group = group(&app, &who).await;
    let job = group_actions::archive(&app, &who, &who.account, &group.id)
        .await
        .unwrap();

    let answer = create_while_recorded(&app, &db, &who, &group, &job).await;
    let refusal = answer.expect_err("a create into an archived group is refused");
    assert!(refusal.starts_with("400 "), "{refusal}");
    assert!(refusal.contains("archived"), "{refusal}");
    assert_eq!(servers_in(&app, &group).await, 0);
    app.store.close().await;
}

#[tokio::test]
async fn a_create_into_a_group_being_deleted_waits_and_is_refused() {
    let db = TestDatabase::create().await;
    let app = app_on(&db).await;
    let who = caller(&app, "RACE").await;
    let group = group(&app, &who).await;
    let job = group_actions::delete(&app, &who, &who.account, &group.id)
        .await
        .unwrap();

    let answer = create_while_recorded(&app, &db, &who, &group, &job).await;
    let refusal = answer.expect_err("a create into a deleted group is refused");
    assert!(refusal.starts_with("400 "), "{refusal}");
    assert!(refusal.contains(&group.id), "{refusal}");
    assert!(
        store::groups::get(app.store.reader(), who.account.id, &group.id)
            .await
            .unwrap()
            .is_none()
    );
    app.store.close().await;
}

#[tokio::test]
async fn a_group_archived_by_two_requests_at_once_is_archived_once() {
    let db = TestDatabase::create().await;
    let app = app_on(&db).await;
    let who = caller(&app, "RACE").await;
    let group = group(&app, &who).await;
    // The first request is between its check for queued work and its commit, holding the
    // account's lock as the request does.
    let mut first = app.store.write().await.unwrap();
    store::lock(&mut first, store::Lock::Account(who.account.id))
        .await
        .unwrap();
    let second = tokio::spawn({
        let (app, who, id) = (app.clone(), who.clone(), group.id.clone());
        async move {
            group_actions::archive(&app, &who, &who.account, &id)
                .await
                .map(|job| job.id)
                .map_err(|e| format!("{} {}", e.status, e.message))
        }
    });
    waits_or_ends(&db, &second).await;
    let queued = store::jobs::insert(
        &mut first,
        store::jobs::NewJob {
            account_id: who.account.id,
            dc: &group.dc,
            kind: JobKind::ArchiveGroup,
            server_id: None,
            payload: serde_json::json!({ "groupId": group.id }),
            requested_by: &who.username,
            run_after: 0,
        },
        app.clock.now(),
    )
    .await
    .unwrap();
    first.commit().await.unwrap();
    assert_eq!(
        second.await.unwrap(),
        Ok(queued.id),
        "the second request answers the first's job instead of queuing another"
    );
    app.store.close().await;
}

/// Builds a server named `name` in a new group of the caller's, active and started; returns its id.
async fn active_server(app: &App, who: &Principal, name: &str) -> String {
    let group = group(app, who).await;
    let mut new = server_into(&group);
    new.name = name.into();
    let (server, _) = servers::create(app, who, &who.account, new).await.unwrap();
    let mut tx = app.store.write().await.unwrap();
    store::servers::set_state(&mut tx, &[server.id.as_str()], "active", "started")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    server.id
}

/// A second network of the caller's in WA1, with no address taken yet.
async fn second_network(app: &App, who: &Principal) -> Network {
    let mut tx = app.store.write().await.unwrap();
    let id = ctlcloud::ids::new_id();
    let mut claimed = ctlcloud::domain::networks::allocate(&mut tx, who.account.id, &[("WA1", id)])
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    claimed.remove(0)
}

/// Holds a transaction open in which a create has just taken `network`'s lowest free address for
/// `server_id`, under the account's lock, as the account's creates do.
async fn create_in_flight(app: &App, who: &Principal, network: &Network, server_id: &str) -> Tx {
    let mut tx = app.store.write().await.unwrap();
    store::lock(&mut tx, store::Lock::Account(who.account.id))
        .await
        .unwrap();
    let address = store::networks::lowest_free(&mut tx, network)
        .await
        .unwrap()
        .unwrap();
    store::networks::assign(&mut tx, &[(network.id.as_str(), address, server_id)])
        .await
        .unwrap();
    tx
}

#[tokio::test]
async fn public_addresses_asked_together_are_never_the_same() {
    let db = TestDatabase::create().await;
    let app = app_on(&db).await;
    let one = caller(&app, "ONE").await;
    let two = caller(&app, "TWO").await;
    let (first, second) = (
        active_server(&app, &one, "WEB").await,
        active_server(&app, &two, "WEB").await,
    );
    let settings = PublicIpSettings {
        internal: 0,
        ports: vec![],
        source_restrictions: vec![],
    };
    let now = app.clock.now();

    let mut held = app.store.write().await.unwrap();
    let taken =
        store::public_ips::allocate(&mut held, one.account.id, "WA1", &first, &settings, now)
            .await
            .unwrap()
            .unwrap();
    let racing = tokio::spawn({
        let (app, settings) = (app.clone(), settings.clone());
        let account = two.account.id;
        async move {
            let mut tx = app.store.write().await?;
            let address =
                store::public_ips::allocate(&mut tx, account, "WA1", &second, &settings, now)
                    .await?;
            tx.commit().await?;
            Ok::<_, store::StoreError>(address)
        }
    });
    waits_or_ends(&db, &racing).await;
    held.commit().await.unwrap();
    let other = racing.await.unwrap().expect("no constraint error").unwrap();
    assert_ne!(other, taken);
    app.store.close().await;
}

#[tokio::test]
async fn a_network_released_while_a_create_takes_an_address_on_it_is_kept() {
    let db = TestDatabase::create().await;
    let app = app_on(&db).await;
    let who = caller(&app, "RACE").await;
    let server = active_server(&app, &who, "WEB").await;
    let network = second_network(&app, &who).await;

    let held = create_in_flight(&app, &who, &network, &server).await;
    let release = tokio::spawn({
        let (app, account, id) = (app.clone(), who.account.clone(), network.id.clone());
        async move {
            ctlcloud::domain::networks::release(&app, &account, "WA1", &id)
                .await
                .map_err(|e| format!("{} {}", e.status, e.message))
        }
    });
    waits_or_ends(&db, &release).await;
    held.commit().await.unwrap();
    let refusal = release
        .await
        .unwrap()
        .expect_err("a network in use is kept");
    assert!(refusal.starts_with("400 "), "{refusal}");
    assert!(refusal.contains("hold 1 of its addresses"), "{refusal}");
    app.store.close().await;
}

#[tokio::test]
async fn an_adapter_added_while_a_create_takes_an_address_gets_another() {
    let db = TestDatabase::create().await;
    let app = app_on(&db).await;
    let who = caller(&app, "RACE").await;
    let creating = active_server(&app, &who, "WEB").await;
    let adapting = active_server(&app, &who, "APP").await;
    let network = second_network(&app, &who).await;

    let held = create_in_flight(&app, &who, &network, &creating).await;
    let add = tokio::spawn({
        let (app, who, id) = (app.clone(), who.clone(), network.id.clone());
        async move {
            ctlcloud::domain::secondary_networks::add(
                &app,
                &who,
                &who.account,
                &adapting,
                &id,
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("{} {}", e.status, e.message))
        }
    });
    waits_or_ends(&db, &add).await;
    held.commit().await.unwrap();
    add.await
        .unwrap()
        .expect("the adapter gets the next free address");
    let mut tx = app.store.read().await.unwrap();
    let holders = store::networks::claimed_count(&mut tx, &network.id)
        .await
        .unwrap();
    assert_eq!(holders, 2);
    drop(tx);
    app.store.close().await;
}

#[tokio::test]
async fn a_server_deleted_while_an_adapter_takes_an_address_for_it_gives_that_one_back_too() {
    let db = TestDatabase::create().await;
    let app = app_on(&db).await;
    let who = caller(&app, "RACE").await;
    let server = active_server(&app, &who, "WEB").await;
    let network = second_network(&app, &who).await;
    let (_, job) = servers::delete(&app, &who, &who.account, &server)
        .await
        .unwrap();

    // The adapter's request holds the account's lock and has taken its address, as it does.
    let mut adding = app.store.write().await.unwrap();
    store::lock(&mut adding, store::Lock::Account(who.account.id))
        .await
        .unwrap();
    let address = store::networks::lowest_free(&mut adding, &network)
        .await
        .unwrap()
        .unwrap();
    store::networks::reserve_secondary(&mut adding, &network.id, address, &server)
        .await
        .unwrap();
    let deleting = tokio::spawn({
        let app = app.clone();
        async move {
            let mut tx = app.store.write().await.unwrap();
            ctlcloud::steps::apply(&mut tx, &app, &job, &Ok(()))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    });
    waits_or_ends(&db, &deleting).await;
    adding.commit().await.unwrap();
    deleting.await.unwrap();

    let mut tx = app.store.read().await.unwrap();
    let holders = store::networks::claimed_count(&mut tx, &network.id)
        .await
        .unwrap();
    assert_eq!(holders, 0, "no address names the deleted server");
    let free = store::networks::lowest_free(&mut tx, &network)
        .await
        .unwrap();
    assert_eq!(free, Some(address), "the adapter's address is free again");
    drop(tx);
    app.store.close().await;
}
