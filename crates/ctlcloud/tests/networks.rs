//! Networks (`/v2-experimental`) over HTTP: claiming one through the experimental queue, its
//! addresses, renaming it (PUT, and Go's POST), releasing it, and log forwarding.

mod common;

use common::{admin, create_user, status_href, Options, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

fn is_hex32(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

async fn put(s: &Session, path: &str, body: Value) -> (u16, Value) {
    s.server
        .call(Method::PUT, path, Some(&s.token), Some(body))
        .await
}

/// Posts a body exactly as given, as Go's client does (`""`, or a JSON string holding JSON).
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

/// Claims a network and follows the experimental queue to it; returns the network.
async fn claim(s: &Session, body: &str) -> Value {
    let (status, operation) = post_raw(s, "/v2-experimental/networks/DEMO/WA1/claim", body).await;
    assert_eq!(status, 202, "{operation}");
    assert!(is_hex32(&operation["operationId"]), "{operation}");
    let uri = operation["uri"].as_str().unwrap();
    assert_eq!(
        uri,
        format!(
            "/v2-experimental/operations/DEMO/status/{}",
            operation["operationId"].as_str().unwrap()
        )
    );
    let done = s.wait(uri).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["requestType"], "blueprintOperation");
    let link = &done["summary"]["links"][0];
    assert_eq!(link["rel"], "network", "{done}");
    let href = link["href"].as_str().unwrap();
    assert_eq!(
        href,
        format!(
            "/v2-experimental/networks/DEMO/WA1/{}",
            link["id"].as_str().unwrap()
        )
    );
    let (status, network) = s.get(href).await;
    assert_eq!(status, 200, "{network}");
    network
}

#[tokio::test]
async fn claim_rename_list_addresses_and_release() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (_, before) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    let first = before[0].clone();

    // Python claims with no body, Go with "".
    let claimed = claim(&s, "").await;
    let again = claim(&s, "\"\"").await;
    assert!(is_hex32(&claimed["id"]));
    assert_ne!(claimed["id"], again["id"]);
    let cidrs = [&first["cidr"], &claimed["cidr"], &again["cidr"]];
    assert!(cidrs[0] != cidrs[1] && cidrs[1] != cidrs[2] && cidrs[0] != cidrs[2]);
    assert!(claimed["cidr"].as_str().unwrap().ends_with(".0/24"));
    assert_eq!(claimed["netmask"], "255.255.255.0");
    assert_eq!(claimed["type"], "private");
    assert!(claimed["vlan"].is_u64());
    let stem = claimed["cidr"].as_str().unwrap().trim_end_matches(".0/24");
    assert_eq!(claimed["name"], format!("vlan_{}_{stem}", claimed["vlan"]));
    assert_eq!(claimed["description"], claimed["name"]);
    let (_, list) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    let (_, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    assert_eq!(caps["deployableNetworks"].as_array().unwrap().len(), 3);
    let id = claimed["id"].as_str().unwrap().to_owned();
    let path = format!("/v2-experimental/networks/DEMO/WA1/{id}");

    // Rename: PUT as documented, then Go's POST with a JSON string holding the JSON.
    let (status, body) = put(
        &s,
        &path,
        json!({"name": "VLAN for Development Servers", "description": "dev servers"}),
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));
    let (_, got) = s.get(&path).await;
    assert_eq!(got["name"], "VLAN for Development Servers");
    assert_eq!(got["description"], "dev servers");
    let (status, _) = put(
        &s,
        &format!("/v2-experimental/networks/demo/wa1/{}", id.to_uppercase()),
        json!({"name": "dev"}),
    )
    .await;
    assert_eq!(status, 204, "network ids in any case");
    let (_, got) = s.get(&path).await;
    assert_eq!(got["name"], "dev");
    assert_eq!(got["description"], "dev servers", "no description keeps it");
    let wrapped =
        serde_json::to_string("{\"name\": \"go\", \"description\": \"from go\"}").unwrap();
    let (status, _) = post_raw(&s, &path, &wrapped).await;
    assert_eq!(status, 204);
    let (_, got) = s.get(&path).await;
    assert_eq!(
        (&got["name"], &got["description"]),
        (&json!("go"), &json!("from go"))
    );
    for (body, field) in [
        (json!({"description": "no name"}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"name": ["x"]}), "name"),
    ] {
        let (status, answer) = put(&s, &path, body.clone()).await;
        assert_refused(status, &answer, 400, field, &body.to_string());
    }
    let (status, answer) = put(
        &s,
        "/v2-experimental/networks/DEMO/WA1/0123456789abcdef0123456789abcdef",
        json!({"name": "x"}),
    )
    .await;
    assert_refused(status, &answer, 404, "", "unknown network");
    let (status, answer) = put(&s, &path.replace("/WA1/", "/VA1/"), json!({"name": "x"})).await;
    assert_refused(status, &answer, 404, "", "network of another data center");

    // A server on the network: its address shows as claimed; the list defaults to claimed.
    let mut body = s.server_body("onnet").await;
    body["networkId"] = json!(id);
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    let (_, server) = s.get("/v2/servers/DEMO/WA1DEMOONNET01").await;
    let address = server["details"]["ipAddresses"][0]["internal"].clone();
    let (status, claimed_list) = s.get(&format!("{path}/ipAddresses")).await;
    assert_eq!(status, 200);
    assert_eq!(
        claimed_list,
        json!([{"address": address, "claimed": true, "server": "WA1DEMOONNET01", "type": "private"}])
    );
    let (_, typed) = s.get(&format!("{path}/ipAddresses?TYPE=Claimed")).await;
    assert_eq!(typed, claimed_list);
    let (_, free) = s.get(&format!("{path}/ipAddresses?type=free")).await;
    let (_, all) = s.get(&format!("{path}/ipAddresses?type=all")).await;
    let (free, all) = (free.as_array().unwrap(), all.as_array().unwrap());
    assert_eq!(free.len() + 1, all.len());
    assert!(free
        .iter()
        .all(|a| a["claimed"] == false && a.get("server").is_none()));
    assert!(all.contains(&claimed_list[0]));
    let (status, answer) = s.get(&format!("{path}/ipAddresses?type=none")).await;
    assert_refused(status, &answer, 400, "", "type=none");
    let (status, answer) = s
        .get("/v2-experimental/networks/DEMO/WA1/0123456789abcdef0123456789abcdef/ipAddresses")
        .await;
    assert_refused(status, &answer, 404, "", "addresses of an unknown network");

    // A group default naming the network is forgotten when it goes.
    let group = s.group_id("Default Group").await;
    let (status, _) = s
        .post(
            &format!("/v2/groups/DEMO/{group}/defaults"),
            json!({"networkId": id}),
        )
        .await;
    assert_eq!(status, 200);

    // Release: refused while a server holds an address, then done at once.
    let (status, answer) = post_raw(&s, &format!("{path}/release"), "").await;
    assert_refused(status, &answer, 400, "", "release of a network in use");
    let (_, still) = s.get(&path).await;
    assert_eq!(still["id"], id.as_str());
    let (status, deleted) = s.delete("/v2/servers/DEMO/WA1DEMOONNET01").await;
    assert_eq!(status, 202);
    s.wait(&status_href(&deleted)).await;
    let (status, body) = post_raw(&s, &format!("{path}/release"), "\"\"").await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = s.get(&path).await;
    assert_eq!(status, 404);
    let (_, list) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    assert!(!list
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["id"] == id.as_str()));
    let (_, defaults) = s.get(&format!("/v2/groups/DEMO/{group}/defaults")).await;
    assert_eq!(defaults["networkId"], json!({"inherited": false}));
    let (status, answer) = post_raw(&s, &format!("{path}/release"), "").await;
    assert_refused(status, &answer, 404, "", "release of a released network");
    // A new server lands on a network that still exists.
    let (status, created) = s
        .post("/v2/servers/DEMO", s.server_body("after").await)
        .await;
    assert_eq!(status, 202, "{created}");
}

#[tokio::test]
async fn log_forwarding_is_queued_then_in_effect() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let path = "/v2-experimental/networks/DEMO/WA1/logging";
    let (status, none) = s.get(path).await;
    assert_eq!((status, none), (200, json!({})));

    let (status, pending) = put(
        &s,
        path,
        json!({"remoteAddress": "10.9.8.7", "protocol": "TCP"}),
    )
    .await;
    assert_eq!(status, 202, "{pending}");
    assert_eq!(pending["status"], "pending");
    assert!(is_hex32(&pending["operationID"]), "{pending}");
    let done = s
        .wait(&format!(
            "/v2-experimental/operations/DEMO/status/{}",
            pending["operationID"].as_str().unwrap()
        ))
        .await;
    assert_eq!(done["status"], "succeeded");
    let (_, config) = s.get(path).await;
    assert_eq!(
        config,
        json!({"remoteAddress": "10.9.8.7", "protocol": "tcp"})
    );
    // Another data center keeps its own configuration.
    let (_, other) = s.get("/v2-experimental/networks/DEMO/VA1/logging").await;
    assert_eq!(other, json!({}));

    // No address: forwarding is disabled.
    let (status, pending) = put(&s, path, json!({"remoteAddress": "", "protocol": "udp"})).await;
    assert_eq!(status, 202);
    s.wait(&format!(
        "/v2-experimental/operations/DEMO/status/{}",
        pending["operationID"].as_str().unwrap()
    ))
    .await;
    let (_, config) = s.get(path).await;
    assert_eq!(config, json!({"protocol": "udp"}));

    for (body, field) in [
        (json!({"remoteAddress": "10.1.1.1"}), "protocol"),
        (
            json!({"remoteAddress": "10.1.1.1", "protocol": "icmp"}),
            "protocol",
        ),
        (
            json!({"remoteAddress": "not an address", "protocol": "tcp"}),
            "remoteAddress",
        ),
        (
            json!({"remoteAddress": ["10.1.1.1"], "protocol": "tcp"}),
            "remoteAddress",
        ),
    ] {
        let (status, answer) = put(&s, path, body.clone()).await;
        assert_refused(status, &answer, 400, field, &body.to_string());
    }
    let (status, answer) = s.get("/v2-experimental/networks/DEMO/XX9/logging").await;
    assert_refused(status, &answer, 404, "", "unknown data center");
    let (_, config) = s.get(path).await;
    assert_eq!(
        config,
        json!({"protocol": "udp"}),
        "refusals change nothing"
    );
}

#[tokio::test]
async fn another_account_cannot_touch_our_networks() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    admin(
        &dir.0,
        &["account", "create", "--alias", "OTHR", "--name", "Other"],
        None,
    );
    // Every permission in her own account: what she is refused is only ours.
    create_user(
        &dir.0,
        "OTHR",
        "mallory",
        &["AccountAdmin"],
        "M4llory-Passw0rd",
    );
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    let (_, ours) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    let id = ours[0]["id"].as_str().unwrap().to_owned();
    let probes = [
        (
            Method::POST,
            "/v2-experimental/networks/DEMO/WA1/claim".to_owned(),
            None,
        ),
        (
            Method::GET,
            format!("/v2-experimental/networks/DEMO/WA1/{id}/ipAddresses"),
            None,
        ),
        (
            Method::GET,
            format!("/v2-experimental/networks/OTHR/WA1/{id}/ipAddresses"),
            None,
        ),
        (
            Method::PUT,
            format!("/v2-experimental/networks/OTHR/WA1/{id}"),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::POST,
            format!("/v2-experimental/networks/OTHR/WA1/{id}"),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::POST,
            format!("/v2-experimental/networks/OTHR/WA1/{id}/release"),
            None,
        ),
        (
            Method::POST,
            format!("/v2-experimental/networks/DEMO/WA1/{id}/release"),
            None,
        ),
        (
            Method::GET,
            "/v2-experimental/networks/DEMO/WA1/logging".to_owned(),
            None,
        ),
        (
            Method::PUT,
            "/v2-experimental/networks/DEMO/WA1/logging".to_owned(),
            Some(json!({"protocol": "tcp"})),
        ),
    ];
    for (method, path, body) in probes {
        let (status, answer) = s
            .server
            .call(method.clone(), &path, Some(&mallory), body)
            .await;
        assert_refused(status, &answer, 404, "", &format!("{method} {path}"));
        assert!(!answer
            .to_string()
            .contains(&ours[0]["cidr"].as_str().unwrap().to_owned()));
    }
    let (_, still) = s
        .get(&format!("/v2-experimental/networks/DEMO/WA1/{id}"))
        .await;
    assert_eq!(still["name"], ours[0]["name"]);
    let (_, list) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing was claimed for us"
    );
    // Their own claim lands in their account.
    let (status, operation) = s
        .server
        .call(
            Method::POST,
            "/v2-experimental/networks/OTHR/WA1/claim",
            Some(&mallory),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let (status, _) = s.get(operation["uri"].as_str().unwrap()).await;
    assert_eq!(status, 404, "their operation is not ours to read");
}
