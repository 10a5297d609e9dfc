//! Large accounts: addresses handed out network after network (freed ones first), full networks
//! refused, bulk seeding for benchmarks, and the benchmark harness itself.

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::{
    admin, admin_on, status_href, Options, Session, TempDir, TestDatabase, BIN, PASSWORD,
};
use serde_json::{json, Value};

/// Creates servers 16 at a time; returns each one's internal address, in no particular order.
async fn create_many(s: &Session, count: usize, prefix: &str) -> Vec<String> {
    let body = s.server_body("x").await;
    let mut addresses = Vec::new();
    let mut made = 0;
    while made < count {
        let mut batch = tokio::task::JoinSet::new();
        for n in made..(made + 16).min(count) {
            let (http, url, token) = (
                s.server.http.clone(),
                s.server.url("/v2/servers/DEMO"),
                s.token.clone(),
            );
            let mut body = body.clone();
            body["name"] = format!("{prefix}{n:03}").into();
            batch.spawn(async move {
                let response = http.post(url).bearer_auth(token).json(&body).send().await;
                let response = response.unwrap();
                assert_eq!(response.status().as_u16(), 202);
                response.json::<Value>().await.unwrap()
            });
        }
        made = (made + 16).min(count);
        for answer in batch.join_all().await {
            let (status, server) = s.get(answer["links"][1]["href"].as_str().unwrap()).await;
            assert_eq!(status, 200);
            addresses.push(
                server["details"]["ipAddresses"][0]["internal"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    addresses
}

/// The host addresses servers may get on a /24: .12 to .254.
fn assignable(cidr: &str) -> HashSet<String> {
    let stem = cidr.rsplit_once('.').unwrap().0;
    (12..=254).map(|h| format!("{stem}.{h}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_fill_each_network_in_turn_reuse_freed_ones_and_a_full_account_is_refused() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    admin(
        &dir.0,
        &["seed", "--account", "DEMO", "--networks", "1"],
        None,
    );
    let (_, networks) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    let networks = networks.as_array().unwrap().clone();
    assert_eq!(networks.len(), 2);
    let (first, second) = (&networks[0], &networks[1]);

    let taken: HashSet<String> = create_many(&s, 243, "A").await.into_iter().collect();
    assert_eq!(taken, assignable(first["cidr"].as_str().unwrap()));
    let next = create_many(&s, 1, "B").await;
    let stem = second["cidr"].as_str().unwrap().rsplit_once('.').unwrap().0;
    assert_eq!(next, vec![format!("{stem}.12")]);

    // A full network asked for by id is refused, and nothing is stored.
    let mut body = s.server_body("full").await;
    body["networkId"] = first["id"].clone();
    let (status, refused) = s.post("/v2/servers/DEMO", body.clone()).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("No free address"));
    assert_eq!(s.get("/v2/servers/DEMO/WA1DEMOFULL01").await.0, 404);

    // A freed address is the lowest free one again.
    let (_, held) = s.get("/v2/servers/DEMO/WA1DEMOA00001").await;
    let freed = held["details"]["ipAddresses"][0]["internal"].clone();
    let (status, deleting) = s.delete("/v2/servers/DEMO/WA1DEMOA00001").await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&deleting)).await["status"], "succeeded");
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202, "{created}");
    let (_, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
    assert_eq!(server["details"]["ipAddresses"][0]["internal"], freed);

    // Once every network is full, a create is refused.
    create_many(&s, 242, "C").await;
    let (status, refused) = s
        .post("/v2/servers/DEMO", s.server_body("over").await)
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("No free address"));
}

/// The group id in `ctlcloud admin seed`'s report.
fn seeded_group(report: &str) -> String {
    report
        .split(" in group ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_owned()
}

/// Seeds 300 servers, then 50 more in another group, on the store `database_url` names (the data
/// directory's SQLite file without one), and reads them back over HTTP and from the store.
async fn seeding_adds_built_servers_in_new_groups(database_url: Option<&str>) {
    let dir = TempDir::new();
    let options = Options {
        database_url: database_url.map(str::to_owned),
        ..Default::default()
    };
    let s = Session::start(&dir.0, options).await;
    let seed = |servers: &str, group: &str| {
        let args = [
            "seed",
            "--account",
            "demo",
            "--servers",
            servers,
            "--group",
            group,
        ];
        seeded_group(&admin_on(&dir.0, database_url, &args, None))
    };
    let group = seed("300", "Big");
    let more = seed("50", "More");

    for (id, name, count) in [(&group, "Big", 300), (&more, "More", 50)] {
        let (status, tree) = s.get(&format!("/v2/groups/DEMO/{id}")).await;
        assert_eq!(status, 200, "{tree}");
        assert_eq!(tree["name"], name);
        assert_eq!(tree["serversCount"], count);
        let servers = tree["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["rel"] == "server")
            .count();
        assert_eq!(servers, count);
    }
    // The 100th server seeded: the second name, number 01.
    assert_eq!(
        ctlcloud::seed::server_name("DEMO", "WA1", 99),
        "WA1DEMOS0000101"
    );
    let (status, server) = s.get("/v2/servers/DEMO/WA1DEMOS0000101").await;
    assert_eq!(status, 200, "{server}");
    assert_eq!(server["id"], "WA1DEMOS0000101");
    assert_eq!(server["status"], "active");
    assert_eq!(server["details"]["powerState"], "started");
    assert_eq!(server["details"]["inMaintenanceMode"], false);
    assert_ne!(server["isManagedOS"], true);
    assert_eq!(server["groupId"], json!(group));
    // The second seeding goes on numbering from the first.
    let (status, server) = s.get("/v2/servers/DEMO/WA1DEMOS0000304").await;
    assert_eq!(status, 200, "{server}");
    assert_eq!(server["groupId"], json!(more));

    // Every name is `server_name`'s, once; every uuid is 32 lower-case hex digits, once.
    let store = ctlcloud::serve::open_store(&dir.0, database_url)
        .await
        .unwrap();
    let rows = ctlcloud::store::db::query(
        "SELECT id, uuid, seq FROM servers WHERE description = 'seeded' ORDER BY name_prefix, seq",
    )
    .fetch_all(store.reader())
    .await
    .unwrap();
    assert_eq!(rows.len(), 350);
    let mut uuids = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let id: String = row.try_get("id").unwrap();
        let uuid: String = row.try_get("uuid").unwrap();
        let seq: i64 = row.try_get("seq").unwrap();
        assert_eq!(id, ctlcloud::seed::server_name("DEMO", "WA1", i as i64));
        assert_eq!(seq, i as i64 % 99 + 1);
        assert!(
            uuid.len() == 32
                && uuid
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{uuid}"
        );
        assert!(uuids.insert(uuid), "a uuid twice");
    }
    store.close().await;
    let uuid: String = rows.last().unwrap().try_get("uuid").unwrap();
    let (status, server) = s.get(&format!("/v2/servers/DEMO/{uuid}?uuid=true")).await;
    assert_eq!(status, 200, "{server}");
    assert_eq!(
        server["id"],
        ctlcloud::seed::server_name("DEMO", "WA1", 349)
    );

    for (args, why) in [
        (
            vec!["seed", "--account", "NOPE", "--servers", "1"],
            "there is no account NOPE",
        ),
        (
            vec!["seed", "--account", "DEMO", "--servers", "9900001"],
            "do not fit",
        ),
    ] {
        let mut command = Command::new(BIN);
        match database_url {
            Some(url) => command.env("CTLCLOUD_DATABASE_URL", url),
            None => command.env_remove("CTLCLOUD_DATABASE_URL"),
        };
        let out = command
            .arg("admin")
            .arg("--data-dir")
            .arg(&dir.0)
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn seeding_adds_built_servers_in_new_groups_on_sqlite() {
    seeding_adds_built_servers_in_new_groups(None).await;
}

#[tokio::test]
async fn seeding_adds_built_servers_in_new_groups_on_postgres() {
    let db = TestDatabase::create().await;
    seeding_adds_built_servers_in_new_groups(Some(&db.url)).await;
}

/// Runs `ctlcloud bench` with `args`; its table, once it has succeeded.
fn bench(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .env_remove("CTLCLOUD_DATABASE_URL")
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    table
}

/// Runs the benchmark at a small size (on PostgreSQL at `database_url` if given) and checks that
/// every row is there, for that engine, with no failures.
fn the_benchmark_runs_end_to_end(database_url: Option<&str>) {
    let mut args = vec!["--runs", "1", "--seconds", "0.2", "--connections", "4"];
    args.extend(["--large-servers", "300", "--group-servers", "100"]);
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    let table = bench(&args);
    let engine = match database_url {
        Some(_) => "| postgres |",
        None => "| sqlite |",
    };
    for row in [
        "baseline: fixed JSON",
        "authenticated GET of a server",
        "create server accepted (202)",
        "builds completed (202 to succeeded)",
        "GET of a group of 100 servers",
        "GET of a server in an account of 400+ servers",
        "cold start to first successful login",
        "store size on disk",
        "server peak RSS",
    ] {
        let line = table
            .lines()
            .find(|l| l.contains(row))
            .unwrap_or_else(|| panic!("no row {row}:\n{table}"));
        assert!(line.ends_with("| 0 |"), "failures in {line}");
        assert!(
            line.starts_with("| baseline") || line.contains(engine),
            "{line} is not {engine}"
        );
    }
}

#[test]
fn the_benchmark_runs_end_to_end_and_refuses_what_it_cannot_measure() {
    the_benchmark_runs_end_to_end(None);
    for (args, why) in [
        (
            vec![
                "--database-url",
                "postgres://localhost/x",
                "--url",
                "http://127.0.0.1:9",
            ],
            "does not go with --url",
        ),
        (vec!["--url", "http://192.0.2.1:80"], "loopback"),
    ] {
        let out = Command::new(BIN).arg("bench").args(&args).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(why));
    }
}

/// `bench --url` measures a server already running, labels its rows as such, and leaves out the
/// rows it cannot take from outside (cold start, disk, memory).
#[tokio::test]
async fn the_benchmark_measures_a_running_server_at_its_url() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    admin(
        &dir.0,
        &["seed", "--account", "DEMO", "--networks", "10"],
        None,
    );
    let url = s.server.url("");
    let table = tokio::task::spawn_blocking(move || {
        let mut args = vec!["--url", &url, "--password", PASSWORD, "--runs", "1"];
        args.extend([
            "--seconds",
            "0.2",
            "--connections",
            "4",
            "--max-requests",
            "1000",
        ]);
        bench(&args)
    })
    .await
    .unwrap();
    let measured: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("| at --url |"))
        .collect();
    assert_eq!(measured.len(), 4, "{table}");
    for line in measured {
        assert!(line.ends_with("| 0 |"), "failures in {line}");
    }
    for row in [
        "cold start to first successful login",
        "store size",
        "server peak RSS",
    ] {
        assert!(
            !table.contains(row),
            "{row} is not measured through --url:\n{table}"
        );
    }
}

#[tokio::test]
async fn the_benchmark_runs_end_to_end_on_postgres() {
    let db = TestDatabase::create().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || the_benchmark_runs_end_to_end(Some(&url)))
        .await
        .unwrap();
}
