//! What ctlcloud does, in the API's words: accounts and their data centers, logins, groups,
//! What ctlcloud does, in the API's words: accounts and their data centers, logins, groups,
//! networks and servers, the changes made to them, their power and snapshots, secondary networks
//! and public IP addresses. Validation, naming and state changes live here; the wire shapes do not.

pub mod accounts;
pub mod custom_fields;
pub mod disks;
pub mod group_actions;
pub mod group_defaults;
pub mod group_patch;
pub mod groups;
pub mod networks;
pub mod operations;
pub mod packages;
pub mod passwords;
pub mod power;
pub mod public_ips;
pub mod secondary_networks;
pub mod server_changes;
pub mod server_source;
pub mod servers;
pub mod snapshots;

/// The platform roles of the cloud.
pub const ROLES: &[&str] = &[
    "AccountAdmin",
    "AccountViewer",
    "ServerAdmin",
    "ServerOperator",
    "NetworkManager",
    "SecurityManager",
    "BillingManager",
    "DNSManager",
];

/// The canonical spelling of a role name given in any case.
pub fn role(name: &str) -> Option<&'static str> {
    ROLES
        .iter()
        .copied()
        .find(|r| r.eq_ignore_ascii_case(name.trim()))
}
