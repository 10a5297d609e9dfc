//! Servers: create, get (by name or by uuid), delete, and the guest credentials.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::domain::servers::{self as domain, NewServer};
use crate::domain::{custom_fields, disks, packages};
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, written, Call};
use crate::model::{ipv4, parse_ipv4, Account, PublicIp, Server};
use crate::store::{self, accounts, public_ips, servers, Engine};
use crate::wire::{self, Link};

use super::answers;
use super::queue::status_link;

fn not_built(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("{what} is not implemented in ctlcloud yet."),
    )
}

/// Reads a create-server body.
fn parse_create(account: &Account, fields: Fields<'_>) -> ApiResult<(String, NewServer)> {
    let requested = fields.required_str("name")?;
    let name =
        domain::check_name(&account.alias, &requested).map_err(|m| ApiError::invalid("name", m))?;
    let server_type = match fields
        .str("type")?
        .map(|t| t.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("standard") => "standard",
        Some("hyperscale") => "hyperscale",
        Some("baremetal") => return Err(not_built("Bare-metal servers (type bareMetal)")),
        Some(other) => {
            return Err(ApiError::invalid(
                "type",
                format!("type is standard or hyperscale, not '{other}'."),
            ))
        }
    };
    let storage_type = match (
        server_type,
        fields
            .str("storageType")?
            .map(|t| t.to_ascii_lowercase())
            .as_deref(),
    ) {
        ("standard", None | Some("standard")) => "standard",
        ("standard", Some("premium")) => "premium",
        ("hyperscale", None | Some("hyperscale")) => "hyperscale",
        (_, Some(other)) => {
            return Err(ApiError::invalid(
                "storageType",
                format!("storageType '{other}' does not go with type {server_type}."),
            ))
        }
        (_, None) => unreachable!("every server type has a default storage type"),
    };
    for (field, what) in [
        ("antiAffinityPolicyId", "Anti-affinity policies"),
        ("cpuAutoscalePolicyId", "CPU autoscale policies"),
        ("configurationId", "Bare-metal servers"),
    ] {
        if fields.get(field).is_some() {
            return Err(not_built(what));
        }
    }
    let managed_os = fields.bool("isManagedOS")?.unwrap_or(false);
    let managed_backup = fields.bool("isManagedBackup")?.unwrap_or(false);
    if managed_backup && !managed_os {
        return Err(ApiError::invalid(
            "isManagedBackup",
            "Managed backup requires a managed operating system (isManagedOS).",
        ));
    }
    let password = fields.str("password")?;
    if let Some(p) = &password {
        domain::check_guest_password(p).map_err(|m| ApiError::invalid("password", m))?;
    }
    let ip_address = match fields.str("ipAddress")? {
        Some(text) => Some(parse_ipv4(&text).ok_or_else(|| {
            ApiError::invalid("ipAddress", format!("'{text}' is not an IPv4 address."))
        })?),
        None => None,
    };
    let additional_disks = fields
        .list("additionalDisks")
        .into_iter()
        .map(|d| {
            let d = Fields::of(d).map_err(|_| {
                ApiError::invalid(
                    "additionalDisks",
                    "Each additional disk is an object {path, sizeGB, type}.",
                )
            })?;
            disks::parse_new_disk(d, "additionalDisks")
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let ttl = match fields.str("ttl")? {
        Some(text) => Some(crate::clock::parse_utc(&text).ok_or_else(|| {
            ApiError::invalid(
                "ttl",
                format!("ttl must be a UTC time such as 2030-01-31T12:00:00Z, not '{text}'."),
            )
        })?),
        None => None,
    };
    let new = NewServer {
        name,
        description: fields.str("description")?,
        group_id: fields.required_str("groupId")?,
        source_server_id: fields.str("sourceServerId")?,
        source_server_password: fields.str("sourceServerPassword")?,
        managed_os,
        managed_backup,
        primary_dns: fields.str("primaryDns")?,
        secondary_dns: fields.str("secondaryDns")?,
        network_id: fields.str("networkId")?,
        ip_address,
        password,
        cpu: fields.int_in("cpu", 1..=16)?,
        memory_gb: fields.int_in("memoryGB", 1..=128)?,
        server_type: server_type.into(),
        storage_type: storage_type.into(),
        custom_fields: custom_fields::parse(&fields.list("customFields"))?,
        additional_disks,
        packages: packages::parse(&fields.list("packages"))?,
        ttl,
    };
    Ok((requested.trim().to_owned(), new))
}

pub async fn create(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body = call.body()?;
    let (requested, new) = parse_create(&account, Fields::of(&body)?)?;
    let (server, job) = domain::create(app, call.principal(), &account, new).await?;
    let alias = &account.alias;
    reply(
        StatusCode::ACCEPTED,
        &wire::ServerOperation {
            server: requested,
            is_queued: true,
            links: vec![
                status_link(alias, &job),
                Link::new(
                    "self",
                    format!("/v2/servers/{alias}/{}?uuid=True", server.uuid),
                )
                .id(server.uuid.clone())
                .verbs(&["GET"]),
            ],
            error_message: None,
        },
    )
}

/// The server named in the path: by uuid with `?uuid=true`, by name otherwise.
pub(super) async fn find(app: &App, call: &Call, account: &Account) -> ApiResult<Server> {
    find_in(app.store.reader(), call, account).await
}

/// What the path names the server by: its name, or its uuid with `?uuid=true`.
fn key_in(call: &Call) -> ApiResult<(servers::Key, &str)> {
    let key = if call.query_bool("uuid")?.unwrap_or(false) {
        servers::Key::Uuid
    } else {
        servers::Key::Name
    };
    Ok((key, call.param("serverId")))
}

/// [`find`], reading through `conn`.
async fn find_in(
    conn: impl Into<store::db::Exec<'_>>,
    call: &Call,
    account: &Account,
) -> ApiResult<Server> {
    let (key, value) = key_in(call)?;
    let server = servers::get_by(conn, account.id, key, value).await?;
    server.ok_or_else(|| domain::not_found(value))
}

pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    answers::kept_or_read(app, call, read(app, call, &account)).await
}

/// The server named in the path, as a GET answers it.
async fn read(app: &App, call: &Call, account: &Account) -> ApiResult<Bytes> {
    // SQLite: one read transaction for the server and everything shown with it, one consistent
    // view. PostgreSQL: the server is read with the other GETs of servers waiting (see
    // `store::gathered`), then what it has attached; each statement there reads the latest
    // committed state either way.
    let (server, tx) = match app.store.engine() {
        Engine::Sqlite => {
            let mut tx = app.store.read().await?;
            (find_in(&mut tx, call, account).await?, Some(tx))
        }
        Engine::Postgres => {
            let (key, value) = key_in(call)?;
            let server = app.store.server(account.id, key, value).await?;
            (server.ok_or_else(|| domain::not_found(value))?, None)
        }
    };
    let attached = server.attached;
    // The definitions only name the values a server holds, and only what the server has attached
    // is read.
    let (defs, snapshots, alert_policies, public) = if server.custom_fields.is_empty()
        && !attached.snapshots
        && !attached.alert_policies
        && !attached.public_ips
    {
        Default::default()
    } else {
        let mut tx = match tx {
            Some(tx) => tx,
            None => app.store.read().await?,
        };
        let defs = if server.custom_fields.is_empty() {
            Vec::new()
        } else {
            accounts::custom_fields(&mut tx, account.id).await?
        };
        let snapshots = if attached.snapshots {
            store::snapshots::of_server(&mut tx, &server.id).await?
        } else {
            Vec::new()
        };
        let alert_policies = if attached.alert_policies {
            store::alert_policies::of_server(&mut tx, &server.id).await?
        } else {
            Vec::new()
        };
        let public: Vec<PublicIp> = if attached.public_ips {
            public_ips::of_server(&mut tx, &server.id)
                .await?
                .into_iter()
                .filter(|p| !p.pending)
                .collect()
        } else {
            Vec::new()
        };
        (defs, snapshots, alert_policies, public)
    };
    let template = app.catalog.template(&server.dc, &server.template);
    let alias = &account.alias;
    let lower = server.id.to_lowercase();
    let base = format!("/v2/servers/{alias}/{lower}");
    let mut links = vec![
        Link::new("self", base.clone())
            .id(server.id.clone())
            .verbs(&["GET", "PATCH", "DELETE"]),
        Link::new("group", format!("/v2/groups/{alias}/{}", server.group_id))
            .id(server.group_id.clone()),
        Link::new("account", format!("/v2/accounts/{alias}")).id(alias.clone()),
        Link::new("credentials", format!("{base}/credentials")),
        Link::new("capabilities", format!("{base}/capabilities")),
        Link::new("publicIPAddresses", format!("{base}/publicIPAddresses")).verbs(&["POST"]),
    ];
    links.extend(public.iter().map(|p| {
        let ip = ipv4(p.address);
        Link::new("publicIPAddress", format!("{base}/publicIPAddresses/{ip}"))
            .id(ip)
            .verbs(&["GET", "PUT", "DELETE"])
    }));
    let details = wire::ServerDetails {
        ip_addresses: ip_addresses(&server.addresses, &public),
        alert_policies: alert_policies
            .into_iter()
            .map(|(id, name)| wire::ServerAlertPolicy {
                links: vec![
                    Link::new("self", format!("/v2/alertPolicies/{alias}/{id}")),
                    Link::new("alertPolicyMap", format!("{base}/alertPolicies/{id}"))
                        .verbs(&["DELETE"]),
                ],
                id,
                name,
            })
            .collect(),
        cpu: server.cpu,
        disk_count: server.disks.len() as i64,
        host_name: lower.clone(),
        in_maintenance_mode: server.in_maintenance,
        memory_mb: server.memory_mb,
        power_state: server.power_state.clone(),
        storage_gb: server.disks.iter().map(|d| d.size_gb).sum(),
        disks: server
            .disks
            .iter()
            .map(|d| wire::Disk {
                id: d.id.clone(),
                size_gb: d.size_gb,
                partition_paths: d.paths.clone(),
            })
            .collect(),
        partitions: server
            .disks
            .iter()
            .flat_map(|d| {
                d.paths.iter().map(|p| wire::Partition {
                    size_gb: d.size_gb as f64,
                    path: p.clone(),
                })
            })
            .collect(),
        snapshots: snapshots
            .iter()
            .map(|s| super::snapshots::present(alias, s))
            .collect(),
        custom_fields: super::custom_field_values(&defs, &server.custom_fields),
    };
    written(&wire::Server {
        id: server.id.clone(),
        name: server.id.clone(),
        description: server.description,
        group_id: server.group_id,
        is_template: false,
        location_id: server.dc,
        os_type: template.map(|t| t.os_type.clone()).unwrap_or_default(),
        os: template.map(|t| t.os.clone()).unwrap_or_default(),
        status: server.status,
        kind: server.server_type,
        storage_type: server.storage_type,
        is_managed_os: server.managed_os,
        is_managed_backup: server.managed_backup,
        details,
        change_info: (&server.change).into(),
        links,
    })
}

/// One entry per private address, and one per public address with the private address it is
/// NATed to: `{internal}` or `{internal, public}`.
fn ip_addresses(private: &[u32], public: &[PublicIp]) -> Vec<wire::IpAddress> {
    let mut out = Vec::new();
    for address in private {
        let mapped: Vec<&PublicIp> = public
            .iter()
            .filter(|p| p.settings.internal == *address)
            .collect();
        if mapped.is_empty() {
            out.push(wire::IpAddress {
                internal: ipv4(*address),
                public: None,
            });
        }
        out.extend(mapped.iter().map(|p| wire::IpAddress {
            internal: ipv4(*address),
            public: Some(ipv4(p.address)),
        }));
    }
    out
}

pub async fn delete(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let (server, job) =
        domain::delete(app, call.principal(), &account, call.param("serverId")).await?;
    reply(
        StatusCode::ACCEPTED,
        &wire::ServerOperation {
            server: server.id.to_lowercase(),
            is_queued: true,
            links: vec![status_link(&account.alias, &job)],
            error_message: None,
        },
    )
}

/// The guest administrator's user name and password: the one place the API returns a password.
pub async fn credentials(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let server = find(app, call, &account).await?;
    let password = servers::password(app.store.reader(), &server.id)
        .await?
        .ok_or_else(|| domain::not_found(&server.id))?;
    let user_name = app
        .catalog
        .template(&server.dc, &server.template)
        .map_or("root", |t| t.admin_user());
    reply(
        StatusCode::OK,
        &wire::Credentials {
            user_name: user_name.into(),
            password,
        },
    )
}
