//! What ctlcloud does, in the API's words: accounts and their data centers, logins, groups,
//! servers, the changes made to them, their power and snapshots, secondary networks and public IP
//! addresses. Validation, naming and state changes live here; the wire shapes do not.

pub mod accounts;
pub mod custom_fields;
pub mod disks;
pub mod groups;
pub mod operations;
pub mod passwords;
pub mod power;
pub mod public_ips;
pub mod secondary_networks;
pub mod server_changes;
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
