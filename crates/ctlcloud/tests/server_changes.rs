//! Changing built servers over HTTP (PATCH): one status link per batch, immediate changes at once,
//! driver changes when the job runs, batches validated whole, and every refusal a 4xx naming the
//! field. Also the credentials after a password change and the server's capabilities.

mod common;

use common::{create_user, status_href, Options, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

const SERVER: &str = "/v2/servers/DEMO/WA1DEMOCHG01";

async fn patch(s: &Session, path: &str, body: Value) -> (u16, Value) {
    s.server
        .call(Method::PATCH, path, Some(&s.token), Some(body))
        .await
}

/// Builds a server `WA1DEMO<NAME>01` and waits for it; its password is `Old-Passw0rd`.
async fn build(s: &Session, name: &str) -> String {
    let mut body = s.server_body(name).await;
    body["password"] = json!("Old-Passw0rd");
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    format!("/v2/servers/DEMO/WA1DEMO{}01", name.to_uppercase())
}

/// A shape-B answer: exactly `{rel: "status", href, id}`; returns the href.
fn status_link(answer: &Value) -> String {
    let keys: Vec<&String> = answer.as_object().expect("an object").keys().collect();
    assert_eq!(keys.len(), 3, "{answer}");
    assert_eq!(answer["rel"], "status");
    let id = answer["id"].as_str().unwrap();
    assert!(id.starts_with("wa1-"), "{id}");
    assert_eq!(answer["href"], format!("/v2/operations/DEMO/status/{id}"));
    answer["href"].as_str().unwrap().to_owned()
}

fn set(member: &str, value: Value) -> Value {
    json!({"op": "set", "member": member, "value": value})
}

/// The template's disks of the default server body, as a PATCH lists them.
fn os_disks() -> Vec<Value> {
    vec![
        json!({"diskId": "0:0", "sizeGB": 1}),
        json!({"diskId": "0:1", "sizeGB": 2}),
        json!({"diskId": "0:2", "sizeGB": 14}),
    ]
}

#[tokio::test]
async fn one_batch_answers_one_link_changes_at_once_what_it_can_and_the_rest_when_its_job_runs() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 300,
            ..Default::default()
        },
    )
    .await;
    let path = build(&s, "chg").await;
    let (_, group) = s
        .post(
            "/v2/groups/DEMO",
            json!({"name": "Moved", "parentGroupId": s.group_id("Default Group").await}),
        )
        .await;
    let group_id = group["id"].as_str().unwrap().to_owned();
    let (_, before) = s.get(&path).await;

    // The docs' own example sends numbers as strings; every member in one batch.
    let mut disks = os_disks();
    disks[2] = json!({"diskId": "0:2", "sizeGB": "20", "type": "partitioned"});
    disks.push(json!({"path": "/data", "sizeGB": "10", "type": "partitioned"}));
    disks.push(json!({"sizeGB": 5, "type": "raw"}));
    let (status, answer) = patch(
        &s,
        &path,
        json!([
            set("cpu", json!("4")),
            set("memory", json!(8)),
            set("password", json!({"current": "Old-Passw0rd", "password": "N3w-Passw0rd"})),
            set("disks", json!(disks)),
            set("customFields", json!([])),
            set("description", json!("changed")),
            {"OP": "Set", "Member": "groupid", "Value": group_id},
        ]),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let href = status_link(&answer);

    // Description and group change at once; cpu, memory, disks and password only with the job.
    let (_, now) = s.get(&path).await;
    let (_, job) = s.get(&href).await;
    assert_eq!(now["description"], "changed");
    assert_eq!(now["groupId"], group_id.as_str());
    if job["status"] != "succeeded" {
        assert_eq!(now["details"]["cpu"], before["details"]["cpu"], "{job}");
        assert_eq!(now["details"]["disks"], before["details"]["disks"]);
    }
    assert_eq!(s.wait(&href).await["status"], "succeeded");

    let (_, after) = s.get(&path).await;
    let details = &after["details"];
    assert_eq!(details["cpu"], 4);
    assert_eq!(details["memoryMB"], 8192);
    assert_eq!(
        details["disks"],
        json!([
            {"id": "0:0", "sizeGB": 1, "partitionPaths": ["/boot"]},
            {"id": "0:1", "sizeGB": 2, "partitionPaths": ["swap"]},
            {"id": "0:2", "sizeGB": 20, "partitionPaths": ["/"]},
            {"id": "0:3", "sizeGB": 10, "partitionPaths": ["/data"]},
            {"id": "0:4", "sizeGB": 5, "partitionPaths": []},
        ])
    );
    assert_eq!(details["diskCount"], 5);
    assert_eq!(details["storageGB"], 38);
    assert!(details["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["path"] == "/data"));
    assert_eq!(after["changeInfo"]["modifiedBy"], "admin");
    assert_eq!(
        after["changeInfo"]["createdDate"],
        before["changeInfo"]["createdDate"]
    );
    let (_, credentials) = s.get(&format!("{path}/credentials")).await;
    assert_eq!(
        credentials,
        json!({"userName": "root", "password": "N3w-Passw0rd"})
    );
    let (_, moved) = s.get(&format!("/v2/groups/DEMO/{group_id}")).await;
    assert!(moved["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "server" && l["id"] == "WA1DEMOCHG01"));
    // The queue keeps no copy of the passwords once the job has ended.
    let path = ctlcloud::serve::database_path(&dir.0);
    let payloads = ctlcloud::store::Store::open(ctlcloud::store::Location::File(&path))
        .await
        .unwrap();
    let stored: Vec<String> = ctlcloud::store::db::query_scalar("SELECT payload FROM jobs")
        .fetch_all(payloads.reader())
        .await
        .unwrap();
    assert!(stored.iter().all(|p| !p.contains("Passw0rd")), "{stored:?}");
}

#[tokio::test]
async fn description_group_and_custom_fields_alone_answer_an_already_succeeded_job() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let path = build(&s, "chg").await;
    create_user(&dir.0, "DEMO", "ops", &[], "0ps-Passw0rd");
    let ops = s.server.login("ops", "0ps-Passw0rd").await;
    for batch in [
        json!([set("description", json!("by ops"))]),
        json!([set("customFields", json!([]))]),
        json!([set("description", json!(""))]),
    ] {
        let (status, answer) = s
            .server
            .call(Method::PATCH, &path, Some(&ops), Some(batch.clone()))
            .await;
        assert_eq!(status, 202, "{batch}: {answer}");
        // Done already: the first poll says so, no waiting needed.
        let (_, job) = s.get(&status_link(&answer)).await;
        assert_eq!(job["status"], "succeeded", "{batch}");
    }
    let (_, server) = s.get(&path).await;
    assert_eq!(server["description"], "");
    assert_eq!(server["changeInfo"]["modifiedBy"], "ops");
    assert_eq!(server["changeInfo"]["createdBy"], "admin");
    assert!(server["details"]["customFields"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn invalid_batches_are_refused_whole_with_the_field_named() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let path = build(&s, "chg").await;
    let (_, before) = s.get(&path).await;
    let archive = s.group_id("Archive").await;
    let (_, va1) = s.get("/v2/datacenters/DEMO/VA1").await;
    let va1_root = va1["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "group")
        .unwrap()["id"]
        .clone();
    let disks = |extra: Vec<Value>| json!([set("disks", json!([os_disks(), extra].concat()))]);
    let cases = [
        (json!({"op": "set", "member": "cpu", "value": 2}), ""),
        (json!([]), ""),
        (json!([1]), ""),
        (json!([{"op": "add", "member": "cpu", "value": 2}]), "op"),
        (json!([{"op": "set", "value": 2}]), "member"),
        (json!([set("name", json!("x"))]), "member"),
        (json!([set("cpu", json!(2)), set("CPU", json!(3))]), "cpu"),
        (json!([set("cpu", json!(0))]), "cpu"),
        (json!([set("cpu", json!(17))]), "cpu"),
        (json!([set("cpu", json!("two"))]), "cpu"),
        (json!([set("cpu", Value::Null)]), "cpu"),
        (json!([set("memory", json!(0))]), "memory"),
        (json!([set("memory", json!(129))]), "memory"),
        (json!([set("memory", json!(1.5))]), "memory"),
        (json!([set("password", json!("N3w-Passw0rd"))]), "password"),
        (
            json!([set("password", json!({"password": "N3w-Passw0rd"}))]),
            "password",
        ),
        (
            json!([set(
                "password",
                json!({"current": "wrong-one", "password": "N3w-Passw0rd"})
            )]),
            "password",
        ),
        (
            json!([set(
                "password",
                json!({"current": "Old-Passw0rd", "password": "short"})
            )]),
            "password",
        ),
        (json!([set("disks", json!("all"))]), "disks"),
        (json!([set("disks", json!([1]))]), "disks"),
        (disks(vec![json!({"diskId": "0:9", "sizeGB": 5})]), "disks"),
        (
            json!([set(
                "disks",
                json!([os_disks()[0], os_disks()[1], {"diskId": "0:2", "sizeGB": 10}])
            )]),
            "disks",
        ),
        (
            json!([set(
                "disks",
                json!([os_disks()[0], os_disks()[1], {"diskId": "0:2", "sizeGB": 2000}])
            )]),
            "disks",
        ),
        (
            disks(vec![json!({"sizeGB": 10, "type": "partitioned"})]),
            "disks",
        ),
        (disks(vec![json!({"path": "/boot", "sizeGB": 10})]), "disks"),
        (
            disks(vec![json!({"path": "/x", "sizeGB": 10, "type": "ssd"})]),
            "disks",
        ),
        (disks(vec![json!({"path": "/x", "sizeGB": 0})]), "disks"),
        (disks(vec![json!({"path": "/x", "sizeGB": 1025})]), "disks"),
        (disks(vec![json!({"type": "raw"})]), "disks"),
        (
            disks(vec![
                json!({"path": "/x", "sizeGB": 1}),
                json!({"path": "/X", "sizeGB": 1}),
            ]),
            "disks",
        ),
        (
            disks(vec![json!({"sizeGB": 1, "type": "raw"}); 14]),
            "disks",
        ),
        (
            json!([set("customFields", json!([{"id": "nope", "value": "x"}]))]),
            "customFields",
        ),
        (json!([set("customFields", json!("x"))]), "customFields"),
        (json!([set("description", json!({"a": 1}))]), "description"),
        (
            json!([set("groupId", json!("0123456789abcdef0123456789abcdef"))]),
            "groupId",
        ),
        (json!([set("groupId", json!(archive))]), "groupId"),
        (json!([set("groupId", va1_root)]), "groupId"),
        // All or nothing: the valid members of a refused batch change nothing.
        (
            json!([
                set("description", json!("changed")),
                set("cpu", json!(4)),
                set("memory", json!(999))
            ]),
            "memory",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = patch(&s, &path, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
        if !field.is_empty() {
            assert!(
                answer["modelState"].get(field).is_some(),
                "{field} not named for {body}: {answer}"
            );
        }
    }
    let (_, after) = s.get(&path).await;
    assert_eq!(after, before, "a refused batch changed the server");
    let (_, credentials) = s.get(&format!("{path}/credentials")).await;
    assert_eq!(credentials["password"], "Old-Passw0rd");
}

#[tokio::test]
async fn jobs_on_one_server_run_in_order_and_check_again_what_earlier_ones_changed() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 200,
            ..Default::default()
        },
    )
    .await;
    let path = build(&s, "chg").await;
    let grow = |size: i64| {
        let mut disks = os_disks();
        disks[2] = json!({"diskId": "0:2", "sizeGB": size});
        json!([set("disks", json!(disks))])
    };
    let password = |new: &str| {
        json!([set(
            "password",
            json!({"current": "Old-Passw0rd", "password": new})
        )])
    };
    // Both valid when accepted; the second no longer is once the first has run.
    let mut links = Vec::new();
    for body in [
        grow(30),
        grow(20),
        password("Second-Passw0rd"),
        password("Third-Passw0rd"),
    ] {
        let (status, answer) = patch(&s, &path, body).await;
        assert_eq!(status, 202, "{answer}");
        links.push(status_link(&answer));
    }
    let mut outcomes = Vec::new();
    for href in &links {
        let job = s.wait(href).await;
        outcomes.push(job["status"].as_str().unwrap().to_owned());
        if job["status"] == "failed" {
            assert!(job["errorMessage"].is_string(), "{job}");
        }
    }
    assert_eq!(outcomes, ["succeeded", "failed", "succeeded", "failed"]);
    let (_, after) = s.get(&path).await;
    assert_eq!(after["details"]["disks"][2]["sizeGB"], 30);
    let (_, credentials) = s.get(&format!("{path}/credentials")).await;
    assert_eq!(credentials["password"], "Second-Passw0rd");
}

#[tokio::test]
async fn only_active_servers_of_the_account_can_be_changed() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 1000,
            ..Default::default()
        },
    )
    .await;
    let batch = json!([set("cpu", json!(2))]);
    for path in [
        "/v2/servers/DEMO/WA1DEMONOPE01",
        "/v2/servers/OTHR/WA1DEMOCHG01",
    ] {
        let (status, answer) = patch(&s, path, batch.clone()).await;
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(answer["message"].is_string());
    }
    // Under construction: refused until the build has finished.
    let (_, created) = s.post("/v2/servers/DEMO", s.server_body("chg").await).await;
    let (status, answer) = patch(&s, SERVER, batch.clone()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("underConstruction"));
    s.wait(&status_href(&created)).await;
    let (status, _) = patch(&s, SERVER, batch.clone()).await;
    assert_eq!(status, 202);
    // Being deleted: refused at once.
    let (status, _) = s.delete(SERVER).await;
    assert_eq!(status, 202);
    let (status, answer) = patch(&s, SERVER, batch.clone()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("being deleted"));
}

#[tokio::test]
async fn capabilities_name_the_reserved_paths_of_the_template() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let path = build(&s, "chg").await;
    let (status, capabilities) = s.get(&format!("{path}/capabilities")).await;
    assert_eq!(status, 200);
    assert_eq!(capabilities["addingCpuRequiresReboot"], false);
    assert_eq!(capabilities["addingMemoryRequiresReboot"], false);
    let reserved = capabilities["reservedDrivePaths"].as_array().unwrap();
    assert!(reserved.contains(&json!("boot")));
    // The same list deployment capabilities give for the template.
    let (_, deployable) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    let template = deployable["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "UBUNTU-16-64-TEMPLATE")
        .unwrap();
    assert_eq!(
        &template["reservedDrivePaths"],
        &capabilities["reservedDrivePaths"]
    );
    let (_, server) = s.get(&path).await;
    assert!(server["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "capabilities"
            && l["href"] == "/v2/servers/DEMO/wa1demochg01/capabilities"));
    let (status, answer) = s.get("/v2/servers/DEMO/WA1DEMONOPE01/capabilities").await;
    assert_eq!(status, 404, "{answer}");
}

#[tokio::test]
async fn a_server_can_be_changed_by_its_uuid_as_go_addresses_it() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let path = build(&s, "uid").await;
    let (_, server) = s.get(&path).await;
    // A second server of the same name, addressed by the uuid of its create answer.
    let mut body = s.server_body("uid").await;
    body["password"] = json!("Old-Passw0rd");
    let (_, created) = s.post("/v2/servers/DEMO", body).await;
    let uuid = created["links"][1]["id"].as_str().unwrap().to_owned();
    s.wait(&status_href(&created)).await;
    let (status, answer) = patch(
        &s,
        &format!("/v2/servers/DEMO/{uuid}?uuid=true"),
        json!([set("description", json!("by uuid"))]),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let (_, changed) = s.get(&format!("/v2/servers/DEMO/{uuid}?uuid=true")).await;
    assert_eq!(changed["description"], "by uuid");
    assert_eq!(changed["id"], "WA1DEMOUID02");
    let (_, untouched) = s.get(&path).await;
    assert_eq!(untouched["description"], server["description"]);
    let (status, _) = patch(
        &s,
        "/v2/servers/DEMO/0123456789abcdef0123456789abcdef?uuid=true",
        json!([set("description", json!("x"))]),
    )
    .await;
    assert_eq!(status, 404);
}
