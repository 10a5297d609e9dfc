//! Handlers, one module per resource of the API. Each reads its request through
//! [`crate::http::Call`], asks `crate::domain` to act, and answers with the shapes of `crate::wire`.

mod accounts;
mod alert_policies;
pub mod answers;
mod authentication;
mod datacenters;
mod group_actions;
mod group_defaults;
mod groups;
mod log_forwarding;
mod networks;
mod operations;
mod public_ips;
mod queue;
mod secondary_networks;
mod server_changes;
mod servers;
mod snapshots;

use axum::response::Response;

use crate::access::Role;
use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::http::router::Op;
use crate::http::Call;
use crate::model::{Account, Principal};

/// Runs the handler of an operation.
pub async fn dispatch(op: Op, app: &App, call: &Call) -> ApiResult<Response> {
    match op {
        Op::Login => authentication::login(app, call).await,
        Op::ListAlertPolicies => alert_policies::list(app, call).await,
        Op::GetAlertPolicy => alert_policies::get(app, call).await,
        Op::CreateAlertPolicy => alert_policies::create(app, call).await,
        Op::UpdateAlertPolicy => alert_policies::update(app, call).await,
        Op::DeleteAlertPolicy => alert_policies::delete(app, call).await,
        Op::AttachAlertPolicy => alert_policies::attach(app, call).await,
        Op::DetachAlertPolicy => alert_policies::detach(app, call).await,
        Op::GetAccount => accounts::get(app, call).await,
        Op::GetCustomFields => accounts::custom_fields(app, call).await,
        Op::ListDataCenters => datacenters::list(app, call).await,
        Op::GetDataCenter => datacenters::get(app, call).await,
        Op::GetDeploymentCapabilities => datacenters::deployment_capabilities(app, call).await,
        Op::GetBareMetalCapabilities => datacenters::bare_metal_capabilities(app, call).await,
        Op::GetGroup => groups::get(app, call).await,
        Op::CreateGroup => groups::create(app, call).await,
        Op::PatchGroup => groups::patch(app, call).await,
        Op::DeleteGroup => group_actions::delete(app, call).await,
        Op::ArchiveGroup => group_actions::archive(app, call).await,
        Op::RestoreGroup => group_actions::restore(app, call).await,
        Op::GetGroupDefaults => group_defaults::get(app, call).await,
        Op::SetGroupDefaults => group_defaults::set(app, call).await,
        Op::GetServer => servers::get(app, call).await,
        Op::CreateServer => servers::create(app, call).await,
        Op::DeleteServer => servers::delete(app, call).await,
        Op::GetServerCredentials => servers::credentials(app, call).await,
        Op::OperateServers => operations::operate(app, call).await,
        Op::SetMaintenance => operations::set_maintenance(app, call).await,
        Op::RestoreServer => operations::restore(app, call).await,
        Op::CreateSnapshot => snapshots::create(app, call).await,
        Op::DeleteSnapshot => snapshots::delete(app, call).await,
        Op::RevertSnapshot => snapshots::revert(app, call).await,
        Op::PatchServer => server_changes::patch(app, call).await,
        Op::GetServerCapabilities => server_changes::capabilities(app, call).await,
        Op::AddSecondaryNetwork => secondary_networks::add(app, call).await,
        Op::RemoveSecondaryNetwork => secondary_networks::remove(app, call).await,
        Op::AddPublicIp => public_ips::add(app, call).await,
        Op::GetPublicIp => public_ips::get(app, call).await,
        Op::UpdatePublicIp => public_ips::update(app, call).await,
        Op::RemovePublicIp => public_ips::remove(app, call).await,
        Op::GetStatus => queue::status(app, call).await,
        Op::GetExperimentalStatus => queue::experimental_status(app, call).await,
        Op::ListNetworks => networks::list(app, call).await,
        Op::GetNetwork => networks::get(app, call).await,
        Op::ListIpAddresses => networks::ip_addresses(app, call).await,
        Op::ClaimNetwork => networks::claim(app, call).await,
        Op::UpdateNetwork => networks::update(app, call).await,
        Op::ReleaseNetwork => networks::release(app, call).await,
        Op::GetLogForwarding => log_forwarding::get(app, call).await,
        Op::UpdateLogForwarding => log_forwarding::update(app, call).await,
    }
}

/// The account named by the path's alias, if the caller may act on it: their own account, or, for
/// an AccountAdmin, any account below it. Any other alias, existing or not, answers the same 404,
/// so that nothing about other accounts (a parent or a sibling included) leaks.
async fn account(app: &App, call: &Call) -> ApiResult<Account> {
    let alias = call.param("accountAlias");
    reachable(app, call.principal(), alias)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Account {alias} was not found.")))
}

/// The account with this alias if the principal may act on it.
async fn reachable(app: &App, principal: &Principal, alias: &str) -> ApiResult<Option<Account>> {
    if principal.account.alias.eq_ignore_ascii_case(alias) {
        return Ok(Some(principal.account.clone()));
    }
    if !principal
        .roles
        .iter()
        .any(|r| Role::parse(r) == Some(Role::AccountAdmin))
    {
        return Ok(None);
    }
    Ok(crate::store::accounts::within(app.store.reader(), principal.account.id, alias).await?)
}

/// A data center of the catalog named in the path, with its canonical id.
fn datacenter<'a>(app: &'a App, call: &Call) -> ApiResult<&'a crate::catalog::DataCenter> {
    let dc = call.param("dataCenter");
    app.catalog
        .datacenter(dc)
        .ok_or_else(|| ApiError::not_found(format!("Data center {dc} was not found.")))
}

/// Custom field values as a server or group shows them: with each field's name, and the option
/// name as `displayValue`.
fn custom_field_values(
    defs: &[crate::model::CustomFieldDef],
    values: &[crate::model::CustomFieldValue],
) -> Vec<crate::wire::CustomFieldValue> {
    values
        .iter()
        .map(|v| {
            let (name, display_value) = crate::domain::custom_fields::display_value(defs, v);
            crate::wire::CustomFieldValue {
                id: v.id.clone(),
                name,
                value: v.value.clone(),
                display_value,
            }
        })
        .collect()
}
