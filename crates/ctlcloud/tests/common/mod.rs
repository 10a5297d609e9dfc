//! The test harness: a real `ctlcloud serve` process on an ephemeral port with its own SQLite file
//! in a temporary directory, and a logged-in HTTP client.

#![allow(dead_code)]

pub mod random;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const PASSWORD: &str = "P@ssw0rd-test";
pub const BIN: &str = env!("CARGO_BIN_EXE_ctlcloud");

/// A temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).unwrap();
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("ctlcloud-test-{name}"));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to start a server.
#[derive(Clone)]
pub struct Options {
    /// PostgreSQL instead of the data directory's SQLite file.
    pub database_url: Option<String>,
    /// How long a node's claim on a job lasts.
    pub lease_secs: u64,
    pub delay_ms: u64,
    pub fail_marker: Option<String>,
    pub clock_offset_secs: i64,
    pub alias: String,
    /// More configuration, as environment variables of `ctlcloud serve`.
    pub env: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            database_url: None,
            lease_secs: 60,
            delay_ms: 0,
            fail_marker: None,
            clock_offset_secs: 0,
            alias: "DEMO".into(),
            env: Vec::new(),
        }
    }
}

/// A running server process.
pub struct Server {
    pub base: String,
    child: Child,
    pub http: reqwest::Client,
}

impl Server {
    /// Starts a server on `data_dir` and waits for it to listen.
    pub fn start(data_dir: &Path, options: &Options) -> Server {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("CTLCLOUD_BOOTSTRAP_ALIAS", &options.alias)
            .env("CTLCLOUD_BOOTSTRAP_DC", "WA1")
            .env("CTLCLOUD_BOOTSTRAP_USERNAME", "admin")
            .env("CTLCLOUD_BOOTSTRAP_PASSWORD", PASSWORD)
            .env("CTLCLOUD_SIM_BUILD_DELAY_MS", options.delay_ms.to_string())
            .env(
                "CTLCLOUD_CLOCK_OFFSET_SECS",
                options.clock_offset_secs.to_string(),
            )
            .env("CTLCLOUD_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        command.env("CTLCLOUD_JOB_LEASE_SECS", options.lease_secs.to_string());
        if let Some(marker) = &options.fail_marker {
            command.env("CTLCLOUD_SIM_FAIL_MARKER", marker);
        }
        match &options.database_url {
            Some(url) => command.env("CTLCLOUD_DATABASE_URL", url),
            None => command.env_remove("CTLCLOUD_DATABASE_URL"),
        };
        command.envs(options.env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn().expect("ctlcloud starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ctlcloud listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("ctlcloud printed its address within 30 s");
        Server {
            base,
            child,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Kills the process at once (SIGKILL): nothing gets to finish.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes the process (SIGSTOP) until [`Server::resume`]: it answers nothing meanwhile, its
    /// connections stay open.
    pub fn pause(&self) {
        assert!(self.signal("STOP"), "SIGSTOP sent");
    }

    /// Lets a paused process run again (SIGCONT).
    pub fn resume(&self) {
        assert!(self.signal("CONT"), "SIGCONT sent");
    }

    /// Sends the process the signal `name`; whether `kill` succeeded.
    fn signal(&self, name: &str) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Asks the process to stop (SIGTERM) and waits for it to exit; returns whether it exited 0.
    pub fn terminate(mut self) -> bool {
        // An exited process is not signalled, and is waited for as well.
        let _ = self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "ctlcloud did not stop within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Logs in and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/v2/authentication/login",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "login failed: {body}");
        body["bearerToken"].as_str().unwrap().to_owned()
    }

    /// Sends a request with an optional token and JSON body; returns the status and the JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, value)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server with a logged-in client for the bootstrap user.
pub struct Session {
    pub server: Server,
    pub token: String,
    pub alias: String,
}

impl Session {
    pub async fn start(data_dir: &Path, options: Options) -> Session {
        let server = Server::start(data_dir, &options);
        let token = server.login("admin", PASSWORD).await;
        Session {
            server,
            token,
            alias: options.alias,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.server
            .call(reqwest::Method::GET, path, Some(&self.token), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.server
            .call(reqwest::Method::POST, path, Some(&self.token), Some(body))
            .await
    }

    /// A POST owning what it needs, to run in a task of its own (requests sent together).
    pub fn post_apart(
        &self,
        path: &str,
        body: Value,
    ) -> impl std::future::Future<Output = (u16, Value)> + Send + 'static {
        let (http, url, token) = (
            self.server.http.clone(),
            self.server.url(path),
            self.token.clone(),
        );
        async move {
            let response = http.post(url).bearer_auth(token).json(&body).send().await;
            let response = response.expect("request sent");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.expect("a JSON answer"),
            )
        }
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.server
            .call(reqwest::Method::DELETE, path, Some(&self.token), None)
            .await
    }

    /// The id of a group of the account's WA1 tree by name.
    pub async fn group_id(&self, name: &str) -> String {
        let (_, dc) = self
            .get(&format!("/v2/datacenters/{}/WA1", self.alias))
            .await;
        let root = dc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "group")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if name.ends_with("Hardware") {
            return root;
        }
        let (_, tree) = self.get(&format!("/v2/groups/{}/{root}", self.alias)).await;
        tree["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A create-server body for the Default Group.
    pub async fn server_body(&self, name: &str) -> Value {
        server_body_in(name, &self.group_id("Default Group").await)
    }

    /// Polls a status href until the job ends; returns the final status body.
    pub async fn wait(&self, status_href: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, body) = self.get(status_href).await;
            assert_eq!(code, 200, "status poll: {body}");
            if body["status"] == "succeeded" || body["status"] == "failed" {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "job {status_href} did not end within 60 s: {body}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Runs `ctlcloud admin` on a data directory; returns stdout, panicking on failure.
pub fn admin(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    admin_on(data_dir, None, args, stdin)
}

/// Runs `ctlcloud admin` on a data directory, or on PostgreSQL at `database_url`; returns stdout,
/// panicking on failure.
pub fn admin_on(
    data_dir: &Path,
    database_url: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
) -> String {
    let mut command = Command::new(BIN);
    match database_url {
        Some(url) => command.env("CTLCLOUD_DATABASE_URL", url),
        None => command.env_remove("CTLCLOUD_DATABASE_URL"),
    };
    let mut child = command
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A status link's href from a queued-work response.
pub fn status_href(body: &Value) -> String {
    body["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "status")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A database of its own on the test PostgreSQL server (`CTLCLOUD_TEST_DATABASE_URL`, which
/// `scripts/postgres` sets up), dropped when the guard is dropped.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let admin_url = std::env::var("CTLCLOUD_TEST_DATABASE_URL").expect(
            "CTLCLOUD_TEST_DATABASE_URL is not set: run the tests through scripts/test, or set it to the URL scripts/postgres prints",
        );
        let mut bytes = [0u8; 6];
        getrandom::getrandom(&mut bytes).unwrap();
        let name = format!(
            "ctlcloud_test_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let pool = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("the test PostgreSQL server answers");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        TestDatabase {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Dropped from async tests: do the work on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&pool)
                        .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

impl Session {
    /// Builds a server from `server_body` and waits for its build; returns its id.
    pub async fn build(&self, name: &str) -> String {
        self.build_in(name, &self.group_id("Default Group").await)
            .await
    }

    /// Builds a server from `server_body_in` and waits for its build; returns its id.
    pub async fn build_in(&self, name: &str, group_id: &str) -> String {
        let (status, created) = self
            .post(
                &format!("/v2/servers/{}", self.alias),
                server_body_in(name, group_id),
            )
            .await;
        assert_eq!(status, 202, "create {name}: {created}");
        assert_eq!(
            self.wait(&status_href(&created)).await["status"],
            "succeeded"
        );
        let (_, server) = self
            .get(created["links"][1]["href"].as_str().unwrap())
            .await;
        server["id"].as_str().unwrap().to_owned()
    }

    /// The server as `GET /v2/servers/{alias}/{id}` returns it.
    pub async fn server(&self, id: &str) -> Value {
        let (status, server) = self.get(&format!("/v2/servers/{}/{id}", self.alias)).await;
        assert_eq!(status, 200, "GET server {id}: {server}");
        server
    }

    /// `POST /v2/operations/{alias}/servers/{op}` with a JSON array of server ids.
    pub async fn operate(&self, op: &str, ids: &[&str]) -> (u16, Value) {
        self.post(
            &format!("/v2/operations/{}/servers/{op}", self.alias),
            json!(ids),
        )
        .await
    }

    /// Waits for every queued entry of an operation's answer; returns their final status bodies.
    pub async fn wait_all(&self, answer: &Value) -> Vec<Value> {
        let mut ends = Vec::new();
        for entry in answer.as_array().expect("an array of server operations") {
            if entry["isQueued"] == true {
                ends.push(self.wait(&status_href(entry)).await);
            }
        }
        ends
    }
}

/// Creates a user with these roles (none: ServerAdmin) in an account through `ctlcloud admin`.
pub fn create_user(data_dir: &Path, account: &str, username: &str, roles: &[&str], password: &str) {
    let mut args = vec![
        "user",
        "create",
        "--account",
        account,
        "--username",
        username,
        "--password-stdin",
    ];
    for role in roles {
        args.extend(["--role", role]);
    }
    admin(data_dir, &args, Some(&format!("{password}\n")));
}

/// Creates an account, below `parent` if given, through `ctlcloud admin`.
pub fn create_account(data_dir: &Path, alias: &str, parent: Option<&str>) {
    let mut args = vec!["account", "create", "--alias", alias, "--primary-dc", "WA1"];
    if let Some(p) = parent {
        args.extend(["--parent", p]);
    }
    admin(data_dir, &args, None);
}

/// Every link object anywhere in a body, as (rel, href, verbs if listed).
pub fn links(body: &Value) -> Vec<(String, String, Option<Vec<String>>)> {
    let mut out = Vec::new();
    match body {
        Value::Object(map) => {
            if let (Some(Value::String(rel)), Some(Value::String(href))) =
                (map.get("rel"), map.get("href"))
            {
                let verbs = map.get("verbs").and_then(Value::as_array).map(|v| {
                    v.iter()
                        .map(|s| s.as_str().unwrap_or_default().to_owned())
                        .collect()
                });
                out.push((rel.clone(), href.clone(), verbs));
            } else {
                map.values().for_each(|v| out.extend(links(v)));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| out.extend(links(v))),
        _ => {}
    }
    out
}

/// A create-server body for the group `group_id`.
pub fn server_body_in(name: &str, group_id: &str) -> Value {
    json!({
        "name": name,
        "description": format!("{name} server"),
        "groupId": group_id,
        "sourceServerId": "UBUNTU-16-64-TEMPLATE",
        "cpu": 1,
        "memoryGB": 2,
        "type": "standard",
    })
}
