//! Who may do what: the platform roles, the permissions each grants, and the one decision the HTTP
//! layer asks before any handler runs. Which permission an endpoint needs is in [`rules`]; how the
//! links of a response are trimmed to the caller's permissions is in [`links`].

pub mod audit;
pub mod links;
pub mod rules;
pub mod throttle;

use crate::http::error::ApiError;
use crate::http::router::Endpoint;

/// What a caller may be allowed to do. Every endpoint row needs exactly one of these (or none, for
/// login).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    AccountRead,
    AccountManage,
    ServersRead,
    ServersCredentials,
    ServersPower,
    ServersManage,
    PoliciesManage,
    NetworksRead,
    NetworksManage,
    FirewallManage,
    BillingRead,
    UsersManage,
    AuditRead,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::AccountRead,
        Permission::AccountManage,
        Permission::ServersRead,
        Permission::ServersCredentials,
        Permission::ServersPower,
        Permission::ServersManage,
        Permission::PoliciesManage,
        Permission::NetworksRead,
        Permission::NetworksManage,
        Permission::FirewallManage,
        Permission::BillingRead,
        Permission::UsersManage,
        Permission::AuditRead,
    ];

    /// The name refusals and the README use.
    pub fn name(self) -> &'static str {
        match self {
            Permission::AccountRead => "account.read",
            Permission::AccountManage => "account.manage",
            Permission::ServersRead => "servers.read",
            Permission::ServersCredentials => "servers.credentials",
            Permission::ServersPower => "servers.power",
            Permission::ServersManage => "servers.manage",
            Permission::PoliciesManage => "policies.manage",
            Permission::NetworksRead => "networks.read",
            Permission::NetworksManage => "networks.manage",
            Permission::FirewallManage => "firewall.manage",
            Permission::BillingRead => "billing.read",
            Permission::UsersManage => "users.manage",
            Permission::AuditRead => "audit.read",
        }
    }

    /// What the permission covers, for the README's role table.
    pub fn covers(self) -> &'static str {
        match self {
            Permission::AccountRead => "the account, its custom fields and data centers, the queue, webhook settings",
            Permission::AccountManage => "webhooks",
            Permission::ServersRead => "servers, groups, policies, schedules, statistics, database and backup services",
            Permission::ServersCredentials => "a server's guest administrator password",
            Permission::ServersPower => "power operations and maintenance mode",
            Permission::ServersManage => "creating, changing, archiving, restoring, snapshotting and deleting servers and groups",
            Permission::PoliciesManage => "alert, anti-affinity and autoscale policies, and applying them",
            Permission::NetworksRead => "networks, public IPs, firewall policies, load balancers, VPNs, intrusion prevention",
            Permission::NetworksManage => "claiming, changing and releasing networks; public IPs, load balancers, VPNs",
            Permission::FirewallManage => "firewall policies and intrusion prevention",
            Permission::BillingRead => "invoices, pricing and billing estimates",
            Permission::UsersManage => "the admin API: sub-accounts, users, roles, passwords, tokens",
            Permission::AuditRead => "the admin API's audit trail",
        }
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The platform roles of the cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    AccountAdmin,
    AccountViewer,
    ServerAdmin,
    ServerOperator,
    NetworkManager,
    SecurityManager,
    BillingManager,
    DNSManager,
}

use Permission::*;

impl Role {
    pub const ALL: [Role; 8] = [
        Role::AccountAdmin,
        Role::AccountViewer,
        Role::ServerAdmin,
        Role::ServerOperator,
        Role::NetworkManager,
        Role::SecurityManager,
        Role::BillingManager,
        Role::DNSManager,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::AccountAdmin => "AccountAdmin",
            Role::AccountViewer => "AccountViewer",
            Role::ServerAdmin => "ServerAdmin",
            Role::ServerOperator => "ServerOperator",
            Role::NetworkManager => "NetworkManager",
            Role::SecurityManager => "SecurityManager",
            Role::BillingManager => "BillingManager",
            Role::DNSManager => "DNSManager",
        }
    }

    /// A role named in any case.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The role table: what each role may do.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::AccountAdmin => &Permission::ALL,
            Role::AccountViewer => &[AccountRead, ServersRead, NetworksRead, BillingRead],
            Role::ServerAdmin => &[
                AccountRead,
                ServersRead,
                ServersCredentials,
                ServersPower,
                ServersManage,
                PoliciesManage,
                NetworksRead,
            ],
            Role::ServerOperator => &[
                AccountRead,
                ServersRead,
                ServersCredentials,
                ServersPower,
                NetworksRead,
            ],
            Role::NetworkManager => &[
                AccountRead,
                ServersRead,
                NetworksRead,
                NetworksManage,
                FirewallManage,
            ],
            Role::SecurityManager => &[
                AccountRead,
                AccountManage,
                ServersRead,
                NetworksRead,
                FirewallManage,
                AuditRead,
            ],
            Role::BillingManager => &[AccountRead, BillingRead],
            // The API has no DNS endpoints: a DNS manager reads the account and its networks.
            Role::DNSManager => &[AccountRead, NetworksRead],
        }
    }
}

/// The permissions a caller holds: the union of their roles'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Grants(u32);

impl Grants {
    pub const ALL: Grants = Grants((1 << Permission::ALL.len()) - 1);

    /// The grants of stored role names; names that are not roles grant nothing.
    pub fn of(roles: &[String]) -> Grants {
        Grants(
            roles
                .iter()
                .filter_map(|r| Role::parse(r))
                .flat_map(|r| r.permissions())
                .fold(0, |bits, p| bits | p.bit()),
        )
    }

    pub fn has(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }
}

/// The roles that grant a permission, for refusal messages.
fn granted_by(p: Permission) -> Vec<&'static str> {
    Role::ALL
        .into_iter()
        .filter(|r| r.permissions().contains(&p))
        .map(Role::name)
        .collect()
}

/// The 403 for a caller without a permission: it names the operation, the permission and the
/// roles that grant it.
pub fn forbidden(operation: &str, p: Permission, roles: &[String]) -> ApiError {
    ApiError::forbidden(format!(
            "Your roles ({}) do not allow {operation}: it requires the permission {}, which the roles {} grant.",
            if roles.is_empty() { "none".to_owned() } else { roles.join(", ") },
            p.name(),
            granted_by(p).join(", ")
    ))
}

/// Decides whether a caller with `roles` may call an endpoint; the grants go on to trim links.
pub fn authorize(endpoint: &Endpoint, roles: &[String]) -> Result<Grants, ApiError> {
    let grants = Grants::of(roles);
    match rules::required(endpoint) {
        Some(rules::Need::Public) => Ok(grants),
        Some(rules::Need::Permission(p)) if grants.has(p) => Ok(grants),
        Some(rules::Need::Permission(p)) => Err(forbidden(endpoint.name, p, roles)),
        // Fails closed; a test keeps every row of the endpoint table covered by a rule.
        None => Err(ApiError::forbidden(format!(
            "{} has no permission assigned; nobody may call it.",
            endpoint.name
        ))),
    }
}

/// The README's role table (`ctlcloud roles`).
pub fn roles_table() -> String {
    let mut out = String::from("| permission | covers |");
    for r in Role::ALL {
        out.push_str(&format!(" {} |", r.name()));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    out.push('\n');
    for p in Permission::ALL {
        out.push_str(&format!("| `{}` | {} |", p.name(), p.covers()));
        for r in Role::ALL {
            out.push_str(if r.permissions().contains(&p) {
                " x |"
            } else {
                " |"
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_the_union_of_roles_and_unknown_names_grant_nothing() {
        let viewer = Grants::of(&["accountviewer".into()]);
        assert!(viewer.has(ServersRead) && !viewer.has(ServersManage));
        let both = Grants::of(&["AccountViewer".into(), "ServerOperator".into()]);
        assert!(both.has(BillingRead) && both.has(ServersPower));
        assert_eq!(Grants::of(&["AccountAdmin".into()]), Grants::ALL);
        assert_eq!(Grants::of(&["root".into()]), Grants(0));
        assert!(Permission::ALL.iter().all(|p| !granted_by(*p).is_empty()));
    }
}
