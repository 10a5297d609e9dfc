//! Accounts, their users, and logging in.
//!
//! A new account gets, in every data center of the catalog, a root group `<DC> Hardware` with the
//! system groups `Default Group`, `Archive` and `Templates`, and a private /24 network of its own.

use crate::app::App;
use crate::catalog::Catalog;
use crate::http::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{Account, ChangeInfo, Group, Network};
use crate::store::{self, accounts, groups, users, Tx};

use super::passwords;

/// How long a bearer token is valid: two weeks.
pub const TOKEN_LIFETIME_SECS: i64 = 14 * 24 * 3600;

/// The message for a failed login, the same whatever failed.
pub const BAD_CREDENTIALS: &str =
    "We didn't recognize the username or password you entered. Please try again.";

/// Checks an account alias: 2 to 6 letters and digits.
pub fn check_alias(alias: &str) -> Result<String, String> {
    let ok = (2..=6).contains(&alias.len()) && alias.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(alias.to_uppercase())
    } else {
        Err(format!(
            "The account alias '{alias}' must be 2 to 6 letters and digits."
        ))
    }
}

/// What a new account is made of.
pub struct NewAccount<'a> {
    pub alias: &'a str,
    pub name: &'a str,
    pub parent: Option<&'a Account>,
    pub primary_dc: &'a str,
}

/// Creates an account with its groups and networks in every data center.
pub async fn create_account(
    tx: &mut Tx,
    catalog: &Catalog,
    new: NewAccount<'_>,
    now: i64,
    by: &str,
) -> ApiResult<Account> {
    let NewAccount {
        alias,
        name,
        parent,
        primary_dc,
    } = new;
    let alias = check_alias(alias).map_err(|m| ApiError::invalid("alias", m))?;
    let primary_dc = catalog
        .datacenter(primary_dc)
        .ok_or_else(|| {
            ApiError::invalid(
                "primaryDataCenter",
                format!("There is no data center '{primary_dc}'."),
            )
        })?
        .id
        .clone();
    store::lock(tx, store::Lock::AddressSpace).await?;
    let account = accounts::insert(tx, &alias, name, parent.map(|p| p.id), &primary_dc, now)
        .await?
        .ok_or_else(|| ApiError::conflict(format!("The account alias {alias} is taken.")))?;
    // Every data center's root group and its three system groups, in one statement.
    let change = ChangeInfo::new(now, by);
    let mut groups = Vec::with_capacity(catalog.datacenters.len() * 4);
    for dc in &catalog.datacenters {
        let root = Group {
            id: ids::new_id(),
            account_id: account.id,
            dc: dc.id.clone(),
            parent_id: None,
            name: format!("{} Hardware", dc.id),
            description: format!("{} Hardware", dc.id),
            kind: "default".into(),
            status: "active".into(),
            custom_fields: Vec::new(),
            change: change.clone(),
        };
        groups.push(root.clone());
        for (name, kind) in [
            ("Default Group", "default"),
            ("Archive", "archive"),
            ("Templates", "templates"),
        ] {
            groups.push(Group {
                id: ids::new_id(),
                parent_id: Some(root.id.clone()),
                name: name.into(),
                description: name.into(),
                kind: kind.into(),
                ..root.clone()
            });
        }
    }
    groups::insert(tx, &groups).await?;
    let dcs: Vec<&str> = catalog
        .datacenters
        .iter()
        .map(|dc| dc.id.as_str())
        .collect();
    create_networks(tx, &account, &dcs).await?;
    Ok(account)
}

/// Gives an account new private /24 networks of its own, one per entry of `dcs` (a data center
/// may come more than once), on the next free ranges and VLANs.
pub async fn create_networks(
    tx: &mut Tx,
    account: &Account,
    dcs: &[&str],
) -> ApiResult<Vec<Network>> {
    let wanted: Vec<(&str, String)> = dcs.iter().map(|dc| (*dc, ids::new_id())).collect();
    super::networks::allocate(tx, account.id, &wanted)
        .await?
        .ok_or_else(|| ApiError::conflict("The private address range of the cloud is exhausted."))
}

/// A successful login.
pub struct Session {
    pub username: String,
    pub account_alias: String,
    pub location_alias: String,
    pub roles: Vec<String>,
    pub token: String,
}

/// Checks a username and password and issues a bearer token valid for two weeks.
pub async fn login(app: &App, username: &str, password: &str) -> ApiResult<Session> {
    let record = users::for_login(app.store.reader(), username.trim()).await?;
    let (stored, password_owned) = (
        record
            .as_ref()
            .map(|r| r.password_hash.clone())
            .unwrap_or_else(|| passwords::DECOY.clone()),
        password.to_owned(),
    );
    // argon2 is deliberately slow: keep it off the threads that serve requests.
    let matches = tokio::task::spawn_blocking(move || passwords::verify(&password_owned, &stored))
        .await
        .map_err(ApiError::internal)?;
    let record = match record {
        Some(r) if matches && !r.disabled => r,
        _ => return Err(ApiError::bad_request(BAD_CREDENTIALS)),
    };
    let token = ids::new_token();
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    users::insert_token(
        &mut tx,
        &ids::token_hash(&token),
        record.user_id,
        now,
        now + TOKEN_LIFETIME_SECS,
    )
    .await?;
    tx.commit().await?;
    Ok(Session {
        username: record.username,
        account_alias: record.account_alias,
        location_alias: record.primary_dc,
        roles: record.roles,
        token,
    })
}
