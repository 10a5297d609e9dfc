//! Data centers: the list, one data center with its root group, and what can be deployed there.

use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::catalog::OsFamily;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{reply, Call};
use crate::store::{groups, networks};
use crate::wire::{self, Link};

fn self_link(alias: &str, dc: &str) -> Link {
    Link::new("self", format!("/v2/datacenters/{alias}/{dc}"))
}

pub async fn list(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let body: Vec<wire::DataCenter> = app
        .catalog
        .datacenters
        .iter()
        .map(|dc| wire::DataCenter {
            id: dc.id.clone(),
            name: dc.name.clone(),
            links: vec![self_link(&account.alias, &dc.id)],
        })
        .collect();
    reply(StatusCode::OK, &body)
}

/// One data center. The root group link is always included: clients find the group tree through
/// it whether or not they ask for `groupLinks`.
pub async fn get(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    call.query_bool("groupLinks")?;
    let root = groups::root(app.store.reader(), account.id, &dc.id)
        .await?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "account {} has no root group in {}",
                account.alias, dc.id
            ))
        })?;
    let alias = &account.alias;
    let id = &dc.id;
    let links = vec![
        self_link(alias, id),
        Link::new("group", format!("/v2/groups/{alias}/{}", root.id))
            .id(root.id.clone())
            .name(root.name.clone()),
        Link::new(
            "deploymentCapabilities",
            format!("/v2/datacenters/{alias}/{id}/deploymentCapabilities"),
        ),
        Link::new(
            "bareMetalCapabilities",
            format!("/v2/datacenters/{alias}/{id}/bareMetalCapabilities"),
        ),
    ];
    reply(
        StatusCode::OK,
        &wire::DataCenter {
            id: dc.id.clone(),
            name: dc.name.clone(),
            links,
        },
    )
}

pub async fn deployment_capabilities(app: &App, call: &Call) -> ApiResult<Response> {
    let account = super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let deployable_networks = networks::list(app.store.reader(), account.id, &dc.id)
        .await?
        .into_iter()
        .map(|n| wire::DeployableNetwork {
            name: n.name,
            network_id: n.id,
            kind: "private",
            account_id: account.alias.clone(),
        })
        .collect();
    let templates = app
        .catalog
        .templates_in(&dc.id)
        .map(|t| wire::Template {
            name: t.name.clone(),
            description: t.description.clone(),
            storage_size_gb: t.storage_gb(),
            capabilities: t.capabilities.clone(),
            reserved_drive_paths: app.catalog.family(t.family).reserved_drive_paths.clone(),
            drive_path_length: (t.family == OsFamily::Windows).then_some(1),
        })
        .collect();
    reply(
        StatusCode::OK,
        &wire::DeploymentCapabilities {
            supports_premium_storage: true,
            supports_shared_load_balancer: true,
            supports_bare_metal_servers: dc.bare_metal,
            deployable_networks,
            templates,
            importable_os_types: Vec::new(),
        },
    )
}

pub async fn bare_metal_capabilities(app: &App, call: &Call) -> ApiResult<Response> {
    super::account(app, call).await?;
    let dc = super::datacenter(app, call)?;
    let catalog = &app.catalog;
    let body = if dc.bare_metal {
        wire::BareMetalCapabilities {
            skus: catalog
                .bare_metal_skus
                .iter()
                .map(|s| wire::BareMetalSku {
                    id: s.id.clone(),
                    hourly_rate: s.hourly_rate,
                    availability: s.availability.clone(),
                    memory: s
                        .memory_gb
                        .iter()
                        .map(|gb| wire::Capacity { capacity_gb: *gb })
                        .collect(),
                    processor: wire::Processor {
                        cores_per_socket: s.cores_per_socket,
                        description: s.processor.clone(),
                        sockets: s.sockets,
                    },
                    storage: s
                        .storage
                        .iter()
                        .map(|d| wire::BareMetalDisk {
                            capacity_gb: d.capacity_gb,
                            speed_rpm: d.speed_rpm,
                            kind: "Hdd",
                        })
                        .collect(),
                })
                .collect(),
            operating_systems: catalog
                .bare_metal_os
                .iter()
                .map(|o| wire::BareMetalOs {
                    kind: o.os_type.clone(),
                    description: o.description.clone(),
                    hourly_rate_per_socket: o.hourly_rate_per_socket,
                })
                .collect(),
        }
    } else {
        wire::BareMetalCapabilities {
            skus: Vec::new(),
            operating_systems: Vec::new(),
        }
    };
    reply(StatusCode::OK, &body)
}
