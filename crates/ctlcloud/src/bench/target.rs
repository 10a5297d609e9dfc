//! The processes the benchmark measures: `ctlcloud serve` on a scratch data directory with the
//! simulated driver at zero delay, and the baseline, which answers every request with a fixed JSON
//! body through the same HTTP stack with no authentication and no store.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

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

pub const SERVE_ENV: &[(&str, &str)] = &[
    ("CTLCLOUD_BOOTSTRAP_ALIAS", "DEMO"),
    ("CTLCLOUD_BOOTSTRAP_DC", "WA1"),
    ("CTLCLOUD_BOOTSTRAP_USERNAME", "admin"),
    ("CTLCLOUD_BOOTSTRAP_PASSWORD", PASSWORD),
];

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
    let service = axum::Router::new()
        .fallback(fixed)
        .into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
