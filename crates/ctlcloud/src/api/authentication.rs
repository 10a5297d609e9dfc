//! `POST /v2/authentication/login`.

use axum::http::StatusCode;
use axum::response::Response;

use crate::access::throttle;
use crate::domain::accounts;
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::wire;

pub async fn login(app: &crate::app::App, call: &Call) -> ApiResult<Response> {
    let body = call.body()?;
    let fields = Fields::of(&body)?;
    let (Some(username), Some(password)) = (fields.str("username")?, fields.str("password")?)
    else {
        return Err(ApiError::bad_request(
            "A username and a password are required.",
        ));
    };
    // Repeated failures for one username from one address are throttled, whether or not the
    // username exists; while locked even the right password is refused, so guessing gains nothing.
    let key = throttle::login_key(&username, &call.client);
    app.throttle
        .check(&key, app.clock.now())
        .map_err(throttle::refusal)?;
    let session = match accounts::login(app, &username, &password).await {
        Ok(session) => session,
        Err(e) => {
            if e.status == StatusCode::BAD_REQUEST {
                app.throttle.failed(&key, app.clock.now());
            }
            return Err(e);
        }
    };
    app.throttle.succeeded(&key);
    tracing::info!(
        user = session.username,
        account = session.account_alias,
        "login"
    );
    reply(
        StatusCode::OK,
        &wire::LoginResponse {
            user_name: session.username,
            account_alias: session.account_alias,
            location_alias: session.location_alias,
            roles: session.roles,
            bearer_token: session.token,
        },
    )
}
