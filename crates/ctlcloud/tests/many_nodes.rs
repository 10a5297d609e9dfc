//! Many nodes on one PostgreSQL database: any node answers any request, tokens work everywhere,
//! and a node killed mid-job has its jobs finished by another once their lease runs out.

mod common;

use std::collections::HashSet;

use common::{status_href, Options, Server, Session, TempDir, TestDatabase};
use serde_json::Value;

fn on(db: &TestDatabase, lease_secs: u64, delay_ms: u64) -> Options {
    Options {
        database_url: Some(db.url.clone()),
        lease_secs,
        delay_ms,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_walkthrough_on_postgres() {
    let db = TestDatabase::create().await;
    let dir = TempDir::new();
    let s = Session::start(&dir.0, on(&db, 60, 0)).await;
    let (status, created) = s.post("/v2/servers/DEMO", s.server_body("pg").await).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    let (status, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(server["id"], "WA1DEMOPG01");
    assert_eq!(server["status"], "active");
    assert_eq!(server["details"]["memoryMB"], 2048);
    assert!(server["changeInfo"]["createdDate"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let (status, tree) = s
        .get(&format!(
            "/v2/groups/DEMO/{}",
            s.group_id("Default Group").await
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(tree["serversCount"], 1);
    let (status, deleted) = s.delete("/v2/servers/DEMO/WA1DEMOPG01").await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&deleted)).await["status"], "succeeded");
    assert_eq!(s.get("/v2/servers/DEMO/WA1DEMOPG01").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_work_and_survive_one_being_killed() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    // Node A builds slowly, so it dies holding jobs; its leases are short so B takes them over.
    let a = Session::start(&dir_a.0, on(&db, 2, 30_000)).await;
    let b = Server::start(&dir_b.0, &on(&db, 2, 0));
    let token = a.token.clone();
    assert_eq!(
        b.call(
            reqwest::Method::GET,
            "/v2/accounts/DEMO",
            Some(&token),
            None
        )
        .await
        .0,
        200,
        "a token from one node works on the other"
    );

    let body = a.server_body("multi").await;
    let mut accepted: Vec<Value> = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let base = if i % 2 == 0 {
            a.server.base.clone()
        } else {
            b.base.clone()
        };
        let (http, token, body) = (a.server.http.clone(), token.clone(), body.clone());
        tasks.spawn(async move {
            let response = http
                .post(format!("{base}/v2/servers/DEMO"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        });
    }
    for (status, answer) in tasks.join_all().await {
        assert_eq!(status, 202, "{answer}");
        accepted.push(answer);
    }
    a.server.kill();

    let s = Session {
        server: b,
        token,
        alias: "DEMO".into(),
    };
    let mut names = HashSet::new();
    let mut addresses = HashSet::new();
    for answer in &accepted {
        let done = s.wait(&status_href(answer)).await;
        assert_eq!(done["status"], "succeeded", "{answer}: {done}");
        let (status, server) = s.get(answer["links"][1]["href"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(server["status"], "active");
        assert!(
            names.insert(server["id"].as_str().unwrap().to_owned()),
            "name {} twice",
            server["id"]
        );
        let ip = server["details"]["ipAddresses"][0]["internal"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(addresses.insert(ip.clone()), "address {ip} twice");
    }
    assert_eq!(names.len(), 40);
    // Nothing is left running or queued.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('notStarted', 'executing')")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(open, 0);
    let servers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(servers, 40, "every accepted server exists exactly once");
    pool.close().await;
}
