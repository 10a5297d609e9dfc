//! Alert policies over HTTP: the list every client reads at start-up, create, read, replace and
//! delete, every refusal, and another account seeing none of them.

mod common;

use common::{admin, create_user, Options, Session, TempDir};
use reqwest::Method;
use serde_json::{json, Value};

fn policy(name: &str, threshold: Value) -> Value {
    json!({"name": name,
           "actions": [{"action": "email", "settings": {"recipients": ["ops@example.com"]}}],
           "triggers": [{"duration": "00:05:00", "metric": "disk", "threshold": threshold}]})
}

#[tokio::test]
async fn policies_are_listed_created_read_replaced_and_deleted() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    // Terraform's provider reads the list when it starts: it works, empty, for a new account.
    let (status, empty) = s.get("/v2/alertPolicies/demo").await;
    assert_eq!(status, 200);
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["links"][0]["rel"], "self");
    assert_eq!(empty["links"][0]["verbs"], json!(["GET", "POST"]));

    let (status, created) = s
        .post(
            "/v2/alertPolicies/DEMO",
            policy("Disk Above 80%", json!(80)),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(created["name"], "Disk Above 80%");
    assert_eq!(
        created["triggers"],
        json!([{"metric": "disk", "duration": "00:05:00", "threshold": 80}])
    );
    assert_eq!(
        created["links"],
        json!([{"rel": "self", "href": format!("/v2/alertPolicies/DEMO/{id}"), "verbs": ["GET", "DELETE", "PUT"]}])
    );

    let (status, read) = s
        .get(&format!("/v2/alertPolicies/DEMO/{}", id.to_uppercase()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read, created);
    let (_, list) = s.get("/v2/alertPolicies/DEMO").await;
    assert_eq!(list["items"], json!([created]));

    let (status, replaced) = s
        .server
        .call(
            Method::PUT,
            &format!("/v2/alertPolicies/DEMO/{id}"),
            Some(&s.token),
            Some(policy("CPU", json!("90"))),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"], "CPU");
    assert_eq!(replaced["triggers"][0]["threshold"], 90);
    let (_, read) = s.get(&format!("/v2/alertPolicies/DEMO/{id}")).await;
    assert_eq!(read["name"], "CPU");

    let (status, body) = s.delete(&format!("/v2/alertPolicies/DEMO/{id}")).await;
    assert_eq!((status, body), (200, Value::Null));
    assert_eq!(s.get(&format!("/v2/alertPolicies/DEMO/{id}")).await.0, 404);
    assert_eq!(
        s.delete(&format!("/v2/alertPolicies/DEMO/{id}")).await.0,
        404
    );
}

#[tokio::test]
async fn bad_policies_are_refused_and_other_accounts_see_nothing() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    for (body, field) in [
        (json!({}), "name"),
        (
            json!({"name": "x", "triggers": policy("x", json!(80))["triggers"]}),
            "actions",
        ),
        (
            json!({"name": "x", "actions": policy("x", json!(80))["actions"]}),
            "triggers",
        ),
        (policy("x", json!(81)), "triggers"),
        (policy("x", json!("many")), "triggers"),
    ] {
        let (status, answer) = s.post("/v2/alertPolicies/DEMO", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["modelState"].get(field).is_some(),
            "{field}: {answer}"
        );
    }
    let (_, created) = s
        .post("/v2/alertPolicies/DEMO", policy("Mine", json!(50)))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = s
        .server
        .call(
            Method::PUT,
            &format!("/v2/alertPolicies/DEMO/{id}"),
            Some(&s.token),
            Some(json!({"name": "only"})),
        )
        .await;
    assert_eq!(status, 400, "a replacement names everything");

    admin(
        &dir.0,
        &["account", "create", "--alias", "OTHR", "--name", "Other"],
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
    let (_, theirs) = s
        .server
        .call(Method::GET, "/v2/alertPolicies/OTHR", Some(&mallory), None)
        .await;
    assert_eq!(theirs["items"], json!([]));
    for (method, path) in [
        (Method::GET, format!("/v2/alertPolicies/DEMO/{id}")),
        (Method::GET, format!("/v2/alertPolicies/OTHR/{id}")),
        (Method::DELETE, format!("/v2/alertPolicies/OTHR/{id}")),
        (Method::GET, "/v2/alertPolicies/DEMO".to_owned()),
    ] {
        let (status, body) = s
            .server
            .call(method.clone(), &path, Some(&mallory), None)
            .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert!(!body.to_string().contains("Mine"));
    }
    let (status, _) = s
        .server
        .call(
            Method::PUT,
            &format!("/v2/alertPolicies/OTHR/{id}"),
            Some(&mallory),
            Some(policy("Stolen", json!(50))),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        s.get(&format!("/v2/alertPolicies/DEMO/{id}")).await.1["name"],
        "Mine"
    );
}

#[tokio::test]
async fn policies_apply_to_servers_and_show_in_their_details() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (status, created) = s.post("/v2/servers/DEMO", s.server_body("mon").await).await;
    assert_eq!(status, 202);
    s.wait(&common::status_href(&created)).await;
    let server = "/v2/servers/DEMO/WA1DEMOMON01";
    let (_, p) = s
        .post("/v2/alertPolicies/DEMO", policy("Disk", json!(80)))
        .await;
    let id = p["id"].as_str().unwrap().to_owned();

    let (status, mapped) = s
        .post(&format!("{server}/alertPolicies"), json!({"id": id}))
        .await;
    assert_eq!(status, 201, "{mapped}");
    assert_eq!(mapped["id"], id.as_str());
    assert_eq!(
        mapped["links"][0]["href"],
        format!("/v2/servers/DEMO/wa1demomon01/alertPolicies/{id}")
    );
    assert_eq!(mapped["links"][0]["verbs"], json!(["DELETE"]));
    let (status, again) = s
        .post(&format!("{server}/alertPolicies"), json!({"id": id}))
        .await;
    assert_eq!(status, 201, "applying twice answers the same: {again}");
    let (_, details) = s.get(server).await;
    let applied = &details["details"]["alertPolicies"];
    assert_eq!(applied.as_array().unwrap().len(), 1, "{applied}");
    assert_eq!(applied[0]["id"], id.as_str());
    assert_eq!(applied[0]["name"], "Disk");
    assert!(applied[0]["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "alertPolicyMap"));

    let (status, answer) = s
        .post(
            &format!("{server}/alertPolicies"),
            json!({"id": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(answer["modelState"].get("id").is_some());
    assert_eq!(
        s.post(
            "/v2/servers/DEMO/WA1DEMONONE01/alertPolicies",
            json!({"id": id})
        )
        .await
        .0,
        404
    );

    let (status, body) = s.delete(&format!("{server}/alertPolicies/{id}")).await;
    assert_eq!((status, body), (200, Value::Null));
    assert_eq!(
        s.delete(&format!("{server}/alertPolicies/{id}")).await.0,
        404
    );
    let (_, details) = s.get(server).await;
    assert_eq!(details["details"]["alertPolicies"], json!([]));

    // Deleting a policy takes it off every server it applied to.
    s.post(&format!("{server}/alertPolicies"), json!({"id": id}))
        .await;
    assert_eq!(
        s.delete(&format!("/v2/alertPolicies/DEMO/{id}")).await.0,
        200
    );
    let (_, details) = s.get(server).await;
    assert_eq!(details["details"]["alertPolicies"], json!([]));
}
