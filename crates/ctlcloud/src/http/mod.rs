//! The HTTP layer: every request is matched against the endpoint table, authenticated, authorized
//! against the caller's roles (`crate::access`) and handed to one handler in `crate::api`; writes
//! are recorded in the audit trail. Unknown routes, methods, refusals and unbuilt operations
//! answer JSON too. Paths under `/admin` go to the admin API (`admin`).

mod admin;
pub mod body;
pub mod connections;
pub mod endpoints;
pub mod error;
pub mod router;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::access::{self, rules::Need};
use crate::app::App;
use crate::model::Principal;
use error::{ApiError, ApiResult};
use router::{Matched, Method, NoMatch};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The axum service for the whole API.
pub fn service(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(app)
}

/// One request, matched and ready for its handler.
pub struct Call {
    pub matched: Matched,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    body: Bytes,
    principal: Option<Principal>,
    /// The caller's address, for throttling and the logs.
    pub client: String,
}

impl Call {
    /// A path placeholder's value.
    pub fn param(&self, name: &str) -> &str {
        self.matched.param(name)
    }

    /// A query parameter; names match in any case.
    pub fn query(&self, name: &str) -> Option<&str> {
        query_param(&self.query, name)
    }

    /// The query's parameters, as written.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// A boolean query parameter (`true`/`false` in any case).
    pub fn query_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.query(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!(
                "The query parameter {name} must be true or false."
            ))),
        }
    }

    /// The request body, parsed leniently.
    pub fn body(&self) -> ApiResult<Value> {
        body::parse(self.content_type.as_deref(), &self.body)
    }

    /// The authenticated caller. Every operation but login is authenticated before its handler runs.
    pub fn principal(&self) -> &Principal {
        self.principal
            .as_ref()
            .expect("the dispatcher authenticates every operation but login")
    }
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = match respond(&app, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

async fn respond(app: &App, request: Request) -> ApiResult<Response> {
    let (parts, body) = request.into_parts();
    // The body is read before anything is decided: a refusal sent while the client is still
    // sending its body would reach it as a reset connection instead of the refusal's message.
    let body = match axum::body::HttpBody::is_end_stream(&body) {
        true => Bytes::new(),
        false => read_body(body, app.read_timeout).await?,
    };
    let path = parts.uri.path();
    let method = Method::parse(&parts.method).ok_or_else(|| {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("The method {} is not used by this API.", parts.method),
        )
    })?;
    if admin::is_admin_path(path) {
        return admin::respond(app, method, &parts, body).await;
    }
    let matched = match router::route(method, path) {
        Ok(m) => m,
        Err(NoMatch::NotFound) => {
            return Err(ApiError::not_found(format!(
                "No resource is at {} {path}.",
                method.as_str()
            )))
        }
        Err(NoMatch::MethodNotAllowed(allowed)) => {
            let allow: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            let mut response = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{path} does not support {}; it supports {}.",
                    method.as_str(),
                    allow.join(", ")
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                response.headers_mut().insert(header::ALLOW, v);
            }
            return Ok(response);
        }
    };
    if method == Method::Get {
        // A GET reads its caller and everything it shows from one snapshot of the store. Other
        // methods read each statement afresh: their handlers may wait for another task's commit
        // (creates are decided in batches) and must then see it. Boxed, so that the request's
        // future, which the connection moves as a whole, is not the handlers' size twice over.
        return app
            .store
            .in_snapshot(Box::pin(authorized(app, matched, &parts, body)))
            .await
            .and_then(|(response, _)| response);
    }
    let endpoint = matched.endpoint;
    let (result, actor) = authorized(app, matched, &parts, body).await?;
    let Some(actor) = actor else {
        return result;
    };
    let outcome = match &result {
        Ok(r) => r.status(),
        Err(e) => e.status,
    };
    let target = format!("{} {path}", method.as_str());
    let account = Some((actor.account.id, actor.account.alias.as_str()));
    access::audit::record(
        app,
        &actor.username,
        account,
        endpoint.name,
        &target,
        outcome,
    )
    .await;
    result
}

/// Authenticates the caller, authorizes the call against their roles and runs it; with the
/// caller, for the audit trail. A request that fails authentication answers at once.
async fn authorized(
    app: &App,
    matched: Matched,
    parts: &axum::http::request::Parts,
    body: Bytes,
) -> ApiResult<(ApiResult<Response>, Option<Principal>)> {
    let endpoint = matched.endpoint;
    // Authentication, then authorization, both before anything else runs, unbuilt operations
    // included.
    let principal = match access::rules::required(endpoint) {
        Some(Need::Public) => None,
        _ => Some(authenticate(app, &parts.headers).await?),
    };
    let Some(principal) = principal else {
        return Ok((execute(app, matched, parts, body, None).await, None));
    };
    let actor = principal.clone();
    let result = match access::authorize(endpoint, &principal.roles) {
        Ok(grants) => execute(app, matched, parts, body, Some((principal, grants))).await,
        Err(refusal) => Err(refusal),
    };
    Ok((result, Some(actor)))
}

/// Runs an authorized call: 501 for an unbuilt operation, otherwise its handler, with the
/// caller's grants in scope so that the links it answers are trimmed to them.
async fn execute(
    app: &App,
    matched: Matched,
    parts: &axum::http::request::Parts,
    body: Bytes,
    caller: Option<(Principal, access::Grants)>,
) -> ApiResult<Response> {
    let endpoint = matched.endpoint;
    let Some(op) = endpoint.op else {
        return Err(ApiError::not_implemented(
            endpoint.name,
            endpoint.method.as_str(),
            endpoint.path,
        ));
    };
    let (principal, grants) = caller.unzip();
    let call = Call {
        matched,
        query: query_pairs(parts),
        content_type: content_type(parts),
        body,
        principal,
        client: client_address(parts),
    };
    match grants {
        Some(grants) => access::links::scope(grants, crate::api::dispatch(op, app, &call)).await,
        None => crate::api::dispatch(op, app, &call).await,
    }
}

/// At most this much of a refused body is read and dropped before the refusal is sent.
const MAX_DRAINED_BYTES: usize = 64 << 20;

/// Reads a request body up to [`MAX_BODY_BYTES`]; a larger one is refused with 413, and one not
/// all sent within `timeout` with 408 (the connection is then closed).
///
/// The rest of a refused body is read and dropped (up to [`MAX_DRAINED_BYTES`]) before the answer
/// goes out: a client still sending it when the connection closed would see the connection reset
/// instead of the 413 and its message.
async fn read_body(body: axum::body::Body, timeout: std::time::Duration) -> ApiResult<Bytes> {
    tokio::time::timeout(timeout, read_body_to_end(body))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "The request body did not arrive within {} seconds.",
                    timeout.as_secs()
                ),
            ))
        })
}

async fn read_body_to_end(body: axum::body::Body) -> ApiResult<Bytes> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map(|f| f.into_data()) else {
            return Err(ApiError::bad_request("The request body could not be read."));
        };
        let Ok(data) = data else { continue };
        seen = seen.saturating_add(data.len());
        if seen <= MAX_BODY_BYTES {
            read.extend_from_slice(&data);
        } else if seen > MAX_DRAINED_BYTES {
            break;
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
        ));
    }
    Ok(read.into())
}

/// A query parameter among parsed pairs; names match in any case.
pub fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn query_pairs(parts: &axum::http::request::Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn content_type(parts: &axum::http::request::Parts) -> Option<String> {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The caller's address, for throttling and the logs.
fn client_address(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// The bearer token of a request, if it carries one that could be a token at all.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut token = value.trim();
    // Some clients (the docs' own .NET sample among them) send the scheme twice.
    while let Some(rest) = strip_scheme(token) {
        token = rest.trim_start();
    }
    let plausible = !token.is_empty() && token.len() <= 512 && !token.contains(char::is_whitespace);
    plausible.then_some(token)
}

/// The user behind a bearer token, if it is known, unexpired and unrevoked, and the user enabled.
async fn user_of(app: &App, token: &str) -> ApiResult<Option<Principal>> {
    Ok(app
        .store
        .caller(&crate::ids::token_hash(token), app.clock.now())
        .await?)
}

/// The caller behind the request's bearer token: 401 for a missing, malformed, unknown, expired or
/// revoked token, or a disabled user.
async fn authenticate(app: &App, headers: &HeaderMap) -> ApiResult<Principal> {
    let token = bearer_token(headers).ok_or_else(ApiError::unauthorized)?;
    user_of(app, token)
        .await?
        .ok_or_else(ApiError::unauthorized)
}

fn strip_scheme(value: &str) -> Option<&str> {
    let scheme = value.get(..7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| &value[7..])
}

/// A JSON response. Its links are trimmed to what the caller may do as it is written (see
/// `access::links`): it is written here, inside the handler's scope.
pub fn reply<T: serde::Serialize + ?Sized>(status: StatusCode, body: &T) -> ApiResult<Response> {
    Ok(error::json_response(status, body))
}

/// A JSON response already written (by [`written`], or kept).
pub fn reply_written(status: StatusCode, json: Bytes) -> ApiResult<Response> {
    Ok(error::json_bytes_response(status, json))
}

/// A JSON body written as [`reply`] would write it: with its links trimmed to the caller's grants.
pub fn written<T: serde::Serialize + ?Sized>(body: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::store::Scratch;

    /// A request's future is moved whole, more than once, before it first runs (a `memcpy` of its
    /// full size each time): it holds the handlers' futures once, not once per layer around them.
    /// With the snapshot and the links' scopes as `async fn`s around the handlers it was 23 KB and
    /// its copies 12% of a GET's instructions.
    #[tokio::test]
    async fn a_request_future_holds_the_handlers_once() {
        let scratch = Scratch::open().await;
        let app = Arc::new(App::simulated(scratch.store.clone(), Catalog::built_in()));
        let request = Request::new(axum::body::Body::empty());
        let future = handle(State(app), request);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 8 * 1024, "the request's future is {size} bytes");
        drop(future);
        scratch.close().await;
    }
}
