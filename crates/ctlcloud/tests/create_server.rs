//! Create server, completed: clones of existing servers, a time to live that deletes the server
//! when it comes (tested by restarting the server later in time), packages, and custom fields
//! checked against the definitions `ctlcloud admin custom-field` makes.

mod common;

use common::{admin, create_user, status_href, Options, Session, TempDir};
use serde_json::{json, Value};

fn assert_refused(status: u16, body: &Value, field: &str, what: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert!(body["message"].is_string(), "{what}: {body}");
    assert!(
        body["modelState"].get(field).is_some(),
        "{what}: {field} not named in {body}"
    );
}

/// Queues a create and waits for it; returns the server.
async fn build(s: &Session, body: Value) -> Value {
    let (status, created) = s.post("/v2/servers/DEMO", body).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    let (status, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    server
}

fn disks(server: &Value) -> Vec<(u64, Value)> {
    server["details"]["disks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["sizeGB"].as_u64().unwrap(), d["partitionPaths"].clone()))
        .collect()
}

#[tokio::test]
async fn a_clone_copies_cpu_memory_and_disks_unless_told_otherwise() {
    let dir = TempDir::new();
    let s = Session::start(
        &dir.0,
        Options {
            fail_marker: Some("BROKEN".into()),
            ..Default::default()
        },
    )
    .await;
    let mut body = s.server_body("src").await;
    body["cpu"] = json!(2);
    body["memoryGB"] = json!(4);
    body["password"] = json!("Src-Passw0rd!");
    body["sourceServerId"] = json!("CENTOS-7-64-TEMPLATE");
    body["additionalDisks"] = json!([{"path": "/data", "sizeGB": 20, "type": "partitioned"}]);
    let source = build(&s, body).await;
    assert_eq!(source["id"], "WA1DEMOSRC01");

    // As Python's Server.Clone sends it: everything from the source, nulls for the rest.
    let group = s.group_id("Default Group").await;
    let clone = build(
        &s,
        json!({"name": "copy", "groupId": group, "sourceServerId": "wa1demosrc01",
               "sourceServerPassword": "Src-Passw0rd!", "cpu": null, "memoryGB": null,
               "password": "Src-Passw0rd!", "ttl": null, "packages": []}),
    )
    .await;
    assert_eq!(clone["id"], "WA1DEMOCOPY01");
    assert_eq!(clone["details"]["cpu"], 2);
    assert_eq!(clone["details"]["memoryMB"], 4096);
    assert_eq!(disks(&clone), disks(&source));
    assert_eq!(clone["osType"], source["osType"]);
    assert_ne!(
        clone["details"]["ipAddresses"],
        source["details"]["ipAddresses"]
    );
    let (_, creds) = s.get("/v2/servers/DEMO/WA1DEMOCOPY01/credentials").await;
    assert_eq!(creds["password"], "Src-Passw0rd!");

    // Overrides win, and additional disks come after the source's.
    let bigger = build(
        &s,
        json!({"name": "copy", "groupId": group, "sourceServerId": "WA1DEMOSRC01",
               "sourceServerPassword": "Src-Passw0rd!", "cpu": 1, "memoryGB": 8,
               "additionalDisks": [{"path": "/logs", "sizeGB": 5, "type": "partitioned"}]}),
    )
    .await;
    assert_eq!(bigger["id"], "WA1DEMOCOPY02");
    assert_eq!(bigger["details"]["cpu"], 1);
    assert_eq!(bigger["details"]["memoryMB"], 8192);
    let mut expected = disks(&source);
    expected.push((5, json!(["/logs"])));
    assert_eq!(disks(&bigger), expected);

    // Refusals.
    let (status, broken) = s
        .post("/v2/servers/DEMO", s.server_body("broken").await)
        .await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&broken)).await["status"], "failed");
    admin(
        &dir.0,
        &["account", "create", "--alias", "OTHR", "--name", "Other"],
        None,
    );
    create_user(&dir.0, "OTHR", "mallory", &[], "M4llory-Passw0rd");
    let clone_of = |source: &str, password: Value| {
        json!({"name": "bad", "groupId": group, "sourceServerId": source,
               "sourceServerPassword": password})
    };
    let cases = [
        (
            clone_of("WA1DEMOSRC01", json!("wrong")),
            "sourceServerPassword",
        ),
        (
            clone_of("WA1DEMOSRC01", Value::Null),
            "sourceServerPassword",
        ),
        (clone_of("WA1DEMONOPE01", json!("x")), "sourceServerId"),
        (clone_of("WA1DEMOBROKEN01", json!("x")), "sourceServerId"),
        (
            {
                let mut b = clone_of("WA1DEMOSRC01", json!("Src-Passw0rd!"));
                b["additionalDisks"] =
                    json!([{"path": "/data", "sizeGB": 5, "type": "partitioned"}]);
                b
            },
            "additionalDisks",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = s.post("/v2/servers/DEMO", body.clone()).await;
        assert_refused(status, &answer, field, &body.to_string());
    }
    // Another account cannot clone our server: to them it does not exist.
    let mallory = s.server.login("mallory", "M4llory-Passw0rd").await;
    let (_, theirs) = s
        .server
        .call(
            reqwest::Method::GET,
            "/v2/datacenters/OTHR/WA1",
            Some(&mallory),
            None,
        )
        .await;
    let their_root = theirs["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "group")
        .unwrap()["id"]
        .clone();
    let (status, answer) = s
        .server
        .call(
            reqwest::Method::POST,
            "/v2/servers/OTHR",
            Some(&mallory),
            Some(
                json!({"name": "x", "groupId": their_root, "sourceServerId": "WA1DEMOSRC01",
                        "sourceServerPassword": "Src-Passw0rd!", "cpu": 1, "memoryGB": 1}),
            ),
        )
        .await;
    assert_refused(status, &answer, "sourceServerId", "a foreign source");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("no template or server"));
}

#[tokio::test]
async fn a_server_with_a_ttl_is_deleted_when_its_time_comes() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let with_ttl = |name: &str, body: &Value, ttl: i64| {
        let mut b = body.clone();
        b["name"] = json!(name);
        b["ttl"] = json!(ctlcloud::clock::format_utc(ttl));
        b
    };
    let base = s.server_body("x").await;
    for ttl in [now + 1800, now - 60] {
        let (status, answer) = s
            .post("/v2/servers/DEMO", with_ttl("soon", &base, ttl))
            .await;
        assert_refused(status, &answer, "ttl", "a ttl within the hour");
    }
    build(&s, with_ttl("tmp", &base, now + 2 * 3600)).await;
    let mut keep = base.clone();
    keep["name"] = json!("keep");
    build(&s, keep).await;
    // Fractional seconds are accepted. The scheduled deletion holds up no other work on the
    // server: deleting it now goes through at once.
    let mut body = with_ttl("gone", &base, now + 3 * 3600);
    body["ttl"] = json!(format!(
        "{}.000Z",
        ctlcloud::clock::format_utc(now + 3 * 3600).trim_end_matches('Z')
    ));
    build(&s, body).await;
    let (status, deleted) = s.delete("/v2/servers/DEMO/WA1DEMOGONE01").await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&deleted)).await["status"], "succeeded");
    let (status, _) = s.get("/v2/servers/DEMO/WA1DEMOTMP01").await;
    assert_eq!(status, 200, "not yet");

    // Three hours later (the same data, a clock running ahead), the server goes.
    assert!(s.server.terminate());
    let s = Session::start(
        &dir.0,
        Options {
            clock_offset_secs: 3 * 3600 + 60,
            ..Default::default()
        },
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, body) = s.get("/v2/servers/DEMO/WA1DEMOTMP01").await;
        if status == 404 {
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the expired server is still there: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, _) = s.get("/v2/servers/DEMO/WA1DEMOKEEP01").await;
    assert_eq!(status, 200, "servers without a ttl stay");
    let group = s.group_id("Default Group").await;
    let (_, tree) = s.get(&format!("/v2/groups/DEMO/{group}")).await;
    assert_eq!(tree["serversCount"], 1);
}

#[tokio::test]
async fn custom_fields_and_packages_are_checked() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let out = admin(
        &dir.0,
        &[
            "custom-field",
            "create",
            "--account",
            "DEMO",
            "--name",
            "Cost Center",
            "--type",
            "option",
            "--required",
            "--option",
            "Engineering=eng",
            "--option",
            "Sales=sales",
        ],
        None,
    );
    let cost = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = admin(
        &dir.0,
        &[
            "custom-field",
            "create",
            "--account",
            "DEMO",
            "--name",
            "Backed up",
            "--type",
            "checkbox",
        ],
        None,
    );
    let backed = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = admin(&dir.0, &["custom-field", "list", "--account", "demo"], None);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed,
        json!([
            {"id": cost, "name": "Cost Center", "isRequired": true, "type": "option",
             "options": [{"name": "Engineering", "value": "eng"}, {"name": "Sales", "value": "sales"}]},
            {"id": backed, "name": "Backed up", "isRequired": false, "type": "checkbox", "options": []}
        ])
    );
    let (_, defs) = s.get("/v2/accounts/DEMO/customFields").await;
    assert_eq!(
        defs[0],
        json!({"id": cost, "name": "Cost Center", "isRequired": true, "type": "option",
               "options": [{"name": "Engineering", "value": "eng"}, {"name": "Sales", "value": "sales"}]})
    );

    // Bad definitions are refused by the command.
    for args in [
        vec!["--name", "Cost Center", "--type", "text"],
        vec!["--name", "x", "--type", "number"],
        vec!["--name", "x", "--type", "option"],
        vec!["--name", "x", "--type", "text", "--option", "A=a"],
        vec!["--name", "x", "--type", "option", "--option", "novalue"],
        vec!["--name", "", "--type", "text"],
    ] {
        let out = std::process::Command::new(common::BIN)
            .args(["admin", "--data-dir"])
            .arg(&dir.0)
            .args(["custom-field", "create", "--account", "DEMO"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(!out.stderr.is_empty());
    }

    let base = s.server_body("cf").await;
    let with = |fields: Value, packages: Value| {
        let mut b = base.clone();
        b["customFields"] = fields;
        b["packages"] = packages;
        b
    };
    let package = json!([{"packageId": "C3C6642E-24E1-4C37-B56A-1CF1476EE360",
                          "parameters": {"patch.level": "all", "reboot": true}}]);
    for (body, field) in [
        (with(json!([]), json!([])), "customFields"),
        (
            with(json!([{"id": cost, "value": "marketing"}]), json!([])),
            "customFields",
        ),
        (
            with(
                json!([{"id": cost, "value": "eng"}, {"id": backed, "value": "maybe"}]),
                json!([]),
            ),
            "customFields",
        ),
        (
            with(
                json!([{"id": cost, "value": "eng"}]),
                json!([{"packageId": "x"}]),
            ),
            "packages",
        ),
        (
            with(
                json!([{"id": cost, "value": "eng"}]),
                json!([{"parameters": {}}]),
            ),
            "packages",
        ),
    ] {
        let (status, answer) = s.post("/v2/servers/DEMO", body.clone()).await;
        assert_refused(status, &answer, field, &body.to_string());
    }
    let server = build(
        &s,
        with(
            json!([{"id": cost, "value": "ENG"}, {"id": backed, "value": "True"}]),
            package,
        ),
    )
    .await;
    assert_eq!(server["id"], "WA1DEMOCF01", "the refusals stored nothing");
    assert_eq!(
        server["details"]["customFields"],
        json!([{"id": cost, "name": "Cost Center", "value": "eng", "displayValue": "Engineering"},
               {"id": backed, "name": "Backed up", "value": "true", "displayValue": "true"}])
    );
}

/// Creates that arrive together are decided together: every one that is accepted gets a name and
/// an address of its own, the account's cap counts them all, and one that cannot be accepted
/// fails alone.
async fn creates_arriving_together_fail_alone(database_url: Option<String>) {
    let dir = TempDir::new();
    let options = Options {
        database_url,
        env: vec![("CTLCLOUD_MAX_SERVERS_PER_ACCOUNT", "30".into())],
        ..Options::default()
    };
    let s = Session::start(&dir.0, options).await;
    let held = build(&s, s.server_body("held").await).await;
    let held_address = held["details"]["ipAddresses"][0]["internal"]
        .as_str()
        .unwrap()
        .to_owned();
    let stem = held_address.rsplit_once('.').unwrap().0.to_owned();

    // 35 creates the cap would allow one at a time, for the 29 places left, and 5 that ask for
    // the address the first server holds.
    let mut bodies = Vec::new();
    for n in 0..10 {
        bodies.push(("twin", json!({ "name": "twin" })));
        bodies.push(("solo", json!({ "name": format!("solo{n}") })));
        bodies.push(("over", json!({ "name": format!("over{n}") })));
    }
    for n in 0..5 {
        let asked = format!("{stem}.{}", 200 + n);
        bodies.push((
            "asked",
            json!({ "name": format!("ask{n}"), "ipAddress": asked }),
        ));
        bodies.push((
            "taken",
            json!({ "name": format!("taken{n}"), "ipAddress": held_address }),
        ));
    }
    let base = s.server_body("x").await;
    let mut requests = tokio::task::JoinSet::new();
    for (kind, fields) in bodies {
        let mut body = base.clone();
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let post = s.post_apart("/v2/servers/DEMO", body.clone());
        requests.spawn(async move {
            let (status, answer) = post.await;
            (kind, body, status, answer)
        });
    }
    let answers = requests.join_all().await;

    let mut accepted = Vec::new();
    for (kind, body, status, answer) in &answers {
        match status {
            202 => {
                assert_ne!(*kind, "taken", "{answer}");
                accepted.push((kind, body, answer));
            }
            409 => assert!(
                answer["message"].as_str().unwrap().contains("30 servers"),
                "{kind}: {answer}"
            ),
            400 => {
                assert_eq!(*kind, "taken", "{answer}");
                assert_refused(*status, answer, "ipAddress", "a held address");
            }
            _ => panic!("{kind}: {status} {answer}"),
        }
    }
    assert_eq!(accepted.len(), 29, "the cap counts every create");

    let mut names = std::collections::HashSet::new();
    let mut addresses = std::collections::HashSet::from([held_address.clone()]);
    let mut twins = Vec::new();
    for (kind, body, answer) in accepted {
        assert_eq!(s.wait(&status_href(answer)).await["status"], "succeeded");
        let (status, server) = s.get(answer["links"][1]["href"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{server}");
        let name = server["name"].as_str().unwrap().to_owned();
        let address = server["details"]["ipAddresses"][0]["internal"]
            .as_str()
            .unwrap()
            .to_owned();
        if *kind == "asked" {
            assert_eq!(body["ipAddress"].as_str().unwrap(), address);
        }
        if *kind == "twin" {
            twins.push(name.clone());
        }
        assert!(names.insert(name.clone()), "{name} given twice");
        assert!(addresses.insert(address.clone()), "{address} given twice");
    }
    // The same name asked for together still takes the lowest free numbers, one each.
    twins.sort();
    let expected: Vec<String> = (1..=twins.len())
        .map(|n| format!("WA1DEMOTWIN{n:02}"))
        .collect();
    assert_eq!(twins, expected);
    let (_, group) = s
        .get(&format!(
            "/v2/groups/DEMO/{}",
            s.group_id("Default Group").await
        ))
        .await;
    assert_eq!(group["serversCount"], 30, "{group}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_arriving_together_fail_alone_on_sqlite() {
    creates_arriving_together_fail_alone(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_arriving_together_fail_alone_on_postgres() {
    let db = common::TestDatabase::create().await;
    creates_arriving_together_fail_alone(Some(db.url.clone())).await;
}

/// Workers look for work on their own only once per poll interval (here ten minutes, longer than
/// `wait` waits): every build below is started by the wake-up its create sends, whether the
/// worker was idle, claiming or running other builds when it came.
async fn queued_work_wakes_the_workers(database_url: Option<String>) {
    let dir = TempDir::new();
    let options = Options {
        database_url,
        env: vec![("CTLCLOUD_JOB_POLL_MS", "600000".into())],
        ..Options::default()
    };
    let s = Session::start(&dir.0, options).await;
    build(&s, s.server_body("one").await).await;
    let mut creates = tokio::task::JoinSet::new();
    for n in 0..20 {
        let body = s.server_body(&format!("b{n}")).await;
        let post = s.post_apart("/v2/servers/DEMO", body);
        creates.spawn(async move {
            let (status, created) = post.await;
            assert_eq!(status, 202, "{created}");
            status_href(&created)
        });
    }
    for href in creates.join_all().await {
        assert_eq!(s.wait(&href).await["status"], "succeeded");
    }
    build(&s, s.server_body("end").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_work_wakes_the_workers_on_sqlite() {
    queued_work_wakes_the_workers(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_work_wakes_the_workers_on_postgres() {
    let db = common::TestDatabase::create().await;
    queued_work_wakes_the_workers(Some(db.url.clone())).await;
}
