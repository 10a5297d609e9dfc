//! Groups: the nested tree, creating a group, and changing one in place (PATCH).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use serde_json::Value;

use crate::domain::custom_fields;
use crate::domain::group_patch::{self, Change};
use crate::domain::groups::{self, NewGroup, Tree};
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, written, Call};
use crate::model::{CustomFieldDef, Group};
use crate::store::accounts;
use crate::wire::{self, Link};

pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let read = async {
        let id = call.param("groupId");
        let tree = groups::tree(app, &account, id)
            .await?
            .ok_or_else(|| groups::not_found(id))?;
        let defs = accounts::custom_fields(app.store.reader(), account.id).await?;
        written(&present(&account.alias, &defs, tree))
    };
    super::answers::kept_or_read(app, call, read).await
}

pub async fn create(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let fields = Fields::of(&body)?;
    let new = NewGroup {
        name: fields.required_str("name")?,
        description: fields.str("description")?,
        parent_id: fields.required_str("parentGroupId")?,
        custom_fields: custom_fields::parse(&fields.list("customFields"))?,
    };
    let group = groups::create(app, call.principal(), &account, new).await?;
    let defs = accounts::custom_fields(app.store.reader(), account.id).await?;
    let tree = Tree {
        group,
        servers: Vec::new(),
        servers_count: 0,
        children: Vec::new(),
    };
    reply(StatusCode::CREATED, &present(&account.alias, &defs, tree))
}

/// Reads a PATCH body: a bare array of `{op: "set", member, value}` (one bare object is taken as
/// an array of one).
fn parse_patch(body: &Value) -> ApiResult<Vec<Change>> {
    let items: Vec<&Value> = match body {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![body],
        _ => Vec::new(),
    };
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "The body must be an array of operations {op: \"set\", member, value}.",
        ));
    }
    items
        .into_iter()
        .map(|item| {
            let f = Fields::of(item).map_err(|_| {
                ApiError::bad_request("Each operation is an object {op, member, value}.")
            })?;
            let op = f.required_str("op")?;
            if !op.eq_ignore_ascii_case("set") {
                return Err(ApiError::invalid(
                    "op",
                    format!("The only operation is set, not '{op}'."),
                ));
            }
            let member = f.required_str("member")?;
            Ok(match member.to_ascii_lowercase().as_str() {
                "name" => Change::Name(f.str("value")?.unwrap_or_default()),
                "description" => Change::Description(f.str("value")?.unwrap_or_default()),
                "parentgroupid" => Change::Parent(f.str("value")?.ok_or_else(|| {
                    ApiError::invalid("parentGroupId", "parentGroupId needs a group id as its value.")
                })?),
                "customfields" => Change::CustomFields(custom_fields::parse(&f.list("value"))?),
                _ => {
                    return Err(ApiError::invalid(
                        "member",
                        format!("'{member}' cannot be set on a group; the members are name, description, parentGroupId and customFields."),
                    ))
                }
            })
        })
        .collect()
}

/// `PATCH /v2/groups/{alias}/{id}`: applies every operation or none, then answers 204.
pub async fn patch(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let changes = parse_patch(&call.body()?)?;
    group_patch::patch(
        app,
        call.principal(),
        &account,
        call.param("groupId"),
        changes,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn present(alias: &str, defs: &[CustomFieldDef], tree: Tree) -> wire::Group {
    let Tree {
        group,
        servers,
        servers_count,
        children,
    } = tree;
    let links = links(alias, &group, servers);
    wire::Group {
        custom_fields: super::custom_field_values(defs, &group.custom_fields),
        change_info: (&group.change).into(),
        id: group.id,
        name: group.name,
        description: group.description,
        location_id: group.dc,
        kind: group.kind,
        status: group.status,
        servers_count,
        groups: children
            .into_iter()
            .map(|c| present(alias, defs, c))
            .collect(),
        links,
    }
}

fn links(alias: &str, group: &Group, servers: Vec<String>) -> wire::GroupLinks {
    let id = &group.id;
    let mut links =
        vec![Link::new("self", format!("/v2/groups/{alias}/{id}"))
            .verbs(&["GET", "PATCH", "DELETE"])];
    if let Some(parent) = &group.parent_id {
        links.push(
            Link::new("parentGroup", format!("/v2/groups/{alias}/{parent}")).id(parent.clone()),
        );
    }
    links.extend([
        Link::new("createGroup", format!("/v2/groups/{alias}")).verbs(&["POST"]),
        Link::new("createServer", format!("/v2/servers/{alias}")).verbs(&["POST"]),
        Link::new("defaults", format!("/v2/groups/{alias}/{id}/defaults")).verbs(&["GET", "POST"]),
        Link::new(
            "archiveGroupAction",
            format!("/v2/groups/{alias}/{id}/archive"),
        ),
    ]);
    wire::GroupLinks {
        own: links,
        server_prefix: format!("/v2/servers/{alias}/"),
        servers,
    }
}
