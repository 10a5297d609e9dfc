//! A node answers a GET of a server or a group it answered before from what it kept, while
//! nothing has been committed to the store since (SQLite): the answer is always what reading the
//! store would give, whoever changed it, and it is never another caller's.

mod common;

use common::{admin, create_user, links, Options, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

/// The verbs of the server's self link.
fn self_verbs(server: &Value) -> Vec<String> {
    links(server)
        .into_iter()
        .find(|(rel, _, _)| rel == "self")
        .and_then(|(_, _, verbs)| verbs)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_kept_answer_is_what_the_store_holds_and_the_callers_own() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let id = s.build("kept").await;
    let path = format!("/v2/servers/DEMO/{id}");
    let first = s.server(&id).await;
    assert_eq!(s.server(&id).await, first, "asked again, nothing changed");

    // A change through the API is in the next answer.
    let change = json!([{"op": "set", "member": "description", "value": "through the API"}]);
    let (status, answer) = s
        .server
        .call(Method::PATCH, &path, Some(&s.token), Some(change))
        .await;
    assert!(status < 300, "{status} {answer}");
    assert_eq!(s.server(&id).await["description"], "through the API");

    // So is one another process commits to the file, behind the node's back, and the answer
    // read after it is the one given again.
    let file = rusqlite::Connection::open(dir.0.join("ctlcloud.db")).unwrap();
    file.execute(
        "UPDATE servers SET description = 'behind its back' WHERE id = ?1",
        [&id],
    )
    .unwrap();
    assert_eq!(s.server(&id).await["description"], "behind its back");
    assert_eq!(s.server(&id).await["description"], "behind its back");

    // A caller whose roles only read gets the same server with their own links, not the kept
    // ones, and the admin's answer is still the admin's.
    create_user(&dir.0, "DEMO", "vera", &["AccountViewer"], "Vera-Passw0rd");
    let vera = s.server.login("vera", "Vera-Passw0rd").await;
    let admins = s.server(&id).await;
    assert_eq!(self_verbs(&admins), ["GET", "PATCH", "DELETE"]);
    for _ in 0..2 {
        let (status, viewed) = s.server.call(Method::GET, &path, Some(&vera), None).await;
        assert_eq!(status, 200, "{viewed}");
        assert_eq!(viewed["description"], "behind its back");
        assert_eq!(self_verbs(&viewed), ["GET"]);
    }
    assert_eq!(s.server(&id).await, admins);

    // A caller disabled by another process is refused at once, kept answer or not.
    admin(&dir.0, &["user", "disable", "--username", "vera"], None);
    let (status, refused) = s.server.call(Method::GET, &path, Some(&vera), None).await;
    assert_eq!(status, 401, "{refused}");

    // A caller of another account does not reach it.
    common::create_account(&dir.0, "OTHR", None);
    create_user(&dir.0, "OTHR", "otto", &["AccountAdmin"], "Otto-Passw0rd");
    let otto = s.server.login("otto", "Otto-Passw0rd").await;
    let (status, refused) = s.server.call(Method::GET, &path, Some(&otto), None).await;
    assert_eq!(status, 404, "{refused}");
}

#[tokio::test]
async fn a_kept_group_answer_is_what_the_store_holds() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let group = s.group_id("Default Group").await;
    let path = format!("/v2/groups/DEMO/{group}");
    let (status, first) = s.get(&path).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        s.get(&path).await,
        (200, first),
        "asked again, nothing changed"
    );

    // A server built into it is in the next answer.
    let id = s.build("ingrp").await;
    let (_, now) = s.get(&path).await;
    let servers: Vec<String> = links(&now)
        .into_iter()
        .filter(|(rel, _, _)| rel == "server")
        .map(|(_, href, _)| href)
        .collect();
    assert!(
        servers
            .iter()
            .any(|href| href.ends_with(&id.to_lowercase())),
        "{servers:?}"
    );

    // So is a change another process commits to the file.
    let file = rusqlite::Connection::open(dir.0.join("ctlcloud.db")).unwrap();
    file.execute(
        "UPDATE groups SET name = 'Renamed behind its back' WHERE id = ?1",
        [&group],
    )
    .unwrap();
    assert_eq!(s.get(&path).await.1["name"], "Renamed behind its back");
}
