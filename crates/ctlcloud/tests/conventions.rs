//! The contract's conventions over HTTP: lenient bodies, case-insensitivity, JSON errors for every
//! refusal, 401 for every bad token, and other accounts answering exactly as non-existent ones.

mod common;

use std::time::Duration;

use common::{admin, create_user, status_href, Options, Server, Session, TempDir, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn login_accepts_json_and_forms_and_refuses_bad_credentials_alike() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0, &Options::default());
    let form = server
        .http
        .post(server.url("/v2/authentication/login/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "Username=ADMIN&Password={}",
            PASSWORD.replace('@', "%40")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        form.status().as_u16(),
        200,
        "form login with capitalised keys, any-case username"
    );
    let expected = json!({"message": "We didn't recognize the username or password you entered. Please try again."});
    for body in [
        json!({"username": "admin", "password": "wrong"}),
        json!({"username": "nobody", "password": PASSWORD}),
    ] {
        let (status, answer) = server
            .call(Method::POST, "/v2/authentication/login", None, Some(body))
            .await;
        assert_eq!((status, answer), (400, expected.clone()));
    }
    let (status, answer) = server
        .call(
            Method::POST,
            "/v2/authentication/login",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(answer["message"].is_string());
    let response = server
        .http
        .post(server.url("/v2/authentication/login"))
        .header("Content-Type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.json::<Value>().await.unwrap()["message"].is_string());
}

#[tokio::test]
async fn every_bad_token_is_401_with_a_json_message() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let path = "/v2/datacenters/DEMO";
    for token in [
        None,
        Some("not-a-token"),
        Some(""),
        Some("Bearer"),
        Some(&"a".repeat(600)[..]),
    ] {
        let (status, body) = s.server.call(Method::GET, path, token, None).await;
        assert_eq!(status, 401, "token {token:?}");
        assert!(body["message"].is_string());
    }
    let basic = s
        .server
        .http
        .get(s.server.url(path))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    // The docs' own sample doubles the scheme; that still works.
    let doubled = s
        .server
        .http
        .get(s.server.url(path))
        .header("Authorization", format!("Bearer Bearer {}", s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status().as_u16(), 200);
}

#[tokio::test]
async fn disabling_a_user_or_changing_a_password_revokes_tokens_at_once() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    // The command answers the roles as canonically spelled, whatever case they were given in.
    let out = admin(
        &dir.0,
        &[
            "user",
            "create",
            "--account",
            "demo",
            "--username",
            "ops",
            "--role",
            "serveradmin",
            "--password-stdin",
        ],
        Some("0ps-Passw0rd\n"),
    );
    assert!(out.contains("ServerAdmin"), "{out}");
    let ops = s.server.login("ops", "0ps-Passw0rd").await;
    let ops2 = s.server.login("ops", "0ps-Passw0rd").await;
    assert_eq!(
        s.server
            .call(Method::GET, "/v2/accounts/DEMO", Some(&ops), None)
            .await
            .0,
        200
    );
    admin(
        &dir.0,
        &[
            "user",
            "set-password",
            "--username",
            "ops",
            "--password-stdin",
        ],
        Some("N3w-Passw0rd\n"),
    );
    assert_eq!(
        s.server
            .call(Method::GET, "/v2/accounts/DEMO", Some(&ops), None)
            .await
            .0,
        401
    );
    let ops3 = s.server.login("ops", "N3w-Passw0rd").await;
    assert_eq!(
        s.server
            .call(Method::GET, "/v2/accounts/DEMO", Some(&ops3), None)
            .await
            .0,
        200
    );
    admin(&dir.0, &["user", "disable", "--username", "ops"], None);
    for token in [&ops2, &ops3] {
        assert_eq!(
            s.server
                .call(Method::GET, "/v2/accounts/DEMO", Some(token), None)
                .await
                .0,
            401
        );
    }
    let (status, _) = s
        .server
        .call(
            Method::POST,
            "/v2/authentication/login",
            None,
            Some(json!({"username": "ops", "password": "N3w-Passw0rd"})),
        )
        .await;
    assert_eq!(status, 400, "a disabled user cannot log in");
    // The bootstrap user is untouched.
    assert_eq!(s.get("/v2/accounts/DEMO").await.0, 200);
}

#[tokio::test]
async fn tokens_expire_after_fourteen_days() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let token = s.token.clone();
    s.server.kill();
    let later = |days: i64| Options {
        clock_offset_secs: days * 86_400,
        ..Default::default()
    };
    let server = Server::start(&dir.0, &later(13));
    assert_eq!(
        server
            .call(Method::GET, "/v2/accounts/DEMO", Some(&token), None)
            .await
            .0,
        200
    );
    server.kill();
    let server = Server::start(&dir.0, &later(15));
    let (status, body) = server
        .call(Method::GET, "/v2/accounts/DEMO", Some(&token), None)
        .await;
    assert_eq!(status, 401);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn another_account_is_indistinguishable_from_none() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    admin(
        &dir.0,
        &[
            "account",
            "create",
            "--alias",
            "othr",
            "--name",
            "Other Co",
            "--primary-dc",
            "VA1",
        ],
        None,
    );
    create_user(&dir.0, "OTHR", "mallory", &[], "M4llory-Passw0rd");
    let (status, created) = s
        .post("/v2/servers/DEMO", s.server_body("secret").await)
        .await;
    assert_eq!(status, 202);
    s.wait(&status_href(&created)).await;
    let (_, mine) = s.get("/v2/servers/DEMO/WA1DEMOSECRET01").await;
    let uuid = created["links"][1]["id"].as_str().unwrap().to_owned();
    let group = s.group_id("Default Group").await;
    let network = mine["details"]["ipAddresses"][0]["internal"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    let network_id = caps["deployableNetworks"][0]["networkId"]
        .as_str()
        .unwrap()
        .to_owned();
    let status_path = status_href(&created);

    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    let (_, login) = s
        .server
        .call(
            Method::POST,
            "/v2/authentication/login",
            None,
            Some(json!({"username": "mallory", "password": "M4llory-Passw0rd"})),
        )
        .await;
    assert_eq!(login["accountAlias"], "OTHR");
    assert_eq!(login["locationAlias"], "VA1");
    let probes = [
        (Method::GET, "/v2/accounts/DEMO".to_owned()),
        (Method::GET, "/v2/accounts/DEMO/customFields".to_owned()),
        (Method::GET, "/v2/datacenters/DEMO".to_owned()),
        (Method::GET, "/v2/datacenters/DEMO/WA1".to_owned()),
        (
            Method::GET,
            "/v2/datacenters/DEMO/WA1/deploymentCapabilities".to_owned(),
        ),
        (Method::GET, format!("/v2/groups/DEMO/{group}")),
        (Method::GET, format!("/v2/groups/OTHR/{group}")),
        (Method::GET, "/v2/servers/DEMO/WA1DEMOSECRET01".to_owned()),
        (Method::GET, "/v2/servers/OTHR/WA1DEMOSECRET01".to_owned()),
        (Method::GET, format!("/v2/servers/OTHR/{uuid}?uuid=true")),
        (
            Method::GET,
            "/v2/servers/OTHR/WA1DEMOSECRET01/credentials".to_owned(),
        ),
        (
            Method::DELETE,
            "/v2/servers/OTHR/WA1DEMOSECRET01".to_owned(),
        ),
        (Method::GET, status_path.clone()),
        (Method::GET, status_path.replace("DEMO", "OTHR")),
        (
            Method::GET,
            format!("/v2-experimental/networks/DEMO/WA1/{network_id}"),
        ),
        (
            Method::GET,
            format!("/v2-experimental/networks/OTHR/WA1/{network_id}"),
        ),
        (Method::GET, "/v2-experimental/networks/DEMO/WA1".to_owned()),
    ];
    for (method, path) in probes {
        let (status, body) = s
            .server
            .call(method.clone(), &path, Some(&mallory), None)
            .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        let text = body.to_string();
        for secret in [
            "WA1DEMOSECRET01",
            uuid.as_str(),
            group.as_str(),
            network.as_str(),
            network_id.as_str(),
        ] {
            let shown_in_path = path.contains(secret);
            assert!(
                shown_in_path || !text.contains(secret),
                "{path} leaked {secret}: {text}"
            );
        }
    }
    // Creating into the other account's group refuses as if the group did not exist.
    let mut body = s.server_body("evil").await;
    body["groupId"] = json!(group);
    let (status, answer) = s
        .server
        .call(Method::POST, "/v2/servers/OTHR", Some(&mallory), Some(body))
        .await;
    assert_eq!(status, 400);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("There is no group"));
    // The other account has its own network range and names.
    let (_, theirs) = s
        .server
        .call(
            Method::GET,
            "/v2/datacenters/OTHR/WA1/deploymentCapabilities",
            Some(&mallory),
            None,
        )
        .await;
    assert_ne!(
        theirs["deployableNetworks"][0]["networkId"],
        json!(network_id)
    );
    let (_, their_networks) = s
        .server
        .call(
            Method::GET,
            "/v2-experimental/networks/othr/wa1",
            Some(&mallory),
            None,
        )
        .await;
    let (_, our_networks) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    assert_ne!(their_networks[0]["cidr"], our_networks[0]["cidr"]);
}

#[tokio::test]
async fn paths_queries_and_bodies_are_lenient() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let group = s.group_id("Default Group").await;
    // Path literals, alias and ids in any case; a trailing slash; the experimental status endpoint.
    let body = json!({"NAME": "lax", "GroupID": group, "sourceserverid": "centos-7-64-template", "CPU": "2", "memoryGb": "3",
                      "primaryDNS": "10.1.1.1", "isManagedOS": "false", "customFields": null, "ttl": null, "packages": []});
    // Go's SDK sends some bodies as a JSON string holding the JSON document.
    let wrapped = serde_json::to_string(&body).unwrap();
    let response = s
        .server
        .http
        .post(s.server.url("/V2/SERVERS/demo/"))
        .bearer_auth(&s.token)
        .header("Content-Type", "application/json")
        .body(serde_json::to_string(&wrapped).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let created: Value = response.json().await.unwrap();
    let status_id = created["links"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        s.wait(&format!(
            "/V2/Operations/demo/Status/{}",
            status_id.to_uppercase()
        ))
        .await["status"],
        "succeeded"
    );
    let (status, experimental) = s
        .get(&format!(
            "/v2-experimental/operations/DEMO/status/{status_id}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(experimental["status"], "succeeded");
    let uuid = created["links"][1]["id"].as_str().unwrap();
    let (status, server) = s
        .get(&format!(
            "/v2/servers/demo/{}?UUID=TRUE",
            uuid.to_uppercase()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(server["details"]["cpu"], 2);
    assert_eq!(server["details"]["memoryMB"], 3072);
    let (status, _) = s.get("/v2/datacenters/demo/WA1?groupLinks=maybe").await;
    assert_eq!(status, 400);
    let (status, _) = s.get("/v2/datacenters/demo/WA1?GROUPLINKS=FALSE").await;
    assert_eq!(status, 200);
    // GET with a form content type and an empty body, as the Python client sends it.
    let response = s
        .server
        .http
        .get(s.server.url("/v2/datacenters/DEMO/WA1"))
        .bearer_auth(&s.token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

/// A client that stalls is not waited for: headers, or a body, not sent within the read timeout
/// end its connection (a body with a 408 and a message first), while other clients are served.
#[tokio::test]
async fn a_client_that_stalls_is_disconnected_while_others_are_served() {
    let dir = TempDir::new();
    let options = Options {
        env: vec![("CTLCLOUD_READ_TIMEOUT_SECS", "1".into())],
        ..Options::default()
    };
    let s = Session::start(&dir.0, options).await;
    let addr = s.server.base.trim_start_matches("http://").to_owned();
    let root = format!("/v2/groups/DEMO/{}", s.group_id("WA1 Hardware").await);
    let (_, before) = s.get(&root).await;
    let mut half_headers = TcpStream::connect(&addr).await.unwrap();
    half_headers
        .write_all(b"GET /v2/datacenters/DEMO HTTP/1.1\r\nHost: ctlcloud\r\n")
        .await
        .unwrap();
    let mut short_body = TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /v2/groups/DEMO HTTP/1.1\r\nHost: ctlcloud\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": \"half\"",
        s.token
    );
    short_body.write_all(request.as_bytes()).await.unwrap();
    let (status, _) = s.get("/v2/datacenters/DEMO").await;
    assert_eq!(status, 200);

    assert_eq!(until_closed(&mut half_headers).await, "");
    let answer = until_closed(&mut short_body).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    let body: Value = serde_json::from_str(body).unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("did not arrive"),
        "{body}"
    );
    // Asked on a new connection: the client's pooled one has been idle about as long as the
    // server keeps idle connections open (the same deadline), and may be closing.
    let after: Value = reqwest::Client::new()
        .get(s.server.url(&root))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, before);
}

/// What the server sends on a connection until it closes it, which must be within 10 s.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut sent = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut sent))
        .await
        .expect("the server closed the connection within 10 s")
        .unwrap();
    String::from_utf8(sent).unwrap()
}

/// A request refused before its body matters (no such route, no token, an operation not built,
/// a method the path does not take) still has its body read first: a client in the middle of
/// sending a large body gets the refusal, not a reset connection.
#[tokio::test]
async fn refusals_reach_a_client_still_sending_its_body() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let large = json!({"name": "x".repeat(1_000_000)});
    let cases = [
        (Method::POST, "/v2/nothing", Some(&s.token), 404),
        (Method::POST, "/v2/groups/DEMO", None, 401),
        (
            Method::POST,
            "/v2/antiAffinityPolicies/DEMO",
            Some(&s.token),
            501,
        ),
        (Method::PUT, "/v2/authentication/login", None, 405),
    ];
    for (method, path, token, expected) in cases {
        let (status, body) = s
            .server
            .call(
                method.clone(),
                path,
                token.map(String::as_str),
                Some(large.clone()),
            )
            .await;
        assert_eq!(status, expected, "{method} {path}: {body}");
        assert!(body["message"].is_string(), "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn unknown_routes_unbuilt_operations_and_wrong_methods_answer_json() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let cases = [
        (Method::GET, "/v2/nothing", 404),
        (Method::GET, "/", 404),
        (
            Method::POST,
            "/v2/operations/DEMO/servers/executePackage",
            501,
        ),
        (Method::GET, "/v2/antiAffinityPolicies/DEMO", 501),
        (Method::GET, "/DEMO/WA1/loadbalancers", 501),
        (Method::PUT, "/v2/authentication/login", 405),
        (Method::OPTIONS, "/v2/datacenters/DEMO", 405),
    ];
    for (method, path, expected) in cases {
        let (status, body) = s
            .server
            .call(method.clone(), path, Some(&s.token), None)
            .await;
        assert_eq!(status, expected, "{method} {path}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    let (_, body) = s
        .server
        .call(
            Method::POST,
            "/v2/operations/DEMO/servers/executePackage",
            Some(&s.token),
            None,
        )
        .await;
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Execute package"));
    // Unbuilt operations still require a token.
    let (status, _) = s
        .server
        .call(Method::GET, "/v2/antiAffinityPolicies/DEMO", None, None)
        .await;
    assert_eq!(status, 401);
    // A body over the cap is refused without harm.
    let huge = "x".repeat(2 << 20);
    let response = s
        .server
        .http
        .post(s.server.url("/v2/groups/DEMO"))
        .bearer_auth(&s.token)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert!(response.json::<Value>().await.unwrap()["message"].is_string());
}

#[tokio::test]
async fn invalid_create_requests_are_refused_with_the_field_named_and_nothing_stored() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let good = s.server_body("ok").await;
    let (status, first) = s.post("/v2/servers/DEMO", good.clone()).await;
    assert_eq!(status, 202);
    s.wait(&status_href(&first)).await;
    let (_, taken) = s.get("/v2/servers/DEMO/WA1DEMOOK01").await;
    let taken_ip = taken["details"]["ipAddresses"][0]["internal"].clone();
    let archive = s.group_id("Archive").await;
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        if value.is_null() {
            b.as_object_mut().unwrap().remove(key);
        } else {
            b[key] = value;
        }
        b
    };
    let cases = [
        (with("name", Value::Null), "name"),
        (with("name", json!("toolongname")), "name"),
        (with("name", json!("bad name")), "name"),
        (with("cpu", json!(0)), "cpu"),
        (with("cpu", json!(17)), "cpu"),
        (with("cpu", json!("two")), "cpu"),
        (with("cpu", Value::Null), "cpu"),
        (with("memoryGB", json!(129)), "memoryGB"),
        (with("memoryGB", json!(1.5)), "memoryGB"),
        (
            with("groupId", json!("0123456789abcdef0123456789abcdef")),
            "groupId",
        ),
        (with("groupId", json!(archive)), "groupId"),
        (
            with("sourceServerId", json!("NO-SUCH-TEMPLATE")),
            "sourceServerId",
        ),
        (
            with("networkId", json!("0123456789abcdef0123456789abcdef")),
            "networkId",
        ),
        (with("ipAddress", json!("10.0.0.300")), "ipAddress"),
        (with("ipAddress", json!("192.168.1.20")), "ipAddress"),
        (with("ipAddress", taken_ip.clone()), "ipAddress"),
        (with("type", json!("mainframe")), "type"),
        (with("storageType", json!("hyperscale")), "storageType"),
        (with("password", json!("short")), "password"),
        (
            with(
                "additionalDisks",
                json!([{"path": "/data", "sizeGB": 2000, "type": "partitioned"}]),
            ),
            "sizeGB",
        ),
        (
            with(
                "additionalDisks",
                json!([{"path": "/boot", "sizeGB": 20, "type": "partitioned"}]),
            ),
            "additionalDisks",
        ),
        (
            with(
                "additionalDisks",
                json!([{"sizeGB": 20, "type": "partitioned"}]),
            ),
            "additionalDisks",
        ),
        (
            with("customFields", json!([{"id": "nope", "value": "x"}])),
            "customFields",
        ),
        (with("isManagedBackup", json!(true)), "isManagedBackup"),
        (with("ttl", json!("2020-01-01T00:00:00Z")), "ttl"),
        (with("ttl", json!("tomorrow")), "ttl"),
        (
            with("packages", json!([{"packageId": "not-a-uuid"}])),
            "packages",
        ),
        (json!([1, 2]), ""),
    ];
    for (body, field) in cases {
        let (status, answer) = s.post("/v2/servers/DEMO", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].is_string());
        if !field.is_empty() {
            assert!(
                answer["modelState"].get(field).is_some(),
                "{field} not named for {body}: {answer}"
            );
        }
    }
    let (status, answer) = s
        .post("/v2/servers/DEMO", with("type", json!("bareMetal")))
        .await;
    assert_eq!(status, 501, "bare metal: {answer}");
    // Nothing was stored by the refusals: the next server is still number 02, the only one after 01.
    let (status, second) = s.post("/v2/servers/DEMO", with("additionalDisks", json!([{"path": "/data", "sizeGB": "20", "type": "partitioned"}, {"sizeGB": 5, "type": "raw"}]))).await;
    assert_eq!(status, 202, "{second}");
    s.wait(&status_href(&second)).await;
    let (_, server) = s.get("/v2/servers/DEMO/WA1DEMOOK02").await;
    let disks = server["details"]["disks"].as_array().unwrap();
    assert_eq!(disks.last().unwrap()["sizeGB"], 5);
    assert!(disks
        .iter()
        .any(|d| d["partitionPaths"] == json!(["/data"])));
    let (_, group) = s
        .get(&format!(
            "/v2/groups/DEMO/{}",
            s.group_id("Default Group").await
        ))
        .await;
    assert_eq!(group["serversCount"], 2);
    // A chosen, free address is honoured.
    let (_, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    let (_, network) = s
        .get(&format!(
            "/v2-experimental/networks/DEMO/WA1/{}?ipAddresses=free",
            caps["deployableNetworks"][0]["networkId"].as_str().unwrap()
        ))
        .await;
    let free = network["ipAddresses"][5]["address"].clone();
    let (status, third) = s
        .post("/v2/servers/DEMO", with("ipAddress", free.clone()))
        .await;
    assert_eq!(status, 202);
    s.wait(&status_href(&third)).await;
    let (_, server) = s.get("/v2/servers/DEMO/WA1DEMOOK03").await;
    assert_eq!(server["details"]["ipAddresses"][0]["internal"], free);
}
