//! Limits against abuse over HTTP: failed logins are throttled per username and address with the
//! same answer for real and unknown users and no effect on anyone else; accounts are capped in
//! servers and groups; tokens expire, which a shifted clock shows without waiting.

mod common;

use common::{create_account, create_user, status_href, Options, Server, Session, TempDir};
use reqwest::Method as M;
use serde_json::{json, Value};

/// A login attempt: status, Retry-After, body.
async fn login(server: &Server, username: &str, password: &str) -> (u16, Option<i64>, Value) {
    let response = server
        .http
        .post(server.url("/v2/authentication/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, response.json().await.unwrap())
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_alike_for_real_and_unknown_users() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    create_user(&dir.0, "DEMO", "alice", &["ServerAdmin"], "Al1ce-Passw0rd");
    let alice = s.server.login("alice", "Al1ce-Passw0rd").await;

    let mut refusals = Vec::new();
    for username in ["alice", "ghost"] {
        for attempt in 1..=5 {
            let (status, retry, body) = login(&s.server, username, "wrong-password").await;
            assert_eq!(
                (status, retry),
                (400, None),
                "{username} attempt {attempt}: {body}"
            );
        }
        // Locked now: even the right password is refused, with a time to wait.
        let (status, retry, body) = login(&s.server, username, "Al1ce-Passw0rd").await;
        assert_eq!(status, 429, "{username}: {body}");
        let retry = retry.expect("a Retry-After header");
        assert!((1..=60).contains(&retry), "{retry}");
        // Any case of the username is the same key.
        let (status, _, _) = login(&s.server, &username.to_uppercase(), "x").await;
        assert_eq!(status, 429);
        refusals.push(
            body["message"]
                .as_str()
                .unwrap()
                .replace(|c: char| c.is_ascii_digit(), ""),
        );
    }
    assert_eq!(
        refusals[0], refusals[1],
        "an unknown user is answered like a real one"
    );
    // Nobody else is slowed down, and tokens already issued keep working.
    let (status, _, _) = login(&s.server, "admin", common::PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(
        s.server
            .call(M::GET, "/v2/accounts/DEMO", Some(&alice), None)
            .await
            .0,
        200
    );
    // The lock is kept in memory on each node: a restart lifts it.
    let server = {
        s.server.kill();
        Server::start(&dir.0, &Options::default())
    };
    assert_eq!(login(&server, "alice", "Al1ce-Passw0rd").await.0, 200);
}

#[tokio::test]
async fn accounts_are_capped_in_servers_and_groups() {
    let dir = TempDir::new();
    let options = Options {
        env: vec![
            ("CTLCLOUD_MAX_SERVERS_PER_ACCOUNT", "2".into()),
            ("CTLCLOUD_MAX_GROUPS_PER_ACCOUNT", "1".into()),
        ],
        ..Default::default()
    };
    let s = Session::start(&dir.0, options).await;
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let (status, created) = s.post("/v2/servers/DEMO", s.server_body("cap").await).await;
        assert_eq!(status, 202, "{created}");
        jobs.push(status_href(&created));
    }
    let (status, refused) = s.post("/v2/servers/DEMO", s.server_body("cap").await).await;
    assert_eq!(status, 409, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("2 servers") && message.contains("--max-servers-per-account"),
        "{message}"
    );
    let root = s.group_id("WA1 Hardware").await;
    let group = |name: &str| json!({"name": name, "parentGroupId": root});
    assert_eq!(s.post("/v2/groups/DEMO", group("one")).await.0, 201);
    let (status, refused) = s.post("/v2/groups/DEMO", group("two")).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("--max-groups-per-account"));
    // A refused create stored nothing; a deleted server frees its place.
    let (_, tree) = s.get(&format!("/v2/groups/DEMO/{root}")).await;
    assert_eq!(tree["groups"].as_array().unwrap().len(), 4);
    for job in &jobs {
        s.wait(job).await;
    }
    let (status, deleted) = s.delete("/v2/servers/DEMO/WA1DEMOCAP01").await;
    assert_eq!(status, 202);
    s.wait(&status_href(&deleted)).await;
    let (status, created) = s.post("/v2/servers/DEMO", s.server_body("cap").await).await;
    assert_eq!(status, 202, "{created}");
    // Each account has its own caps, a sub-account included.
    create_account(&dir.0, "SUB", Some("DEMO"));
    create_user(&dir.0, "SUB", "subby", &["ServerAdmin"], "Subby-Passw0rd");
    let subby = s.server.login("subby", "Subby-Passw0rd").await;
    let (_, dc) = s
        .server
        .call(M::GET, "/v2/datacenters/SUB/WA1", Some(&subby), None)
        .await;
    let sub_root = dc["links"][1]["id"].as_str().unwrap();
    let (status, _) = s
        .server
        .call(
            M::POST,
            "/v2/groups/SUB",
            Some(&subby),
            Some(json!({"name": "one", "parentGroupId": sub_root})),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn tokens_expire_after_fourteen_days_on_a_shifted_clock() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let token = s.token.clone();
    s.server.kill();
    let at = |secs: i64| Options {
        clock_offset_secs: secs,
        ..Default::default()
    };
    let fourteen_days = 14 * 86_400;
    let server = Server::start(&dir.0, &at(fourteen_days - 120));
    assert_eq!(
        server
            .call(M::GET, "/v2/accounts/DEMO", Some(&token), None)
            .await
            .0,
        200
    );
    server.kill();
    let server = Server::start(&dir.0, &at(fourteen_days + 120));
    let (status, body) = server
        .call(M::GET, "/v2/accounts/DEMO", Some(&token), None)
        .await;
    assert_eq!(status, 401);
    assert!(body["message"].is_string());
    // A fresh login on the shifted clock gets a token that works.
    let fresh = server.login("admin", common::PASSWORD).await;
    assert_eq!(
        server
            .call(M::GET, "/v2/accounts/DEMO", Some(&fresh), None)
            .await
            .0,
        200
    );
}
