//! The admin API over HTTP: paths under `/admin`. Answers 404, like any unknown path, unless an
//! admin token is configured. The caller is a user whose bearer token is valid (their roles then
//! decide), or the operator presenting the admin token; failed admin-token attempts are throttled
//! per client address like failed logins.

use axum::http::request::Parts;
use axum::response::Response;

use super::error::{json_response, ApiError, ApiResult};
use super::router::Method;
use crate::access::throttle;
use crate::adminapi::{self, Caller};
use crate::app::App;

/// Whether a path belongs to the admin API: `/admin` or below, in any case.
pub fn is_admin_path(path: &str) -> bool {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    first.eq_ignore_ascii_case("admin")
}

pub async fn respond(
    app: &App,
    method: Method,
    parts: &Parts,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let path = parts.uri.path();
    let Some(admin_token) = &app.admin_token else {
        return Err(adminapi::not_found(method, path));
    };
    let token = super::bearer_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
    let caller = match super::user_of(app, token).await? {
        Some(user) => Caller::User(user),
        None => {
            let key = throttle::admin_token_key(&super::client_address(parts));
            let now = app.clock.now();
            if let Err(wait) = app.throttle.check(&key, now) {
                return Err(throttle::refusal(wait));
            }
            if !admin_token.verify(token).await {
                app.throttle.failed(&key, now);
                return Err(ApiError::unauthorized());
            }
            app.throttle.succeeded(&key);
            Caller::Operator("operator")
        }
    };
    let request = adminapi::Request {
        method,
        path: path.to_owned(),
        query: super::query_pairs(parts),
        body: super::body::parse(super::content_type(parts).as_deref(), &body)?,
    };
    let reply = adminapi::handle(app, &caller, &request).await?;
    Ok(json_response(reply.status, &reply.body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn admin_paths_in_any_case() {
        assert!(super::is_admin_path("/admin"));
        assert!(super::is_admin_path("/ADMIN/users/x"));
        assert!(!super::is_admin_path("/administrator"));
        assert!(!super::is_admin_path("/v2/admin"));
    }
}
