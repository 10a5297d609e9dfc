//! Large accounts: addresses handed out network after network (freed ones first), full networks
//! refused, bulk seeding for benchmarks, and the benchmark harness itself.

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::{admin, status_href, Options, Session, TempDir, BIN};
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

#[tokio::test]
async fn seeding_adds_built_servers_in_a_new_group_and_refuses_what_cannot_be() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let report = admin(
        &dir.0,
        &[
            "seed",
            "--account",
            "demo",
            "--servers",
            "150",
            "--group",
            "Big",
        ],
        None,
    );
    let group = report
        .split(" in group ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_owned();
    let (status, tree) = s.get(&format!("/v2/groups/DEMO/{group}")).await;
    assert_eq!(status, 200);
    assert_eq!(tree["name"], "Big");
    assert_eq!(tree["serversCount"], 150);
    let servers = tree["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "server")
        .count();
    assert_eq!(servers, 150);
    // The 100th server seeded: the second name, number 01.
    let (status, server) = s.get("/v2/servers/DEMO/WA1DEMOS0000101").await;
    assert_eq!(status, 200, "{server}");
    assert_eq!(server["status"], "active");
    assert_eq!(server["details"]["powerState"], "started");
    assert_eq!(server["groupId"], json!(group));

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
        let out = Command::new(BIN)
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

#[test]
fn the_benchmark_runs_end_to_end_and_refuses_what_it_cannot_measure() {
    let out = Command::new(BIN)
        .args([
            "bench",
            "--runs",
            "1",
            "--seconds",
            "0.2",
            "--connections",
            "4",
        ])
        .args(["--large-servers", "300", "--group-servers", "100"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    }

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
