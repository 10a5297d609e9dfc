//! Secondary network adapters over HTTP: added and removed through the queue (answered
//! `{operationId, uri}`), at most three, one address each, shown on the server and freed on removal.

mod common;

use common::{admin, create_user, status_href, Options, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

const SERVER: &str = "/v2/servers/DEMO/WA1DEMONIC01";

async fn build(s: &Session) {
    let (status, created) = s.post("/v2/servers/DEMO", s.server_body("nic").await).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
}

/// Gives the account `count` more networks in WA1; returns every network of the account there,
/// the primary (first) one included.
async fn networks(s: &Session, dir: &TempDir, count: usize) -> Vec<Value> {
    for _ in 0..count {
        let out = admin(
            &dir.0,
            &["network", "create", "--account", "demo", "--dc", "wa1"],
            None,
        );
        assert!(out.contains("\"cidr\""), "{out}");
    }
    let (status, list) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    assert_eq!(status, 200);
    list.as_array().unwrap().clone()
}

/// A shape-C answer: exactly `{operationId, uri}`; waits for the operation to succeed.
async fn done(s: &Session, answer: &Value) {
    assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");
    let id = answer["operationId"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(
        answer["uri"],
        format!("/v2-experimental/operations/DEMO/status/{id}")
    );
    let status = s.wait(answer["uri"].as_str().unwrap()).await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert_eq!(status["requestType"], "blueprintOperation");
}

async fn addresses(s: &Session) -> Vec<String> {
    let (_, server) = s.get(SERVER).await;
    server["details"]["ipAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["internal"].as_str().unwrap().to_owned())
        .collect()
}

fn first_three_octets(cidr: &Value) -> String {
    let cidr = cidr.as_str().unwrap();
    cidr[..cidr.rfind('.').unwrap()].to_owned()
}

#[tokio::test]
async fn adapters_are_added_shown_and_removed_with_their_addresses() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    build(&s).await;
    let nets = networks(&s, &dir, 2).await;
    let (second, third) = (&nets[1], &nets[2]);
    let (_, before) = s.get(SERVER).await;

    // The lowest free address of the network, or the one asked for.
    let (status, answer) = s
        .post(
            &format!("{SERVER}/networks"),
            json!({"networkId": second["id"], "ipAddress": ""}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    done(&s, &answer).await;
    let chosen = format!("{}.77", first_three_octets(&third["cidr"]));
    let (status, answer) = s
        .post(
            &format!("{SERVER}/networks"),
            json!({"networkId": third["id"], "ipAddress": chosen}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    done(&s, &answer).await;

    let shown = addresses(&s).await;
    let primary = before["details"]["ipAddresses"][0]["internal"]
        .as_str()
        .unwrap();
    assert_eq!(
        shown,
        [
            primary.to_owned(),
            format!("{}.12", first_three_octets(&second["cidr"])),
            chosen.clone()
        ]
    );
    let (_, claimed) = s
        .get(&format!(
            "/v2-experimental/networks/DEMO/WA1/{}?ipAddresses=claimed",
            third["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        claimed["ipAddresses"],
        json!([{"address": chosen, "claimed": true, "server": "WA1DEMONIC01", "type": "private"}])
    );
    // The removal is recorded on the server in the name of who asked for it.
    create_user(&dir.0, "DEMO", "ops", &[], "0ps-Passw0rd");
    let ops = s.server.login("ops", "0ps-Passw0rd").await;
    let (status, answer) = s
        .server
        .call(
            Method::DELETE,
            &format!("{SERVER}/networks/{}", third["id"].as_str().unwrap()),
            Some(&ops),
            None,
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    done(&s, &answer).await;
    let (_, after) = s.get(SERVER).await;
    assert_eq!(after["changeInfo"]["modifiedBy"], "ops");
    assert_eq!(addresses(&s).await.len(), 2);
    let (_, claimed) = s
        .get(&format!(
            "/v2-experimental/networks/DEMO/WA1/{}?ipAddresses=claimed",
            third["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        claimed["ipAddresses"],
        json!([]),
        "the address is free again"
    );
}

#[tokio::test]
async fn refusals_name_the_field_and_leave_the_server_as_it_was() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    build(&s).await;
    let nets = networks(&s, &dir, 4).await;
    let id = |i: usize| nets[i]["id"].as_str().unwrap().to_owned();
    let add = format!("{SERVER}/networks");
    for i in 1..=2 {
        let (status, answer) = s.post(&add, json!({"networkId": id(i)})).await;
        assert_eq!(status, 202, "{answer}");
        done(&s, &answer).await;
    }
    let taken = addresses(&s).await[1].clone();
    let fourth = first_three_octets(&nets[4]["cidr"]);
    let cases = [
        (json!({}), "networkId"),
        (
            json!({"networkId": "0123456789abcdef0123456789abcdef"}),
            "networkId",
        ),
        (json!({"networkId": id(0)}), "networkId"),
        (json!({"networkId": id(1)}), "networkId"),
        (
            json!({"networkId": id(4), "ipAddress": "10.300.0.1"}),
            "ipAddress",
        ),
        (json!({"networkId": id(4), "ipAddress": taken}), "ipAddress"),
        (
            json!({"networkId": id(4), "ipAddress": format!("{fourth}.1")}),
            "ipAddress",
        ),
        (json!([1]), ""),
    ];
    let before = addresses(&s).await;
    for (body, field) in cases {
        let (status, answer) = s.post(&add, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].is_string());
        if !field.is_empty() {
            assert!(
                answer["modelState"].get(field).is_some(),
                "{field} not named for {body}: {answer}"
            );
        }
    }
    assert_eq!(addresses(&s).await, before, "refusals reserved nothing");
    // With three secondary networks a fourth is refused.
    let (status, answer) = s.post(&add, json!({"networkId": id(3)})).await;
    assert_eq!(status, 202, "{answer}");
    done(&s, &answer).await;
    let before = addresses(&s).await;
    let (status, answer) = s
        .post(
            &add,
            json!({"networkId": id(4), "ipAddress": format!("{fourth}.20")}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["modelState"].get("networkId").is_some(), "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("at most 3"),
        "{answer}"
    );
    assert_eq!(addresses(&s).await, before);

    // Removal: the primary network stays; unknown networks are not found; an address with a
    // public IP NATed to it stays until the public IP is removed.
    let (status, answer) = s.delete(&format!("{SERVER}/networks/{}", id(0))).await;
    assert_eq!(status, 400, "{answer}");
    for unknown in [id(4), "0123456789abcdef0123456789abcdef".to_owned()] {
        let (status, answer) = s.delete(&format!("{SERVER}/networks/{unknown}")).await;
        assert_eq!(status, 404, "{answer}");
    }
    let (status, added) = s
        .post(
            &format!("{SERVER}/publicIPAddresses"),
            json!({"internalIPAddress": taken, "ports": [{"protocol": "TCP", "port": 22}]}),
        )
        .await;
    assert_eq!(status, 202, "{added}");
    assert_eq!(
        s.wait(added["href"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    let (status, answer) = s.delete(&format!("{SERVER}/networks/{}", id(1))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("NATed"),
        "{answer}"
    );
    for (method, path) in [
        (
            Method::POST,
            "/v2/servers/DEMO/WA1DEMONOPE01/networks".to_owned(),
        ),
        (
            Method::DELETE,
            format!("/v2/servers/DEMO/WA1DEMONOPE01/networks/{}", id(1)),
        ),
        (
            Method::POST,
            "/v2/servers/OTHR/WA1DEMONIC01/networks".to_owned(),
        ),
    ] {
        let body = (method == Method::POST).then(|| json!({"networkId": id(4)}));
        let (status, answer) = s
            .server
            .call(method.clone(), &path, Some(&s.token), body)
            .await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    assert_eq!(addresses(&s).await, before);
}
