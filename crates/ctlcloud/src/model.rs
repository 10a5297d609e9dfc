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
    /// Whether the account defines custom fields: read with the account (with the token, for the
    /// caller's own), so that a create in an account without any reads no definitions.
    pub has_custom_fields: bool,
}

/// An authenticated caller: who, in which account, with which roles.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    /// The user's own account, read with the token.
    pub account: Account,
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

impl ChangeInfo {
    /// A record created (and so last modified) now by `by`.
    pub fn new(now: i64, by: &str) -> ChangeInfo {
        ChangeInfo {
            created_at: now,
            created_by: by.to_owned(),
            modified_at: now,
            modified_by: by.to_owned(),
        }
    }

    /// Stamps the record as modified now by `by`.
    pub fn touch(&mut self, now: i64, by: &str) {
        self.modified_at = now;
        self.modified_by = by.to_owned();
    }
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

impl Group {
    /// The data center's root group (`<DC> Hardware`).
    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }

    /// `Archive` and `Templates`: groups ctlcloud keeps for itself.
    pub fn is_system(&self) -> bool {
        self.kind != "default"
    }

    pub fn is_archived(&self) -> bool {
        self.status == "archived"
    }
}

/// What a group sets for the servers created in it. `None` means "inherit from the parent".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupDefaults {
    pub cpu: Option<i64>,
    pub memory_gb: Option<i64>,
    pub network_id: Option<String>,
    pub primary_dns: Option<String>,
    pub secondary_dns: Option<String>,
    pub template_name: Option<String>,
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

    /// How many addresses can be handed out.
    pub fn capacity(&self) -> i64 {
        let range = self.assignable();
        i64::from(*range.end()) - i64::from(*range.start()) + 1
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

/// A protocol and port (or port range) a public IP address lets through.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Port {
    /// `TCP`, `UDP` or `ICMP`.
    pub protocol: String,
    /// 0 for ICMP.
    pub port: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_to: Option<i64>,
}

/// What a public IP address does: the private address it is NATed to, the ports it opens, and the
/// source ranges (CIDR) allowed to reach them (none: any source).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PublicIpSettings {
    pub internal: u32,
    pub ports: Vec<Port>,
    pub source_restrictions: Vec<String>,
}

/// A public IP address of a server.
#[derive(Clone, Debug)]
pub struct PublicIp {
    pub address: u32,
    pub server_id: String,
    pub settings: PublicIpSettings,
    /// Reserved by an accepted request whose job has not succeeded yet: not shown.
    pub pending: bool,
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
    /// Private addresses: the primary network's first, then one per secondary network adapter.
    pub addresses: Vec<u32>,
    /// What is attached to the server, as read with it.
    pub attached: Attached,
}

/// Whether a server has rows of these kinds attached, read with the server, so that showing one
/// that has none (most servers) reads nothing more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attached {
    pub snapshots: bool,
    /// Public IP addresses, those still being added included.
    pub public_ips: bool,
    pub alert_policies: bool,
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
    /// A power or maintenance-mode operation; the payload names it (`{"operation": "pause"}`).
    PowerOperation,
    ArchiveServer,
    /// Bringing an archived server back; the payload names the target group.
    RestoreServer,
    CreateSnapshot,
    /// Removing a snapshot, asked for by a user or scheduled for its expiry.
    DeleteSnapshot,
    RevertSnapshot,
    /// cpu, memory, disks or password of a server (PATCH).
    ChangeServer,
    AddPublicIp,
    UpdatePublicIp,
    RemovePublicIp,
    AddSecondaryNetwork,
    RemoveSecondaryNetwork,
    /// A server's time to live ran out: queues its deletion.
    ExpireServer,
    DeleteGroup,
    ArchiveGroup,
    RestoreGroup,
    ClaimNetwork,
    UpdateLogForwarding,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::CreateServer => "createServer",
            JobKind::DeleteServer => "deleteServer",
            JobKind::PowerOperation => "powerOperation",
            JobKind::ArchiveServer => "archiveServer",
            JobKind::RestoreServer => "restoreServer",
            JobKind::CreateSnapshot => "createSnapshot",
            JobKind::DeleteSnapshot => "deleteSnapshot",
            JobKind::RevertSnapshot => "revertSnapshot",
            JobKind::ChangeServer => "changeServer",
            JobKind::AddPublicIp => "addPublicIP",
            JobKind::UpdatePublicIp => "updatePublicIP",
            JobKind::RemovePublicIp => "removePublicIP",
            JobKind::AddSecondaryNetwork => "addSecondaryNetwork",
            JobKind::RemoveSecondaryNetwork => "removeSecondaryNetwork",
            JobKind::ExpireServer => "expireServer",
            JobKind::DeleteGroup => "deleteGroup",
            JobKind::ArchiveGroup => "archiveGroup",
            JobKind::RestoreGroup => "restoreGroup",
            JobKind::ClaimNetwork => "claimNetwork",
            JobKind::UpdateLogForwarding => "updateLogForwarding",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        match s {
            "createServer" => Some(JobKind::CreateServer),
            "deleteServer" => Some(JobKind::DeleteServer),
            "powerOperation" => Some(JobKind::PowerOperation),
            "archiveServer" => Some(JobKind::ArchiveServer),
            "restoreServer" => Some(JobKind::RestoreServer),
            "createSnapshot" => Some(JobKind::CreateSnapshot),
            "deleteSnapshot" => Some(JobKind::DeleteSnapshot),
            "revertSnapshot" => Some(JobKind::RevertSnapshot),
            "changeServer" => Some(JobKind::ChangeServer),
            "addPublicIP" => Some(JobKind::AddPublicIp),
            "updatePublicIP" => Some(JobKind::UpdatePublicIp),
            "removePublicIP" => Some(JobKind::RemovePublicIp),
            "addSecondaryNetwork" => Some(JobKind::AddSecondaryNetwork),
            "removeSecondaryNetwork" => Some(JobKind::RemoveSecondaryNetwork),
            "expireServer" => Some(JobKind::ExpireServer),
            "deleteGroup" => Some(JobKind::DeleteGroup),
            "archiveGroup" => Some(JobKind::ArchiveGroup),
            "restoreGroup" => Some(JobKind::RestoreGroup),
            "claimNetwork" => Some(JobKind::ClaimNetwork),
            "updateLogForwarding" => Some(JobKind::UpdateLogForwarding),
            _ => None,
        }
    }
}

/// A server's snapshot: what the server was when it was taken, so that a revert can bring it back.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The small integer in the snapshot's hrefs.
    pub id: i64,
    pub server_id: String,
    pub taken_at: i64,
    pub expires_at: i64,
    pub cpu: i64,
    pub memory_mb: i64,
    pub disks: Vec<Disk>,
    pub power_state: String,
    /// The job deleting it, once a user asked for that.
    pub delete_job: Option<i64>,
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
