//! The measurements, each repeated `runs` times: plain GETs at a concurrency, creates with their
//! builds followed to the end, cold starts.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};

use super::load::{self, Conn, Load};
use super::report::Figure;
use super::target::{self, Process, Scratch};
use super::Settings;

/// Logs in; returns the `Authorization` header value, the account alias and its data center.
pub async fn login(
    addr: SocketAddr,
    username: &str,
    password: &str,
) -> Result<(HeaderValue, String, String), String> {
    let body = json!({"username": username, "password": password}).to_string();
    let (status, answer) = Conn::new(addr)
        .send(
            &Method::POST,
            "/v2/authentication/login",
            None,
            Some(body.into()),
        )
        .await?;
    let answer: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    if status != StatusCode::OK {
        return Err(format!("login: {status} {answer}"));
    }
    let token = answer["bearerToken"].as_str().unwrap_or_default();
    let auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    let text = |k: &str| answer[k].as_str().unwrap_or_default().to_owned();
    Ok((auth, text("accountAlias"), text("locationAlias")))
}

/// GETs of one path: requests/s, p50, p99 over each run.
pub async fn gets(
    s: &Settings,
    addr: SocketAddr,
    auth: Option<HeaderValue>,
    path: &str,
    connections: usize,
) -> Figure {
    let path = path.to_owned();
    let load = Arc::new(Load {
        addr,
        method: Method::GET,
        auth,
        connections,
        duration: s.duration,
        max_requests: s.max_requests,
        expect: StatusCode::OK,
        keep_bodies: false,
        request: Arc::new(move |_| (path.clone(), None)),
    });
    let mut figure = Figure::default();
    for _ in 0..s.runs {
        let mut run = load::drive(load.clone()).await;
        let per_second = run.per_second();
        figure.record(&mut run, per_second);
    }
    figure
}

/// Creates accepted at a concurrency (202/s, p99), and the same servers built end to end:
/// builds per second from the first request to the last `succeeded`.
pub async fn creates(
    s: &Settings,
    addr: SocketAddr,
    auth: HeaderValue,
    alias: &str,
    group_id: &str,
) -> (Figure, Figure) {
    let counter = Arc::new(AtomicU64::new(0));
    let (alias, group_id) = (alias.to_owned(), group_id.to_owned());
    let path = format!("/v2/servers/{alias}");
    // Every create gets a name of its own (the alias and the name share 10 characters).
    let width = 10usize.saturating_sub(alias.len() + 1).clamp(1, 6);
    let load = Arc::new(Load {
        addr,
        method: Method::POST,
        auth: Some(auth.clone()),
        connections: s.connections,
        duration: s.duration,
        max_requests: s.max_requests,
        expect: StatusCode::ACCEPTED,
        keep_bodies: true,
        request: Arc::new(move |_| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let name = format!("C{}", base36(n, width));
            let body = json!({
                "name": name, "groupId": group_id, "sourceServerId": "UBUNTU-16-64-TEMPLATE",
                "cpu": 1, "memoryGB": 1, "type": "standard",
            });
            (path.clone(), Some(Bytes::from(body.to_string())))
        }),
    });
    let (mut accepted, mut built) = (Figure::default(), Figure::default());
    for _ in 0..s.runs {
        let started = Instant::now();
        let mut run = load::drive(load.clone()).await;
        let per_second = run.per_second();
        accepted.record(&mut run, per_second);
        let hrefs: Vec<String> = run
            .bodies
            .iter()
            .filter_map(|b| serde_json::from_slice::<Value>(b).ok())
            .filter_map(|v| {
                v["links"]
                    .as_array()?
                    .iter()
                    .find(|l| l["rel"] == "status")?["href"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        let (finished, failed) = follow(s, addr, &auth, hrefs).await;
        let mut builds = load::Run {
            ok: finished,
            failed,
            ..Default::default()
        };
        let per_second = finished as f64 / started.elapsed().as_secs_f64();
        built.record(&mut builds, per_second);
    }
    (accepted, built)
}

/// Polls status links, oldest first, until every job has ended; returns (succeeded, other).
async fn follow(
    s: &Settings,
    addr: SocketAddr,
    auth: &HeaderValue,
    hrefs: Vec<String>,
) -> (u64, u64) {
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(hrefs)));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..s.connections {
        let (queue, auth) = (queue.clone(), auth.clone());
        tasks.spawn(async move {
            let mut conn = Conn::new(addr);
            let (mut succeeded, mut other) = (0u64, 0u64);
            while Instant::now() < deadline {
                let Some(href) = queue.lock().expect("no poller panics").pop_front() else {
                    break;
                };
                let status = match conn.send(&Method::GET, &href, Some(&auth), None).await {
                    Ok((StatusCode::OK, body)) => serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v["status"].as_str().map(str::to_owned)),
                    _ => None,
                };
                match status.as_deref() {
                    Some("succeeded") => succeeded += 1,
                    Some("failed") => other += 1,
                    _ => queue.lock().expect("no poller panics").push_back(href),
                }
            }
            (succeeded, other)
        });
    }
    let mut total = (0, 0);
    while let Some(Ok((ok, other))) = tasks.join_next().await {
        total = (total.0 + ok, total.1 + other);
    }
    let unfinished = queue.lock().expect("every poller has ended").len() as u64;
    (total.0, total.1 + unfinished)
}

/// Starts a fresh process `runs` times, run `i` with the environment `env(i)`, and times it from
/// spawning to `ready` succeeding.
pub async fn cold_starts(
    s: &Settings,
    what: &str,
    args: impl Fn(&Path) -> Vec<String>,
    env: impl Fn(usize) -> Vec<(&'static str, String)>,
    ready: impl AsyncFn(SocketAddr) -> Result<(), String>,
) -> Result<Figure, String> {
    let mut figure = Figure::default();
    for run in 0..s.runs {
        let dir = Scratch::new(what)?;
        let args = args(&dir.0.join("data"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = env(run);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let started = Instant::now();
        let process = Process::start(&s.bin, &args, &env, &dir.0.join("log"))?;
        ready(process.addr).await?;
        let elapsed = started.elapsed();
        figure.value(elapsed.as_secs_f64() * 1e3);
        drop(process);
    }
    Ok(figure)
}

/// Waits for a login to succeed.
pub async fn first_login(addr: SocketAddr) -> Result<(), String> {
    login(addr, "admin", target::PASSWORD).await.map(|_| ())
}

/// Waits for any answer.
pub async fn first_answer(addr: SocketAddr) -> Result<(), String> {
    Conn::new(addr)
        .send(&Method::GET, "/", None, None)
        .await
        .map(|_| ())
}

fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).expect("ASCII digits")
}
