//! Public IP addresses over HTTP: added, read, replaced and removed through the queue, shown on the
//! server, allocated from the data center's pool without ever sharing an address, and freed with
//! their server.

mod common;

use std::collections::HashSet;

use common::{admin, create_user, status_href, Options, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

async fn send(s: &Session, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    s.server.call(method, path, Some(&s.token), body).await
}

/// Builds `WA1DEMO<NAME>01` and returns its path.
async fn build(s: &Session, name: &str) -> String {
    let (status, created) = s.post("/v2/servers/DEMO", s.server_body(name).await).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    format!("/v2/servers/DEMO/WA1DEMO{}01", name.to_uppercase())
}

/// Waits for a shape-B answer's job to succeed.
async fn done(s: &Session, answer: &Value) {
    assert_eq!(answer["rel"], "status", "{answer}");
    let job = s.wait(answer["href"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
}

/// The public addresses a server shows, from its details.
async fn public_of(s: &Session, path: &str) -> Vec<String> {
    let (_, server) = s.get(path).await;
    server["details"]["ipAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["public"].as_str().map(str::to_owned))
        .collect()
}

/// In 198.18.0.0/15, the range the pools come from.
fn in_pool_range(ip: &str) -> bool {
    let octets: Vec<u8> = ip.split('.').map(|o| o.parse().unwrap()).collect();
    octets[0] == 198 && (octets[1] & 0xfe) == 18
}

#[tokio::test]
async fn an_address_is_added_read_replaced_and_removed_through_the_queue() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            delay_ms: 200,
            ..Default::default()
        },
    )
    .await;
    let path = build(&s, "pub").await;
    let (_, server) = s.get(&path).await;
    let internal = server["details"]["ipAddresses"][0]["internal"].clone();
    // Public IPs are a network manager's to change.
    create_user(&dir.0, "DEMO", "ops", &["NetworkManager"], "0ps-Passw0rd");
    let ops = s.server.login("ops", "0ps-Passw0rd").await;

    let (status, added) = s
        .server
        .call(
            Method::POST,
            &format!("{path}/publicIPAddresses"),
            Some(&ops),
            Some(json!({"ports": [{"protocol": "TCP", "port": 80}, {"protocol": "udp", "port": "8080", "portTo": "8081"},
                                  {"protocol": "icmp", "port": 0}],
                        "sourceRestrictions": [{"cidr": "70.100.60.140/32"}]})),
        )
        .await;
    assert_eq!(status, 202, "{added}");
    assert_eq!(added.as_object().unwrap().len(), 3, "{added}");
    // Not shown before its job has succeeded.
    let (_, early) = s.get(&path).await;
    let (_, job) = s.get(added["href"].as_str().unwrap()).await;
    if job["status"] != "succeeded" {
        assert!(!early.to_string().contains("\"public\""), "{early}");
    }
    done(&s, &added).await;

    let (_, server) = s.get(&path).await;
    let ips = server["details"]["ipAddresses"].as_array().unwrap();
    assert_eq!(ips.len(), 1, "{ips:?}");
    assert_eq!(ips[0]["internal"], internal);
    let public = ips[0]["public"].as_str().unwrap().to_owned();
    assert!(in_pool_range(&public), "{public}");
    let link = server["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "publicIPAddress")
        .unwrap();
    assert_eq!(link["id"], public.as_str());
    assert_eq!(link["verbs"], json!(["GET", "PUT", "DELETE"]));
    let ip_path = link["href"].as_str().unwrap().to_owned();
    assert_eq!(
        ip_path,
        format!("/v2/servers/DEMO/wa1demopub01/publicIPAddresses/{public}")
    );
    // The change is recorded on the server when it happens, in the name of who asked for it.
    assert_eq!(server["changeInfo"]["modifiedBy"], "ops");

    let (status, read) = s.get(&ip_path).await;
    assert_eq!(status, 200);
    assert_eq!(
        read,
        json!({"internalIPAddress": internal, "ports": [
                   {"protocol": "TCP", "port": 80}, {"protocol": "UDP", "port": 8080, "portTo": 8081},
                   {"protocol": "ICMP", "port": 0}],
               "sourceRestrictions": [{"cidr": "70.100.60.140/32"}]})
    );

    // PUT replaces ports and restrictions whole; no restrictions reads as an empty list.
    let (status, replaced) = send(
        &s,
        Method::PUT,
        &ip_path,
        Some(json!({"ports": [{"protocol": "tcp", "port": 443}]})),
    )
    .await;
    assert_eq!(status, 202, "{replaced}");
    done(&s, &replaced).await;
    let (_, read) = s.get(&ip_path).await;
    assert_eq!(
        read,
        json!({"internalIPAddress": internal, "ports": [{"protocol": "TCP", "port": 443}], "sourceRestrictions": []})
    );

    let (status, removed) = send(&s, Method::DELETE, &ip_path, None).await;
    assert_eq!(status, 202, "{removed}");
    done(&s, &removed).await;
    let (_, server) = s.get(&path).await;
    assert_eq!(server["changeInfo"]["modifiedBy"], "admin");
    assert_eq!(s.get(&ip_path).await.0, 404);
    assert!(public_of(&s, &path).await.is_empty());
    let (_, server) = s.get(&path).await;
    assert!(!server["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "publicIPAddress"));
    // The address went back to the pool: the next one handed out is the same.
    let (_, again) = send(
        &s,
        Method::POST,
        &format!("{path}/publicIPAddresses"),
        Some(json!({"ports": [{"protocol": "TCP", "port": 22}]})),
    )
    .await;
    done(&s, &again).await;
    assert_eq!(public_of(&s, &path).await, [public]);
}

#[tokio::test]
async fn invalid_requests_are_refused_naming_the_field_and_allocate_nothing() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let path = build(&s, "pub").await;
    let add = format!("{path}/publicIPAddresses");
    let tcp80 = json!([{"protocol": "TCP", "port": 80}]);
    let cases = [
        (json!({}), "ports"),
        (json!({"ports": []}), "ports"),
        (json!({"ports": "tcp/80"}), "ports"),
        (
            json!({"ports": [{"protocol": "sctp", "port": 80}]}),
            "ports",
        ),
        (json!({"ports": [{"port": 80}]}), "ports"),
        (json!({"ports": [{"protocol": "TCP"}]}), "ports"),
        (
            json!({"ports": [{"protocol": "TCP", "port": 65536}]}),
            "ports",
        ),
        (json!({"ports": [{"protocol": "TCP", "port": -1}]}), "ports"),
        (
            json!({"ports": [{"protocol": "TCP", "port": "http"}]}),
            "ports",
        ),
        (
            json!({"ports": [{"protocol": "TCP", "port": 90, "portTo": 80}]}),
            "ports",
        ),
        (
            json!({"ports": [{"protocol": "UDP", "port": 90, "portTo": 65536}]}),
            "ports",
        ),
        (
            json!({"ports": tcp80, "sourceRestrictions": [{"cidr": "70.100.60.140"}]}),
            "sourceRestrictions",
        ),
        (
            json!({"ports": tcp80, "sourceRestrictions": [{"cidr": "70.100.60.0/33"}]}),
            "sourceRestrictions",
        ),
        (
            json!({"ports": tcp80, "sourceRestrictions": ["70.100.60.0/24"]}),
            "sourceRestrictions",
        ),
        (
            json!({"ports": tcp80, "internalIPAddress": "10.250.0.12"}),
            "internalIPAddress",
        ),
        (
            json!({"ports": tcp80, "internalIPAddress": "not-an-ip"}),
            "internalIPAddress",
        ),
        (json!([1, 2]), ""),
    ];
    for (body, field) in &cases {
        let (status, answer) = send(&s, Method::POST, &add, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].is_string());
        if !field.is_empty() {
            assert!(
                answer["modelState"].get(*field).is_some(),
                "{field} not named for {body}: {answer}"
            );
        }
    }
    for missing in [
        "/v2/servers/DEMO/WA1DEMONOPE01/publicIPAddresses",
        "/v2/servers/OTHR/WA1DEMOPUB01/publicIPAddresses",
    ] {
        let (status, answer) = send(&s, Method::POST, missing, Some(json!({"ports": tcp80}))).await;
        assert_eq!(status, 404, "{missing}: {answer}");
    }
    // Refusals allocated nothing: the first address added is the pool's first.
    let (status, added) = send(&s, Method::POST, &add, Some(json!({"ports": tcp80}))).await;
    assert_eq!(status, 202);
    done(&s, &added).await;
    let public = public_of(&s, &path).await;
    assert_eq!(public.len(), 1);
    assert!(public[0].ends_with(".0.1"), "{public:?}");
    let ip_path = format!("{path}/publicIPAddresses/{}", public[0]);

    // A replacement is checked the same way.
    for (body, field) in &cases[..cases.len() - 1] {
        let (status, answer) = send(&s, Method::PUT, &ip_path, Some(body.clone())).await;
        assert_eq!(status, 400, "PUT {body}: {answer}");
        assert!(answer["modelState"].get(*field).is_some(), "{answer}");
    }
    // Unknown addresses, addresses of other servers and not addresses at all are not found.
    let other = build(&s, "oth").await;
    for (method, ip) in [
        (Method::GET, "198.18.200.1".to_owned()),
        (Method::GET, "nonsense".to_owned()),
        (Method::PUT, "198.18.200.1".to_owned()),
        (Method::DELETE, "198.18.200.1".to_owned()),
        (Method::DELETE, "10.0.0.1".to_owned()),
    ] {
        let body = (method == Method::PUT).then(|| json!({"ports": tcp80}));
        let (status, answer) = send(
            &s,
            method.clone(),
            &format!("{path}/publicIPAddresses/{ip}"),
            body,
        )
        .await;
        assert_eq!(status, 404, "{method} {ip}: {answer}");
    }
    let (status, _) = s
        .get(&format!("{other}/publicIPAddresses/{}", public[0]))
        .await;
    assert_eq!(status, 404, "another server's address");
    let (status, read) = s.get(&ip_path).await;
    assert_eq!(status, 200);
    assert_eq!(read["ports"], json!([{"protocol": "TCP", "port": 80}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_never_share_an_address() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let paths = [build(&s, "one").await, build(&s, "two").await];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (http, url, token) = (
            s.server.http.clone(),
            s.server.url(&format!("{}/publicIPAddresses", paths[i % 2])),
            s.token.clone(),
        );
        tasks.spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({"ports": [{"protocol": "TCP", "port": 443}]}))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        });
    }
    for (status, answer) in tasks.join_all().await {
        assert_eq!(status, 202, "{answer}");
        done(&s, &answer).await;
    }
    let mut all = HashSet::new();
    for path in &paths {
        let public = public_of(&s, path).await;
        assert_eq!(public.len(), 10, "{public:?}");
        for ip in public {
            assert!(in_pool_range(&ip), "{ip}");
            assert!(all.insert(ip.clone()), "{ip} handed out twice");
        }
    }
    // Two public addresses on one private address: one entry each.
    let (_, server) = s.get(&paths[0]).await;
    let internal = &server["details"]["ipAddresses"][0]["internal"];
    assert!(server["details"]["ipAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| &a["internal"] == internal));
}

#[tokio::test]
async fn deleting_a_server_frees_its_addresses_and_other_accounts_see_nothing() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let first = build(&s, "one").await;
    let (_, added) = send(
        &s,
        Method::POST,
        &format!("{first}/publicIPAddresses"),
        Some(json!({"ports": [{"protocol": "TCP", "port": 80}]})),
    )
    .await;
    done(&s, &added).await;
    let public = public_of(&s, &first).await.remove(0);
    let ip_path = format!("{first}/publicIPAddresses/{public}");

    admin(
        &dir.0,
        &[
            "account",
            "create",
            "--alias",
            "othr",
            "--name",
            "Other",
            "--primary-dc",
            "WA1",
        ],
        None,
    );
    create_user(
        &dir.0,
        "OTHR",
        "mallory",
        &["AccountAdmin"],
        "M4llory-Passw0rd",
    );
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    let ports = json!({"ports": [{"protocol": "TCP", "port": 80}]});
    for (method, path, body) in [
        (Method::GET, ip_path.clone(), None),
        (Method::PUT, ip_path.clone(), Some(ports.clone())),
        (Method::DELETE, ip_path.clone(), None),
        (
            Method::POST,
            format!("{first}/publicIPAddresses"),
            Some(ports.clone()),
        ),
        (Method::GET, ip_path.replace("/DEMO/", "/OTHR/"), None),
        (Method::DELETE, ip_path.replace("/DEMO/", "/OTHR/"), None),
    ] {
        let (status, answer) = s
            .server
            .call(method.clone(), &path, Some(&mallory), body)
            .await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert!(!answer.to_string().contains("10."), "{answer}");
    }
    assert_eq!(
        s.get(&ip_path).await.0,
        200,
        "nothing changed for the owner"
    );

    let (status, deleted) = s.delete(&first).await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&deleted)).await["status"], "succeeded");
    let second = build(&s, "two").await;
    let (_, added) = send(
        &s,
        Method::POST,
        &format!("{second}/publicIPAddresses"),
        Some(json!({"ports": [{"protocol": "TCP", "port": 80}]})),
    )
    .await;
    done(&s, &added).await;
    assert_eq!(public_of(&s, &second).await, [public]);
}
