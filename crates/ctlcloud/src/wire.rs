//! The API's shapes on the wire, with its exact casing. Nothing here is stored; `crate::api`
//! builds these from the records in `crate::model`.

use std::borrow::Cow;

use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

use crate::access::links;

/// A link of the links framework. `verbs` absent means GET only. A response writes its links
/// through `access::links::shown`, which trims them to what the caller may do.
#[derive(Clone, Debug, Serialize)]
pub struct Link {
    pub rel: &'static str,
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verbs: Option<Vec<&'static str>>,
}

impl Link {
    pub fn new(rel: &'static str, href: String) -> Link {
        Link {
            rel,
            href,
            id: None,
            name: None,
            verbs: None,
        }
    }

    pub fn id(mut self, id: impl Into<String>) -> Link {
        self.id = Some(id.into());
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> Link {
        self.name = Some(name.into());
        self
    }

    pub fn verbs(mut self, verbs: &[&'static str]) -> Link {
        self.verbs = Some(verbs.to_vec());
        self
    }
}

/// A group's links: its own, then a `server` link for each server directly in it, written as the
/// answer is written rather than made into [`Link`]s first: a group may hold a million servers,
/// and a `Link` each (about 170 bytes with its href) would outweigh the answer itself.
#[derive(Debug)]
pub struct GroupLinks {
    pub own: Vec<Link>,
    /// `/v2/servers/{alias}/`, the start of each server's href.
    pub server_prefix: String,
    /// The ids (names) of the servers, in the order they are listed.
    pub servers: Vec<String>,
}

impl Serialize for GroupLinks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Trimmed to what the caller may do (see `access::links`): the servers' links all lead
        // to the same endpoint, so one of them decides for all.
        let (own, servers): (Vec<Cow<'_, Link>>, &[String]) = match links::current() {
            None => (self.own.iter().map(Cow::Borrowed).collect(), &self.servers),
            Some(grants) => {
                let own = self.own.iter().filter_map(|l| links::trimmed(l, grants));
                let servers_shown = self.servers.first().is_some_and(|id| {
                    links::may_get(
                        grants,
                        &ServerHref(&ServerLink {
                            prefix: &self.server_prefix,
                            id,
                        })
                        .to_string(),
                    )
                });
                let servers: &[String] = if servers_shown { &self.servers } else { &[] };
                (own.map(Cow::Owned).collect(), servers)
            }
        };
        let mut seq = serializer.serialize_seq(Some(own.len() + servers.len()))?;
        for link in &own {
            seq.serialize_element(link.as_ref())?;
        }
        for id in servers {
            seq.serialize_element(&ServerLink {
                prefix: &self.server_prefix,
                id,
            })?;
        }
        seq.end()
    }
}

/// A server's link in its group: `{"rel": "server", "href": prefix + id in lower case, "id": id}`,
/// as [`Link`] would write it.
struct ServerLink<'a> {
    prefix: &'a str,
    id: &'a str,
}

impl Serialize for ServerLink<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut link = serializer.serialize_struct("Link", 3)?;
        link.serialize_field("rel", "server")?;
        link.serialize_field("href", &ServerHref(self))?;
        link.serialize_field("id", self.id)?;
        link.end()
    }
}

struct ServerHref<'a>(&'a ServerLink<'a>);

impl Serialize for ServerHref<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for ServerHref<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Server names are ASCII (`check_name`).
        f.write_str(self.0.prefix)?;
        f.write_str(&self.0.id.to_ascii_lowercase())
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeInfo {
    pub created_date: String,
    pub created_by: String,
    pub modified_date: String,
    pub modified_by: String,
}

impl From<&crate::model::ChangeInfo> for ChangeInfo {
    fn from(c: &crate::model::ChangeInfo) -> Self {
        ChangeInfo {
            created_date: crate::clock::format_utc(c.created_at),
            created_by: c.created_by.clone(),
            modified_date: crate::clock::format_utc(c.modified_at),
            modified_by: c.modified_by.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub user_name: String,
    pub account_alias: String,
    pub location_alias: String,
    pub roles: Vec<String>,
    pub bearer_token: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_alias: String,
    pub parent_alias: Option<String>,
    pub primary_data_center: String,
    pub business_name: String,
    pub status: String,
    pub is_managed: bool,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldDef {
    pub id: String,
    pub name: String,
    pub is_required: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub options: Vec<CustomFieldOption>,
}

impl From<crate::model::CustomFieldDef> for CustomFieldDef {
    fn from(d: crate::model::CustomFieldDef) -> Self {
        CustomFieldDef {
            id: d.id,
            name: d.name,
            is_required: d.is_required,
            kind: d.kind,
            options: d
                .options
                .into_iter()
                .map(|(name, value)| CustomFieldOption { name, value })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CustomFieldOption {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldValue {
    pub id: String,
    pub name: String,
    pub value: String,
    pub display_value: String,
}

#[derive(Debug, Serialize)]
pub struct DataCenter {
    pub id: String,
    pub name: String,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCapabilities {
    pub supports_premium_storage: bool,
    pub supports_shared_load_balancer: bool,
    pub supports_bare_metal_servers: bool,
    pub deployable_networks: Vec<DeployableNetwork>,
    pub templates: Vec<Template>,
    #[serde(rename = "importableOSTypes")]
    pub importable_os_types: Vec<ImportableOsType>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployableNetwork {
    pub name: String,
    pub network_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "accountID")]
    pub account_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub name: String,
    pub description: String,
    #[serde(rename = "storageSizeGB")]
    pub storage_size_gb: i64,
    pub capabilities: Vec<String>,
    pub reserved_drive_paths: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drive_path_length: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportableOsType {
    pub id: i64,
    pub description: String,
    pub lab_product_code: String,
    pub premium_product_code: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BareMetalCapabilities {
    pub skus: Vec<BareMetalSku>,
    pub operating_systems: Vec<BareMetalOs>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BareMetalSku {
    pub id: String,
    pub hourly_rate: f64,
    pub availability: String,
    pub memory: Vec<Capacity>,
    pub processor: Processor,
    pub storage: Vec<BareMetalDisk>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    #[serde(rename = "capacityGB")]
    pub capacity_gb: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Processor {
    pub cores_per_socket: u32,
    pub description: String,
    pub sockets: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BareMetalDisk {
    #[serde(rename = "capacityGB")]
    pub capacity_gb: u32,
    pub speed_rpm: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BareMetalOs {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub hourly_rate_per_socket: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub location_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub servers_count: i64,
    pub groups: Vec<Group>,
    pub links: GroupLinks,
    pub change_info: ChangeInfo,
    pub custom_fields: Vec<CustomFieldValue>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    pub id: String,
    pub name: String,
    pub description: String,
    pub group_id: String,
    pub is_template: bool,
    pub location_id: String,
    pub os_type: String,
    pub os: String,
    pub status: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub storage_type: String,
    #[serde(rename = "isManagedOS", skip_serializing_if = "std::ops::Not::not")]
    pub is_managed_os: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_managed_backup: bool,
    pub details: ServerDetails,
    pub change_info: ChangeInfo,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerDetails {
    pub ip_addresses: Vec<IpAddress>,
    pub alert_policies: Vec<ServerAlertPolicy>,
    pub cpu: i64,
    pub disk_count: i64,
    pub host_name: String,
    pub in_maintenance_mode: bool,
    #[serde(rename = "memoryMB")]
    pub memory_mb: i64,
    pub power_state: String,
    #[serde(rename = "storageGB")]
    pub storage_gb: i64,
    pub disks: Vec<Disk>,
    pub partitions: Vec<Partition>,
    pub snapshots: Vec<Snapshot>,
    pub custom_fields: Vec<CustomFieldValue>,
}

#[derive(Debug, Serialize)]
pub struct IpAddress {
    pub internal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    pub id: String,
    #[serde(rename = "sizeGB")]
    pub size_gb: i64,
    pub partition_paths: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Partition {
    #[serde(rename = "sizeGB")]
    pub size_gb: f64,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub name: String,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub user_name: String,
    pub password: String,
}

/// Queued work on one server (the contract's shape A).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerOperation {
    pub server: String,
    pub is_queued: bool,
    /// Absent from entries that were not queued.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentalStatus {
    pub request_type: &'static str,
    pub status: &'static str,
    pub summary: ExperimentalSummary,
    pub source: ExperimentalSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentalSummary {
    pub blueprint_id: i64,
    pub location_id: String,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentalSource {
    pub user_name: String,
    pub requested_at: String,
}

#[derive(Debug, Serialize)]
pub struct Network {
    pub id: String,
    pub cidr: String,
    pub description: String,
    pub gateway: String,
    pub name: String,
    pub netmask: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub vlan: i64,
    #[serde(rename = "ipAddresses", skip_serializing_if = "Option::is_none")]
    pub ip_addresses: Option<Vec<NetworkAddress>>,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
pub struct NetworkAddress {
    pub address: String,
    pub claimed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// Queued work in the experimental API's style (the contract's shape C).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentalOperation {
    pub operation_id: String,
    pub uri: String,
}

/// What can be changed on a server, and how (undocumented; the Python SDK reads these three).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerCapabilities {
    pub reserved_drive_paths: Vec<String>,
    pub adding_cpu_requires_reboot: bool,
    pub adding_memory_requires_reboot: bool,
}

/// A public IP address of a server.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpAddress {
    #[serde(rename = "internalIPAddress")]
    pub internal_ip_address: String,
    pub ports: Vec<PublicIpPort>,
    pub source_restrictions: Vec<SourceRestriction>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpPort {
    pub protocol: String,
    pub port: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_to: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct SourceRestriction {
    pub cidr: String,
}

/// One group default: its value, if set on the group or an ancestor, and whether it is inherited.
#[derive(Debug, Serialize)]
pub struct GroupDefault<T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<T>,
    pub inherited: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDefaults {
    pub cpu: GroupDefault<i64>,
    #[serde(rename = "memoryGB")]
    pub memory_gb: GroupDefault<i64>,
    /// `memoryGB` again: the Python SDK's `Server.Create` looks its default memory up under this
    /// key, and falls back to it when no memory is given.
    pub memory: GroupDefault<i64>,
    pub network_id: GroupDefault<String>,
    pub primary_dns: GroupDefault<String>,
    pub secondary_dns: GroupDefault<String>,
    pub template_name: GroupDefault<String>,
}

/// Queued work on a group that is not a bare status link (group restore).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOperation {
    pub is_queued: bool,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogForwarding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// The answer to a log forwarding update.
#[derive(Debug, Serialize)]
pub struct LogForwardingUpdate {
    #[serde(rename = "operationID")]
    pub operation_id: String,
    pub status: &'static str,
}

/// An alert policy applied to a server, as the server's details list it.
#[derive(Debug, Serialize)]
pub struct ServerAlertPolicy {
    pub id: String,
    pub name: String,
    #[serde(serialize_with = "links::shown")]
    pub links: Vec<Link>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Shown {
        #[serde(serialize_with = "links::shown")]
        links: Vec<Link>,
    }

    /// A group's server links are written exactly as the same links made into [`Link`]s, for
    /// every caller: trimmed the same way for one whose roles trim links.
    #[test]
    fn group_links_are_written_as_links() {
        let own = || {
            vec![
                Link::new("self", "/v2/groups/DEMO/g1".into()).verbs(&["GET", "PATCH", "DELETE"]),
                Link::new("createServer", "/v2/servers/DEMO".into()).verbs(&["POST"]),
            ]
        };
        let servers = vec!["WA1DEMOWEB01".to_owned(), "wa1demodb02".to_owned()];
        let group_links = GroupLinks {
            own: own(),
            server_prefix: "/v2/servers/DEMO/".into(),
            servers: servers.clone(),
        };
        let mut links = own();
        links.extend(servers.iter().map(|s| {
            Link::new("server", format!("/v2/servers/DEMO/{}", s.to_lowercase())).id(s.clone())
        }));
        let shown = Shown { links };
        for roles in [
            &["AccountAdmin"][..],
            &["ServerOperator"],
            &["BillingManager"],
        ] {
            let grants =
                crate::access::Grants::of(&roles.iter().map(|r| r.to_string()).collect::<Vec<_>>());
            let (written, expected) = links::as_caller(grants, || {
                let written = serde_json::to_string(&group_links).unwrap();
                let expected = serde_json::to_string(&shown).unwrap();
                let expected = expected["{\"links\":".len()..expected.len() - 1].to_owned();
                (written, expected)
            });
            assert_eq!(written, expected, "{roles:?}");
        }
        let operator = crate::access::Grants::of(&["ServerOperator".to_owned()]);
        let written = links::as_caller(operator, || serde_json::to_value(&group_links).unwrap());
        assert_eq!(written.as_array().unwrap().len(), 3, "{written}");
        assert_eq!(written[0]["verbs"], serde_json::json!(["GET"]), "{written}");
        let billing = crate::access::Grants::of(&["BillingManager".to_owned()]);
        let written = links::as_caller(billing, || serde_json::to_value(&group_links).unwrap());
        assert_eq!(written, serde_json::json!([]));
        let value = serde_json::to_value(GroupLinks {
            own: Vec::new(),
            server_prefix: "/v2/servers/DEMO/".into(),
            servers,
        })
        .unwrap();
        assert_eq!(
            value[0],
            serde_json::json!({"rel": "server", "href": "/v2/servers/DEMO/wa1demoweb01", "id": "WA1DEMOWEB01"})
        );
    }
}
