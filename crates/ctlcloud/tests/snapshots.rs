//! Snapshots over HTTP against a real server: taking one, listing it, reverting to it, deleting
//! it, the one-per-server rule, every refusal, expiry, and a crash in the middle.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{admin, create_user, status_href, Options, Server, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

const CREATE: &str = "/v2/operations/DEMO/servers/createSnapshot";
const NOT_QUEUED: &str =
    "The operation cannot be queued because the server cannot be found or it is not in a valid state.";

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    k.sort();
    k
}

/// A snapshot name: `YYYY-MM-DD.HH:MM:SS`.
fn is_snapshot_name(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 19
        && s.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == '.',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        })
}

async fn snapshot(s: &Session, id: &str, days: i64) -> Value {
    let (status, answer) = s
        .post(
            CREATE,
            json!({"snapshotExpirationDays": days, "serverIds": [id]}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(s.wait_all(&answer).await[0]["status"], "succeeded");
    answer
}

fn snapshots(server: &Value) -> Vec<Value> {
    server["details"]["snapshots"].as_array().unwrap().clone()
}

fn href<'a>(snapshot: &'a Value, rel: &str) -> &'a str {
    snapshot["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
        .unwrap()["href"]
        .as_str()
        .unwrap()
}

/// Changes a server's size and disks the way a resize would, straight in the store: resizing
/// is not served by this build, and a revert must undo it.
async fn resize_in_store(dir: &Path, id: &str, cpu: i64, memory_mb: i64, disks_gb: &[i64]) {
    let disks: Vec<ctlcloud::model::Disk> = disks_gb
        .iter()
        .enumerate()
        .map(|(i, gb)| ctlcloud::model::Disk {
            id: format!("0:{i}"),
            size_gb: *gb,
            paths: Vec::new(),
        })
        .collect();
    let path = ctlcloud::serve::database_path(dir);
    let store = ctlcloud::store::Store::open(ctlcloud::store::Location::File(&path))
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    ctlcloud::store::db::query("UPDATE servers SET cpu = ?, memory_mb = ?, disks = ? WHERE id = ?")
        .bind(cpu)
        .bind(memory_mb)
        .bind(serde_json::to_string(&disks).unwrap())
        .bind(id)
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn a_snapshot_is_listed_reverted_to_and_deleted() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let id = s.build("snap").await;
    let before = s.server(&id).await;
    assert!(snapshots(&before).is_empty());

    let answer = snapshot(&s, &id.to_lowercase(), 5).await;
    assert_eq!(keys(&answer[0]), ["isQueued", "links", "server"]);
    assert_eq!(answer[0]["server"], id.to_lowercase());
    let taken = s.server(&id).await;
    let list = snapshots(&taken);
    assert_eq!(list.len(), 1, "{taken}");
    let snap = &list[0];
    assert_eq!(keys(snap), ["links", "name"]);
    assert!(is_snapshot_name(&snap["name"]), "{snap}");
    let rels: Vec<&str> = snap["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["self", "delete", "restore"]);
    let delete = href(snap, "delete").to_owned();
    let n = delete
        .strip_prefix(&format!("/v2/servers/DEMO/{id}/snapshots/"))
        .unwrap_or_else(|| panic!("{delete}"));
    assert!(n.parse::<u32>().is_ok(), "{delete}");
    assert_eq!(href(snap, "self"), delete);
    assert_eq!(href(snap, "restore"), format!("{delete}/restore"));
    assert!(
        taken["changeInfo"]["modifiedDate"].as_str()
            >= before["changeInfo"]["modifiedDate"].as_str()
    );

    // The server changes after the snapshot: stopped, resized, another disk.
    let (status, answer) = s.operate("powerOff", &[&id]).await;
    assert_eq!(status, 202);
    s.wait_all(&answer).await;
    resize_in_store(&dir.0, &id, 4, 8192, &[40, 100]).await;
    let changed = s.server(&id).await;
    assert_eq!(changed["details"]["cpu"], 4);
    assert_eq!(changed["details"]["diskCount"], 2);

    // Reverting brings back size, disks and power state, and keeps the snapshot.
    let (status, link) = s.post(href(snap, "restore"), Value::Null).await;
    assert_eq!(status, 202, "{link}");
    assert_eq!(keys(&link), ["href", "id", "rel"]);
    assert_eq!(link["rel"], "status");
    assert_eq!(
        s.wait(link["href"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    let reverted = s.server(&id).await;
    for key in [
        "cpu",
        "memoryMB",
        "disks",
        "diskCount",
        "storageGB",
        "powerState",
    ] {
        assert_eq!(reverted["details"][key], before["details"][key], "{key}");
    }
    assert_eq!(snapshots(&reverted), list);

    let (status, link) = s.delete(&delete).await;
    assert_eq!(status, 202, "{link}");
    assert_eq!(keys(&link), ["href", "id", "rel"]);
    assert_eq!(
        s.wait(link["href"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    assert!(snapshots(&s.server(&id).await).is_empty());
    let (status, answer) = s.delete(&delete).await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer["message"].is_string());
    let (status, _) = s.post(&format!("{delete}/restore"), Value::Null).await;
    assert_eq!(status, 404);

    // Deleting a server deletes its snapshot with it.
    snapshot(&s, &id, 1).await;
    let (status, deleting) = s.delete(&format!("/v2/servers/DEMO/{id}")).await;
    assert_eq!(status, 202, "{deleting}");
    assert_eq!(s.wait(&status_href(&deleting)).await["status"], "succeeded");
    let (status, _) = s.get(&format!("/v2/servers/DEMO/{id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_server_keeps_one_snapshot_and_the_old_one_may_be_replaced_without_waiting() {
    let dir = TempDir::new();
    // Each step takes a moment, so that work is still queued when the next request comes.
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 700,
            ..Default::default()
        },
    )
    .await;
    let (a, b) = (s.build("a").await, s.build("b").await);
    let (status, first) = s
        .post(
            CREATE,
            json!({"snapshotExpirationDays": "7", "serverIds": [a, b]}),
        )
        .await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first[1]["server"], b.to_lowercase());
    let (status, second) = s
        .post(
            CREATE,
            json!({"snapshotExpirationDays": 7, "serverIds": [a]}),
        )
        .await;
    assert_eq!(status, 400, "{second}");
    assert!(second[0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("already being taken"));
    s.wait_all(&first).await;
    let (status, third) = s
        .post(
            CREATE,
            json!({"snapshotExpirationDays": 7, "serverIds": [a]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(third[0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("already has a snapshot"));

    // The Python SDK's way: delete the old one, then at once take a new one (a form, one id).
    let old = snapshots(&s.server(&a).await)[0].clone();
    let (status, deleting) = s.delete(href(&old, "delete")).await;
    assert_eq!(status, 202);
    let (status, again) = s.delete(href(&old, "delete")).await;
    assert_eq!(status, 202);
    assert_eq!(again, deleting, "asking twice answers the same job");
    let (status, answer) = s.post(href(&old, "restore"), Value::Null).await;
    assert_eq!(status, 400);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("being deleted"));
    let response = s
        .server
        .http
        .post(s.server.url(CREATE))
        .bearer_auth(&s.token)
        .form(&[("serverIds", a.as_str()), ("snapshotExpirationDays", "7")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(
        s.wait(deleting["href"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    assert_eq!(s.wait_all(&replaced).await[0]["status"], "succeeded");
    let now = snapshots(&s.server(&a).await);
    assert_eq!(now.len(), 1);
    assert_ne!(href(&now[0], "delete"), href(&old, "delete"));
    assert_eq!(snapshots(&s.server(&b).await).len(), 1);
}

#[tokio::test]
async fn bad_snapshot_requests_are_refused() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let id = s.build("ref").await;
    for (body, field) in [
        (json!({"serverIds": [id]}), "snapshotExpirationDays"),
        (
            json!({"serverIds": [id], "snapshotExpirationDays": 0}),
            "snapshotExpirationDays",
        ),
        (
            json!({"serverIds": [id], "snapshotExpirationDays": 11}),
            "snapshotExpirationDays",
        ),
        (
            json!({"serverIds": [id], "snapshotExpirationDays": "seven"}),
            "snapshotExpirationDays",
        ),
        (
            json!({"serverIds": [id], "snapshotExpirationDays": 2.5}),
            "snapshotExpirationDays",
        ),
        (json!({"snapshotExpirationDays": 1}), "serverIds"),
        (
            json!({"serverIds": [], "snapshotExpirationDays": 1}),
            "serverIds",
        ),
        (
            json!({"serverIds": [7], "snapshotExpirationDays": 1}),
            "serverIds",
        ),
    ] {
        let (status, answer) = s.post(CREATE, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["modelState"][field].is_array(), "{body}: {answer}");
    }
    let (status, answer) = s.post(CREATE, json!([id])).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].is_string());
    assert!(snapshots(&s.server(&id).await).is_empty());

    // Unknown and foreign servers answer alike, inside the array.
    admin(
        &dir.0,
        &[
            "account",
            "create",
            "--alias",
            "OTHR",
            "--name",
            "Other",
            "--primary-dc",
            "WA1",
        ],
        None,
    );
    create_user(&dir.0, "OTHR", "mallory", &[], "M4llory-Passw0rd");
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    let (status, answer) = s
        .server
        .call(
            Method::POST,
            "/v2/operations/OTHR/servers/createSnapshot",
            Some(&mallory),
            Some(json!({"serverIds": [id, "WA1OTHRNOPE01"], "snapshotExpirationDays": 1})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer[0]["errorMessage"], NOT_QUEUED);
    assert_eq!(answer[1]["errorMessage"], NOT_QUEUED);

    // Snapshot paths: unknown server, unknown or foreign snapshot, another account.
    snapshot(&s, &id, 1).await;
    let snap = snapshots(&s.server(&id).await)[0].clone();
    let delete = href(&snap, "delete").to_owned();
    let other = s.build("oth").await;
    let n = delete.rsplit('/').next().unwrap();
    for path in [
        format!("/v2/servers/DEMO/{id}/snapshots/999999"),
        format!("/v2/servers/DEMO/{id}/snapshots/abc"),
        format!("/v2/servers/DEMO/{id}/snapshots/-1"),
        format!("/v2/servers/DEMO/{other}/snapshots/{n}"),
        format!("/v2/servers/DEMO/WA1DEMONOPE01/snapshots/{n}"),
    ] {
        let (status, answer) = s.delete(&path).await;
        assert_eq!(status, 404, "DELETE {path}: {answer}");
        let (status, answer) = s.post(&format!("{path}/restore"), Value::Null).await;
        assert_eq!(status, 404, "POST {path}/restore: {answer}");
    }
    for (method, path) in [
        (Method::DELETE, delete.clone()),
        (Method::POST, format!("{delete}/restore")),
        (Method::DELETE, delete.replace("/DEMO/", "/OTHR/")),
    ] {
        let (status, _) = s
            .server
            .call(method.clone(), &path, Some(&mallory), None)
            .await;
        assert_eq!(status, 404, "{method} {path}");
    }
    assert_eq!(snapshots(&s.server(&id).await), [snap]);

    // An archived server, and a standard server with more than 1 TB, take no snapshot.
    let (status, answer) = s.operate("archive", &[&other]).await;
    assert_eq!(status, 202);
    s.wait_all(&answer).await;
    let mut body = s.server_body("big").await;
    body["additionalDisks"] = json!([{"sizeGB": 1024, "type": "raw"}]);
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202, "{created}");
    s.wait(&status_href(&created)).await;
    let (status, answer) = s
        .post(
            CREATE,
            json!({"serverIds": [other, "WA1DEMOBIG01"], "snapshotExpirationDays": 1}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer[0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("is archived"));
    assert!(answer[1]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("1024 GB"));
    // Nor may an archived server be reverted to its snapshot.
    let (status, answer) = s.operate("archive", &[&id]).await;
    assert_eq!(status, 202);
    s.wait_all(&answer).await;
    let (status, answer) = s.post(&format!("{delete}/restore"), Value::Null).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("is archived"));
}

/// Polls a server until it has `count` snapshots.
async fn wait_for_snapshots(s: &Session, id: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if snapshots(&s.server(id).await).len() == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} did not get to {count} snapshots within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn snapshots_are_deleted_when_they_expire() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (a, b) = (s.build("a").await, s.build("b").await);
    snapshot(&s, &a, 1).await;
    snapshot(&s, &b, 3).await;
    // The scheduled expiry holds up none of the server's other work.
    let (status, answer) = s.operate("powerOff", &[&a]).await;
    assert_eq!(status, 202);
    assert_eq!(s.wait_all(&answer).await[0]["status"], "succeeded");
    let token = s.token.clone();
    assert!(s.server.terminate());

    // Two days later, the one-day snapshot is gone and the three-day one is kept.
    let s = Session {
        server: Server::start(
            &dir.0,
            &Options {
                clock_offset_secs: 2 * 86_400,
                ..Default::default()
            },
        ),
        token,
        alias: "DEMO".into(),
    };
    wait_for_snapshots(&s, &a, 0).await;
    assert_eq!(snapshots(&s.server(&b).await).len(), 1);
    let token = s.token.clone();
    assert!(s.server.terminate());

    let s = Session {
        server: Server::start(
            &dir.0,
            &Options {
                clock_offset_secs: 4 * 86_400,
                ..Default::default()
            },
        ),
        token,
        alias: "DEMO".into(),
    };
    wait_for_snapshots(&s, &b, 0).await;
    // A new snapshot may be taken after the old one expired.
    snapshot(&s, &a, 1).await;
    assert_eq!(snapshots(&s.server(&a).await).len(), 1);
}

#[tokio::test]
async fn queued_snapshot_work_survives_sigkill_and_restart() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (a, b, c) = (s.build("a").await, s.build("b").await, s.build("c").await);
    snapshot(&s, &a, 2).await;
    snapshot(&s, &c, 2).await;
    let (status, answer) = s.operate("powerOff", &[&a]).await;
    assert_eq!(status, 202);
    s.wait_all(&answer).await;
    let (snap_a, snap_c) = (
        snapshots(&s.server(&a).await)[0].clone(),
        snapshots(&s.server(&c).await)[0].clone(),
    );
    let token = s.token.clone();
    s.server.kill();

    // Every step now takes a minute: all of this is queued or running when the process dies.
    let s = Session {
        server: Server::start(
            &dir.0,
            &Options {
                delay_ms: 60_000,
                ..Default::default()
            },
        ),
        token,
        alias: "DEMO".into(),
    };
    let (status, taking) = s
        .post(
            CREATE,
            json!({"snapshotExpirationDays": 2, "serverIds": [b]}),
        )
        .await;
    assert_eq!(status, 202, "{taking}");
    let (status, reverting) = s.post(href(&snap_a, "restore"), Value::Null).await;
    assert_eq!(status, 202, "{reverting}");
    let (status, deleting) = s.delete(href(&snap_c, "delete")).await;
    assert_eq!(status, 202, "{deleting}");
    let token = s.token.clone();
    s.server.kill();

    let s = Session {
        server: Server::start(&dir.0, &Options::default()),
        token,
        alias: "DEMO".into(),
    };
    assert_eq!(s.wait_all(&taking).await[0]["status"], "succeeded");
    for link in [&reverting, &deleting] {
        assert_eq!(
            s.wait(link["href"].as_str().unwrap()).await["status"],
            "succeeded"
        );
    }
    assert_eq!(snapshots(&s.server(&b).await).len(), 1);
    let a = s.server(&a).await;
    assert_eq!(
        a["details"]["powerState"], "started",
        "reverted to when it ran"
    );
    assert_eq!(snapshots(&a), [snap_a]);
    assert!(snapshots(&s.server(&c).await).is_empty());
}
