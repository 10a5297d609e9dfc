//! `ctlcloud admin`: manage accounts, users, networks and custom field definitions in a data
//! directory, also while the server runs (SQLite lets both processes use the file; writes take
//! turns).

use std::io::BufRead;
use std::path::Path;

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::domain::{accounts as domain, custom_fields, passwords};
use crate::store::{accounts, users, Store};

/// One admin command.
pub enum Command {
    CreateAccount {
        alias: String,
        name: String,
        parent: Option<String>,
        primary_dc: Option<String>,
    },
    CreateUser {
        account: String,
        username: String,
        roles: Vec<String>,
        password_stdin: bool,
    },
    SetPassword {
        username: String,
        password_stdin: bool,
    },
    DisableUser {
        username: String,
    },
    CreateCustomField {
        account: String,
        name: String,
        kind: String,
        required: bool,
        /// `NAME=VALUE` each.
        options: Vec<String>,
    },
    ListCustomFields {
        account: String,
    },
    CreateNetwork {
        account: String,
        dc: String,
    },
}

/// Splits `NAME=VALUE` at the first `=`.
fn option(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or(format!("an option is NAME=VALUE, not '{text}'"))
}

async fn account(store: &Store, alias: &str) -> Result<crate::model::Account, String> {
    accounts::by_alias(store.reader(), alias)
        .await
        .map_err(|e| e.to_string())?
        .ok_or(format!("there is no account {alias}"))
}

/// Reads one line from standard input as a password.
fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    passwords::check_strength(&password)?;
    Ok(password)
}

/// A password from standard input, or a generated one that is printed once.
fn password(from_stdin: bool) -> Result<(String, bool), String> {
    if from_stdin {
        Ok((read_password()?, false))
    } else {
        Ok((crate::ids::new_password(), true))
    }
}

pub async fn run(
    data_dir: &Path,
    database_url: Option<&str>,
    catalog: &Catalog,
    command: Command,
) -> Result<(), String> {
    let store = crate::serve::open_store(data_dir, database_url).await?;
    let now = Clock::default().now();
    let result = async {
        let mut tx = store.write().await.map_err(|e| e.to_string())?;
        match command {
            Command::CreateAccount {
                alias,
                name,
                parent,
                primary_dc,
            } => {
                let parent = match parent {
                    Some(p) => Some(account(&store, &p).await?),
                    None => None,
                };
                let dc = primary_dc
                    .or_else(|| parent.as_ref().map(|p| p.primary_dc.clone()))
                    .unwrap_or_else(|| catalog.datacenters[0].id.clone());
                let account = domain::create_account(
                    &mut tx,
                    catalog,
                    domain::NewAccount {
                        alias: &alias,
                        name: &name,
                        parent: parent.as_ref(),
                        primary_dc: &dc,
                    },
                    now,
                    "admin",
                )
                .await
                .map_err(|e| e.message)?;
                tx.commit().await.map_err(|e| e.to_string())?;
                println!(
                    "created account {} ({}), primary data center {}",
                    account.alias, account.name, account.primary_dc
                );
            }
            Command::CreateUser {
                account,
                username,
                roles,
                password_stdin,
            } => {
                let account = self::account(&store, &account).await?;
                let roles = if roles.is_empty() {
                    vec!["ServerAdmin".to_owned()]
                } else {
                    roles
                };
                let (password, generated) = password(password_stdin)?;
                let roles =
                    domain::create_user(&mut tx, &account, &username, &password, &roles, now)
                        .await
                        .map_err(|e| e.message)?;
                tx.commit().await.map_err(|e| e.to_string())?;
                println!(
                    "created user {username} in account {} with roles {}",
                    account.alias,
                    roles.join(", ")
                );
                if generated {
                    println!("password: {password}");
                }
            }
            Command::SetPassword {
                username,
                password_stdin,
            } => {
                let (password, generated) = password(password_stdin)?;
                if !users::set_password(&mut tx, &username, &passwords::hash(&password))
                    .await
                    .map_err(|e| e.to_string())?
                {
                    return Err(format!("there is no user {username}"));
                }
                tx.commit().await.map_err(|e| e.to_string())?;
                println!("set the password of {username}; their tokens are revoked");
                if generated {
                    println!("password: {password}");
                }
            }
            Command::DisableUser { username } => {
                if !users::disable(&mut tx, &username)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    return Err(format!("there is no user {username}"));
                }
                tx.commit().await.map_err(|e| e.to_string())?;
                println!("disabled {username}; their tokens are revoked");
            }
            Command::CreateCustomField {
                account: alias,
                name,
                kind,
                required,
                options,
            } => {
                let account = self::account(&store, &alias).await?;
                let options = options
                    .iter()
                    .map(|o| option(o))
                    .collect::<Result<Vec<_>, _>>()?;
                let new = custom_fields::NewDefinition {
                    name,
                    kind,
                    required,
                    options,
                };
                let def = custom_fields::define(&mut tx, &account, new)
                    .await
                    .map_err(|e| e.message)?;
                tx.commit().await.map_err(|e| e.to_string())?;
                println!(
                    "created custom field {} ({}, {}) in account {} with id {}",
                    def.name,
                    def.kind,
                    if def.is_required {
                        "required"
                    } else {
                        "optional"
                    },
                    account.alias,
                    def.id
                );
            }
            Command::CreateNetwork { account: alias, dc } => {
                let account = self::account(&store, &alias).await?;
                let dc = catalog
                    .datacenter(&dc)
                    .ok_or(format!("there is no data center {dc}"))?;
                let network = domain::create_network(&mut tx, &account, &dc.id)
                    .await
                    .map_err(|e| e.message)?;
                tx.commit().await.map_err(|e| e.to_string())?;
                println!(
                    "created network {} ({}) for account {} in {}",
                    network.id,
                    network.cidr(),
                    account.alias,
                    network.dc
                );
            }
            Command::ListCustomFields { account: alias } => {
                let account = self::account(&store, &alias).await?;
                let defs = accounts::custom_fields(store.reader(), account.id)
                    .await
                    .map_err(|e| e.to_string())?;
                for d in defs {
                    let options: Vec<String> =
                        d.options.iter().map(|(n, v)| format!("{n}={v}")).collect();
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        d.id,
                        d.name,
                        d.kind,
                        if d.is_required {
                            "required"
                        } else {
                            "optional"
                        },
                        options.join(",")
                    );
                }
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
