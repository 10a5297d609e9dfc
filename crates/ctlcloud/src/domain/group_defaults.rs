//! Group defaults: the cpu, memory, network, DNS servers and template a group sets for servers
//! created in it. A group without its own value for a default inherits its nearest ancestor's.

use crate::store::Tx;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{parse_ipv4, Account, Group, GroupDefaults, Principal};
use crate::store::{self, group_defaults, groups, networks};

use super::groups::find;

/// One default as a group sees it: its value, if any group of the lineage sets it, and whether
/// that value comes from an ancestor.
#[derive(Clone, Debug, PartialEq)]
pub struct Inherited<T> {
    pub value: Option<T>,
    pub inherited: bool,
}

/// Every default of a group, resolved through its ancestors.
#[derive(Clone, Debug, PartialEq)]
pub struct Effective {
    pub cpu: Inherited<i64>,
    pub memory_gb: Inherited<i64>,
    pub network_id: Inherited<String>,
    pub primary_dns: Inherited<String>,
    pub secondary_dns: Inherited<String>,
    pub template_name: Inherited<String>,
}

/// The first value along the lineage (the group itself first).
fn pick<'a, T: Clone + 'a>(
    lineage: impl IntoIterator<Item = &'a GroupDefaults>,
    field: impl Fn(&GroupDefaults) -> &Option<T>,
) -> Inherited<T> {
    lineage
        .into_iter()
        .enumerate()
        .find_map(|(depth, d)| {
            field(d).clone().map(|value| Inherited {
                value: Some(value),
                inherited: depth > 0,
            })
        })
        .unwrap_or(Inherited {
            value: None,
            inherited: false,
        })
}

/// Resolves the defaults of a group through its ancestors, given its lineage
/// (`store::groups::lineage`).
pub fn resolve(lineage: &[(Group, GroupDefaults)]) -> Effective {
    let defaults = || lineage.iter().map(|(_, d)| d);
    Effective {
        cpu: pick(defaults(), |d| &d.cpu),
        memory_gb: pick(defaults(), |d| &d.memory_gb),
        network_id: pick(defaults(), |d| &d.network_id),
        primary_dns: pick(defaults(), |d| &d.primary_dns),
        secondary_dns: pick(defaults(), |d| &d.secondary_dns),
        template_name: pick(defaults(), |d| &d.template_name),
    }
}

/// Resolves the defaults of a group of the account through its ancestors.
pub async fn effective(
    conn: &mut Tx,
    account_id: i64,
    group_id: &str,
) -> store::StoreResult<Effective> {
    let lineage = groups::lineage(conn, account_id, group_id).await?;
    Ok(resolve(&lineage))
}

/// The defaults of the group named in a path.
pub async fn get(app: &App, account: &Account, id: &str) -> ApiResult<Effective> {
    let mut conn = app.store.read().await?;
    let group = find(&mut conn, account, id).await?;
    Ok(effective(&mut conn, account.id, &group.id).await?)
}

/// Sets the defaults given (the others stay as they were) and answers the group's defaults.
/// Values are checked against the group's data center: the network must be the account's there
/// and the template offered there.
pub async fn set(
    app: &App,
    who: &Principal,
    account: &Account,
    id: &str,
    given: GroupDefaults,
) -> ApiResult<Effective> {
    for (field, dns) in [
        ("primaryDns", &given.primary_dns),
        ("secondaryDns", &given.secondary_dns),
    ] {
        if let Some(dns) = dns {
            if parse_ipv4(dns).is_none() {
                return Err(ApiError::invalid(
                    field,
                    format!("{field} must be an IPv4 address, not '{dns}'."),
                ));
            }
        }
    }
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut group = find(&mut tx, account, id).await?;
    let mut own = group_defaults::get(&mut tx, &group.id).await?;
    if let Some(network_id) = given.network_id {
        let network = networks::get(&mut tx, account.id, &group.dc, &network_id)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "networkId",
                    format!(
                        "There is no network {network_id} of account {} in {}.",
                        account.alias, group.dc
                    ),
                )
            })?;
        own.network_id = Some(network.id);
    }
    if let Some(name) = given.template_name {
        let template = app.catalog.template(&group.dc, &name).ok_or_else(|| {
            ApiError::invalid(
                "templateName",
                format!("There is no template {name} in data center {}.", group.dc),
            )
        })?;
        own.template_name = Some(template.name.clone());
    }
    own.cpu = given.cpu.or(own.cpu);
    own.memory_gb = given.memory_gb.or(own.memory_gb);
    own.primary_dns = given.primary_dns.or(own.primary_dns);
    own.secondary_dns = given.secondary_dns.or(own.secondary_dns);
    group_defaults::put(&mut tx, &group.id, &own).await?;
    group.change.touch(now, &who.username);
    groups::update(&mut tx, &group).await?;
    let effective = effective(&mut tx, account.id, &group.id).await?;
    tx.commit().await?;
    Ok(effective)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_group_that_sets_a_value_wins() {
        let own = GroupDefaults {
            cpu: Some(2),
            ..Default::default()
        };
        let parent = GroupDefaults {
            cpu: Some(4),
            memory_gb: Some(8),
            ..Default::default()
        };
        let lineage = [own, parent];
        assert_eq!(
            pick(&lineage, |d| &d.cpu),
            Inherited {
                value: Some(2),
                inherited: false
            }
        );
        assert_eq!(
            pick(&lineage, |d| &d.memory_gb),
            Inherited {
                value: Some(8),
                inherited: true
            }
        );
        assert_eq!(
            pick(&lineage, |d| &d.network_id),
            Inherited {
                value: None,
                inherited: false
            }
        );
    }
}
