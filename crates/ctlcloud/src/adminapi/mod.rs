//! The admin API under `/admin`: accounts and sub-accounts, their custom fields and extra
//! networks, users, their roles, passwords and tokens, the role table and the audit trail. It is ctlcloud's own API, not the cloud's, and it
//! is off (every path answers 404) unless an admin token is configured.
//!
//! Two kinds of caller use it: the operator, with the admin token, over the whole installation;
//! and users whose roles grant `users.manage` (AccountAdmin) or `audit.read`, over their own
//! account and the accounts below it. `ctlcloud admin` runs the same handlers in process when it
//! is given a data directory instead of a URL.

mod accounts;
mod audit;
mod definitions;
mod token;
mod users;

pub use token::{generate as generate_token, AdminToken};

use axum::http::StatusCode;
use serde_json::Value;

use crate::access::{self, Grants, Permission};
use crate::app::App;
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::router::Method;
use crate::model::{Account, Principal};
use crate::store::accounts as stored_accounts;

/// Lists answer at most this many items; `?limit=` asks for fewer or more up to [`MAX_LIMIT`].
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// Who is calling the admin API.
pub enum Caller {
    /// The installation's operator (the admin token, or `ctlcloud admin` on the data directory).
    Operator(&'static str),
    User(Principal),
}

impl Caller {
    /// The name the audit trail and `changeInfo` record.
    pub fn name(&self) -> &str {
        match self {
            Caller::Operator(name) => name,
            Caller::User(p) => &p.username,
        }
    }

    fn grants(&self) -> Grants {
        match self {
            Caller::Operator(_) => Grants::ALL,
            Caller::User(p) => Grants::of(&p.roles),
        }
    }

    /// The account at the top of what the caller may manage; `None` for everything.
    fn root(&self) -> Option<i64> {
        match self {
            Caller::Operator(_) => None,
            Caller::User(p) => Some(p.account.id),
        }
    }

    fn account(&self) -> Option<(i64, &str)> {
        match self {
            Caller::Operator(_) => None,
            Caller::User(p) => Some((p.account.id, p.account.alias.as_str())),
        }
    }
}

/// One admin request, however it arrived.
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Value,
}

impl Request {
    fn query(&self, name: &str) -> Option<&str> {
        crate::http::query_param(&self.query, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// A whole-number query parameter within bounds.
    fn query_int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> ApiResult<Option<i64>> {
        self.query(name)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "The query parameter {name} must be a whole number from {} to {}.",
                            range.start(),
                            range.end()
                        ))
                    })
            })
            .transpose()
    }

    fn limit(&self) -> ApiResult<i64> {
        Ok(self
            .query_int("limit", 1..=MAX_LIMIT)?
            .unwrap_or(DEFAULT_LIMIT))
    }

    fn fields(&self) -> ApiResult<Fields<'_>> {
        Fields::of(&self.body)
    }
}

/// An admin answer: a status and a JSON body.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

fn reply<T: serde::Serialize>(status: StatusCode, body: &T) -> ApiResult<Reply> {
    Ok(Reply {
        status,
        body: serde_json::to_value(body).map_err(ApiError::internal)?,
    })
}

/// The operations of the admin API.
#[derive(Clone, Copy)]
enum Route {
    Roles,
    ListAccounts,
    CreateAccount,
    GetAccount,
    ListUsers,
    CreateUser,
    GetUser,
    SetRoles,
    SetPassword,
    Disable,
    Enable,
    RevokeTokens,
    Audit,
    ListCustomFields,
    CreateCustomField,
    CreateNetwork,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Roles => "Get roles",
            Route::ListAccounts => "List accounts",
            Route::CreateAccount => "Create account",
            Route::GetAccount => "Get account",
            Route::ListUsers => "List users",
            Route::CreateUser => "Create user",
            Route::GetUser => "Get user",
            Route::SetRoles => "Set user roles",
            Route::SetPassword => "Set user password",
            Route::Disable => "Disable user",
            Route::Enable => "Enable user",
            Route::RevokeTokens => "Revoke user tokens",
            Route::Audit => "Get audit trail",
            Route::ListCustomFields => "List custom fields",
            Route::CreateCustomField => "Create custom field",
            Route::CreateNetwork => "Create network",
        }
    }

    fn permission(self) -> Permission {
        match self {
            Route::Roles => Permission::AccountRead,
            Route::Audit => Permission::AuditRead,
            Route::ListCustomFields => Permission::AccountRead,
            Route::CreateNetwork => Permission::NetworksManage,
            _ => Permission::UsersManage,
        }
    }
}

/// Matches a path under `/admin` (any case, optional trailing slash); the second value is the
/// path's parameter (an alias or a username).
fn route(method: Method, path: &str) -> Result<(Route, String), ApiError> {
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').skip(2).collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let param = |i: usize| {
        segments
            .get(i)
            .map(|s| crate::http::router::percent_decode(s))
            .unwrap_or_default()
    };
    use Method::*;
    let found = match (method, lower.as_slice()) {
        (Get, ["roles"]) => Some(Route::Roles),
        (Get, ["accounts"]) => Some(Route::ListAccounts),
        (Post, ["accounts"]) => Some(Route::CreateAccount),
        (Get, ["accounts", _]) => Some(Route::GetAccount),
        (Get, ["accounts", _, "users"]) => Some(Route::ListUsers),
        (Post, ["accounts", _, "users"]) => Some(Route::CreateUser),
        (Get, ["users", _]) => Some(Route::GetUser),
        (Put, ["users", _, "roles"]) => Some(Route::SetRoles),
        (Post, ["users", _, "password"]) => Some(Route::SetPassword),
        (Post, ["users", _, "disable"]) => Some(Route::Disable),
        (Post, ["users", _, "enable"]) => Some(Route::Enable),
        (Post, ["users", _, "revoketokens"]) => Some(Route::RevokeTokens),
        (Get, ["audit"]) => Some(Route::Audit),
        (Get, ["accounts", _, "customfields"]) => Some(Route::ListCustomFields),
        (Post, ["accounts", _, "customfields"]) => Some(Route::CreateCustomField),
        (Post, ["accounts", _, "networks"]) => Some(Route::CreateNetwork),
        _ => None,
    };
    match found {
        Some(route) if segments.iter().all(|s| !s.is_empty()) => Ok((route, param(1))),
        _ => Err(not_found(method, path)),
    }
}

/// The answer for a path the admin API does not have, and for every path while it is off: the
/// same as any unknown route.
pub fn not_found(method: Method, path: &str) -> ApiError {
    ApiError::not_found(format!("No resource is at {} {path}.", method.as_str()))
}

/// Runs one admin request for a caller: routes it, checks the caller's permission, runs it, and
/// records writes in the audit trail.
pub async fn handle(app: &App, caller: &Caller, request: &Request) -> ApiResult<Reply> {
    let (route, param) = route(request.method, &request.path)?;
    let permission = route.permission();
    let result = if caller.grants().has(permission) {
        run(app, caller, request, route, &param).await
    } else {
        let roles = match caller {
            Caller::User(p) => p.roles.clone(),
            Caller::Operator(_) => Vec::new(),
        };
        Err(access::forbidden(route.name(), permission, &roles))
    };
    if request.method != Method::Get {
        let outcome = match &result {
            Ok(r) => r.status,
            Err(e) => e.status,
        };
        let target = format!("{} {}", request.method.as_str(), request.path);
        access::audit::record(
            app,
            caller.name(),
            caller.account(),
            route.name(),
            &target,
            outcome,
        )
        .await;
    }
    result
}

async fn run(
    app: &App,
    caller: &Caller,
    request: &Request,
    route: Route,
    param: &str,
) -> ApiResult<Reply> {
    match route {
        Route::Roles => accounts::roles(),
        Route::ListAccounts => accounts::list(app, caller, request).await,
        Route::CreateAccount => accounts::create(app, caller, request).await,
        Route::GetAccount => accounts::get(app, caller, param).await,
        Route::ListUsers => users::list(app, caller, request, param).await,
        Route::CreateUser => users::create(app, caller, request, param).await,
        Route::GetUser => users::get(app, caller, param).await,
        Route::SetRoles => users::set_roles(app, caller, request, param).await,
        Route::SetPassword => users::set_password(app, caller, request, param).await,
        Route::Disable => users::set_disabled(app, caller, param, true).await,
        Route::Enable => users::set_disabled(app, caller, param, false).await,
        Route::RevokeTokens => users::revoke_tokens(app, caller, param).await,
        Route::Audit => audit::list(app, caller, request).await,
        Route::ListCustomFields => definitions::list_custom_fields(app, caller, param).await,
        Route::CreateCustomField => {
            definitions::create_custom_field(app, caller, request, param).await
        }
        Route::CreateNetwork => definitions::create_network(app, caller, request, param).await,
    }
}

/// An account the caller may manage, by alias; any other, existing or not, is the same 404.
async fn account_in_scope(app: &App, caller: &Caller, alias: &str) -> ApiResult<Account> {
    let pool = app.store.reader();
    let found = match caller.root() {
        None => stored_accounts::by_alias(pool, alias).await?,
        Some(root) => stored_accounts::within(pool, root, alias).await?,
    };
    found.ok_or_else(|| ApiError::not_found(format!("Account {alias} was not found.")))
}
