//! The records ctlcloud keeps, as the rest of the code sees them. The store maps them to rows;
//! `crate::wire` maps them to the API's shapes.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug)]
pub struct Account {
    pub id: i64,
    pub alias: String,
    pub name: String,
    pub parent_alias: Option<String>,
    pub primary_dc: String,
    pub status: String,
    pub created_at: i64,
}

/// An authenticated caller: who, in which account, with which roles.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub account_id: i64,
    pub account_alias: String,
    pub roles: Vec<String>,
}

/// Who created and last changed a record, and when.
#[derive(Clone, Debug, Default)]
pub struct ChangeInfo {
    pub created_at: i64,
    pub created_by: String,
    pub modified_at: i64,
    pub modified_by: String,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub id: String,
    pub account_id: i64,
    pub dc: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub status: String,
    pub custom_fields: Vec<CustomFieldValue>,
    pub change: ChangeInfo,
}

/// A custom field an account defines for its servers and groups.
#[derive(Clone, Debug)]
pub struct CustomFieldDef {
    pub id: String,
    pub name: String,
    pub is_required: bool,
    pub kind: String,
    pub options: Vec<(String, String)>,
}

/// A custom field's value on a server or group.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CustomFieldValue {
    pub id: String,
    pub value: String,
}

#[derive(Clone, Debug)]
pub struct Network {
    pub id: String,
    pub account_id: i64,
    pub dc: String,
    pub name: String,
    pub description: String,
    pub base: u32,
    pub prefix: u8,
    pub vlan: i64,
}

impl Network {
    pub fn cidr(&self) -> String {
        format!("{}/{}", ipv4(self.base), self.prefix)
    }

    pub fn netmask(&self) -> String {
        ipv4(u32::MAX << (32 - u32::from(self.prefix)))
    }

    pub fn gateway(&self) -> String {
        ipv4(self.base + 1)
    }

    /// The first host number servers may be given: the ten hosts after the gateway are kept for
    /// infrastructure, as in the public cloud.
    pub const FIRST_ASSIGNABLE: u32 = 12;

    /// The addresses servers may be given: from `FIRST_ASSIGNABLE` up, and never the broadcast
    /// address.
    pub fn assignable(&self) -> std::ops::RangeInclusive<u32> {
        let size = 1u32 << (32 - u32::from(self.prefix));
        self.base + Self::FIRST_ASSIGNABLE..=self.base + size - 2
    }

    pub fn contains(&self, address: u32) -> bool {
        let mask = u32::MAX << (32 - u32::from(self.prefix));
        address & mask == self.base
    }
}

/// Dotted-quad text for an IPv4 address.
pub fn ipv4(address: u32) -> String {
    std::net::Ipv4Addr::from(address).to_string()
}

/// Parses dotted-quad text.
pub fn parse_ipv4(s: &str) -> Option<u32> {
    s.trim().parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

/// A server's disk.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Disk {
    pub id: String,
    pub size_gb: i64,
    pub paths: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub id: String,
    pub uuid: String,
    pub account_id: i64,
    pub dc: String,
    pub group_id: String,
    pub description: String,
    pub template: String,
    pub cpu: i64,
    pub memory_mb: i64,
    pub server_type: String,
    pub storage_type: String,
    pub managed_os: bool,
    pub managed_backup: bool,
    pub status: String,
    pub power_state: String,
    pub in_maintenance: bool,
    pub disks: Vec<Disk>,
    pub custom_fields: Vec<CustomFieldValue>,
    pub change: ChangeInfo,
    /// Private addresses, in the order they were assigned.
    pub addresses: Vec<u32>,
}

/// The state of queued work, as the queue endpoint reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    NotStarted,
    Executing,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::NotStarted => "notStarted",
            JobStatus::Executing => "executing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> JobStatus {
        match s {
            "executing" => JobStatus::Executing,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            _ => JobStatus::NotStarted,
        }
    }
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    CreateServer,
    DeleteServer,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::CreateServer => "createServer",
            JobKind::DeleteServer => "deleteServer",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        match s {
            "createServer" => Some(JobKind::CreateServer),
            "deleteServer" => Some(JobKind::DeleteServer),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Job {
    pub id: i64,
    pub operation_id: String,
    pub account_id: i64,
    pub dc: String,
    pub kind: String,
    pub server_id: Option<String>,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub error_message: Option<String>,
    pub requested_by: String,
    pub created_at: i64,
    pub run_after: i64,
}

impl Job {
    /// The id clients use for the queue: `<dc lower-case>-<number>`.
    pub fn status_id(&self) -> String {
        format!("{}-{}", self.dc.to_lowercase(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_arithmetic() {
        let n = Network {
            id: String::new(),
            account_id: 1,
            dc: "WA1".into(),
            name: String::new(),
            description: String::new(),
            base: parse_ipv4("10.0.3.0").unwrap(),
            prefix: 24,
            vlan: 103,
        };
        assert_eq!(n.cidr(), "10.0.3.0/24");
        assert_eq!(n.netmask(), "255.255.255.0");
        assert_eq!(n.gateway(), "10.0.3.1");
        assert_eq!(ipv4(*n.assignable().start()), "10.0.3.12");
        assert_eq!(ipv4(*n.assignable().end()), "10.0.3.254");
        assert!(n.contains(parse_ipv4("10.0.3.77").unwrap()));
        assert!(!n.contains(parse_ipv4("10.0.4.77").unwrap()));
    }
}
