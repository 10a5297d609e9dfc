//! The processes the benchmark measures: `ctlcloud serve` on a scratch data directory with the
//! simulated driver at zero delay, and the baseline, which answers every request with a fixed JSON
//! body through the same HTTP stack with no authentication and no store; on PostgreSQL, the size
//! of the database and empty databases for cold starts.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use sqlx::Connection;

use crate::http::connections::{self, DEFAULT_READ_TIMEOUT};

/// The bootstrap password of the servers the benchmark starts.
pub const PASSWORD: &str = "bench-P@ssw0rd";

/// A scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(what: &str) -> Result<Scratch, String> {
        let path =
            std::env::temp_dir().join(format!("ctlcloud-bench-{what}-{}", crate::ids::new_id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A started process that listens on a loopback port; killed when dropped.
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Process {
    /// Starts `bin args…` and waits for it to print `ctlcloud listening on http://ADDR`.
    pub fn start(
        bin: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<Process, String> {
        let log_file = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .args(args)
            .envs(env.iter().copied())
            .env("CTLCLOUD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ctlcloud listening on http://") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).map_err(|_| {
            let _ = child.kill();
            format!(
                "{} {args:?} did not start: {}",
                bin.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            )
        })?;
        let addr = addr.parse().map_err(|e| format!("address {addr}: {e}"))?;
        Ok(Process { child, addr })
    }

    /// The most memory the process has held (VmHWM), in bytes; `None` off Linux.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments and environment of `ctlcloud serve` for a benchmark.
pub fn serve_args(data_dir: &Path) -> Vec<String> {
    vec![
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--sim-delay-ms".into(),
        "0".into(),
        // The benchmark's accounts hold far more than an installation's default caps allow.
        "--max-servers-per-account".into(),
        "100000000".into(),
        "--max-groups-per-account".into(),
        "1000000".into(),
    ]
}

/// The environment of `ctlcloud serve` for a benchmark: the bootstrap account and user, and the
/// PostgreSQL database if one is given.
pub fn serve_env(database_url: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CTLCLOUD_BOOTSTRAP_ALIAS", "DEMO".to_owned()),
        ("CTLCLOUD_BOOTSTRAP_DC", "WA1".to_owned()),
        ("CTLCLOUD_BOOTSTRAP_USERNAME", "admin".to_owned()),
        ("CTLCLOUD_BOOTSTRAP_PASSWORD", PASSWORD.to_owned()),
    ];
    if let Some(url) = database_url {
        env.push(("CTLCLOUD_DATABASE_URL", url.to_owned()));
    }
    env
}

/// Runs `ctlcloud admin --data-dir DIR args…` (on `database_url` if given); returns what it
/// printed.
pub fn admin(
    bin: &Path,
    data_dir: &Path,
    database_url: Option<&str>,
    args: &[&str],
) -> Result<String, String> {
    let mut command = Command::new(bin);
    match database_url {
        Some(url) => command.env("CTLCLOUD_DATABASE_URL", url),
        None => command.env_remove("CTLCLOUD_DATABASE_URL"),
    };
    let out = command
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Bytes the files of a directory take.
pub fn disk_usage(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A connection of the benchmark's own to PostgreSQL, which logs none of its statements (dropping
/// a database takes long enough to count as slow).
async fn connect(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::ConnectOptions;
    sqlx::postgres::PgConnectOptions::from_str(url)?
        .disable_statement_logging()
        .connect()
        .await
}

/// Bytes a PostgreSQL database takes (`pg_database_size`: its tables and indexes, not the
/// server's write-ahead log).
pub async fn database_size(url: &str) -> Result<u64, String> {
    let failed = |e: sqlx::Error| format!("the size of the database: {e}");
    let mut conn = connect(url).await.map_err(failed)?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await
        .map_err(failed)?;
    let _ = conn.close().await;
    Ok(bytes as u64)
}

/// Empty databases on the PostgreSQL server of a URL, one per cold start, so that each start
/// creates its schema from nothing as a first start on SQLite does.
pub struct EmptyDatabases {
    /// The URL they were created through, for dropping them.
    admin: String,
    names: Vec<String>,
    /// Each database's URL: the given one with the database name replaced.
    pub urls: Vec<String>,
}

impl EmptyDatabases {
    pub async fn create(url: &str, count: usize) -> Result<EmptyDatabases, String> {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (url, String::new()),
        };
        let server = base
            .rsplit_once('/')
            .map(|(server, _)| server)
            .filter(|server| server.contains("://") && !server.ends_with('/'))
            .ok_or_else(|| format!("--database-url {url}: give postgres://…/DATABASE"))?;
        let mut conn = connect(url)
            .await
            .map_err(|e| format!("--database-url: {e}"))?;
        let stem = format!("ctlcloud_bench_cold_{}", crate::ids::new_id());
        let mut databases = EmptyDatabases {
            admin: url.to_owned(),
            names: Vec::new(),
            urls: Vec::new(),
        };
        for run in 0..count {
            let name = format!("{stem}_{run}");
            let created = sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await;
            if let Err(e) = created {
                let _ = conn.close().await;
                databases.drop_all().await;
                return Err(format!(
                    "creating a database for a cold start (the role needs CREATEDB): {e}"
                ));
            }
            databases.urls.push(format!("{server}/{name}{query}"));
            databases.names.push(name);
        }
        let _ = conn.close().await;
        Ok(databases)
    }

    /// Drops every database, whoever is still connected to it.
    pub async fn drop_all(self) {
        let Ok(mut conn) = connect(&self.admin).await else {
            return;
        };
        for name in &self.names {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
        let _ = conn.close().await;
    }
}

/// `ctlcloud baseline`: the same axum stack as `serve`, answering every request at once with a
/// fixed JSON body, so that the benchmark can tell what the API costs on top of HTTP.
pub async fn serve_baseline(listen: &str) -> Result<(), String> {
    async fn fixed() -> axum::response::Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"succeeded"}"#,
        )
            .into_response()
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("ctlcloud listening on http://{addr}");
    // The server's own connection handling, so that the baseline differs from it only in what
    // each request does.
    let router = axum::Router::new().fallback(fixed);
    let stopped = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    connections::serve(listener, router, DEFAULT_READ_TIMEOUT, stopped).await;
    Ok(())
}
