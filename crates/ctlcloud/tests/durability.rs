//! Concurrency and crash safety: names and addresses never collide, and accepted work survives a
//! SIGKILL and a restart.

mod common;

use std::collections::HashSet;

use common::{status_href, Options, Server, Session, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_creates_with_one_name_get_fifty_names_and_addresses() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let body = s.server_body("same").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (http, url, token, body) = (
            s.server.http.clone(),
            s.server.url("/v2/servers/DEMO"),
            s.token.clone(),
            body.clone(),
        );
        tasks.spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        });
    }
    let answers = tasks.join_all().await;
    let mut uuids = HashSet::new();
    for (status, answer) in &answers {
        assert_eq!(*status, 202, "{answer}");
        uuids.insert(answer["links"][1]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(uuids.len(), 50);
    let mut names = HashSet::new();
    let mut addresses = HashSet::new();
    for (_, answer) in &answers {
        assert_eq!(s.wait(&status_href(answer)).await["status"], "succeeded");
        let (status, server) = s.get(answer["links"][1]["href"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert!(
            names.insert(server["id"].as_str().unwrap().to_owned()),
            "duplicate name {}",
            server["id"]
        );
        let ip = server["details"]["ipAddresses"][0]["internal"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(addresses.insert(ip.clone()), "duplicate address {ip}");
    }
    let expected: HashSet<String> = (1..=50).map(|n| format!("WA1DEMOSAME{n:02}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn accepted_work_survives_sigkill_and_restart() {
    let dir = TempDir::new();
    // Builds take a minute, so every job is queued or running when the process dies.
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 60_000,
            ..Default::default()
        },
    )
    .await;
    let mut accepted = Vec::new();
    for i in 0..12 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        let (status, answer) = s.post("/v2/servers/DEMO", s.server_body(name).await).await;
        assert_eq!(status, 202);
        accepted.push(answer);
    }
    let (status, deleting) = s.delete("/v2/servers/DEMO/WA1DEMOEVEN01").await;
    assert_eq!(status, 202);
    let token = s.token.clone();
    s.server.kill();

    let server = Server::start(&dir.0, &Options::default());
    let s = Session {
        server,
        token,
        alias: "DEMO".into(),
    };
    for answer in &accepted {
        assert_eq!(
            s.wait(&status_href(answer)).await["status"],
            "succeeded",
            "{answer}"
        );
    }
    assert_eq!(s.wait(&status_href(&deleting)).await["status"], "succeeded");
    let (status, _) = s.get("/v2/servers/DEMO/WA1DEMOEVEN01").await;
    assert_eq!(
        status, 404,
        "the delete accepted after the create ran after it"
    );
    for answer in accepted.iter().skip(1) {
        let (status, server) = s.get(answer["links"][1]["href"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(server["status"], "active");
        assert_eq!(server["details"]["powerState"], "started");
    }
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_the_data_stays() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (status, created) = s
        .post("/v2/servers/DEMO", s.server_body("keep").await)
        .await;
    assert_eq!(status, 202);
    s.wait(&status_href(&created)).await;
    let token = s.token.clone();
    assert!(s.server.terminate(), "ctlcloud exits 0 on SIGTERM");
    let server = Server::start(&dir.0, &Options::default());
    let (status, server_body) = server
        .call(
            reqwest::Method::GET,
            "/v2/servers/DEMO/WA1DEMOKEEP01",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "the token and the server outlive a restart");
    assert_eq!(server_body["status"], "active");
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = TempDir::new();
    let _first = Server::start(&dir.0, &Options::default());
    let out = std::process::Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir.0)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another ctlcloud server"));
}
