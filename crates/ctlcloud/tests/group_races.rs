//! Work on a whole group and server creates into it, on PostgreSQL, where write transactions run
//! side by side (SQLite has one writer at a time, so they are in turn there by construction).
//!
//! A job archiving or deleting a group records its effect while holding its account's lock, as
//! creates do: a create arriving meanwhile waits, then finds the group archived or gone and is
//! refused. Without that it would land an unarchived server in an archived group, or fail with the
//! store's foreign key error.

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
use ctlcloud::model::{Account, Group, Job, Principal};
use ctlcloud::store::{self, Location, Store};

fn app(store: Store) -> Arc<App> {
    Arc::new(App::simulated(store, Catalog::built_in()))
}

async fn caller(app: &App) -> Principal {
    let mut tx = app.store.write().await.unwrap();
    let new = NewAccount {
        alias: "RACE",
        name: "RACE",
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
/// until that create is waiting for the account's lock (or has been answered), then commits. The
/// create's answer is returned.
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
    let watcher = sqlx::PgPool::connect(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        .fetch_one(&watcher)
        .await
        .unwrap();
        if waiting > 0 || create.is_finished() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the create neither waits nor answers"
        );
        tokio::task::yield_now().await;
    }
    watcher.close().await;
    recording.commit().await.unwrap();
    create.await.unwrap()
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
    let app = app(Store::open(Location::Postgres(&db.url)).await.unwrap());
    let who = caller(&app).await;
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
    let app = app(Store::open(Location::Postgres(&db.url)).await.unwrap());
    let who = caller(&app).await;
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
