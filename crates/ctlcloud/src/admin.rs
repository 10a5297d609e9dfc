//! `ctlcloud admin`: manage accounts, users and roles, and read the audit trail. Each command is
//! one request of the admin API (`crate::adminapi`): sent to a running installation when a URL is
//! given (with the admin token from `CTLCLOUD_ADMIN_TOKEN`), or run in process on a data directory
//! otherwise, also while the server runs (SQLite lets both processes use the file; writes take
//! turns). Answers are printed as JSON.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::adminapi::{self, Caller, Request};
use crate::app::App;
use crate::http::router::Method;

/// One admin command.
pub enum Command {
    Roles,
    ListAccounts,
    CreateAccount {
        alias: String,
        name: Option<String>,
        parent: Option<String>,
        primary_dc: Option<String>,
    },
    ListUsers {
        account: String,
    },
    CreateUser {
        account: String,
        username: String,
        roles: Vec<String>,
        password_stdin: bool,
    },
    SetRoles {
        username: String,
        roles: Vec<String>,
    },
    SetPassword {
        username: String,
        password_stdin: bool,
    },
    DisableUser {
        username: String,
    },
    EnableUser {
        username: String,
    },
    RevokeTokens {
        username: String,
    },
    Audit {
        account: Option<String>,
        limit: Option<i64>,
        before: Option<i64>,
    },
    CreateCustomField {
        account: String,
        name: String,
        kind: String,
        required: bool,
        /// `NAME=VALUE` each.
        options: Vec<String>,
    },
    ListCustomFields {
        account: String,
    },
    CreateNetwork {
        account: String,
        dc: String,
    },
}

/// Where the commands go.
pub enum Target {
    /// A data directory, worked on in process.
    Local {
        data_dir: PathBuf,
        database_url: Option<String>,
        catalog: Option<PathBuf>,
    },
    /// A running installation's base URL, with the admin token.
    Remote { url: String, token: String },
}

/// Reads one line from standard input as a password.
fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// A path segment, percent-encoded.
fn segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Splits `NAME=VALUE` at the first `=`.
fn option(text: &str) -> Result<Value, String> {
    text.split_once('=')
        .map(|(name, value)| json!({"name": name, "value": value}))
        .ok_or(format!("an option is NAME=VALUE, not '{text}'"))
}

/// The password member of a body: read from stdin, or absent so that the server generates one.
fn password_member(from_stdin: bool) -> Result<Value, String> {
    Ok(if from_stdin {
        json!(read_password()?)
    } else {
        Value::Null
    })
}

impl Command {
    /// The admin API request this command is.
    fn request(self) -> Result<Request, String> {
        let (method, path, query, body) = match self {
            Command::Roles => (Method::Get, "/admin/roles".into(), vec![], Value::Null),
            Command::ListAccounts => (Method::Get, "/admin/accounts".into(), vec![], Value::Null),
            Command::CreateAccount {
                alias,
                name,
                parent,
                primary_dc,
            } => (
                Method::Post,
                "/admin/accounts".into(),
                vec![],
                json!({"alias": alias, "name": name, "parentAlias": parent, "primaryDataCenter": primary_dc}),
            ),
            Command::ListUsers { account } => (
                Method::Get,
                format!("/admin/accounts/{}/users", segment(&account)),
                vec![],
                Value::Null,
            ),
            Command::CreateUser {
                account,
                username,
                roles,
                password_stdin,
            } => {
                // ServerAdmin when no role is named, as before roles could be chosen.
                let roles = if roles.is_empty() {
                    vec!["ServerAdmin".to_owned()]
                } else {
                    roles
                };
                (
                    Method::Post,
                    format!("/admin/accounts/{}/users", segment(&account)),
                    vec![],
                    json!({"username": username, "roles": roles, "password": password_member(password_stdin)?}),
                )
            }
            Command::SetRoles { username, roles } => (
                Method::Put,
                format!("/admin/users/{}/roles", segment(&username)),
                vec![],
                json!({ "roles": roles }),
            ),
            Command::SetPassword {
                username,
                password_stdin,
            } => (
                Method::Post,
                format!("/admin/users/{}/password", segment(&username)),
                vec![],
                json!({"password": password_member(password_stdin)?}),
            ),
            Command::DisableUser { username } => (
                Method::Post,
                format!("/admin/users/{}/disable", segment(&username)),
                vec![],
                Value::Null,
            ),
            Command::EnableUser { username } => (
                Method::Post,
                format!("/admin/users/{}/enable", segment(&username)),
                vec![],
                Value::Null,
            ),
            Command::RevokeTokens { username } => (
                Method::Post,
                format!("/admin/users/{}/revokeTokens", segment(&username)),
                vec![],
                Value::Null,
            ),
            Command::Audit {
                account,
                limit,
                before,
            } => {
                let query = [
                    ("account", account),
                    ("limit", limit.map(|l| l.to_string())),
                    ("before", before.map(|b| b.to_string())),
                ]
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                .collect();
                (Method::Get, "/admin/audit".into(), query, Value::Null)
            }
            Command::CreateCustomField {
                account,
                name,
                kind,
                required,
                options,
            } => {
                let options = options
                    .iter()
                    .map(|o| option(o))
                    .collect::<Result<Vec<_>, _>>()?;
                (
                    Method::Post,
                    format!("/admin/accounts/{}/customFields", segment(&account)),
                    vec![],
                    json!({"name": name, "type": kind, "isRequired": required, "options": options}),
                )
            }
            Command::ListCustomFields { account } => (
                Method::Get,
                format!("/admin/accounts/{}/customFields", segment(&account)),
                vec![],
                Value::Null,
            ),
            Command::CreateNetwork { account, dc } => (
                Method::Post,
                format!("/admin/accounts/{}/networks", segment(&account)),
                vec![],
                json!({ "dataCenter": dc }),
            ),
        };
        Ok(Request {
            method,
            path,
            query,
            body,
        })
    }
}

/// Runs one command and prints its answer; an answer other than 2xx is an error with its message.
pub async fn run(target: Target, command: Command) -> Result<(), String> {
    let request = command.request()?;
    let (status, body) = match target {
        Target::Local {
            data_dir,
            database_url,
            catalog,
        } => local(&data_dir, database_url.as_deref(), catalog, &request).await?,
        Target::Remote { url, token } => remote(&url, &token, &request).await?,
    };
    if !(200..300).contains(&status) {
        let message = body["message"].as_str().unwrap_or("no message");
        return Err(format!("the admin API answered {status}: {message}"));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Runs the request in process, as the operator, on the data directory's store.
async fn local(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    catalog: Option<PathBuf>,
    request: &Request,
) -> Result<(u16, Value), String> {
    let catalog = crate::serve::load_catalog(catalog.as_deref())?;
    let store = crate::serve::open_store(data_dir, database_url).await?;
    let app = Arc::new(App::simulated(store.clone(), catalog));
    let answer = adminapi::handle(&app, &Caller::Operator("ctlcloud admin"), request).await;
    store.close().await;
    Ok(match answer {
        Ok(reply) => (reply.status.as_u16(), reply.body),
        Err(e) => (e.status.as_u16(), json!({ "message": e.message })),
    })
}

/// Sends the request to a running installation.
async fn remote(url: &str, token: &str, request: &Request) -> Result<(u16, Value), String> {
    let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
        .map_err(|e| e.to_string())?;
    let mut builder = reqwest::Client::new()
        .request(
            method,
            format!("{}{}", url.trim_end_matches('/'), request.path),
        )
        .bearer_auth(token)
        .query(&request.query);
    if !request.body.is_null() {
        builder = builder.json(&request.body);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "message": text }));
    Ok((status, body))
}
