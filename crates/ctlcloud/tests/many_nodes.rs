//! Many nodes on one PostgreSQL database: any node answers any request, tokens work everywhere,
//! and a node killed mid-job has its jobs finished by another once their lease runs out.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{admin_on, status_href, Options, Server, Session, TempDir, TestDatabase};
use serde_json::Value;

fn on(db: &TestDatabase, lease_secs: u64, delay_ms: u64) -> Options {
    Options {
        database_url: Some(db.url.clone()),
        lease_secs,
        delay_ms,
        ..Default::default()
    }
}

/// Two nodes on `db` that keep what they read for ten minutes (`--trust-callers-ms`): only the
/// notifications of changes make them read again within a test. The first is logged in.
async fn two_trusting_nodes(db: &TestDatabase, a: &TempDir, b: &TempDir) -> (Session, Server) {
    let mut options = on(db, 60, 0);
    options.env = vec![("CTLCLOUD_TRUST_CALLERS_MS", "600000".into())];
    let first = Session::start(&a.0, options.clone()).await;
    (first, Server::start(&b.0, &options))
}

#[tokio::test]
async fn the_walkthrough_on_postgres() {
    let db = TestDatabase::create().await;
    let dir = TempDir::new();
    let s = Session::start(&dir.0, on(&db, 60, 0)).await;
    let (status, created) = s.post("/v2/servers/DEMO", s.server_body("pg").await).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    let (status, server) = s.get(created["links"][1]["href"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(server["id"], "WA1DEMOPG01");
    assert_eq!(server["status"], "active");
    assert_eq!(server["details"]["memoryMB"], 2048);
    assert!(server["changeInfo"]["createdDate"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let (status, tree) = s
        .get(&format!(
            "/v2/groups/DEMO/{}",
            s.group_id("Default Group").await
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(tree["serversCount"], 1);
    let (status, deleted) = s.delete("/v2/servers/DEMO/WA1DEMOPG01").await;
    assert_eq!(status, 202);
    assert_eq!(s.wait(&status_href(&deleted)).await["status"], "succeeded");
    assert_eq!(s.get("/v2/servers/DEMO/WA1DEMOPG01").await.0, 404);
}

/// A node on the same machine as PostgreSQL reaches it over its Unix socket, as the README
/// advises (`?host=` the socket's directory), and works as over TCP. The socket is looked for
/// where Debian's server (which `scripts/postgres` starts) keeps it, or in
/// `CTLCLOUD_TEST_SOCKET_DIR`; a test server elsewhere has no socket here to reach.
#[tokio::test]
async fn a_node_reaches_postgresql_over_its_unix_socket() {
    let db = TestDatabase::create().await;
    let (credentials, rest) = db.url.split_once('@').unwrap();
    let (host_port, database) = rest.split_once('/').unwrap();
    let port = host_port.rsplit_once(':').map_or("5432", |(_, port)| port);
    let database = database.split('?').next().unwrap();
    let directory =
        std::env::var("CTLCLOUD_TEST_SOCKET_DIR").unwrap_or_else(|_| "/var/run/postgresql".into());
    let socket = std::path::Path::new(&directory).join(format!(".s.PGSQL.{port}"));
    if !socket.exists() {
        eprintln!("no PostgreSQL socket at {}: not tested", socket.display());
        return;
    }
    let socket_url = format!("{credentials}@localhost/{database}?host={directory}&port={port}");

    let dir = TempDir::new();
    let options = Options {
        database_url: Some(socket_url),
        ..Default::default()
    };
    let s = Session::start(&dir.0, options).await;
    let (status, created) = s
        .post("/v2/servers/DEMO", s.server_body("sock").await)
        .await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(s.wait(&status_href(&created)).await["status"], "succeeded");
    let (status, server) = s.get("/v2/servers/DEMO/WA1DEMOSOCK01").await;
    assert_eq!(status, 200);
    assert_eq!(server["status"], "active");

    // The same database over TCP holds what the node wrote over the socket.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers WHERE id = 'WA1DEMOSOCK01'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(stored, 1);
}

/// A second account, ALT, and its user `alt` (password `A1t-Passw0rd`), made by `ctlcloud admin`
/// in another process on `dir`'s node; `alt` logged in on `node`, its token answered.
async fn alt_logged_in(db: &TestDatabase, dir: &TempDir, node: &Server) -> String {
    admin_on(
        &dir.0,
        Some(&db.url),
        &["account", "create", "--alias", "ALT", "--primary-dc", "WA1"],
        None,
    );
    admin_on(
        &dir.0,
        Some(&db.url),
        &[
            "user",
            "create",
            "--account",
            "ALT",
            "--username",
            "alt",
            "--password-stdin",
        ],
        Some("A1t-Passw0rd\n"),
    );
    node.login("alt", "A1t-Passw0rd").await
}

/// Requests of two accounts at once, on either node, each act as their own caller, and a password
/// changed from another process refuses the old tokens on every node, which hear of it at once
/// although they keep callers for ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_acts_as_its_own_caller_on_every_node() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (a, b) = two_trusting_nodes(&db, &dir_a, &dir_b).await;
    let admin = |args: &[&str], stdin: Option<&str>| {
        admin_on(&dir_a.0, Some(&db.url), args, stdin);
    };
    let alt = alt_logged_in(&db, &dir_a, &b).await;
    let callers = [("DEMO", a.token.clone()), ("ALT", alt.clone())];

    // Each request asks for its own account and for the other's, on either node, all at once.
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (own, token) = callers[i % 2].clone();
        let (other, _) = &callers[(i + 1) % 2];
        let alias = if i % 4 < 2 { own } else { other };
        let node = if i % 3 == 0 { &a.server } else { &b };
        let (http, url) = (
            node.http.clone(),
            node.url(&format!("/v2/accounts/{alias}")),
        );
        requests.spawn(async move {
            let response = http.get(url).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (own, alias, status, body)
        });
    }
    for (own, alias, status, body) in requests.join_all().await {
        if alias == own {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["accountAlias"], own);
        } else {
            assert_ne!(status, 200, "{own} read {alias}: {body}");
        }
    }

    admin(
        &[
            "user",
            "set-password",
            "--username",
            "alt",
            "--password-stdin",
        ],
        Some("N3w-Passw0rd\n"),
    );
    for node in [&a.server, &b] {
        let get = |alias: &str, token: &str| {
            let path = format!("/v2/accounts/{alias}");
            let token = token.to_owned();
            async move {
                node.call(reqwest::Method::GET, &path, Some(&token), None)
                    .await
                    .0
            }
        };
        // The change's notification reaches each node a moment after the change committed.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = get("ALT", &alt).await;
            if status == 401 {
                break;
            }
            assert_eq!(status, 200);
            assert!(
                Instant::now() < deadline,
                "the old password's token is still taken after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(get("DEMO", &a.token).await, 200);
    }
}

/// GETs of a server and polls of its build's status arriving together on either node, read
/// together, answer each caller for its own account: the owner gets the server by name or uuid in
/// any case and the job as succeeded, another account asking for either under its own alias gets a
/// 404, and a node that did not build it shows it as built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gets_of_a_server_and_its_status_at_once_answer_each_account_its_own_on_every_node() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (a, b) = two_trusting_nodes(&db, &dir_a, &dir_b).await;
    let alt = alt_logged_in(&db, &dir_a, &b).await;
    let (status, created) = a.post("/v2/servers/DEMO", a.server_body("get").await).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(a.wait(&status_href(&created)).await["status"], "succeeded");
    let self_href = created["links"][1]["href"].as_str().unwrap();
    let uuid = self_href
        .strip_prefix("/v2/servers/DEMO/")
        .and_then(|rest| rest.strip_suffix("?uuid=True"))
        .unwrap_or_else(|| panic!("a self link by uuid: {self_href}"));
    let (status, built) = b
        .call(
            reqwest::Method::GET,
            "/v2/servers/DEMO/WA1DEMOGET01",
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!((status, built["status"].as_str()), (200, Some("active")));

    let status_path = status_href(&created);
    let job = status_path.rsplit('/').next().unwrap().to_owned();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..300 {
        // What the answer holds when found: the server's name, or the job's status.
        let (path, token, found) = match i % 6 {
            0 => (
                "/v2/servers/DEMO/wa1demoget01".to_owned(),
                &a.token,
                Some(("id", "WA1DEMOGET01")),
            ),
            1 => (
                format!("/v2/servers/DEMO/{}?uuid=true", uuid.to_uppercase()),
                &a.token,
                Some(("id", "WA1DEMOGET01")),
            ),
            2 => ("/v2/servers/ALT/WA1DEMOGET01".to_owned(), &alt, None),
            3 => (format!("/v2/servers/ALT/{uuid}?uuid=true"), &alt, None),
            4 => (status_path.clone(), &a.token, Some(("status", "succeeded"))),
            _ => (format!("/v2/operations/ALT/status/{job}"), &alt, None),
        };
        let node = if i % 5 == 0 { &a.server } else { &b };
        let request = node.http.get(node.url(&path)).bearer_auth(token);
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (path, found, status, body)
        });
    }
    for (path, found, status, body) in requests.join_all().await {
        match found {
            Some((field, value)) => {
                assert_eq!(status, 200, "{path}: {body}");
                assert_eq!(body[field], value, "{path}");
            }
            None => {
                assert_eq!(status, 404, "{path}: {body}");
                assert!(body["message"].is_string(), "{path}: {body}");
            }
        }
    }
}

/// Each node keeps the lineages of the groups it creates servers into: a change to a group's
/// defaults reaches the next create on the node that made it at once, and the other node's once
/// its notification arrives, well within the (here long) trust window.
#[tokio::test]
async fn new_group_defaults_reach_creates_on_every_node() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (a, b) = two_trusting_nodes(&db, &dir_a, &dir_b).await;
    let group = a.group_id("Default Group").await;
    set_default_cpu(&a, &group, 2).await;
    assert_eq!(created_cpu(&a.server, &a.token, &group, "a").await, 2);
    assert_eq!(created_cpu(&b, &a.token, &group, "b").await, 2);

    set_default_cpu(&a, &group, 3).await;
    let on_a = created_cpu(&a.server, &a.token, &group, "a").await;
    assert_eq!(on_a, 3, "the node that changed them");
    // The notification reaches the other node a moment after the change committed. Each try
    // takes an address: a few dozen leave the account's network room.
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in 0.. {
        if created_cpu(&b, &a.token, &group, &format!("b{n}")).await == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node B still creates with the old defaults after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn set_default_cpu(s: &Session, group: &str, cpu: u32) {
    let path = format!("/v2/groups/DEMO/{group}/defaults");
    let body = serde_json::json!({"cpu": cpu, "memoryGB": 1,
                                  "templateName": "UBUNTU-16-64-TEMPLATE"});
    let (status, answer) = s.post(&path, body).await;
    assert_eq!(status, 200, "{answer}");
}

/// The cpu of a server created on `node` with nothing but a name and the group.
async fn created_cpu(node: &Server, token: &str, group: &str, name: &str) -> u64 {
    let body = serde_json::json!({"name": name, "groupId": group});
    let post = reqwest::Method::POST;
    let (status, created) = node
        .call(post, "/v2/servers/DEMO", Some(token), Some(body))
        .await;
    assert_eq!(status, 202, "{created}");
    let href = created["links"][1]["href"].as_str().unwrap();
    let (_, server) = node
        .call(reqwest::Method::GET, href, Some(token), None)
        .await;
    server["details"]["cpu"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_work_and_survive_one_being_killed() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    // Node A builds slowly, so it dies holding jobs; its leases are short so B takes them over.
    let a = Session::start(&dir_a.0, on(&db, 2, 30_000)).await;
    let b = Server::start(&dir_b.0, &on(&db, 2, 0));
    let token = a.token.clone();
    assert_eq!(
        b.call(
            reqwest::Method::GET,
            "/v2/accounts/DEMO",
            Some(&token),
            None
        )
        .await
        .0,
        200,
        "a token from one node works on the other"
    );

    let body = a.server_body("multi").await;
    let mut accepted: Vec<Value> = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let base = if i % 2 == 0 {
            a.server.base.clone()
        } else {
            b.base.clone()
        };
        let (http, token, body) = (a.server.http.clone(), token.clone(), body.clone());
        tasks.spawn(async move {
            let response = http
                .post(format!("{base}/v2/servers/DEMO"))
                .bearer_auth(token)
                .json(&body)
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
        accepted.push(answer);
    }
    a.server.kill();

    let s = Session {
        server: b,
        token,
        alias: "DEMO".into(),
    };
    let mut names = HashSet::new();
    let mut addresses = HashSet::new();
    for answer in &accepted {
        let done = s.wait(&status_href(answer)).await;
        assert_eq!(done["status"], "succeeded", "{answer}: {done}");
        let (status, server) = s.get(answer["links"][1]["href"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(server["status"], "active");
        assert!(
            names.insert(server["id"].as_str().unwrap().to_owned()),
            "name {} twice",
            server["id"]
        );
        let ip = server["details"]["ipAddresses"][0]["internal"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(addresses.insert(ip.clone()), "address {ip} twice");
    }
    assert_eq!(names.len(), 40);
    // Nothing is left running or queued.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('notStarted', 'executing')")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(open, 0);
    let servers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(servers, 40, "every accepted server exists exactly once");
    pool.close().await;
}

/// Far longer than any wait below: a node that only polled would not find the work in time.
const SLOW_POLL_MS: &str = "60000";

/// Node A answers the API and runs no jobs; node B runs them. Both poll only every minute.
async fn api_node_and_worker_node(
    db: &TestDatabase,
    dirs: (&TempDir, &TempDir),
) -> (Session, Server) {
    let mut api_only = on(db, 60, 0);
    api_only.env = vec![
        ("CTLCLOUD_JOB_POLL_MS", SLOW_POLL_MS.into()),
        ("CTLCLOUD_MAX_RUNNING_JOBS", "0".into()),
    ];
    let mut worker = on(db, 60, 0);
    worker.env = vec![("CTLCLOUD_JOB_POLL_MS", SLOW_POLL_MS.into())];
    let a = Session::start(&dirs.0 .0, api_only).await;
    // Listening before it prints its address: work queued from now on wakes it.
    let b = Server::start(&dirs.1 .0, &worker);
    (a, b)
}

/// Creates a server through `a` and waits (well under the poll interval) for its build to end.
async fn build_promptly(a: &Session, name: &str) {
    let (status, created) = a.post("/v2/servers/DEMO", a.server_body(name).await).await;
    assert_eq!(status, 202, "{created}");
    let href = status_href(&created);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, body) = a.get(&href).await;
        assert_eq!(code, 200, "{body}");
        if body["status"] == "succeeded" {
            return;
        }
        assert_ne!(body["status"], "failed", "{body}");
        assert!(
            Instant::now() < deadline,
            "the job queued on the API node was not run by the other node within 20 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The listening connections of the nodes on `db`.
async fn listeners(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ctlcloud listener'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn work_queued_on_one_node_wakes_the_idle_workers_of_another() {
    let db = TestDatabase::create().await;
    let dirs = (TempDir::new(), TempDir::new());
    let (a, b) = api_node_and_worker_node(&db, (&dirs.0, &dirs.1)).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    assert_eq!(
        listeners(&pool).await,
        2,
        "both nodes listen: for work and for changes to callers"
    );
    pool.close().await;
    for name in ["woken", "again"] {
        build_promptly(&a, name).await;
    }
    assert!(
        b.terminate(),
        "the worker node stops its listener and exits"
    );
    assert!(a.server.terminate(), "the API node stops and exits");
}

#[tokio::test]
async fn a_node_listens_again_after_losing_its_listening_connection() {
    let db = TestDatabase::create().await;
    let dirs = (TempDir::new(), TempDir::new());
    let (a, _b) = api_node_and_worker_node(&db, (&dirs.0, &dirs.1)).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ctlcloud listener'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        cut,
        [true, true],
        "both nodes' listening connections were cut"
    );
    build_promptly(&a, "back").await;
    assert_eq!(listeners(&pool).await, 2, "both nodes listen again");
    build_promptly(&a, "later").await;
    pool.close().await;
}

/// A server's description written to the database by hand, outside any node: how a test tells
/// an answer a node kept (a node alone does not read it again within its trust window).
struct ByHand {
    outside: sqlx::PgPool,
    id: String,
    written: usize,
}

impl ByHand {
    async fn on(db: &TestDatabase, id: &str) -> ByHand {
        ByHand {
            outside: sqlx::PgPool::connect(&db.url).await.unwrap(),
            id: id.to_owned(),
            written: 0,
        }
    }

    /// Writes a description never written before; returns it.
    async fn write(&mut self) -> String {
        self.written += 1;
        let description = format!("by hand {}", self.written);
        sqlx::query("UPDATE servers SET description = $1 WHERE id = $2")
            .bind(&description)
            .bind(&self.id)
            .execute(&self.outside)
            .await
            .unwrap();
        description
    }

    /// Waits until `node` gives out its answers again: a GET after a write by hand answers what
    /// the GET before it did.
    async fn until_kept_by(&mut self, node: &Session) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let read = description(node.server(&self.id).await);
            let written = self.write().await;
            let again = description(node.server(&self.id).await);
            if again == read {
                return;
            }
            assert_eq!(again, written);
            assert!(Instant::now() < deadline, "no answer kept within 20 s");
        }
    }
}

fn description(server: Value) -> String {
    server["description"].as_str().unwrap().to_owned()
}

async fn set_description(node: &Server, token: &str, id: &str, value: &str) {
    let change = serde_json::json!([{"op": "set", "member": "description", "value": value}]);
    let path = format!("/v2/servers/DEMO/{id}");
    let (status, answer) = node
        .call(reqwest::Method::PATCH, &path, Some(token), Some(change))
        .await;
    assert!(status < 300, "{status} {answer}");
}

/// A node that keeps what it read for ten minutes (`--trust-callers-ms`), alone on `db`, with a
/// server built; once it keeps its answers.
async fn alone_with_a_server(db: &TestDatabase, dir: &TempDir) -> (Session, ByHand) {
    alone_with(db, dir, on(db, 60, 0)).await
}

/// The same, the node started with `options`.
async fn alone_with(db: &TestDatabase, dir: &TempDir, mut options: Options) -> (Session, ByHand) {
    options
        .env
        .push(("CTLCLOUD_TRUST_CALLERS_MS", "600000".into()));
    let a = Session::start(&dir.0, options).await;
    let id = a.build("alone").await;
    let mut by_hand = ByHand::on(db, &id).await;
    // Alone a moment after it started: once any node there before would have stopped changing
    // anything.
    by_hand.until_kept_by(&a).await;
    (a, by_hand)
}

/// A node alone on its database keeps its answers to GETs of a server, as on SQLite; a node that
/// joins makes it read every GET again before the newcomer changes anything, so that a change made
/// through either node is in the next answer of both; once the newcomer has gone, the first keeps
/// its answers again, its own changes in them.
#[tokio::test]
async fn a_node_alone_keeps_its_answers_until_another_node_joins() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (a, mut by_hand) = alone_with_a_server(&db, &dir_a).await;
    let id = by_hand.id.clone();

    let b = Server::start(&dir_b.0, &on(&db, 60, 0));
    let written = by_hand.write().await;
    assert_eq!(description(a.server(&id).await), written);
    for (n, (changing, reading)) in [(&b, &a.server), (&a.server, &b), (&b, &a.server)]
        .into_iter()
        .enumerate()
    {
        let value = format!("through a node {n}");
        set_description(changing, &a.token, &id, &value).await;
        assert_eq!(description(server_on(reading, &a.token, &id).await), value);
    }

    assert!(b.terminate());
    by_hand.until_kept_by(&a).await;
    set_description(&a.server, &a.token, &id, "its own").await;
    assert_eq!(description(a.server(&id).await), "its own");
    by_hand.outside.close().await;
}

/// A node alone that stops answering (frozen here) is made room of by a node joining: its
/// connection is ended and its lease waited out before the newcomer changes anything, so that,
/// running again, it gives out nothing it kept from before.
#[tokio::test]
async fn a_node_alone_that_stops_answering_keeps_nobody_out_nor_its_answers() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (a, by_hand) = alone_with_a_server(&db, &dir_a).await;
    let id = by_hand.id.clone();
    let before = description(a.server(&id).await);

    a.server.pause();
    let b = Server::start(&dir_b.0, &on(&db, 60, 0));
    set_description(&b, &a.token, &id, "while it was frozen").await;
    a.server.resume();
    assert_eq!(description(a.server(&id).await), "while it was frozen");
    assert_ne!(before, "while it was frozen");
    // It takes its place again beside the newcomer, and changes the database as before.
    set_description(&a.server, &a.token, &id, "running again").await;
    assert_eq!(
        description(server_on(&b, &a.token, &id).await),
        "running again"
    );
    by_hand.outside.close().await;
}

/// The server as `node` answers `GET /v2/servers/DEMO/{id}`.
async fn server_on(node: &Server, token: &str, id: &str) -> Value {
    let (status, server) = node
        .call(
            reqwest::Method::GET,
            &format!("/v2/servers/DEMO/{id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{server}");
    server
}

/// `ctlcloud admin` changing the database takes its place among the nodes too: a node alone
/// stops giving out what it kept before the command changes anything, so its next answer shows
/// the change.
#[tokio::test]
async fn a_node_alone_shows_what_ctlcloud_admin_changed_at_once() {
    let db = TestDatabase::create().await;
    let dir = TempDir::new();
    let (a, by_hand) = alone_with_a_server(&db, &dir).await;
    let root = a.group_id("WA1 Hardware").await;
    let path = format!("/v2/groups/DEMO/{root}");
    let children = |tree: &Value| -> Vec<String> {
        tree["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, before) = a.get(&path).await;
    assert_eq!(status, 200, "{before}");
    assert!(!children(&before).contains(&"Seeded".to_owned()));
    // The answer is kept: a change by hand does not show.
    sqlx::query("UPDATE groups SET description = 'by hand' WHERE id = $1")
        .bind(&root)
        .execute(&by_hand.outside)
        .await
        .unwrap();
    assert_eq!(a.get(&path).await.1, before);
    admin_on(
        &dir.0,
        Some(&db.url),
        &["seed", "--account", "DEMO", "--servers", "2"],
        None,
    );
    let (status, after) = a.get(&path).await;
    assert_eq!(status, 200, "{after}");
    assert!(children(&after).contains(&"Seeded".to_owned()), "{after}");
    assert_eq!(after["description"], "by hand");
    by_hand.outside.close().await;
}

/// A way to PostgreSQL that can be cut as a network partition cuts it: while cut, nothing passes
/// either way, and no connection is closed.
struct Partition {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Partition {
    /// Forwards each connection made to it to `target` (`host:port`).
    async fn to(target: String) -> Partition {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = tokio::sync::watch::Sender::new(false);
        let passes = cut.subscribe();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let outbound = tokio::net::TcpStream::connect(&target).await.unwrap();
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(pump(in_read, out_write, passes.clone()));
                tokio::spawn(pump(out_read, in_write, passes.clone()));
            }
        });
        Partition { port, cut }
    }

    /// `url` with its host and port this way's.
    fn url(&self, url: &str) -> String {
        let (credentials, rest) = url.split_once('@').unwrap();
        let (_, database) = rest.split_once('/').unwrap();
        format!("{credentials}@127.0.0.1:{}/{database}", self.port)
    }
}

/// Copies what one side sends to the other, holding it while the way is cut.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut passes: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = from.read(&mut buf).await.unwrap_or(0);
        if passes.wait_for(|cut| !*cut).await.is_err() || n == 0 {
            let _ = to.shutdown().await;
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A node alone cut off from its database (its connections neither answered nor closed) stops
/// giving out what it kept once its lease has run out, whatever it knows: a node that joins ends
/// its place, waits out that lease and changes a server, and the cut-off node's next GET of it
/// waits for the database instead of answering what it kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_alone_cut_off_from_its_database_gives_out_nothing_it_kept_past_its_lease() {
    let db = TestDatabase::create().await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (host_port, _) = db.url.split_once('@').unwrap().1.split_once('/').unwrap();
    let partition = Partition::to(host_port.to_owned()).await;
    let mut options = on(&db, 60, 0);
    options.database_url = Some(partition.url(&db.url));
    // Its idle workers look for work once in ten minutes: a look cut off would be a change in
    // flight, which alone keeps it from giving out what it kept, and this test is of the lease.
    options.env = vec![("CTLCLOUD_JOB_POLL_MS", "600000".into())];
    let (a, by_hand) = alone_with(&db, &dir_a, options).await;
    let id = by_hand.id.clone();

    partition.cut.send_replace(true);
    let b = Server::start(&dir_b.0, &on(&db, 60, 0));
    set_description(&b, &a.token, &id, "while cut off").await;
    // Cut off, the first node cannot read the server: it does not answer, or answers the change.
    let path = format!("/v2/servers/DEMO/{id}");
    let get = a.get(&path);
    if let Ok((status, server)) = tokio::time::timeout(Duration::from_secs(2), get).await {
        assert_eq!(status, 200, "{server}");
        assert_eq!(description(server), "while cut off");
    }
    partition.cut.send_replace(false);
    assert_eq!(description(a.server(&id).await), "while cut off");
    by_hand.outside.close().await;
}
