//! Client connections, served HTTP/1.1 with a deadline on reading each request: a client that
//! connects and sends nothing, or sends its headers a byte at a time, is disconnected once the
//! deadline passes instead of holding its connection and the task serving it for ever. (A body
//! has the same deadline, kept where it is read: see `read_body`.) Idle keep-alive connections
//! are closed after the same time, as HTTP servers commonly do; clients open a new one.

use std::future::Future;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The deadline a client has to send a request's headers, and then its body, unless configured.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` to every client of `listener` until `shutdown` resolves; then stops accepting,
/// lets each connection finish the request it is on, and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(read_timeout);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // Handlers read the client's address (throttling, the logs) as axum's `ConnectInfo`.
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopping.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}

/// A failed accept: a connection that went away before it was accepted is nothing; anything else
/// (out of file descriptors, most often) is logged, and accepting pauses for a moment rather than
/// failing again at once in a busy loop.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(250)).await;
}
