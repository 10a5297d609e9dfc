//! Per-account caps on what an account may hold, so that one account (or a runaway script) cannot
//! fill the installation. A create that would pass a cap is refused with 409 Conflict, checked
//! inside the create's own transaction.

use crate::http::error::{ApiError, ApiResult};
use crate::model::Account;
use crate::store::{usage, Tx};

/// The caps, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub servers_per_account: i64,
    pub groups_per_account: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            servers_per_account: 1000,
            groups_per_account: 1000,
        }
    }
}

fn refuse(account: &Account, what: &str, cap: i64, option: &str) -> ApiError {
    ApiError::conflict(format!(
        "Account {} already has {cap} {what}, the most this installation allows ({option}).",
        account.alias
    ))
}

/// The refusal of one more server to an account at its cap (counted by the create's own
/// transaction, `super::server_creates`).
pub fn servers_refused(account: &Account, limits: &Limits) -> ApiError {
    let cap = limits.servers_per_account;
    refuse(account, "servers", cap, "--max-servers-per-account")
}

/// Refuses one more group when the account is at its cap.
pub async fn check_groups(tx: &mut Tx, limits: &Limits, account: &Account) -> ApiResult<()> {
    let cap = limits.groups_per_account;
    if usage::groups(tx, account.id).await? >= cap {
        return Err(refuse(account, "groups", cap, "--max-groups-per-account"));
    }
    Ok(())
}
