//! The load generator: keep-alive HTTP/1.1 connections to one loopback address, each sending its
//! requests one after another, for a bounded time and a bounded count.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

/// No single request may take longer than this; the run stops instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One keep-alive connection.
pub struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            host: HeaderValue::from_str(&addr.to_string()).expect("an address is a valid host"),
            sender: None,
        }
    }

    async fn connect(&mut self) -> Result<&mut http1::SendRequest<Full<Bytes>>, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connecting to {}: {e}", self.addr))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    /// Sends one request and reads the whole response.
    pub async fn send(
        &mut self,
        method: &Method,
        path: &str,
        auth: Option<&HeaderValue>,
        json: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), String> {
        let host = self.host.clone();
        let exchange = async {
            let sender = self.connect().await?;
            sender.ready().await.map_err(|e| e.to_string())?;
            let mut request = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(header::HOST, host);
            if let Some(auth) = auth {
                request = request.header(header::AUTHORIZATION, auth.clone());
            }
            if json.is_some() {
                request = request.header(header::CONTENT_TYPE, "application/json");
            }
            let request = request
                .body(Full::new(json.unwrap_or_default()))
                .map_err(|e| e.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok((status, body))
        };
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("{method} {path} took over {REQUEST_TIMEOUT:?}")));
        if outcome.is_err() {
            self.sender = None;
        }
        outcome
    }
}

/// What one run of requests measured.
#[derive(Default)]
pub struct Run {
    /// Answers with the expected status.
    pub ok: u64,
    /// Other answers and transport errors.
    pub failed: u64,
    pub first_error: Option<String>,
    /// Latency of every expected answer.
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    /// Bodies of the expected answers, when asked for.
    pub bodies: Vec<Bytes>,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0 to 1), in milliseconds.
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[i].as_secs_f64() * 1e3
    }
}

/// One kind of request, repeated.
pub struct Load {
    pub addr: SocketAddr,
    pub method: Method,
    pub auth: Option<HeaderValue>,
    pub connections: usize,
    pub duration: Duration,
    /// No more than this many requests in the run.
    pub max_requests: u64,
    pub expect: StatusCode,
    pub keep_bodies: bool,
    /// The path and JSON body of the request numbered `n`.
    pub request: Arc<dyn Fn(u64) -> (String, Option<Bytes>) + Send + Sync>,
}

/// Runs the load: every connection sends requests back to back until the time or the count is up.
pub async fn drive(load: Arc<Load>) -> Run {
    let issued = Arc::new(AtomicU64::new(0));
    let total = Arc::new(Mutex::new(Run::default()));
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..load.connections {
        let (load, issued, total) = (load.clone(), issued.clone(), total.clone());
        tasks.spawn(async move {
            let mut conn = Conn::new(load.addr);
            let mut mine = Run::default();
            while Instant::now() < deadline {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= load.max_requests {
                    break;
                }
                let (path, body) = (load.request)(n);
                let sent = Instant::now();
                match conn
                    .send(&load.method, &path, load.auth.as_ref(), body)
                    .await
                {
                    Ok((status, body)) if status == load.expect => {
                        mine.ok += 1;
                        mine.latencies.push(sent.elapsed());
                        if load.keep_bodies {
                            mine.bodies.push(body);
                        }
                    }
                    Ok((status, body)) => {
                        mine.failed += 1;
                        mine.first_error.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&body))
                        });
                    }
                    Err(e) => {
                        mine.failed += 1;
                        mine.first_error.get_or_insert(e);
                    }
                }
            }
            let mut total = total.lock().expect("no task panics holding the total");
            total.ok += mine.ok;
            total.failed += mine.failed;
            if total.first_error.is_none() {
                total.first_error = mine.first_error;
            }
            total.latencies.append(&mut mine.latencies);
            total.bodies.append(&mut mine.bodies);
        });
    }
    while tasks.join_next().await.is_some() {}
    let mut run = std::mem::take(&mut *total.lock().expect("every task has ended"));
    run.elapsed = started.elapsed();
    run
}
