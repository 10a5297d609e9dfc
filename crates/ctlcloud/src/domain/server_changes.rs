//! Changing a built server (PATCH). A request is a batch of members validated together: if one is
//! refused, nothing changes. Description, group and custom fields change at once; cpu, memory,
//! disks and the guest password need the driver and change when the batch's job runs. Every batch
//! answers one status link: its job, already succeeded when nothing needed the driver.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::catalog::Catalog;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{Account, Job, JobKind, Principal, Server};
use crate::store::{accounts, groups, jobs, servers, Tx};

use super::disks::{self, RequestedDisk};
use super::{custom_fields, servers::not_found};

/// A PATCH batch as read from the request; absent members stay as they are.
#[derive(Debug, Default)]
pub struct Changes {
    pub cpu: Option<i64>,
    pub memory_gb: Option<i64>,
    pub password: Option<PasswordChange>,
    pub disks: Option<Vec<RequestedDisk>>,
    pub custom_fields: Option<Vec<(String, String)>>,
    pub description: Option<String>,
    pub group_id: Option<String>,
}

/// A guest password change: the current password proves the caller knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub password: String,
}

/// The part of a batch the driver carries out: the payload of its job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<RequestedDisk>>,
}

impl Reconfiguration {
    fn is_empty(&self) -> bool {
        *self == Reconfiguration::default()
    }

    /// The server as the driver is to make it, checked against its state now: `stored_password`
    /// is its current guest password. Checked when the request is accepted and again when the job
    /// runs, since earlier jobs on the server may have changed it in between.
    pub fn target(
        &self,
        catalog: &Catalog,
        server: &Server,
        stored_password: &str,
    ) -> ApiResult<Server> {
        let mut target = server.clone();
        if let Some(change) = &self.password {
            if change.current != stored_password {
                return Err(ApiError::invalid(
                    "password",
                    "The current password given is not the server's password.",
                ));
            }
        }
        if let Some(requested) = &self.disks {
            let template = catalog.template(&server.dc, &server.template).ok_or_else(|| {
                ApiError::conflict(format!(
                    "The template {} of server {} is no longer in the catalog; its disks cannot be changed.",
                    server.template, server.id
                ))
            })?;
            let reserved = &catalog.family(template.family).reserved_drive_paths;
            target.disks = disks::plan(template, reserved, &server.disks, requested)
                .map_err(|m| ApiError::invalid("disks", m))?;
        }
        target.cpu = self.cpu.unwrap_or(server.cpu);
        target.memory_mb = self.memory_mb.unwrap_or(server.memory_mb);
        Ok(target)
    }

    /// The payload to keep once the job has ended: without passwords.
    pub fn without_secrets(&self) -> Reconfiguration {
        Reconfiguration {
            password: None,
            ..self.clone()
        }
    }
}

/// The server named in a request that changes it, read in the request's write transaction: 404 if
/// the account has no such server, 400 unless it is active and not being deleted.
pub(crate) async fn changeable(
    tx: &mut Tx,
    account: &Account,
    server_id: &str,
) -> ApiResult<Server> {
    let server = servers::get(&mut *tx, account.id, server_id)
        .await?
        .ok_or_else(|| not_found(server_id))?;
    if server.status != "active" {
        return Err(ApiError::bad_request(format!(
            "Server {} is {}; only an active server can be changed.",
            server.id, server.status
        )));
    }
    if jobs::open_for_server(tx, &server.id, JobKind::DeleteServer)
        .await?
        .is_some()
    {
        return Err(ApiError::bad_request(format!(
            "Server {} is being deleted.",
            server.id
        )));
    }
    Ok(server)
}

/// Queues a job on a server and commits the transaction that accepted it.
pub(crate) async fn queue(
    app: &App,
    mut tx: Tx,
    who: &Principal,
    server: &Server,
    kind: JobKind,
    payload: impl Serialize,
) -> ApiResult<Job> {
    let job = jobs::insert(
        &mut tx,
        jobs::NewJob {
            account_id: server.account_id,
            dc: &server.dc,
            kind,
            server_id: Some(&server.id),
            payload: serde_json::to_value(payload).map_err(ApiError::internal)?,
            requested_by: &who.username,
            run_after: 0,
        },
        app.clock.now(),
    )
    .await?;
    tx.commit().await?;
    app.wake_workers();
    Ok(job)
}

/// Accepts a PATCH batch: validates it whole, makes the immediate changes, and queues the driver's
/// part, all committed before returning the batch's job.
pub async fn accept(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    changes: Changes,
) -> ApiResult<Job> {
    let custom_fields = match &changes.custom_fields {
        Some(given) => {
            let defs = accounts::custom_fields(app.store.reader(), account.id).await?;
            Some(custom_fields::validate(&defs, given)?)
        }
        None => None,
    };
    let reconfiguration = Reconfiguration {
        cpu: changes.cpu,
        memory_mb: changes.memory_gb.map(|gb| gb * 1024),
        password: changes.password,
        disks: changes.disks,
    };
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut server = changeable(&mut tx, account, server_id).await?;
    let stored_password = servers::password(&mut tx, &server.id)
        .await?
        .unwrap_or_default();
    reconfiguration.target(&app.catalog, &server, &stored_password)?;
    if let Some(group_id) = &changes.group_id {
        let group = groups::get(&mut tx, account.id, group_id)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "groupId",
                    format!("There is no group {group_id} in account {}.", account.alias),
                )
            })?;
        if group.dc != server.dc {
            return Err(ApiError::invalid(
                "groupId",
                format!(
                    "Group {} is in {}; server {} stays in its data center {}.",
                    group.id, group.dc, server.id, server.dc
                ),
            ));
        }
        if group.kind == "archive" {
            return Err(ApiError::invalid(
                "groupId",
                "Servers are not moved into the Archive group; archive them instead.",
            ));
        }
        server.group_id = group.id;
    }
    let immediate =
        changes.group_id.is_some() || changes.description.is_some() || custom_fields.is_some();
    if let Some(description) = changes.description {
        server.description = description;
    }
    if let Some(values) = custom_fields {
        server.custom_fields = values;
    }
    if immediate {
        server.change.modified_at = now;
        server.change.modified_by = who.username.clone();
        servers::save(&mut tx, &server).await?;
    }
    let queued = !reconfiguration.is_empty();
    let job = jobs::NewJob {
        account_id: account.id,
        dc: &server.dc,
        kind: JobKind::ChangeServer,
        server_id: Some(&server.id),
        payload: serde_json::to_value(&reconfiguration).map_err(ApiError::internal)?,
        requested_by: &who.username,
        run_after: 0,
    };
    let job = if queued {
        jobs::insert(&mut tx, job, now).await?
    } else {
        jobs::insert_done(&mut tx, job, now).await?
    };
    tx.commit().await?;
    if queued {
        app.wake_workers();
    }
    Ok(job)
}
