//! The HTTP layer: every request is matched against the endpoint table, authenticated, and handed
//! to one handler in `crate::api`. Unknown routes, methods and unbuilt operations answer JSON too.

pub mod body;
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

use crate::app::App;
use crate::model::{Account, Principal};
use error::{ApiError, ApiResult};
use router::{Matched, Method, NoMatch, Op};

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
    /// The authenticated caller's account, read with the token.
    account: Option<Account>,
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
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

    /// The authenticated caller's own account.
    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
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
    let path = parts.uri.path();
    let method = Method::parse(&parts.method).ok_or_else(|| {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("The method {} is not used by this API.", parts.method),
        )
    })?;
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
    let endpoint = matched.endpoint;
    let (principal, account) = match endpoint.op {
        Some(Op::Login) => (None, None),
        _ => {
            let (principal, account) = authenticate(app, &parts.headers).await?;
            (Some(principal), Some(account))
        }
    };
    let Some(op) = endpoint.op else {
        return Err(ApiError::not_implemented(
            endpoint.name,
            endpoint.method.as_str(),
            endpoint.path,
        ));
    };
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            )
        })?;
    let call = Call {
        matched,
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        principal,
        account,
        client: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default(),
    };
    crate::api::dispatch(op, app, &call).await
}

/// The caller behind the request's bearer token, and their account: 401 for a missing, malformed,
/// unknown, expired or revoked token, or a disabled user.
async fn authenticate(app: &App, headers: &HeaderMap) -> ApiResult<(Principal, Account)> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::unauthorized)?;
    let mut token = value.trim();
    // Some clients (the docs' own .NET sample among them) send the scheme twice.
    while let Some(rest) = strip_scheme(token) {
        token = rest.trim_start();
    }
    if token.is_empty() || token.len() > 512 || token.contains(char::is_whitespace) {
        return Err(ApiError::unauthorized());
    }
    crate::store::users::principal(
        app.store.reader(),
        &crate::ids::token_hash(token),
        app.clock.now(),
    )
    .await?
    .ok_or_else(ApiError::unauthorized)
}

fn strip_scheme(value: &str) -> Option<&str> {
    let scheme = value.get(..7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| &value[7..])
}

/// A JSON response.
pub fn reply<T: serde::Serialize + ?Sized>(status: StatusCode, body: &T) -> ApiResult<Response> {
    Ok(error::json_response(status, body))
}
