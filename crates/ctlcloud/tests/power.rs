//! Power operations, maintenance mode, archive and restore, over HTTP against a real server: the
//! answer shapes, the state each leaves the server in, every refusal, and a crash in the middle.

mod common;

use common::{admin, create_user, status_href, Options, Server, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

const NOT_QUEUED: &str =
    "The operation cannot be queued because the server cannot be found or it is not in a valid state.";
const ALREADY_THERE: &str = "The server already in desired state.";

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    k.sort();
    k
}

/// Asks for `op` on one server and checks the answer's code; when queued, waits for the job and
/// checks the power state it left.
async fn step(s: &Session, op: &str, id: &str, code: u16, power: &str) -> Value {
    let (status, answer) = s.operate(op, &[id]).await;
    assert_eq!(status, code, "{op} of {id}: {answer}");
    assert_eq!(answer.as_array().unwrap().len(), 1, "{answer}");
    let entry = answer[0].clone();
    assert_eq!(entry["server"], id.to_lowercase());
    if code == 202 {
        assert_eq!(keys(&entry), ["isQueued", "links", "server"], "{entry}");
        assert_eq!(s.wait(&status_href(&entry)).await["status"], "succeeded");
    } else {
        assert_eq!(
            keys(&entry),
            ["errorMessage", "isQueued", "server"],
            "{entry}"
        );
        assert_eq!(entry["isQueued"], false);
    }
    assert_eq!(
        s.server(id).await["details"]["powerState"],
        power,
        "after {op}"
    );
    entry
}

/// A second account, OTHR, with a user; returns that user's token.
async fn other_account(s: &Session, dir: &std::path::Path) -> String {
    admin(
        dir,
        &[
            "account",
            "create",
            "--alias",
            "othr",
            "--name",
            "Other Co",
            "--primary-dc",
            "WA1",
        ],
        None,
    );
    admin(
        dir,
        &[
            "user",
            "create",
            "--account",
            "OTHR",
            "--username",
            "mallory",
            "--password-stdin",
        ],
        Some("M4llory-Passw0rd\n"),
    );
    s.server.login("mallory", "M4llory-Passw0rd").await
}

#[tokio::test]
async fn power_operations_walk_the_power_states() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let id = s.build("pwr").await;
    assert_eq!(s.server(&id).await["details"]["powerState"], "started");

    let entry = step(&s, "powerOff", &id, 202, "stopped").await;
    let link = &entry["links"][0];
    assert_eq!(keys(link), ["href", "id", "rel"]);
    assert_eq!(link["rel"], "status");
    let status_id = link["id"].as_str().unwrap();
    assert!(status_id.starts_with("wa1-"), "{status_id}");
    assert_eq!(
        link["href"],
        format!("/v2/operations/DEMO/status/{status_id}")
    );

    let noop = step(&s, "powerOff", &id, 200, "stopped").await;
    assert_eq!(noop["errorMessage"], ALREADY_THERE);
    let refused = step(&s, "pause", &id, 400, "stopped").await;
    assert!(refused["errorMessage"]
        .as_str()
        .unwrap()
        .contains("only a started server can be paused"));
    for op in ["reboot", "reset"] {
        let refused = step(&s, op, &id, 400, "stopped").await;
        let message = refused["errorMessage"].as_str().unwrap();
        assert!(
            message.contains("is stopped") && message.contains("powerOn"),
            "{message}"
        );
    }
    step(&s, "shutDown", &id, 200, "stopped").await;
    step(&s, "powerOn", &id, 202, "started").await;
    step(&s, "powerOn", &id, 200, "started").await;
    step(&s, "pause", &id, 202, "paused").await;
    step(&s, "pause", &id, 200, "paused").await;
    let refused = step(&s, "shutDown", &id, 400, "paused").await;
    assert!(refused["errorMessage"]
        .as_str()
        .unwrap()
        .contains("is paused"));
    step(&s, "reboot", &id, 400, "paused").await;
    step(&s, "reset", &id, 400, "paused").await;
    step(&s, "powerOn", &id, 202, "started").await;
    step(&s, "reboot", &id, 202, "started").await;
    step(&s, "reset", &id, 202, "started").await;
    step(&s, "shutDown", &id, 202, "stopped").await;
    step(&s, "powerOn", &id, 202, "started").await;
    step(&s, "pause", &id, 202, "paused").await;
    step(&s, "powerOff", &id, 202, "stopped").await;

    // The change records who made it: a second user of the account powers the server on.
    create_user(&dir.0, "DEMO", "bob", &[], "B0b-Passw0rd-x");
    let bob = Session {
        token: s.server.login("bob", "B0b-Passw0rd-x").await,
        server: s.server,
        alias: "DEMO".into(),
    };
    let before = bob.server(&id).await["changeInfo"].clone();
    assert_eq!(before["modifiedBy"], "admin");
    step(&bob, "powerOn", &id, 202, "started").await;
    let after = bob.server(&id).await["changeInfo"].clone();
    assert_eq!(after["modifiedBy"], "bob");
    assert!(after["modifiedDate"].as_str() >= before["modifiedDate"].as_str());
    assert_eq!(after["createdBy"], "admin");
    // Nothing to do changes nothing.
    let admin_token = bob.server.login("admin", common::PASSWORD).await;
    let (status, _) = bob
        .server
        .call(
            Method::POST,
            "/v2/operations/DEMO/servers/powerOn",
            Some(&admin_token),
            Some(json!([id])),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(bob.server(&id).await["changeInfo"], after);
}

#[tokio::test]
async fn every_requested_server_gets_its_own_answer_in_request_order() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let a = s.build("a").await;
    let b = s.build("b").await;
    step(&s, "powerOff", &b, 202, "stopped").await;
    let mallory = other_account(&s, &dir.0).await;
    // The other account builds a server of its own.
    let m = Session {
        server: s.server,
        token: mallory.clone(),
        alias: "OTHR".into(),
    };
    let theirs = m.build("x").await;
    let s = Session {
        server: m.server,
        token: s.token,
        alias: "DEMO".into(),
    };

    let unknown = "WA1DEMONOPE01";
    let (status, answer) = s
        .operate("pause", &[&a.to_lowercase(), &b, unknown, &theirs, &a])
        .await;
    assert_eq!(status, 202, "{answer}");
    let entries = answer.as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0]["server"], a.to_lowercase());
    assert_eq!(entries[0]["isQueued"], true);
    assert_eq!(entries[1]["server"], b.to_lowercase());
    assert_eq!(entries[1]["isQueued"], false);
    assert!(entries[1]["errorMessage"]
        .as_str()
        .unwrap()
        .contains(&format!("Server {b} is stopped")));
    // Another account's server answers exactly like one that does not exist.
    for (entry, asked) in [(&entries[2], unknown), (&entries[3], theirs.as_str())] {
        assert_eq!(keys(entry), ["errorMessage", "isQueued", "server"]);
        assert_eq!(entry["server"], asked.to_lowercase());
        assert_eq!(entry["errorMessage"], NOT_QUEUED);
    }
    // The same server twice: the second runs after the first, and finds nothing left to do.
    assert_eq!(entries[4]["isQueued"], true);
    for end in s.wait_all(&answer).await {
        assert_eq!(end["status"], "succeeded", "{end}");
    }
    assert_eq!(s.server(&a).await["details"]["powerState"], "paused");
    assert_eq!(s.server(&b).await["details"]["powerState"], "stopped");

    // Nothing queued: 400 with the array when any entry is an error, 200 when all are no-ops.
    let (status, answer) = s.operate("powerOff", &[&b, unknown]).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer[0]["errorMessage"], ALREADY_THERE);
    assert_eq!(answer[1]["errorMessage"], NOT_QUEUED);
    let (status, answer) = s.operate("powerOff", &[&b, &b]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer.as_array().unwrap().len(), 2);
    let (status, answer) = s.operate("powerOn", &[&theirs]).await;
    assert_eq!(
        (status, answer[0]["errorMessage"].clone()),
        (400, json!(NOT_QUEUED))
    );

    // The other account sees our servers as unknown, under its alias or ours.
    let (status, answer) = s
        .server
        .call(
            Method::POST,
            "/v2/operations/OTHR/servers/powerOff",
            Some(&mallory),
            Some(json!([a])),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer[0]["errorMessage"], NOT_QUEUED);
    let (status, answer) = s
        .server
        .call(
            Method::POST,
            "/v2/operations/DEMO/servers/powerOff",
            Some(&mallory),
            Some(json!([a])),
        )
        .await;
    assert_eq!(status, 404);
    assert!(answer["message"].is_string());
    assert_eq!(s.server(&a).await["details"]["powerState"], "paused");
}

#[tokio::test]
async fn maintenance_mode_is_set_and_cleared() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let id = s.build("mnt").await;
    assert_eq!(s.server(&id).await["details"]["inMaintenanceMode"], false);
    let (status, answer) = s.operate("startMaintenance", &[&id]).await;
    assert_eq!(status, 202, "{answer}");
    s.wait_all(&answer).await;
    let server = s.server(&id).await;
    assert_eq!(server["details"]["inMaintenanceMode"], true);
    assert_eq!(server["details"]["powerState"], "started");
    let (status, answer) = s.operate("startMaintenance", &[&id]).await;
    assert_eq!(
        (status, &answer[0]["errorMessage"]),
        (200, &json!(ALREADY_THERE))
    );
    // Power operations keep maintenance mode.
    step(&s, "powerOff", &id, 202, "stopped").await;
    assert_eq!(s.server(&id).await["details"]["inMaintenanceMode"], true);
    let (status, answer) = s.operate("stopMaintenance", &[&id]).await;
    assert_eq!(status, 202, "{answer}");
    s.wait_all(&answer).await;
    assert_eq!(s.server(&id).await["details"]["inMaintenanceMode"], false);

    // setMaintenance: the docs' string booleans, one entry per server.
    let (status, answer) = s
        .post(
            "/v2/operations/DEMO/servers/setMaintenance",
            json!({"servers": [{"id": id.to_lowercase(), "inMaintenanceMode": "true"},
                               {"id": "WA1DEMONOPE01", "inMaintenanceMode": false}]}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer[1]["errorMessage"], NOT_QUEUED);
    s.wait_all(&answer).await;
    assert_eq!(s.server(&id).await["details"]["inMaintenanceMode"], true);
    let (status, answer) = s
        .post(
            "/v2/operations/DEMO/servers/setMaintenance",
            json!({"servers": [{"id": id, "inMaintenanceMode": "FALSE"}]}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    s.wait_all(&answer).await;
    assert_eq!(s.server(&id).await["details"]["inMaintenanceMode"], false);

    for (body, field) in [
        (json!({"servers": [{"id": id}]}), "inMaintenanceMode"),
        (
            json!({"servers": [{"id": id, "inMaintenanceMode": "maybe"}]}),
            "inMaintenanceMode",
        ),
        (json!({"servers": [{"inMaintenanceMode": true}]}), "id"),
        (json!({"servers": ["WA1DEMOMNT01"]}), "servers"),
        (json!({"servers": []}), "servers"),
        (json!({"other": 1}), "servers"),
        (Value::Null, "servers"),
    ] {
        let (status, answer) = s
            .post("/v2/operations/DEMO/servers/setMaintenance", body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["modelState"][field].is_array(), "{body}: {answer}");
    }
    assert_eq!(s.server(&id).await["details"]["inMaintenanceMode"], false);
}

#[tokio::test]
async fn bad_requests_are_refused_whole_and_queue_nothing() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let id = s.build("bad").await;
    let before = s.server(&id).await;
    for body in [
        json!([]),
        json!([1, 2]),
        json!([id, null]),
        json!([""]),
        json!({"servers": [id]}),
        json!("not json"),
        Value::Null,
    ] {
        let (status, answer) = s
            .post("/v2/operations/DEMO/servers/powerOff", body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{body}: {answer}");
    }
    let (status, answer) = s
        .post("/v2/operations/DEMO/servers/powerOff", json!([1]))
        .await;
    assert_eq!(status, 400);
    assert!(answer["modelState"]["serverIds"].is_array(), "{answer}");
    let too_many: Vec<String> = (0..1001).map(|_| id.clone()).collect();
    let (status, _) = s
        .post("/v2/operations/DEMO/servers/powerOff", json!(too_many))
        .await;
    assert_eq!(status, 400);
    // The documented wrapper object is accepted too.
    let (status, answer) = s
        .post(
            "/v2/operations/DEMO/servers/powerOff",
            json!({"serverIds": [id]}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    s.wait_all(&answer).await;
    // Python sends the array as a pre-serialised string with `Application/json`.
    let response = s
        .server
        .http
        .post(s.server.url("/v2/operations/demo/servers/POWERON"))
        .bearer_auth(&s.token)
        .header("Content-Type", "Application/json")
        .body(format!("[\"{}\"]", id.to_lowercase()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let answer: Value = response.json().await.unwrap();
    s.wait_all(&answer).await;

    let (status, answer) = s
        .post("/v2/operations/DEMO/servers/explode", json!([id]))
        .await;
    assert_eq!(status, 404);
    assert!(answer["message"].is_string());
    let (status, _) = s
        .server
        .call(
            Method::POST,
            "/v2/operations/DEMO/servers/powerOff",
            None,
            Some(json!([id])),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = s
        .post("/v2/operations/NOPE/servers/powerOff", json!([id]))
        .await;
    assert_eq!(status, 404);
    let after = s.server(&id).await;
    assert_eq!(after["details"], before["details"]);
    assert_eq!(after["status"], "active");
}

#[tokio::test]
async fn a_server_still_being_built_refuses_every_operation() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 60_000,
            ..Default::default()
        },
    )
    .await;
    let (status, _) = s
        .post("/v2/servers/DEMO", s.server_body("slow").await)
        .await;
    assert_eq!(status, 202);
    let id = "WA1DEMOSLOW01";
    for op in [
        "powerOn",
        "powerOff",
        "pause",
        "reboot",
        "shutDown",
        "startMaintenance",
        "archive",
    ] {
        let (status, answer) = s.operate(op, &[id]).await;
        assert_eq!(status, 400, "{op}: {answer}");
        assert!(
            answer[0]["errorMessage"]
                .as_str()
                .unwrap()
                .contains("still being built"),
            "{op}: {answer}"
        );
    }
    let (status, answer) = s
        .post(
            "/v2/operations/DEMO/servers/createSnapshot",
            json!({"serverIds": [id], "snapshotExpirationDays": 1}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer[0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("still being built"));
    assert_eq!(s.server(id).await["status"], "underConstruction");
}

#[tokio::test]
async fn work_accepted_behind_unfinished_work_is_checked_when_it_runs() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 1500,
            ..Default::default()
        },
    )
    .await;
    let id = s.build("busy").await;
    let (status, off) = s.operate("powerOff", &[&id]).await;
    assert_eq!(status, 202);
    // Accepted while the power off is unfinished; by the time it runs, the server is stopped.
    let (status, pause) = s.operate("pause", &[&id]).await;
    assert_eq!(status, 202, "{pause}");
    let (status, on) = s.operate("powerOn", &[&id]).await;
    assert_eq!(status, 202, "{on}");
    assert_eq!(s.wait(&status_href(&off[0])).await["status"], "succeeded");
    let failed = s.wait(&status_href(&pause[0])).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["errorMessage"],
        format!("Server {id} is stopped: only a started server can be paused.")
    );
    assert_eq!(s.wait(&status_href(&on[0])).await["status"], "succeeded");
    assert_eq!(s.server(&id).await["details"]["powerState"], "started");
}

/// The id of a group of the account's tree in a data center, by name.
async fn group_in(s: &Session, dc: &str, name: &str) -> String {
    let (_, dc) = s.get(&format!("/v2/datacenters/DEMO/{dc}")).await;
    let root = dc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "group")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, tree) = s.get(&format!("/v2/groups/DEMO/{root}")).await;
    tree["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn server_links(group: &Value) -> Vec<String> {
    group["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "server")
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn archive_moves_a_server_to_the_archive_group_and_restore_brings_it_back() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let id = s.build("arc").await;
    let default_group = s.group_id("Default Group").await;
    let archive = s.group_id("Archive").await;

    let (status, answer) = s.operate("archive", &[&id]).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(s.wait_all(&answer).await[0]["status"], "succeeded");
    let server = s.server(&id).await;
    assert_eq!(server["status"], "archived");
    assert_eq!(server["details"]["powerState"], "stopped");
    assert_eq!(server["groupId"], archive);
    let (_, group) = s.get(&format!("/v2/groups/DEMO/{archive}")).await;
    assert_eq!(server_links(&group), vec![id.clone()]);
    let (_, group) = s.get(&format!("/v2/groups/DEMO/{default_group}")).await;
    assert!(server_links(&group).is_empty());

    let (status, answer) = s.operate("archive", &[&id]).await;
    assert_eq!(
        (status, &answer[0]["errorMessage"]),
        (200, &json!(ALREADY_THERE))
    );
    for op in ["powerOn", "startMaintenance"] {
        let (status, answer) = s.operate(op, &[&id]).await;
        assert_eq!(status, 400, "{op}: {answer}");
        let message = answer[0]["errorMessage"].as_str().unwrap();
        assert!(
            message.contains("is archived") && message.contains("restore"),
            "{message}"
        );
    }

    // Restore refuses a missing, unknown, foreign, archive or other-data-center target.
    let restore = format!("/v2/servers/DEMO/{id}/restore");
    let mallory = other_account(&s, &dir.0).await;
    let (_, their_dc) = s
        .server
        .call(
            Method::GET,
            "/v2/datacenters/OTHR/WA1",
            Some(&mallory),
            None,
        )
        .await;
    let their_root = their_dc["links"][1]["id"].as_str().unwrap().to_owned();
    let unknown = "0".repeat(32);
    let elsewhere = group_in(&s, "VA1", "Default Group").await;
    for (body, says) in [
        (Value::Null, "targetGroupId is required"),
        (json!({"targetGroupId": unknown}), "There is no group"),
        (json!({"targetGroupId": their_root}), "There is no group"),
        (json!({"targetGroupId": archive}), "Archive group"),
        (json!({"targetGroupId": elsewhere}), "data center"),
    ] {
        let (status, answer) = s.post(&restore, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["modelState"]["targetGroupId"].is_array(), "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{answer}"
        );
    }
    let (status, _) = s
        .post(
            "/v2/servers/DEMO/WA1DEMONOPE01/restore",
            json!({"targetGroupId": default_group}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = s
        .server
        .call(
            Method::POST,
            &format!("/v2/servers/OTHR/{id}/restore"),
            Some(&mallory),
            Some(json!({"targetGroupId": their_root})),
        )
        .await;
    assert_eq!(status, 404);

    // Into a new group of the same data center, as Go's SDK sends it: a JSON string of JSON.
    let root = s.group_id("WA1 Hardware").await;
    let (status, group) = s
        .post(
            "/v2/groups/DEMO",
            json!({"name": "Restored", "parentGroupId": root}),
        )
        .await;
    assert_eq!(status, 201);
    let target = group["id"].as_str().unwrap();
    let (status, link) = s
        .post(
            &restore,
            json!(format!("{{\"targetGroupId\": \"{target}\"}}")),
        )
        .await;
    assert_eq!(status, 202, "{link}");
    assert_eq!(keys(&link), ["href", "id", "rel"]);
    assert_eq!(link["rel"], "status");
    assert_eq!(
        s.wait(link["href"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    let server = s.server(&id).await;
    assert_eq!(server["status"], "active");
    assert_eq!(server["details"]["powerState"], "started");
    assert_eq!(server["groupId"], target);
    let (status, answer) = s
        .post(&restore, json!({"targetGroupId": default_group}))
        .await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains("not archived"));

    // A server with a managed operating system cannot be archived.
    let mut body = s.server_body("man").await;
    body["isManagedOS"] = json!(true);
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202);
    s.wait(&status_href(&created)).await;
    let (status, answer) = s.operate("archive", &["WA1DEMOMAN01"]).await;
    assert_eq!(status, 400);
    assert!(answer[0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("managed"));
}

#[tokio::test]
async fn queued_power_work_survives_sigkill_and_restart() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (a, b, c) = (s.build("a").await, s.build("b").await, s.build("c").await);
    let token = s.token.clone();
    s.server.kill();

    // Every step now takes a minute, so all of this is queued or running when the process dies.
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
    let mut accepted = Vec::new();
    for (op, ids) in [
        ("powerOff", vec![a.as_str()]),
        ("startMaintenance", vec![a.as_str()]),
        ("pause", vec![b.as_str()]),
        ("archive", vec![c.as_str()]),
    ] {
        let (status, answer) = s.operate(op, &ids).await;
        assert_eq!(status, 202, "{op}: {answer}");
        accepted.push(answer);
    }
    let token = s.token.clone();
    s.server.kill();

    let s = Session {
        server: Server::start(&dir.0, &Options::default()),
        token,
        alias: "DEMO".into(),
    };
    for answer in &accepted {
        for end in s.wait_all(answer).await {
            assert_eq!(end["status"], "succeeded", "{answer}: {end}");
        }
    }
    let a = s.server(&a).await;
    assert_eq!(a["details"]["powerState"], "stopped");
    assert_eq!(a["details"]["inMaintenanceMode"], true);
    assert_eq!(s.server(&b).await["details"]["powerState"], "paused");
    assert_eq!(s.server(&c).await["status"], "archived");
}
