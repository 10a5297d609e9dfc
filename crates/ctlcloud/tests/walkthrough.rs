//! The "Using the API" walkthrough, over HTTP against a real server: log in, find the data
//! center's groups and templates, build a server, follow it through the queue, read it, delete it.

mod common;

use common::{status_href, Options, Session, TempDir, PASSWORD};
use serde_json::{json, Value};

fn is_hex32(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

fn is_change_date(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    let b = s.as_bytes();
    s.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && s.bytes()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19].contains(&i) || c.is_ascii_digit())
}

#[tokio::test]
async fn walkthrough_login_build_follow_read_delete() {
    let dir = TempDir::new();
    // Steps take long enough that a delete sent twice in a row finds the first still queued.
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 400,
            ..Default::default()
        },
    )
    .await;

    // Login answers the documented shape.
    let (status, login) = s
        .server
        .call(
            reqwest::Method::POST,
            "/v2/authentication/login",
            None,
            Some(json!({"username": "admin", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    let keys: Vec<&String> = login.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{login}");
    assert_eq!(login["userName"], "admin");
    assert_eq!(login["accountAlias"], "DEMO");
    assert_eq!(login["locationAlias"], "WA1");
    assert!(login["roles"]
        .as_array()
        .unwrap()
        .contains(&json!("ServerAdmin")));
    assert!(login["bearerToken"].as_str().unwrap().len() >= 32);

    // The data center list, the data center with its root group link, and what can be deployed.
    let (status, dcs) = s.get("/v2/datacenters/DEMO").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = dcs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    for dc in [
        "CA1", "CA2", "CA3", "DE1", "GB1", "GB3", "IL1", "NY1", "UC1", "UT1", "VA1", "WA1",
    ] {
        assert!(ids.contains(&dc), "{dc} missing from {ids:?}");
    }
    let (status, dc) = s.get("/v2/datacenters/demo/wa1?GroupLinks=true").await;
    assert_eq!(status, 200);
    assert_eq!(dc["id"], "WA1");
    let group_link = dc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "group")
        .unwrap();
    assert_eq!(group_link["name"], "WA1 Hardware");
    assert!(is_hex32(&group_link["id"]));
    assert!(group_link["href"]
        .as_str()
        .unwrap()
        .starts_with("/v2/groups/"));

    let (status, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    assert_eq!(status, 200);
    assert!(caps["supportsPremiumStorage"].is_boolean());
    let network = &caps["deployableNetworks"][0];
    assert_eq!(network["type"], "private");
    assert_eq!(network["accountID"], "DEMO");
    assert!(is_hex32(&network["networkId"]));
    let rhel = caps["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "RHEL-6-64-TEMPLATE")
        .unwrap();
    assert!(rhel["storageSizeGB"].is_u64());
    assert!(rhel["reservedDrivePaths"]
        .as_array()
        .unwrap()
        .contains(&json!("boot")));
    let (status, bare) = s
        .get("/v2/datacenters/DEMO/VA1/bareMetalCapabilities")
        .await;
    assert_eq!(status, 200);
    assert!(bare["skus"][0]["memory"][0]["capacityGB"].is_u64());

    // The group tree: root, its system children, full shapes on every node.
    let root_id = group_link["id"].as_str().unwrap();
    let (status, tree) = s.get(&format!("/v2/groups/DEMO/{root_id}")).await;
    assert_eq!(status, 200);
    let children: Vec<&str> = tree["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for name in ["Default Group", "Archive", "Templates"] {
        assert!(children.contains(&name), "{children:?}");
    }
    for g in std::iter::once(&tree).chain(tree["groups"].as_array().unwrap()) {
        assert!(g["description"].is_string());
        assert!(g["serversCount"].is_u64());
        assert!(
            is_change_date(&g["changeInfo"]["createdDate"]),
            "{}",
            g["changeInfo"]
        );
        assert!(is_change_date(&g["changeInfo"]["modifiedDate"]));
    }
    let default_group = s.group_id("Default Group").await;

    // Build a server exactly as the walkthrough does.
    let (status, created) = s
        .post(
            "/v2/servers/DEMO",
            json!({"name": "rhel", "description": "My RedHat Server", "groupId": default_group,
                   "sourceServerId": "RHEL-6-64-TEMPLATE", "password": "P@ssw0rd1", "cpu": 2, "memoryGB": 4,
                   "type": "standard", "storageType": "standard"}),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["server"], "rhel");
    assert_eq!(created["isQueued"], true);
    let links = created["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["rel"], "status");
    let status_id = links[0]["id"].as_str().unwrap();
    assert!(
        status_id.starts_with("wa1-") && status_id[4..].parse::<u64>().is_ok(),
        "{status_id}"
    );
    assert_eq!(
        links[0]["href"].as_str().unwrap().to_lowercase(),
        format!("/v2/operations/demo/status/{status_id}")
    );
    assert_eq!(links[1]["rel"], "self");
    assert!(is_hex32(&links[1]["id"]));
    assert_eq!(
        links[1]["href"],
        format!(
            "/v2/servers/DEMO/{}?uuid=True",
            links[1]["id"].as_str().unwrap()
        )
    );
    assert_eq!(links[1]["verbs"], json!(["GET"]));

    // The uuid link answers at once, while the build is still queued or running.
    let self_href = links[1]["href"].as_str().unwrap();
    let (status, early) = s.get(self_href).await;
    assert_eq!(status, 200);
    assert_eq!(early["id"], "WA1DEMORHEL01");

    // Follow the queue: notStarted/executing, then succeeded.
    let (_, first) = s.get(&status_href(&created)).await;
    assert!(
        ["notStarted", "executing", "succeeded"].contains(&first["status"].as_str().unwrap()),
        "{first}"
    );
    let done = s.wait(&status_href(&created)).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let (status, server) = s.get(self_href).await;
    assert_eq!(status, 200);
    assert_eq!(server["id"], "WA1DEMORHEL01");
    assert_eq!(server["name"], "WA1DEMORHEL01");
    assert_eq!(server["status"], "active");
    assert_eq!(server["locationId"], "WA1");
    assert_eq!(server["groupId"], default_group.as_str());
    assert_eq!(server["description"], "My RedHat Server");
    let details = &server["details"];
    assert_eq!(details["powerState"], "started");
    assert_eq!(details["cpu"], 2);
    assert_eq!(details["memoryMB"], 4096);
    assert!(details["storageGB"].as_u64().unwrap() > 0);
    assert_eq!(
        details["disks"].as_array().unwrap().len() as u64,
        details["diskCount"].as_u64().unwrap()
    );
    assert!(details["snapshots"].as_array().unwrap().is_empty());
    let ip = details["ipAddresses"][0]["internal"].as_str().unwrap();
    assert!(ip.starts_with("10."), "{ip}");
    assert!(is_change_date(&server["changeInfo"]["createdDate"]));
    // The server is also addressable by name, in any case, and shows in its group.
    let (status, by_name) = s.get("/v2/servers/demo/wa1demorhel01").await;
    assert_eq!(status, 200);
    assert_eq!(by_name["id"], "WA1DEMORHEL01");
    let (_, group) = s.get(&format!("/v2/groups/DEMO/{default_group}")).await;
    assert_eq!(group["serversCount"], 1);
    assert!(group["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "server" && l["id"] == "WA1DEMORHEL01"));

    // Credentials: the one place a server password is returned.
    let (status, creds) = s.get("/v2/servers/DEMO/WA1DEMORHEL01/credentials").await;
    assert_eq!(status, 200);
    assert_eq!(creds, json!({"userName": "root", "password": "P@ssw0rd1"}));
    assert!(!server.to_string().contains("P@ssw0rd1"));

    // Delete is queued; when it succeeds the server is gone and its address is free again.
    let (status, deleted) = s.delete("/v2/servers/DEMO/wa1demorhel01").await;
    assert_eq!(status, 202, "{deleted}");
    assert_eq!(deleted["isQueued"], true);
    let (status, again) = s.delete("/v2/servers/DEMO/WA1DEMORHEL01").await;
    assert_eq!(status, 202);
    assert_eq!(
        status_href(&again),
        status_href(&deleted),
        "a second delete answers the same job"
    );
    assert_eq!(s.wait(&status_href(&deleted)).await["status"], "succeeded");
    let (status, gone) = s.get("/v2/servers/DEMO/WA1DEMORHEL01").await;
    assert_eq!(status, 404);
    assert!(gone["message"].is_string());
    let (status, next) = s
        .post("/v2/servers/DEMO", s.server_body("rhel").await)
        .await;
    assert_eq!(status, 202);
    s.wait(&status_href(&next)).await;
    let (_, reused) = s.get("/v2/servers/DEMO/WA1DEMORHEL01").await;
    assert_eq!(
        reused["details"]["ipAddresses"][0]["internal"], ip,
        "the freed address and name are handed out again"
    );
}

#[tokio::test]
async fn the_same_name_twice_makes_01_and_02_and_groups_can_be_created() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let parent = s.group_id("Default Group").await;
    // Group create, as the Python client sends it: a form.
    let response = s
        .server
        .http
        .post(s.server.url("/v2/groups/DEMO"))
        .bearer_auth(&s.token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "name=web+tier&description=Web&parentGroupId={parent}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let group: Value = response.json().await.unwrap();
    assert_eq!(group["name"], "web tier");
    assert!(group["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "parentGroup" && l["id"] == parent.as_str()));
    let group_id = group["id"].as_str().unwrap().to_owned();

    let mut body = s.server_body("web").await;
    body["groupId"] = json!(group_id);
    body["password"] = Value::Null; // Python's client sends explicit nulls for unset fields.
    body["ipAddress"] = json!("");
    let (a, first) = s.post("/v2/servers/DEMO", body.clone()).await;
    let (b, second) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!((a, b), (202, 202));
    s.wait(&status_href(&first)).await;
    s.wait(&status_href(&second)).await;
    let (_, tree) = s.get(&format!("/v2/groups/DEMO/{group_id}")).await;
    let servers: Vec<&str> = tree["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "server")
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(servers, ["WA1DEMOWEB01", "WA1DEMOWEB02"]);
    // The parent's count includes its subgroups.
    let (_, parent_tree) = s.get(&format!("/v2/groups/DEMO/{parent}")).await;
    assert_eq!(parent_tree["serversCount"], 2);
    // A generated password meets the rules and is readable through credentials only.
    let (_, creds) = s.get("/v2/servers/DEMO/WA1DEMOWEB02/credentials").await;
    assert!(creds["password"].as_str().unwrap().len() >= 8);
}

#[tokio::test]
async fn a_failed_build_fails_its_job_with_a_message_and_marks_the_server() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            fail_marker: Some("BROKEN".into()),
            ..Default::default()
        },
    )
    .await;
    let (status, created) = s
        .post("/v2/servers/DEMO", s.server_body("broken").await)
        .await;
    assert_eq!(status, 202);
    let done = s.wait(&status_href(&created)).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .contains("WA1DEMOBROKEN01"),
        "{done}"
    );
    let (_, server) = s.get("/v2/servers/DEMO/WA1DEMOBROKEN01").await;
    assert_eq!(server["status"], "failed");
    assert_eq!(server["details"]["powerState"], "stopped");
    // A failed server can still be deleted.
    let (status, deleted) = s.delete("/v2/servers/DEMO/WA1DEMOBROKEN01").await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&deleted)).await["status"], "succeeded");
}
