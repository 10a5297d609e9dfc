//! Groups over HTTP: PATCH (name, description, parent, custom fields), delete, archive and
//! restore, and defaults feeding server creation. Every refusal answers a 4xx JSON message.

mod common;

use common::{admin, create_user, status_href, Options, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

async fn patch(s: &Session, group: &str, body: Value) -> (u16, Value) {
    s.server
        .call(
            Method::PATCH,
            &format!("/v2/groups/DEMO/{group}"),
            Some(&s.token),
            Some(body),
        )
        .await
}

/// Creates a group under `parent`; returns its id.
async fn group(s: &Session, name: &str, parent: &str) -> String {
    let (status, body) = s
        .post(
            "/v2/groups/DEMO",
            json!({"name": name, "parentGroupId": parent}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Builds a server in a group; returns its name.
async fn server(s: &Session, name: &str, group: &str) -> String {
    let mut body = s.server_body(name).await;
    body["groupId"] = json!(group);
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    let (_, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
    server["id"].as_str().unwrap().to_owned()
}

fn link<'a>(entity: &'a Value, rel: &str) -> Option<&'a Value> {
    entity["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
}

fn child_names(group: &Value) -> Vec<String> {
    group["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_refused(status: u16, body: &Value, expected: u16, field: &str, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert!(body["message"].is_string(), "{what}: {body}");
    if !field.is_empty() {
        assert!(
            body["modelState"].get(field).is_some(),
            "{what}: {field} not named in {body}"
        );
    }
}

/// Logs in a second user of the account, to tell who changed what.
async fn second_user(dir: &TempDir, s: &Session) -> String {
    create_user(&dir.0, "DEMO", "ops", &[], "0ps-Passw0rd");
    s.server.login("ops", "0ps-Passw0rd").await
}

#[tokio::test]
async fn patch_changes_name_description_parent_and_custom_fields() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let default_group = s.group_id("Default Group").await;
    let root = s.group_id("WA1 Hardware").await;
    let web = group(&s, "web", &default_group).await;
    let target = group(&s, "apps", &root).await;
    let built = server(&s, "pw", &web).await;
    // Defined after the groups exist: a required field binds changes of custom fields, not
    // other changes.
    let out = admin(
        &dir.0,
        &[
            "custom-field",
            "create",
            "--account",
            "DEMO",
            "--name",
            "Owner",
            "--type",
            "text",
            "--required",
        ],
        None,
    );
    let owner = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = admin(
        &dir.0,
        &[
            "custom-field",
            "create",
            "--account",
            "demo",
            "--name",
            "Tier",
            "--type",
            "option",
            "--option",
            "Gold=gold",
            "--option",
            "Silver=silver",
        ],
        None,
    );
    let tier = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another user changes it: modifiedBy tells, createdBy stays.
    let ops = second_user(&dir, &s).await;
    let (status, body) = s
        .server
        .call(
            Method::PATCH,
            &format!("/v2/groups/demo/{}", web.to_uppercase()),
            Some(&ops),
            Some(json!([
                {"op": "set", "member": "name", "value": "web tier"},
                {"op": "SET", "member": "Description", "value": "front ends"},
                {"op": "set", "member": "customFields", "value": [
                    {"id": owner, "value": "bob"}, {"id": tier, "value": "GOLD"}]},
            ])),
        )
        .await;
    assert_eq!((status, body), (204, Value::Null));
    let (_, got) = s.get(&format!("/v2/groups/DEMO/{web}")).await;
    assert_eq!(got["name"], "web tier");
    assert_eq!(got["description"], "front ends");
    assert_eq!(got["changeInfo"]["createdBy"], "admin");
    assert_eq!(got["changeInfo"]["modifiedBy"], "ops");
    let fields = got["customFields"].as_array().unwrap();
    assert_eq!(fields.len(), 2, "{got}");
    assert_eq!(
        fields[1],
        json!({"id": tier, "name": "Tier", "value": "gold", "displayValue": "Gold"})
    );

    // Moving it (Go sends a single parentGroupId operation) takes its servers along.
    let (status, _) = patch(
        &s,
        &web,
        json!([{"op": "set", "member": "parentGroupId", "value": target}]),
    )
    .await;
    assert_eq!(status, 204);
    let (_, got) = s.get(&format!("/v2/groups/DEMO/{web}")).await;
    assert_eq!(link(&got, "parentGroup").unwrap()["id"], target.as_str());
    assert_eq!(got["serversCount"], 1);
    assert_eq!(link(&got, "server").unwrap()["id"], built.as_str());
    let (_, apps) = s.get(&format!("/v2/groups/DEMO/{target}")).await;
    assert_eq!(child_names(&apps), ["web tier"]);
    assert_eq!(apps["serversCount"], 1);
    let (_, default) = s.get(&format!("/v2/groups/DEMO/{default_group}")).await;
    assert_eq!(default["serversCount"], 0);
    assert!(!child_names(&default).contains(&"web tier".to_owned()));
    let (_, server) = s.get(&format!("/v2/servers/DEMO/{built}")).await;
    assert_eq!(server["groupId"], web.as_str());

    // Leaving out an optional custom field clears it; a description may be emptied.
    let (status, _) = patch(
        &s,
        &web,
        json!([{"op": "set", "member": "customFields", "value": [{"id": owner, "value": "carol"}]},
               {"op": "set", "member": "description", "value": ""}]),
    )
    .await;
    assert_eq!(status, 204);
    let (_, got) = s.get(&format!("/v2/groups/DEMO/{web}")).await;
    assert_eq!(got["customFields"].as_array().unwrap().len(), 1);
    assert_eq!(got["customFields"][0]["value"], "carol");
    assert_eq!(got["description"], "");
}

#[tokio::test]
async fn patch_refusals_change_nothing() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    admin(
        &dir.0,
        &["account", "create", "--alias", "OTHR", "--name", "Other"],
        None,
    );
    let root = s.group_id("WA1 Hardware").await;
    let archive = s.group_id("Archive").await;
    let default_group = s.group_id("Default Group").await;
    let parent = group(&s, "parent", &default_group).await;
    let child = group(&s, "child", &parent).await;
    let (_, va1) = s.get("/v2/datacenters/DEMO/VA1").await;
    let va1_root = link(&va1, "group").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let va1_group = group(&s, "east", &va1_root).await;
    admin(
        &dir.0,
        &[
            "custom-field",
            "create",
            "--account",
            "DEMO",
            "--name",
            "Owner",
            "--type",
            "text",
            "--required",
        ],
        None,
    );
    let set = |member: &str, value: Value| json!([{"op": "set", "member": member, "value": value}]);
    let cases = [
        (json!({}), 400, ""),
        (json!([]), 400, ""),
        (json!("name"), 400, ""),
        (json!([1]), 400, ""),
        (
            json!([{"op": "add", "member": "name", "value": "x"}]),
            400,
            "op",
        ),
        (json!([{"member": "name", "value": "x"}]), 400, "op"),
        (json!([{"op": "set", "value": "x"}]), 400, "member"),
        (set("status", json!("archived")), 400, "member"),
        (set("name", json!("")), 400, "name"),
        (set("name", json!("x".repeat(201))), 400, "name"),
        (set("name", json!(["x"])), 400, "value"),
        (set("parentGroupId", Value::Null), 400, "parentGroupId"),
        (
            set("parentGroupId", json!("0123456789abcdef0123456789abcdef")),
            400,
            "parentGroupId",
        ),
        (set("parentGroupId", json!(parent)), 400, "parentGroupId"),
        (set("parentGroupId", json!(child)), 400, "parentGroupId"),
        (set("parentGroupId", json!(va1_group)), 400, "parentGroupId"),
        (set("parentGroupId", json!(archive)), 400, "parentGroupId"),
        (set("customFields", json!([])), 400, "customFields"),
        (
            set("customFields", json!([{"id": "nope", "value": "x"}])),
            400,
            "customFields",
        ),
        // Valid first, invalid second: nothing of the request is applied.
        (
            json!([{"op": "set", "member": "name", "value": "renamed"},
                {"op": "set", "member": "parentGroupId", "value": child}]),
            400,
            "parentGroupId",
        ),
    ];
    for (body, expected, field) in cases {
        let (status, answer) = patch(&s, &parent, body.clone()).await;
        assert_refused(status, &answer, expected, field, &body.to_string());
    }
    let (_, got) = s.get(&format!("/v2/groups/DEMO/{parent}")).await;
    assert_eq!(got["name"], "parent");
    assert_eq!(
        link(&got, "parentGroup").unwrap()["id"],
        default_group.as_str()
    );

    // The root and the system groups stay as they are; unknown and foreign ids are 404.
    for id in [&root, &archive] {
        let (status, answer) = patch(&s, id, set("name", json!("mine"))).await;
        assert_refused(status, &answer, 400, "", "system group");
    }
    let (status, answer) = patch(
        &s,
        "0123456789abcdef0123456789abcdef",
        set("name", json!("x")),
    )
    .await;
    assert_refused(status, &answer, 404, "", "unknown group");
    create_user(&dir.0, "OTHR", "mallory", &[], "M4llory-Passw0rd");
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    for path in [
        format!("/v2/groups/DEMO/{parent}"),
        format!("/v2/groups/OTHR/{parent}"),
    ] {
        let (status, answer) = s
            .server
            .call(
                Method::PATCH,
                &path,
                Some(&mallory),
                Some(set("name", json!("x"))),
            )
            .await;
        assert_refused(status, &answer, 404, "", &path);
    }
    // Their own group cannot move under ours: our id is as unknown to them as any other.
    let (_, theirs) = s
        .server
        .call(
            Method::GET,
            "/v2/datacenters/OTHR/WA1",
            Some(&mallory),
            None,
        )
        .await;
    let their_root = link(&theirs, "group").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, their_group) = s
        .server
        .call(
            Method::POST,
            "/v2/groups/OTHR",
            Some(&mallory),
            Some(json!({"name": "theirs", "parentGroupId": their_root})),
        )
        .await;
    let (status, answer) = s
        .server
        .call(
            Method::PATCH,
            &format!("/v2/groups/OTHR/{}", their_group["id"].as_str().unwrap()),
            Some(&mallory),
            Some(set("parentGroupId", json!(parent))),
        )
        .await;
    assert_refused(status, &answer, 400, "parentGroupId", "foreign parent");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("There is no group"));
}

/// A session whose simulated steps take 400 ms each, so that work is still running when a test
/// acts on it, and the id of its Default Group.
async fn slow_session(dir: &TempDir) -> (Session, String) {
    let options = Options {
        delay_ms: 400,
        ..Options::default()
    };
    let s = Session::start(&dir.0, options).await;
    let default_group = s.group_id("Default Group").await;
    (s, default_group)
}

#[tokio::test]
async fn delete_removes_the_subtree_and_its_servers() {
    let dir = TempDir::new();
    // The delete is still in flight when it is sent again: destroying the two servers below the
    // group takes at least two slow steps.
    let (s, default_group) = slow_session(&dir).await;
    let parent = group(&s, "doomed", &default_group).await;
    let child = group(&s, "doomed-kid", &parent).await;
    let a = server(&s, "a", &parent).await;
    let b = server(&s, "b", &child).await;
    let keep = server(&s, "keep", &default_group).await;
    let (_, before) = s.get(&format!("/v2/servers/DEMO/{b}")).await;
    let address = before["details"]["ipAddresses"][0]["internal"].clone();

    let (status, queued) = s.delete(&format!("/v2/groups/DEMO/{parent}")).await;
    assert_eq!(status, 202, "{queued}");
    // A bare status link, as the Python and Go clients read it.
    assert_eq!(queued["rel"], "status");
    let id = queued["id"].as_str().unwrap();
    assert!(id.starts_with("wa1-"), "{queued}");
    assert_eq!(queued["href"], format!("/v2/operations/DEMO/status/{id}"));
    let (_, again) = s.delete(&format!("/v2/groups/DEMO/{parent}")).await;
    assert_eq!(
        again["id"], queued["id"],
        "a second delete answers the same job"
    );
    let href = queued["href"].as_str().unwrap().to_owned();
    assert_eq!(s.wait(&href).await["status"], "succeeded");

    for path in [
        format!("/v2/groups/DEMO/{parent}"),
        format!("/v2/groups/DEMO/{child}"),
        format!("/v2/servers/DEMO/{a}"),
        format!("/v2/servers/DEMO/{b}"),
    ] {
        let (status, body) = s.get(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (_, default) = s.get(&format!("/v2/groups/DEMO/{default_group}")).await;
    assert_eq!(default["serversCount"], 1);
    assert!(child_names(&default).is_empty(), "{default}");
    assert_eq!(link_ids(&default, "server"), [keep.as_str()]);
    let (status, _) = s.get(&format!("/v2/servers/DEMO/{keep}")).await;
    assert_eq!(status, 200);
    // The servers' addresses are free again.
    let (_, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    let network = caps["deployableNetworks"][0]["networkId"].as_str().unwrap();
    let (_, claimed) = s
        .get(&format!(
            "/v2-experimental/networks/DEMO/WA1/{network}/ipAddresses?type=claimed"
        ))
        .await;
    let claimed: Vec<&Value> = claimed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["address"])
        .collect();
    assert!(!claimed.contains(&&address), "{claimed:?}");
    assert_eq!(claimed.len(), 1);

    let (status, body) = s.delete(&format!("/v2/groups/DEMO/{parent}")).await;
    assert_refused(status, &body, 404, "", "deleted group");
    for name in ["WA1 Hardware", "Archive", "Templates"] {
        let id = s.group_id(name).await;
        let (status, body) = s.delete(&format!("/v2/groups/DEMO/{id}")).await;
        assert_refused(status, &body, 400, "", name);
    }
}

fn link_ids(entity: &Value, rel: &str) -> Vec<String> {
    entity["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == rel)
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Posts a body exactly as given (Go's client sends JSON strings holding JSON, or `""`).
async fn post_raw(s: &Session, path: &str, body: &str) -> (u16, Value) {
    let response = s
        .server
        .http
        .post(s.server.url(path))
        .bearer_auth(&s.token)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Work on a whole group waits for the account's work accepted before it: a group archived or
/// deleted while a server in it is being built is archived or deleted once the build has ended,
/// with that server.
#[tokio::test]
async fn work_on_a_group_waits_for_the_builds_in_it() {
    let dir = TempDir::new();
    // The group's work is queued while the build, a slow step, runs.
    let (s, default_group) = slow_session(&dir).await;
    for (name, archive) in [("shelf", true), ("bin", false)] {
        let g = group(&s, name, &default_group).await;
        let mut body = s.server_body(name).await;
        body["groupId"] = json!(g);
        let (status, created) = s.post("/v2/servers/DEMO", body).await;
        assert_eq!(status, 202, "{created}");
        let (status, queued) = if archive {
            post_raw(&s, &format!("/v2/groups/DEMO/{g}/archive"), "").await
        } else {
            s.delete(&format!("/v2/groups/DEMO/{g}")).await
        };
        assert_eq!(status, 202, "{queued}");
        assert_eq!(
            s.wait(queued["href"].as_str().unwrap()).await["status"],
            "succeeded"
        );
        let (_, build) = s.get(&status_href(&created)).await;
        assert_eq!(
            build["status"], "succeeded",
            "{name}: the build ended first"
        );
        let (status, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
        if archive {
            assert_eq!(server["status"], "archived", "{server}");
            assert_eq!(server["details"]["powerState"], "stopped", "{server}");
        } else {
            assert_eq!(status, 404, "{server}");
        }
    }
}

#[tokio::test]
async fn archive_moves_a_group_to_the_archive_and_restore_brings_it_back() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let default_group = s.group_id("Default Group").await;
    let archive = s.group_id("Archive").await;
    let root = s.group_id("WA1 Hardware").await;
    let g = group(&s, "old", &default_group).await;
    let inner = group(&s, "old-inner", &g).await;
    let built = server(&s, "old", &inner).await;

    let (status, queued) = post_raw(&s, &format!("/v2/groups/DEMO/{g}/archive"), "\"\"").await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["rel"], "status");
    assert_eq!(
        s.wait(queued["href"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    let (_, got) = s.get(&format!("/v2/groups/DEMO/{g}")).await;
    assert_eq!(got["status"], "archived");
    assert_eq!(got["groups"][0]["status"], "archived");
    assert_eq!(link_ids(&got, "parentGroup"), [archive.as_str()]);
    let (_, server) = s.get(&format!("/v2/servers/DEMO/{built}")).await;
    assert_eq!(server["status"], "archived");
    assert_eq!(server["details"]["powerState"], "stopped");
    let (_, archive_group) = s.get(&format!("/v2/groups/DEMO/{archive}")).await;
    assert_eq!(child_names(&archive_group), ["old"]);
    assert_eq!(archive_group["serversCount"], 1);

    // An archived group takes nothing new and does not move except by restore.
    let (status, body) = post_raw(&s, &format!("/v2/groups/DEMO/{g}/archive"), "").await;
    assert_refused(status, &body, 400, "", "archived twice");
    let mut body = s.server_body("new").await;
    body["groupId"] = json!(inner);
    let (status, answer) = s.post("/v2/servers/DEMO", body).await;
    assert_refused(
        status,
        &answer,
        400,
        "groupId",
        "server into an archived group",
    );
    let (status, answer) = s
        .post("/v2/groups/DEMO", json!({"name": "x", "parentGroupId": g}))
        .await;
    assert_refused(
        status,
        &answer,
        400,
        "parentGroupId",
        "group into an archived group",
    );
    let (status, answer) = patch(
        &s,
        &g,
        json!([{"op": "set", "member": "parentGroupId", "value": root}]),
    )
    .await;
    assert_refused(
        status,
        &answer,
        400,
        "parentGroupId",
        "moving an archived group",
    );

    // Restore refusals.
    let (_, va1) = s.get("/v2/datacenters/DEMO/VA1").await;
    let va1_root = link(&va1, "group").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let restore = format!("/v2/groups/DEMO/{g}/restore");
    for (body, field) in [
        (json!({}), "targetGroupId"),
        (
            json!({"targetGroupId": "0123456789abcdef0123456789abcdef"}),
            "targetGroupId",
        ),
        (json!({"targetGroupId": archive}), "targetGroupId"),
        (json!({"targetGroupId": inner}), "targetGroupId"),
        (json!({"targetGroupId": va1_root}), "targetGroupId"),
    ] {
        let (status, answer) = s.post(&restore, body.clone()).await;
        assert_refused(status, &answer, 400, field, &body.to_string());
    }
    let (status, answer) = s
        .post(
            &format!("/v2/groups/DEMO/{default_group}/restore"),
            json!({"targetGroupId": root}),
        )
        .await;
    assert_refused(
        status,
        &answer,
        400,
        "",
        "restoring a group that is not archived",
    );

    // Go sends the body as a JSON string holding the JSON.
    let wrapped = serde_json::to_string(&format!("{{\"targetGroupId\": \"{root}\"}}")).unwrap();
    let (status, queued) = post_raw(&s, &restore, &wrapped).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["isQueued"], true);
    let links = queued["links"].as_array().unwrap();
    assert_eq!(links[0]["rel"], "self");
    assert!(links[0]["href"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/v2/groups/DEMO/{g}")));
    assert_eq!(links[1]["rel"], "status");
    assert_eq!(s.wait(&status_href(&queued)).await["status"], "succeeded");
    let (_, got) = s.get(&format!("/v2/groups/DEMO/{g}")).await;
    assert_eq!(got["status"], "active");
    assert_eq!(got["groups"][0]["status"], "active");
    assert_eq!(link_ids(&got, "parentGroup"), [root.as_str()]);
    let (_, server) = s.get(&format!("/v2/servers/DEMO/{built}")).await;
    assert_eq!(server["status"], "active");
    assert_eq!(server["details"]["powerState"], "started");
    let (_, archive_group) = s.get(&format!("/v2/groups/DEMO/{archive}")).await;
    assert!(child_names(&archive_group).is_empty());
    for id in [&root, &archive] {
        let (status, answer) = s
            .post(&format!("/v2/groups/DEMO/{id}/archive"), json!({}))
            .await;
        assert_refused(status, &answer, 400, "", "archiving a kept group");
    }
    let (status, answer) = s
        .post(
            "/v2/groups/DEMO/0123456789abcdef0123456789abcdef/archive",
            json!({}),
        )
        .await;
    assert_refused(status, &answer, 404, "", "archiving an unknown group");
}

#[tokio::test]
async fn defaults_are_inherited_and_fill_in_create_server() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let default_group = s.group_id("Default Group").await;
    let parent = group(&s, "sized", &default_group).await;
    let child = group(&s, "sized-kid", &parent).await;
    let (status, empty) = s.get(&format!("/v2/groups/DEMO/{child}/defaults")).await;
    assert_eq!(status, 200);
    for key in [
        "cpu",
        "memoryGB",
        "memory",
        "networkId",
        "primaryDns",
        "secondaryDns",
        "templateName",
    ] {
        assert_eq!(empty[key], json!({"inherited": false}), "{key}: {empty}");
    }
    let (_, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    let network = caps["deployableNetworks"][0]["networkId"]
        .as_str()
        .unwrap()
        .to_owned();

    // The docs send numbers as strings.
    let (status, set) = s
        .post(
            &format!("/v2/groups/DEMO/{parent}/defaults"),
            json!({"cpu": "2", "memoryGB": "4", "networkId": network.to_uppercase(),
                   "primaryDns": "8.8.8.8", "templateName": "centos-7-64-template"}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["cpu"], json!({"value": 2, "inherited": false}));
    assert_eq!(set["memoryGB"], json!({"value": 4, "inherited": false}));
    assert_eq!(set["memory"], set["memoryGB"]);
    assert_eq!(
        set["networkId"],
        json!({"value": network, "inherited": false})
    );
    assert_eq!(set["templateName"]["value"], "CENTOS-7-64-TEMPLATE");
    assert_eq!(set["secondaryDns"], json!({"inherited": false}));
    let (_, inherited) = s.get(&format!("/v2/groups/DEMO/{child}/defaults")).await;
    assert_eq!(inherited["cpu"], json!({"value": 2, "inherited": true}));
    assert_eq!(
        inherited["primaryDns"],
        json!({"value": "8.8.8.8", "inherited": true})
    );
    // Setting one default leaves the others as they were.
    let (status, own) = s
        .post(
            &format!("/v2/groups/DEMO/{child}/defaults"),
            json!({"cpu": 3}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(own["cpu"], json!({"value": 3, "inherited": false}));
    assert_eq!(own["memoryGB"], json!({"value": 4, "inherited": true}));
    let (_, got) = s.get(&format!("/v2/groups/DEMO/{child}")).await;
    assert!(got["changeInfo"]["modifiedDate"].is_string());

    // A create with only a name and a group takes the rest from the defaults.
    let (status, created) = s
        .post(
            "/v2/servers/DEMO",
            json!({"name": "bare", "groupId": child, "cpu": null}),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    let (_, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
    assert_eq!(server["details"]["cpu"], 3);
    assert_eq!(server["details"]["memoryMB"], 4096);
    assert!(
        server["osType"].as_str().unwrap().contains("CentOS"),
        "{server}"
    );
    // Given values still win.
    let mut body = s.server_body("given").await;
    body["groupId"] = json!(child);
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202);
    s.wait(&status_href(&created)).await;
    let (_, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
    assert_eq!(server["details"]["cpu"], 1);
    assert_eq!(server["details"]["memoryMB"], 2048);
    // Without defaults the fields stay required.
    let (status, answer) = s
        .post(
            "/v2/servers/DEMO",
            json!({"name": "bare", "groupId": default_group}),
        )
        .await;
    assert_refused(
        status,
        &answer,
        400,
        "sourceServerId",
        "no template anywhere",
    );

    let (_, va1) = s.get("/v2-experimental/networks/DEMO/VA1").await;
    let va1_network = va1[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v2/groups/DEMO/{parent}/defaults");
    for (body, field) in [
        (json!({"cpu": 0}), "cpu"),
        (json!({"cpu": 17}), "cpu"),
        (json!({"cpu": "two"}), "cpu"),
        (json!({"memoryGB": 129}), "memoryGB"),
        (
            json!({"networkId": "0123456789abcdef0123456789abcdef"}),
            "networkId",
        ),
        (json!({"networkId": va1_network}), "networkId"),
        (json!({"templateName": "NO-SUCH-TEMPLATE"}), "templateName"),
        (json!({"primaryDns": "dns.example"}), "primaryDns"),
        (
            json!({"cpu": 4, "secondaryDns": "300.1.1.1"}),
            "secondaryDns",
        ),
    ] {
        let (status, answer) = s.post(&path, body.clone()).await;
        assert_refused(status, &answer, 400, field, &body.to_string());
    }
    let (_, unchanged) = s.get(&path).await;
    assert_eq!(unchanged["cpu"]["value"], 2, "refusals change nothing");
    let (status, answer) = s
        .get("/v2/groups/DEMO/0123456789abcdef0123456789abcdef/defaults")
        .await;
    assert_refused(status, &answer, 404, "", "unknown group");
}

#[tokio::test]
async fn another_account_is_as_unknown_as_none() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    admin(
        &dir.0,
        &["account", "create", "--alias", "OTHR", "--name", "Other"],
        None,
    );
    create_user(&dir.0, "OTHR", "mallory", &[], "M4llory-Passw0rd");
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    let as_mallory = |method: Method, path: String, body: Option<Value>| {
        let (server, token) = (&s.server, mallory.clone());
        async move { server.call(method, &path, Some(&token), body).await }
    };
    let default_group = s.group_id("Default Group").await;
    let ours = group(&s, "ours", &default_group).await;
    let archived = group(&s, "shelved", &default_group).await;
    let (_, queued) = s
        .post(&format!("/v2/groups/DEMO/{archived}/archive"), json!({}))
        .await;
    s.wait(queued["href"].as_str().unwrap()).await;

    // Their view of our groups: 404 under either alias, for every operation.
    for alias in ["DEMO", "OTHR"] {
        let base = format!("/v2/groups/{alias}/{ours}");
        let probes = [
            (Method::DELETE, base.clone(), None),
            (Method::POST, format!("{base}/archive"), None),
            (
                Method::POST,
                format!("/v2/groups/{alias}/{archived}/restore"),
                Some(json!({"targetGroupId": ours})),
            ),
            (Method::GET, format!("{base}/defaults"), None),
            (
                Method::POST,
                format!("{base}/defaults"),
                Some(json!({"cpu": 2})),
            ),
        ];
        for (method, path, body) in probes {
            let (status, answer) = as_mallory(method.clone(), path.clone(), body).await;
            assert_refused(status, &answer, 404, "", &format!("{method} {path}"));
        }
    }
    let (status, _) = s.get(&format!("/v2/groups/DEMO/{ours}")).await;
    assert_eq!(status, 200, "still there");

    // Their ids in our bodies: as unknown as any other.
    let (_, their_dc) = as_mallory(Method::GET, "/v2/datacenters/OTHR/WA1".into(), None).await;
    let their_root = link(&their_dc, "group").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, their_networks) = as_mallory(
        Method::GET,
        "/v2-experimental/networks/OTHR/WA1".into(),
        None,
    )
    .await;
    let (status, answer) = s
        .post(
            &format!("/v2/groups/DEMO/{archived}/restore"),
            json!({"targetGroupId": their_root}),
        )
        .await;
    assert_refused(
        status,
        &answer,
        400,
        "targetGroupId",
        "their group as target",
    );
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("There is no group"));
    let (status, answer) = s
        .post(
            &format!("/v2/groups/DEMO/{ours}/defaults"),
            json!({"networkId": their_networks[0]["id"]}),
        )
        .await;
    assert_refused(
        status,
        &answer,
        400,
        "networkId",
        "their network as default",
    );
    let (status, answer) = s
        .post(
            "/v2/groups/DEMO",
            json!({"name": "x", "parentGroupId": their_root}),
        )
        .await;
    assert_refused(
        status,
        &answer,
        400,
        "parentGroupId",
        "their group as parent",
    );
}
