//! The admin API over HTTP: off without an admin token; the operator manages every account, an
//! AccountAdmin their own account and the accounts below it; password changes, disables and
//! revocations take effect on the next request; every write lands in the audit trail; and
//! `ctlcloud admin` drives the same API from the command line.

mod common;

use common::{admin, create_account, create_user, Options, Session, TempDir, BIN};
use reqwest::Method as M;
use serde_json::{json, Value};

/// A session whose server has an admin token; returns the token too.
async fn with_admin_token(dir: &TempDir) -> (Session, String) {
    let (token, hash) = ctlcloud::adminapi::generate_token();
    let options = Options {
        env: vec![("CTLCLOUD_ADMIN_TOKEN_HASH", hash)],
        ..Default::default()
    };
    (Session::start(&dir.0, options).await, token)
}

async fn call(
    s: &Session,
    method: M,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    s.server.call(method, path, Some(token), body).await
}

#[tokio::test]
async fn the_admin_api_is_off_without_an_admin_token() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (_, unknown) = s.get("/nothing/here").await;
    for (method, path) in [
        (M::GET, "/admin/accounts"),
        (M::POST, "/admin/accounts"),
        (M::GET, "/ADMIN/roles"),
        (M::GET, "/admin"),
    ] {
        let (status, body) = call(&s, method.clone(), path, &s.token, None).await;
        assert_eq!(status, 404, "{method} {path}");
        let expected = unknown["message"]
            .as_str()
            .unwrap()
            .replace("GET /nothing/here", &format!("{method} {path}"));
        assert_eq!(body, json!({ "message": expected }));
    }
}

#[tokio::test]
async fn the_operator_manages_accounts_users_passwords_and_tokens() {
    let dir = TempDir::new();
    let (s, op) = with_admin_token(&dir).await;
    assert_eq!(
        s.server.call(M::GET, "/admin/accounts", None, None).await.0,
        401
    );
    assert_eq!(
        call(&s, M::GET, "/admin/accounts", "wrong-token", None)
            .await
            .0,
        401
    );

    let (status, roles) = call(&s, M::GET, "/admin/roles", &op, None).await;
    assert_eq!(status, 200);
    assert_eq!(roles.as_array().unwrap().len(), 8);
    assert_eq!(roles[0]["role"], "AccountAdmin");

    let (status, acme) = call(
        &s,
        M::POST,
        "/admin/accounts",
        &op,
        Some(json!({"alias": "acme", "name": "Acme Corp", "primaryDataCenter": "va1"})),
    )
    .await;
    assert_eq!(status, 201, "{acme}");
    assert_eq!(acme["accountAlias"], "ACME");
    assert_eq!(acme["parentAlias"], Value::Null);
    assert_eq!(acme["primaryDataCenter"], "VA1");
    for (body, field, code) in [
        (json!({"alias": "acme"}), "", 409),
        (json!({"alias": "a b"}), "alias", 400),
        (
            json!({"alias": "zz", "primaryDataCenter": "XX9"}),
            "primaryDataCenter",
            400,
        ),
        (
            json!({"alias": "zz", "parentAlias": "NOPE"}),
            "parentAlias",
            400,
        ),
        (json!({}), "alias", 400),
    ] {
        let (status, answer) = call(&s, M::POST, "/admin/accounts", &op, Some(body.clone())).await;
        assert_eq!(status, code, "{body}: {answer}");
        if !field.is_empty() {
            assert!(
                answer["modelState"].get(field).is_some(),
                "{body}: {answer}"
            );
        }
    }

    // A user with a generated password, shown once.
    let (status, alice) = call(
        &s,
        M::POST,
        "/admin/accounts/ACME/users",
        &op,
        Some(json!({"username": "alice", "roles": ["serveroperator"]})),
    )
    .await;
    assert_eq!(status, 201, "{alice}");
    assert_eq!(alice["roles"], json!(["ServerOperator"]));
    assert_eq!(alice["changeInfo"]["createdBy"], "operator");
    let password = alice["password"].as_str().unwrap().to_owned();
    let token = s.server.login("alice", &password).await;
    let (_, read_back) = call(&s, M::GET, "/admin/users/ALICE", &op, None).await;
    assert!(read_back.get("password").is_none(), "{read_back}");
    for (body, field, code) in [
        (
            json!({"username": "alice", "roles": ["ServerAdmin"]}),
            "",
            409,
        ),
        (json!({"username": "bob", "roles": ["Root"]}), "roles", 400),
        (json!({"username": "bob", "roles": []}), "roles", 400),
        (
            json!({"username": "bob", "roles": ["ServerAdmin"], "password": "short"}),
            "password",
            400,
        ),
        (
            json!({"username": "b o b", "roles": ["ServerAdmin"]}),
            "username",
            400,
        ),
    ] {
        let (status, answer) = call(
            &s,
            M::POST,
            "/admin/accounts/ACME/users",
            &op,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, code, "{body}: {answer}");
        if !field.is_empty() {
            assert!(
                answer["modelState"].get(field).is_some(),
                "{body}: {answer}"
            );
        }
    }
    assert_eq!(
        call(
            &s,
            M::POST,
            "/admin/accounts/NOPE/users",
            &op,
            Some(json!({"username": "x", "roles": ["ServerAdmin"]}))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&s, M::GET, "/admin/users/nobody", &op, None).await.0,
        404
    );

    // Roles apply at once; a bad list changes nothing.
    let alice_get = |t: String| {
        let server = &s.server;
        async move {
            server
                .call(
                    M::GET,
                    "/v2/servers/ACME/WA1ACMEX01/credentials",
                    Some(&t),
                    None,
                )
                .await
                .0
        }
    };
    assert_eq!(alice_get(token.clone()).await, 404);
    let (status, _) = call(
        &s,
        M::PUT,
        "/admin/users/alice/roles",
        &op,
        Some(json!({"roles": ["BillingManager", "nope"]})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, changed) = call(
        &s,
        M::PUT,
        "/admin/users/alice/roles",
        &op,
        Some(json!({"roles": ["BillingManager"]})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["roles"], json!(["BillingManager"]));
    assert_eq!(changed["changeInfo"]["modifiedBy"], "operator");
    assert_eq!(alice_get(token.clone()).await, 403);

    // A new password revokes the old tokens; so do a disable and an explicit revocation.
    let (status, set) = call(
        &s,
        M::POST,
        "/admin/users/alice/password",
        &op,
        Some(json!({"password": "N3w-Passw0rd"})),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    assert!(set.get("password").is_none());
    assert_eq!(
        s.server
            .call(M::GET, "/v2/accounts/ACME", Some(&token), None)
            .await
            .0,
        401
    );
    let token = s.server.login("alice", "N3w-Passw0rd").await;
    let (status, disabled) = call(&s, M::POST, "/admin/users/alice/disable", &op, None).await;
    assert_eq!((status, &disabled["disabled"]), (200, &json!(true)));
    assert_eq!(
        s.server
            .call(M::GET, "/v2/accounts/ACME", Some(&token), None)
            .await
            .0,
        401
    );
    let (status, _) = s
        .server
        .call(
            M::POST,
            "/v2/authentication/login",
            None,
            Some(json!({"username": "alice", "password": "N3w-Passw0rd"})),
        )
        .await;
    assert_eq!(status, 400, "a disabled user cannot log in");
    assert_eq!(
        call(&s, M::POST, "/admin/users/alice/enable", &op, None)
            .await
            .0,
        200
    );
    let t1 = s.server.login("alice", "N3w-Passw0rd").await;
    let t2 = s.server.login("alice", "N3w-Passw0rd").await;
    let (status, revoked) = call(&s, M::POST, "/admin/users/alice/revokeTokens", &op, None).await;
    assert_eq!((status, revoked), (200, json!({"revoked": 2})));
    for t in [&t1, &t2] {
        assert_eq!(
            s.server
                .call(M::GET, "/v2/accounts/ACME", Some(t), None)
                .await
                .0,
            401
        );
    }

    // Lists are bounded.
    let (_, users) = call(&s, M::GET, "/admin/accounts/acme/users", &op, None).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    let (_, one) = call(&s, M::GET, "/admin/accounts?limit=1", &op, None).await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    for limit in ["0", "1001", "x"] {
        assert_eq!(
            call(
                &s,
                M::GET,
                &format!("/admin/accounts?limit={limit}"),
                &op,
                None
            )
            .await
            .0,
            400
        );
    }
    // Bodies are capped like everywhere else.
    let (status, _) = call(
        &s,
        M::POST,
        "/admin/accounts",
        &op,
        Some(json!({"alias": "x".repeat(2 << 20)})),
    )
    .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn account_admins_manage_their_own_tree_and_other_roles_are_refused() {
    let dir = TempDir::new();
    let (s, op) = with_admin_token(&dir).await;
    create_account(&dir.0, "OTHR", None);
    create_user(
        &dir.0,
        "OTHR",
        "mallory",
        &["AccountAdmin"],
        "M4llory-Passw0rd",
    );
    create_user(&dir.0, "DEMO", "ops", &["ServerAdmin"], "0ps-Passw0rd");
    create_user(&dir.0, "DEMO", "sec", &["SecurityManager"], "S3c-Passw0rd");
    let me = s.token.clone();

    // The bootstrap user (AccountAdmin of DEMO) creates a sub-account and a user in it.
    let (status, sub) = call(
        &s,
        M::POST,
        "/admin/accounts",
        &me,
        Some(json!({"alias": "SUB"})),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["parentAlias"], "DEMO");
    let (status, _) = call(
        &s,
        M::POST,
        "/admin/accounts/SUB/users",
        &me,
        Some(json!({"username": "subby", "roles": ["AccountAdmin"], "password": "Subby-Passw0rd"})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, mine) = call(&s, M::GET, "/admin/accounts", &me, None).await;
    let aliases: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["accountAlias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["DEMO", "SUB"]);
    // Another account is out of reach, as if it did not exist.
    for (method, path, body) in [
        (M::GET, "/admin/accounts/OTHR", None),
        (M::GET, "/admin/users/mallory", None),
        (M::POST, "/admin/users/mallory/disable", None),
        (M::GET, "/admin/accounts/OTHR/users", None),
        (M::GET, "/admin/audit?account=OTHR", None),
    ] {
        let (status, body) = call(&s, method.clone(), path, &me, body).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert!(!body.to_string().contains("M4llory"));
    }
    let (status, answer) = call(
        &s,
        M::POST,
        "/admin/accounts",
        &me,
        Some(json!({"alias": "X1", "parentAlias": "OTHR"})),
    )
    .await;
    assert_eq!(status, 400, "{answer}");

    // The sub-account's admin manages the sub-account, not its parent.
    let subby = s.server.login("subby", "Subby-Passw0rd").await;
    assert_eq!(
        call(&s, M::GET, "/admin/accounts/SUB/users", &subby, None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&s, M::GET, "/admin/accounts/DEMO", &subby, None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(&s, M::POST, "/admin/users/ops/disable", &subby, None)
            .await
            .0,
        404
    );

    // Other roles are refused with the permission named; a security manager reads the audit.
    let ops = s.server.login("ops", "0ps-Passw0rd").await;
    let (status, refusal) = call(&s, M::GET, "/admin/accounts", &ops, None).await;
    assert_eq!(status, 403);
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("users.manage"),
        "{refusal}"
    );
    let sec = s.server.login("sec", "S3c-Passw0rd").await;
    assert_eq!(call(&s, M::GET, "/admin/audit", &sec, None).await.0, 200);
    assert_eq!(
        call(
            &s,
            M::POST,
            "/admin/accounts",
            &sec,
            Some(json!({"alias": "S2"}))
        )
        .await
        .0,
        403
    );
    // The operator sees everything.
    let (_, all) = call(&s, M::GET, "/admin/accounts", &op, None).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn every_write_is_in_the_audit_trail_for_the_accounts_admins() {
    let dir = TempDir::new();
    let (s, op) = with_admin_token(&dir).await;
    create_account(&dir.0, "OTHR", None);
    create_user(
        &dir.0,
        "OTHR",
        "mallory",
        &["AccountAdmin"],
        "M4llory-Passw0rd",
    );
    create_user(&dir.0, "DEMO", "olga", &["ServerOperator"], "0lga-Passw0rd");
    let olga = s.server.login("olga", "0lga-Passw0rd").await;
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;

    let root = s.group_id("WA1 Hardware").await;
    assert_eq!(
        s.post(
            "/v2/groups/DEMO",
            json!({"name": "Audited", "parentGroupId": root})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        s.get("/v2/datacenters/DEMO").await.0,
        200,
        "reads are not audited"
    );
    assert_eq!(
        call(&s, M::DELETE, "/v2/servers/DEMO/WA1DEMOX01", &olga, None)
            .await
            .0,
        403
    );
    assert_eq!(
        call(&s, M::POST, "/v2/groups/OTHR", &mallory, Some(json!({})))
            .await
            .0,
        400
    );
    assert_eq!(
        call(&s, M::POST, "/admin/users/olga/disable", &op, None)
            .await
            .0,
        200
    );

    let (status, page) = call(&s, M::GET, "/admin/audit", &s.token, None).await;
    assert_eq!(status, 200);
    let rows: Vec<(String, String, String, i64)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["date"].as_str().unwrap().ends_with('Z'));
            (
                e["user"].as_str().unwrap().to_owned(),
                e["operation"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
                e["outcome"].as_i64().unwrap(),
            )
        })
        .collect();
    // Newest first; the operator's action has no account, mallory's is another account's.
    assert_eq!(
        rows,
        [
            (
                "olga".into(),
                "Delete server".into(),
                "DELETE /v2/servers/DEMO/WA1DEMOX01".into(),
                403
            ),
            (
                "admin".into(),
                "Create group".into(),
                "POST /v2/groups/DEMO".into(),
                201
            ),
        ]
    );
    let (_, everything) = call(&s, M::GET, "/admin/audit", &op, None).await;
    let items = everything["items"].as_array().unwrap();
    // Three more: the accounts and users this test set up with `ctlcloud admin`.
    assert_eq!(items.len(), 7);
    assert_eq!(items[6]["user"], "ctlcloud admin");
    assert_eq!(items[0]["user"], "operator");
    assert_eq!(items[0]["operation"], "Disable user");
    assert_eq!(items[1]["accountAlias"], "OTHR");
    // Pages.
    let (_, first) = call(&s, M::GET, "/admin/audit?limit=1", &op, None).await;
    let next = first["nextBefore"].as_i64().unwrap();
    let (_, second) = call(
        &s,
        M::GET,
        &format!("/admin/audit?limit=3&before={next}"),
        &op,
        None,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 3);
    assert_eq!(second["items"][0]["user"], "mallory");
    assert!(second.get("nextBefore").is_some());
    let (_, othr) = call(&s, M::GET, "/admin/audit?account=othr", &op, None).await;
    assert_eq!(othr["items"].as_array().unwrap().len(), 1);
}

/// Runs `ctlcloud admin --url` with the admin token in the environment.
fn admin_over_http(url: &str, token: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(BIN);
    command
        .args(["admin", "--url", url])
        .args(args)
        .env_remove("CTLCLOUD_ADMIN_TOKEN");
    if let Some(t) = token {
        command.env("CTLCLOUD_ADMIN_TOKEN", t);
    }
    command.output().unwrap()
}

#[tokio::test]
async fn ctlcloud_admin_uses_the_admin_api_given_a_url_and_the_data_dir_otherwise() {
    let dir = TempDir::new();
    let (s, op) = with_admin_token(&dir).await;
    let url = s.server.base.clone();
    let out = admin_over_http(
        &url,
        Some(&op),
        &[
            "account",
            "create",
            "--alias",
            "REMO",
            "--name",
            "Remote Co",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["accountAlias"], "REMO");
    let out = admin_over_http(
        &url,
        Some(&op),
        &[
            "user",
            "create",
            "--account",
            "REMO",
            "--username",
            "remy",
            "--role",
            "AccountViewer",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remy: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = s
        .server
        .login("remy", remy["password"].as_str().unwrap())
        .await;
    assert_eq!(
        s.server
            .call(M::GET, "/v2/accounts/REMO", Some(&token), None)
            .await
            .0,
        200
    );
    // Refusals and a missing token are errors with the server's message.
    let out = admin_over_http(
        &url,
        Some(&op),
        &["user", "disable", "--username", "nobody"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    let out = admin_over_http(&url, None, &["account", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CTLCLOUD_ADMIN_TOKEN"));
    // The same commands work on the data directory, as the local operator.
    let listed: Value =
        serde_json::from_str(&admin(&dir.0, &["user", "list", "--account", "remo"], None)).unwrap();
    assert_eq!(listed[0]["userName"], "remy");
    admin(
        &dir.0,
        &["user", "revoke-tokens", "--username", "remy"],
        None,
    );
    assert_eq!(
        s.server
            .call(M::GET, "/v2/accounts/REMO", Some(&token), None)
            .await
            .0,
        401
    );
    let audit: Value =
        serde_json::from_str(&admin(&dir.0, &["audit", "--limit", "3"], None)).unwrap();
    let users: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["ctlcloud admin", "operator", "operator"]);
}

#[tokio::test]
async fn wrong_admin_tokens_are_throttled_per_client() {
    let dir = TempDir::new();
    let (s, op) = with_admin_token(&dir).await;
    for _ in 0..5 {
        assert_eq!(call(&s, M::GET, "/admin/roles", "guess", None).await.0, 401);
    }
    let response = s
        .server
        .http
        .get(s.server.url("/admin/roles"))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        429,
        "even the right token waits"
    );
    let wait: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    assert!(response.json::<Value>().await.unwrap()["message"].is_string());
    // Users' own tokens are not affected.
    assert_eq!(
        call(&s, M::GET, "/admin/roles", &s.token, None).await.0,
        200
    );
}
