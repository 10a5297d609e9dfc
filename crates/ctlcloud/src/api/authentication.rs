//! `POST /v2/authentication/login`.

use axum::http::StatusCode;
use axum::response::Response;

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
    let session = accounts::login(app, &username, &password).await?;
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
