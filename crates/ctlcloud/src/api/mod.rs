//! Handlers, one module per resource of the API. Each reads its request through
//! [`crate::http::Call`], asks `crate::domain` to act, and answers with the shapes of `crate::wire`.

mod accounts;
mod authentication;
mod datacenters;
mod groups;
mod networks;
mod queue;
mod servers;

use axum::response::Response;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::http::router::Op;
use crate::http::Call;
use crate::model::Account;

/// Runs the handler of an operation.
pub async fn dispatch(op: Op, app: &App, call: &Call) -> ApiResult<Response> {
    match op {
        Op::Login => authentication::login(app, call).await,
        Op::GetAccount => accounts::get(app, call).await,
        Op::GetCustomFields => accounts::custom_fields(app, call).await,
        Op::ListDataCenters => datacenters::list(app, call).await,
        Op::GetDataCenter => datacenters::get(app, call).await,
        Op::GetDeploymentCapabilities => datacenters::deployment_capabilities(app, call).await,
        Op::GetBareMetalCapabilities => datacenters::bare_metal_capabilities(app, call).await,
        Op::GetGroup => groups::get(app, call).await,
        Op::CreateGroup => groups::create(app, call).await,
        Op::GetServer => servers::get(app, call).await,
        Op::CreateServer => servers::create(app, call).await,
        Op::DeleteServer => servers::delete(app, call).await,
        Op::GetServerCredentials => servers::credentials(app, call).await,
        Op::GetStatus => queue::status(app, call).await,
        Op::GetExperimentalStatus => queue::experimental_status(app, call).await,
        Op::ListNetworks => networks::list(app, call).await,
        Op::GetNetwork => networks::get(app, call).await,
    }
}

/// The account named by the path's alias, if the caller may act on it. Any other alias, existing
/// or not, answers the same 404, so that nothing about other accounts leaks.
async fn account(app: &App, call: &Call) -> ApiResult<Account> {
    let alias = call.param("accountAlias");
    let principal = call.principal();
    let not_found = || ApiError::not_found(format!("Account {alias} was not found."));
    if !principal.account_alias.eq_ignore_ascii_case(alias) {
        return Err(not_found());
    }
    // The caller's account was read together with their token.
    match call.account() {
        Some(account) => Ok(account.clone()),
        None => crate::store::accounts::by_alias(app.store.reader(), alias)
            .await?
            .ok_or_else(not_found),
    }
}

/// A data center of the catalog named in the path, with its canonical id.
fn datacenter<'a>(app: &'a App, call: &Call) -> ApiResult<&'a crate::catalog::DataCenter> {
    let dc = call.param("dataCenter");
    app.catalog
        .datacenter(dc)
        .ok_or_else(|| ApiError::not_found(format!("Data center {dc} was not found.")))
}
