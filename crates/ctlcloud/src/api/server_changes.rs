//! Changing a server: `PATCH /v2/servers/{alias}/{id}` with a bare array of
//! `{op: "set", member, value}`, answered by one status link for the whole batch; and what can be
//! changed (`capabilities`).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::app::App;
use crate::domain::custom_fields;
use crate::domain::disks::{self, RequestedDisk};
use crate::domain::server_changes::{self as domain, Changes, PasswordChange};
use crate::domain::servers::{check_guest_password, MAX_DISK_GB};
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::wire;

use super::queue::status_link;
use super::servers::find;

/// The members a PATCH may set, as the API spells them.
const MEMBERS: [&str; 7] = [
    "cpu",
    "memory",
    "password",
    "disks",
    "customFields",
    "description",
    "groupId",
];

/// Reads the batch into one object of members, so that each member's value is read (and named in
/// errors) like a field of a body.
fn members(body: &Value) -> ApiResult<Map<String, Value>> {
    let shape = || {
        ApiError::bad_request(
            "The body of a server PATCH is an array of {op: \"set\", member, value}.",
        )
    };
    let items = body
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(shape)?;
    let mut members = Map::new();
    for item in items {
        let f = Fields::of(item).map_err(|_| shape())?;
        let op = f.required_str("op")?;
        if !op.eq_ignore_ascii_case("set") {
            return Err(ApiError::invalid(
                "op",
                format!("The only PATCH operation is set, not '{op}'."),
            ));
        }
        let given = f.required_str("member")?;
        let member = MEMBERS
            .iter()
            .find(|m| m.eq_ignore_ascii_case(&given))
            .ok_or_else(|| {
                ApiError::invalid(
                    "member",
                    format!(
                        "'{given}' cannot be set; the members are {}.",
                        MEMBERS.join(", ")
                    ),
                )
            })?;
        if members.contains_key(*member) {
            return Err(ApiError::invalid(
                member,
                format!("{member} is set twice in one request."),
            ));
        }
        members.insert(
            (*member).to_owned(),
            f.get("value").cloned().unwrap_or(Value::Null),
        );
    }
    Ok(members)
}

fn parse(body: &Value) -> ApiResult<Changes> {
    let members = members(body)?;
    let given = |name: &str| members.contains_key(name);
    let value = Value::Object(members.clone());
    let f = Fields::of(&value)?;
    // Only a description may be set to nothing.
    for name in MEMBERS.iter().filter(|m| **m != "description") {
        if given(name) && f.get(name).is_none() {
            return Err(ApiError::invalid(name, format!("{name} needs a value.")));
        }
    }
    let password = match f.get("password") {
        None => None,
        Some(v) => {
            let bad = |m: String| ApiError::invalid("password", m);
            let p = Fields::of(v)
                .map_err(|_| bad("password is an object {current, password}.".into()))?;
            let current = p.str("current").map_err(|e| bad(e.message))?;
            let new = p.str("password").map_err(|e| bad(e.message))?;
            let (Some(current), Some(password)) = (current, new) else {
                return Err(bad(
                    "password needs the current password and the new one: {current, password}."
                        .into(),
                ));
            };
            check_guest_password(&password).map_err(bad)?;
            Some(PasswordChange { current, password })
        }
    };
    let disks = match f.get("disks") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(parse_disk)
                .collect::<ApiResult<Vec<_>>>()
                .map_err(|e| ApiError::invalid("disks", e.message))?,
        ),
        Some(_) => {
            return Err(ApiError::invalid(
                "disks",
                "disks is the complete list of the server's disks.",
            ))
        }
    };
    let custom_fields = match f.get("customFields") {
        None => None,
        Some(Value::Array(items)) => Some(custom_fields::parse(&items.iter().collect::<Vec<_>>())?),
        Some(_) => {
            return Err(ApiError::invalid(
                "customFields",
                "customFields is the complete list of {id, value}.",
            ))
        }
    };
    Ok(Changes {
        cpu: f.int_in("cpu", 1..=16)?,
        memory_gb: f.int_in("memory", 1..=128)?,
        password,
        disks,
        custom_fields,
        description: match given("description") {
            true => Some(f.str("description")?.unwrap_or_default()),
            false => None,
        },
        group_id: f.str("groupId")?,
    })
}

/// One disk of the list: an existing one `{diskId, sizeGB?}` or a new one `{path, sizeGB, type}`.
fn parse_disk(item: &Value) -> ApiResult<RequestedDisk> {
    let d = Fields::of(item).map_err(|_| {
        ApiError::invalid(
            "disks",
            "Each disk is {diskId, sizeGB} for a disk the server has or {path, sizeGB, type} for a new one.",
        )
    })?;
    match d.str("diskId")? {
        Some(id) => Ok(RequestedDisk::Existing {
            id,
            size_gb: d.int_in("sizeGB", 1..=MAX_DISK_GB)?,
        }),
        // An existing disk keeps its kind and mount path: only its size can change.
        None => Ok(RequestedDisk::New(disks::parse_new_disk(d, "disks")?)),
    }
}

pub async fn patch(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let changes = parse(&call.body()?)?;
    // Go's client addresses a server by uuid whenever it has one (`?uuid=true`).
    let server_id = match call.query_bool("uuid")? {
        Some(true) => find(app, call, &account).await?.id,
        _ => call.param("serverId").to_owned(),
    };
    let job = domain::accept(app, call.principal(), &account, &server_id, changes).await?;
    reply(StatusCode::ACCEPTED, &status_link(&account.alias, &job))
}

/// What can be changed on a server: the mount paths its template reserves, and whether adding cpu
/// or memory needs a reboot (never, with ctlcloud's drivers).
pub async fn capabilities(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let server = find(app, call, &account).await?;
    let reserved_drive_paths = app
        .catalog
        .template(&server.dc, &server.template)
        .map(|t| app.catalog.family(t.family).reserved_drive_paths.clone())
        .unwrap_or_default();
    reply(
        StatusCode::OK,
        &wire::ServerCapabilities {
            reserved_drive_paths,
            adding_cpu_requires_reboot: false,
            adding_memory_requires_reboot: false,
        },
    )
}
