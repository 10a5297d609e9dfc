//! Users of an account: their names, roles, passwords and whether they may log in. A password
//! change or a disable revokes the user's tokens in the same transaction, so every node refuses
//! them from the next request on.

use crate::access::Role;
use crate::http::error::{ApiError, ApiResult};
use crate::model::Account;
use crate::store::{users, Tx};

use super::passwords;

/// Reads role names given in any case: each must be a platform role, at least one is given, and
/// repeats count once.
pub fn parse_roles(names: &[String]) -> ApiResult<Vec<Role>> {
    let mut roles = Vec::new();
    for name in names {
        let role = Role::parse(name).ok_or_else(|| {
            ApiError::invalid(
                "roles",
                format!(
                    "'{name}' is not a role; roles are {}.",
                    Role::ALL.map(Role::name).join(", ")
                ),
            )
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(ApiError::invalid("roles", "A user has at least one role."));
    }
    Ok(roles)
}

fn names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.name()).collect()
}

/// Checks a password and hashes it, off the threads that serve requests (argon2 is slow on
/// purpose). Done before a write transaction opens, so the writer never waits for it.
pub async fn hash_password(password: &str) -> ApiResult<String> {
    passwords::check_strength(password).map_err(|m| ApiError::invalid("password", m))?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(ApiError::internal)
}

/// Creates a user with a hashed password; returns their roles.
pub async fn create(
    tx: &mut Tx,
    account: &Account,
    username: &str,
    password_hash: &str,
    roles: &[String],
    now: i64,
    by: &str,
) -> ApiResult<Vec<Role>> {
    let username = username.trim();
    if username.is_empty() || username.len() > 128 || username.contains(char::is_whitespace) {
        return Err(ApiError::invalid(
            "username",
            "A username is 1 to 128 characters without spaces.",
        ));
    }
    let roles = parse_roles(roles)?;
    users::insert(
        tx,
        account.id,
        username,
        password_hash,
        &names(&roles),
        now,
        by,
    )
    .await?
    .ok_or_else(|| ApiError::conflict(format!("The username {username} is taken.")))?;
    Ok(roles)
}

/// Replaces a user's roles; they apply from the user's next request on.
pub async fn set_roles(
    tx: &mut Tx,
    user: &users::User,
    roles: &[String],
    now: i64,
    by: &str,
) -> ApiResult<Vec<Role>> {
    let roles = parse_roles(roles)?;
    users::set_roles(tx, user.id, &names(&roles), now, by).await?;
    Ok(roles)
}

/// Sets a user's password (already hashed) and revokes their tokens.
pub async fn set_password(
    tx: &mut Tx,
    user: &users::User,
    password_hash: &str,
    now: i64,
    by: &str,
) -> ApiResult<()> {
    Ok(users::set_password(tx, user.id, password_hash, now, by).await?)
}

/// Disables (revoking their tokens) or enables a user.
pub async fn set_disabled(
    tx: &mut Tx,
    user: &users::User,
    disabled: bool,
    now: i64,
    by: &str,
) -> ApiResult<()> {
    Ok(users::set_disabled(tx, user.id, disabled, now, by).await?)
}

/// Revokes every token of a user; returns how many were live.
pub async fn revoke_tokens(tx: &mut Tx, user: &users::User, now: i64, by: &str) -> ApiResult<u64> {
    let revoked = users::revoke_tokens(tx, user.id).await?;
    users::touch(tx, user.id, now, by).await?;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_platform_roles_in_any_case_once_each() {
        let roles = parse_roles(&[
            "serveradmin".into(),
            "ServerAdmin".into(),
            "DNSMANAGER".into(),
        ]);
        assert_eq!(roles.unwrap(), [Role::ServerAdmin, Role::DNSManager]);
        assert_eq!(
            parse_roles(&["root".into()]).unwrap_err().field.as_deref(),
            Some("roles")
        );
        assert!(parse_roles(&[]).is_err());
    }
}
