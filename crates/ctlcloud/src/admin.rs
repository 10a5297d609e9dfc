//! `ctlcloud admin`: manage accounts and users in a data directory, also while the server runs
//! (SQLite lets both processes use the file; writes take turns).

use std::io::BufRead;
use std::path::Path;

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::domain::{accounts as domain, passwords};
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
    /// Bulk servers and networks for benchmarks (`crate::seed`).
    Seed(crate::seed::Seed),
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

pub async fn run(data_dir: &Path, catalog: &Catalog, command: Command) -> Result<(), String> {
    let store = Store::open(&crate::serve::database_path(data_dir))
        .await
        .map_err(|e| e.to_string())?;
    let now = Clock::default().now();
    if let Command::Seed(seed) = command {
        // Seeding writes in many transactions of its own.
        let result = crate::seed::run(&store, catalog, seed, now).await;
        store.close().await;
        print!("{}", result?);
        return Ok(());
    }
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
                    Some(p) => Some(
                        accounts::by_alias(store.reader(), &p)
                            .await
                            .map_err(|e| e.to_string())?
                            .ok_or(format!("there is no account {p}"))?,
                    ),
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
                let account = accounts::by_alias(store.reader(), &account)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or(format!("there is no account {account}"))?;
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
            Command::Seed(_) => unreachable!("seeding is handled above"),
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
