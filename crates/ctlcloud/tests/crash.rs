//! Crash safety under concurrent load: a SIGKILL at a random moment while many creates are in
//! flight loses nothing that was answered 202, and every accepted build still finishes.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{admin, status_href, Options, Server, Session, TempDir};
use serde_json::Value;

const CLIENTS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_concurrent_creates_loses_no_accepted_server() {
    let dir = TempDir::new();
    // Builds take a while, so the kill also finds jobs queued and running.
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 50,
            ..Default::default()
        },
    )
    .await;
    // Room for every create: each network holds 243 servers.
    admin(
        &dir.0,
        &["seed", "--account", "DEMO", "--networks", "8"],
        None,
    );
    let template = s.server_body("x").await;
    // The kill comes after a random number of accepted creates, between 20 and 275.
    let mut random = [0u8; 1];
    getrandom::getrandom(&mut random).unwrap();
    let kill_after = 20 + random[0] as usize;
    let accepted = Arc::new(Mutex::new(Vec::<Value>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let reached = Arc::new(tokio::sync::Notify::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (http, url, token) = (
            s.server.http.clone(),
            s.server.url("/v2/servers/DEMO"),
            s.token.clone(),
        );
        let (accepted, count, reached, stop) = (
            accepted.clone(),
            count.clone(),
            reached.clone(),
            stop.clone(),
        );
        let mut body = template.clone();
        clients.spawn(async move {
            for n in 0..1000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                body["name"] = format!("K{client:02}{n:03}").into();
                let Ok(response) = http.post(&url).bearer_auth(&token).json(&body).send().await
                else {
                    break;
                };
                let status = response.status().as_u16();
                let Ok(answer) = response.json::<Value>().await else {
                    break;
                };
                assert_eq!(status, 202, "{answer}");
                accepted.lock().unwrap().push(answer);
                if count.fetch_add(1, Ordering::SeqCst) + 1 == kill_after {
                    reached.notify_one();
                }
            }
        });
    }
    reached.notified().await;
    let token = s.token.clone();
    s.server.kill();
    stop.store(true, Ordering::SeqCst);
    while clients.join_next().await.is_some() {}
    let accepted = std::mem::take(&mut *accepted.lock().unwrap());
    assert!(accepted.len() >= kill_after);

    let s = Session {
        server: Server::start(&dir.0, &Options::default()),
        token,
        alias: "DEMO".into(),
    };
    let mut names = std::collections::HashSet::new();
    for answer in &accepted {
        let self_href = answer["links"][1]["href"].as_str().unwrap();
        let (status, server) = s.get(self_href).await;
        assert_eq!(status, 200, "an accepted server is missing: {answer}");
        assert!(names.insert(server["id"].as_str().unwrap().to_owned()));
        let job = s.wait(&status_href(answer)).await;
        assert_eq!(job["status"], "succeeded", "{answer}: {job}");
    }
    for answer in accepted.iter().step_by(25) {
        let (_, server) = s.get(answer["links"][1]["href"].as_str().unwrap()).await;
        assert_eq!(server["status"], "active");
        assert_eq!(server["details"]["powerState"], "started");
    }
}
