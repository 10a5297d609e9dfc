//! Tenancy over HTTP: every route the router knows (the list comes from the router, so a new route
//! is covered the day it is added) is called by another account's AccountAdmin, and by a
//! sub-account's AccountAdmin, with the first account's alias and ids. Each answer is a refusal
//! that shows nothing of the first account: no id, name, description or address it did not
//! already send. A parent's AccountAdmin does reach its sub-accounts; nobody else does.

mod common;

use common::{create_account, create_user, status_href, Options, Session, TempDir};
use ctlcloud::http::endpoints::ENDPOINTS;
use reqwest::Method as M;
use serde_json::{json, Value};

/// What the first account has, that nobody else may learn.
struct Secrets {
    server: String,
    uuid: String,
    group: String,
    group_name: String,
    description: String,
    address: String,
    network: String,
    cidr: String,
    status: String,
}

impl Secrets {
    fn all(&self) -> [&str; 9] {
        [
            &self.server,
            &self.uuid,
            &self.group,
            &self.group_name,
            &self.description,
            &self.address,
            &self.network,
            &self.cidr,
            &self.status,
        ]
    }
}

async fn first_account(s: &Session) -> Secrets {
    let parent = s.group_id("Default Group").await;
    let (status, group) = s
        .post(
            "/v2/groups/DEMO",
            json!({"name": "Treasure Vault", "description": "crown jewels", "parentGroupId": parent}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group = group["id"].as_str().unwrap().to_owned();
    let mut body = s.server_body("secret").await;
    body["groupId"] = json!(group);
    body["description"] = json!("the family silver");
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202, "{created}");
    let status_path = status_href(&created);
    s.wait(&status_path).await;
    let (_, server) = s.get("/v2/servers/DEMO/WA1DEMOSECRET01").await;
    let (_, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    let network = caps["deployableNetworks"][0]["networkId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, net) = s
        .get(&format!("/v2-experimental/networks/DEMO/WA1/{network}"))
        .await;
    Secrets {
        server: "WA1DEMOSECRET01".into(),
        uuid: created["links"][1]["id"].as_str().unwrap().to_owned(),
        group,
        group_name: "Treasure Vault".into(),
        description: "the family silver".into(),
        address: server["details"]["ipAddresses"][0]["internal"]
            .as_str()
            .unwrap()
            .to_owned(),
        network,
        cidr: net["cidr"].as_str().unwrap().to_owned(),
        status: status_path.rsplit('/').next().unwrap().to_owned(),
    }
}

/// A path for a row with the first account's ids, under `alias`.
fn path_for(path: &str, alias: &str, x: &Secrets) -> String {
    path.split('/')
        .map(|s| match s {
            "{accountAlias}" | "{sourceAccountAlias}" => alias.to_owned(),
            "{dataCenter}" => "WA1".to_owned(),
            "{serverId}" | "{serverName}" => x.server.clone(),
            "{groupId}" => x.group.clone(),
            "{networkId}" => x.network.clone(),
            "{statusId}" => x.status.clone(),
            "{publicIP}" => x.address.clone(),
            s if s.starts_with('{') => "x1".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A body naming the first account's ids wherever an operation could take one.
fn body_for(path: &str, x: &Secrets) -> Value {
    if path.starts_with("/v2/operations/") {
        return json!([x.server]);
    }
    json!({
        "name": "probe", "groupId": x.group, "parentGroupId": x.group, "targetGroupId": x.group,
        "serverIds": [x.server], "serverId": x.server, "networkId": x.network,
        "sourceServerId": x.server, "cpu": 1, "memoryGB": 1, "id": x.server,
        "servers": [{"id": x.server, "inMaintenanceMode": true}],
    })
}

/// Calls every route as `token`, with the first account's ids under `alias`, and checks the
/// answers. With `strict`, every row naming an account must be refused.
async fn probe(s: &Session, token: &str, alias: &str, x: &Secrets, strict: bool) {
    for e in ENDPOINTS {
        let path = path_for(e.path, alias, x);
        let body = body_for(&path, x);
        let method = M::from_bytes(e.method.as_str().as_bytes()).unwrap();
        let sent = (e.method.as_str() != "GET").then_some(body.clone());
        let (status, answer) = s
            .server
            .call(method, &path, Some(token), sent.clone())
            .await;
        let what = format!("{} {path} ({})", e.method.as_str(), e.name);
        let names_account =
            e.path.contains("{accountAlias}") || e.path.contains("{sourceAccountAlias}");
        if strict && names_account {
            assert!(
                [403, 404, 501].contains(&status),
                "{what} answered {status}: {answer}"
            );
        }
        if names_account && path.contains(&x.server) {
            assert!(
                !(200..300).contains(&status),
                "{what} answered {status}: {answer}"
            );
        }
        let request = format!("{path} {}", sent.map(|b| b.to_string()).unwrap_or_default());
        let text = answer.to_string();
        for secret in x.all() {
            assert!(
                request.contains(secret) || !text.contains(secret),
                "{what} leaked {secret}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn another_account_and_a_sub_account_see_nothing_of_the_first_on_any_route() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let x = first_account(&s).await;
    create_account(&dir.0, "OTHR", None);
    create_user(
        &dir.0,
        "OTHR",
        "mallory",
        &["AccountAdmin"],
        "M4llory-Passw0rd",
    );
    create_account(&dir.0, "SUB", Some("DEMO"));
    create_user(&dir.0, "SUB", "subadmin", &["AccountAdmin"], "Sub-Passw0rd");
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    let subadmin = s.server.login("subadmin", "Sub-Passw0rd").await;

    for (token, own) in [(&mallory, "OTHR"), (&subadmin, "SUB")] {
        probe(&s, token, "DEMO", &x, true).await;
        probe(&s, token, own, &x, false).await;
    }
    // The first account is untouched.
    let (status, server) = s.get("/v2/servers/DEMO/WA1DEMOSECRET01").await;
    assert_eq!((status, server["status"].as_str()), (200, Some("active")));
}

async fn get(s: &Session, token: &str, path: &str) -> (u16, Value) {
    s.server.call(M::GET, path, Some(token), None).await
}

#[tokio::test]
async fn a_parents_account_admin_reaches_its_sub_accounts_and_nobody_else_does() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    create_account(&dir.0, "SUB", Some("DEMO"));
    create_account(&dir.0, "SUB2", Some("DEMO"));
    create_account(&dir.0, "GRAND", Some("SUB"));
    create_user(&dir.0, "SUB", "subadmin", &["AccountAdmin"], "Sub-Passw0rd");
    create_user(&dir.0, "DEMO", "ops", &["ServerAdmin"], "0ps-Passw0rd");
    let subadmin = s.server.login("subadmin", "Sub-Passw0rd").await;
    let ops = s.server.login("ops", "0ps-Passw0rd").await;

    // The parent's AccountAdmin acts on the sub-account and the one below it.
    for alias in ["SUB", "sub", "GRAND"] {
        let (status, account) = s.get(&format!("/v2/accounts/{alias}")).await;
        assert_eq!(status, 200, "{account}");
        assert_eq!(account["primaryDataCenter"], "WA1");
    }
    let (_, sub) = s.get("/v2/accounts/SUB").await;
    assert_eq!(sub["parentAlias"], "DEMO");
    assert!(sub["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "parentAccount"));
    let (status, dc) = s.get("/v2/datacenters/SUB/WA1").await;
    assert_eq!(status, 200);
    let root = dc["links"][1]["id"].as_str().unwrap().to_owned();
    let (status, group) = s
        .post(
            "/v2/groups/SUB",
            json!({"name": "From above", "parentGroupId": root}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["changeInfo"]["createdBy"], "admin");

    // The sub-account's admin sees its own account and what is below, with the parent's alias
    // but no link to it; the parent and the sibling do not exist for them.
    let (status, own) = get(&s, &subadmin, "/v2/accounts/SUB").await;
    assert_eq!(status, 200);
    assert_eq!(own["parentAlias"], "DEMO");
    assert!(!own["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "parentAccount"));
    let (status, group_there) = get(
        &s,
        &subadmin,
        &format!("/v2/groups/SUB/{}", group["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{group_there}");
    assert_eq!(get(&s, &subadmin, "/v2/accounts/GRAND").await.0, 200);
    for path in [
        "/v2/accounts/DEMO",
        "/v2/accounts/SUB2",
        "/v2/datacenters/SUB2/WA1",
    ] {
        let (status, body) = get(&s, &subadmin, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        let alias = path.split('/').nth(3).unwrap();
        assert_eq!(
            body,
            json!({"message": format!("Account {alias} was not found.")})
        );
    }
    // A parent's user without AccountAdmin stays in their own account.
    for path in ["/v2/accounts/SUB", "/v2/datacenters/SUB/WA1"] {
        assert_eq!(get(&s, &ops, path).await.0, 404, "{path}");
    }
    assert_eq!(get(&s, &ops, "/v2/accounts/DEMO").await.0, 200);
}
