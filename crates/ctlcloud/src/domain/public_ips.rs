//! Public IP addresses of servers: what they open (ports, source ranges), the private address they
//! are NATed to, and the jobs that add, change and remove them. An address is allocated from its
//! data center's pool when the request is accepted and shown once the job adding it succeeds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{ipv4, parse_ipv4, Account, Job, JobKind, Port, Principal, PublicIp};
use crate::model::{PublicIpSettings, Server};
use crate::store::{public_ips, servers};

use super::server_changes::{changeable, queue};
use super::servers::not_found;

/// What a request asks of a public IP address; the private address defaults to the server's
/// first (on creation) or the current one (on update).
#[derive(Debug)]
pub struct Requested {
    pub internal: Option<u32>,
    pub ports: Vec<Port>,
    pub source_restrictions: Vec<String>,
}

/// The payload of the jobs on a public IP address.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpJob {
    #[serde(rename = "publicIP")]
    pub public_ip: String,
    /// The settings an update puts in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<PublicIpSettings>,
}

impl PublicIpJob {
    /// The job's address.
    pub fn address(&self) -> Option<u32> {
        parse_ipv4(&self.public_ip)
    }
}

/// Reads `ports: [{protocol, port, portTo?}]`: TCP, UDP or ICMP in any case, ports 0 to 65535, a
/// range ending above its start. ICMP has no ports and is kept as port 0.
pub fn parse_ports(items: &[&Value]) -> ApiResult<Vec<Port>> {
    let invalid = |m: String| ApiError::invalid("ports", m);
    if items.is_empty() {
        return Err(invalid("ports lists at least one {protocol, port}.".into()));
    }
    items
        .iter()
        .map(|item| {
            let f = Fields::of(item)
                .map_err(|_| invalid("Each port is an object {protocol, port, portTo}.".into()))?;
            let protocol = f
                .str("protocol")
                .map_err(|e| invalid(e.message))?
                .map(|p| p.to_ascii_uppercase())
                .ok_or_else(|| invalid("Each port needs a protocol: TCP, UDP or ICMP.".into()))?;
            match protocol.as_str() {
                "ICMP" => {
                    return Ok(Port {
                        protocol,
                        port: 0,
                        port_to: None,
                    })
                }
                "TCP" | "UDP" => {}
                other => {
                    return Err(invalid(format!(
                        "A protocol is TCP, UDP or ICMP, not '{other}'."
                    )))
                }
            }
            let number = |name: &str| {
                f.int_in(name, 0..=65535)
                    .map_err(|_| invalid(format!("{name} is a port number from 0 to 65535.")))
            };
            let port = number("port")?
                .ok_or_else(|| invalid(format!("A {protocol} port needs a port number.")))?;
            let port_to = number("portTo")?;
            if let Some(to) = port_to.filter(|to| *to <= port) {
                return Err(invalid(format!(
                    "The range {port}-{to} must end above its first port."
                )));
            }
            Ok(Port {
                protocol,
                port,
                port_to,
            })
        })
        .collect()
}

/// Reads `sourceRestrictions: [{cidr}]` as canonical IPv4 CIDR text.
pub fn parse_source_restrictions(items: &[&Value]) -> ApiResult<Vec<String>> {
    items
        .iter()
        .map(|item| {
            let text = Fields::of(item)
                .ok()
                .and_then(|f| f.str("cidr").ok().flatten())
                .unwrap_or_default();
            parse_cidr(&text).ok_or_else(|| {
                ApiError::invalid(
                    "sourceRestrictions",
                    format!("'{text}' is not an IPv4 CIDR such as 70.100.60.0/24; each source restriction is {{cidr}}."),
                )
            })
        })
        .collect()
}

fn parse_cidr(text: &str) -> Option<String> {
    let (address, prefix) = text.trim().split_once('/')?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    Some(format!("{}/{prefix}", ipv4(parse_ipv4(address)?)))
}

/// The settings a request puts in place on a server: the private address must be one the server
/// shows; without one, `default` (or else the server's first address).
fn settings(
    server: &Server,
    requested: Requested,
    default: Option<u32>,
) -> ApiResult<PublicIpSettings> {
    let internal = match requested.internal {
        Some(a) if server.addresses.contains(&a) => a,
        Some(a) => {
            return Err(ApiError::invalid(
                "internalIPAddress",
                format!("{} is not an address of server {}.", ipv4(a), server.id),
            ))
        }
        None => default
            .or_else(|| server.addresses.first().copied())
            .ok_or_else(|| {
                ApiError::conflict(format!("Server {} has no private address.", server.id))
            })?,
    };
    Ok(PublicIpSettings {
        internal,
        ports: requested.ports,
        source_restrictions: requested.source_restrictions,
    })
}

/// A public IP address the server shows (not one still being added); 404 otherwise.
async fn shown(
    conn: impl Into<crate::store::db::Exec<'_>>,
    server: &Server,
    ip: &str,
) -> ApiResult<PublicIp> {
    let missing = || {
        ApiError::not_found(format!(
            "Server {} has no public IP address {ip}.",
            server.id
        ))
    };
    let address = parse_ipv4(ip).ok_or_else(missing)?;
    public_ips::get(conn, &server.id, address)
        .await?
        .filter(|p| !p.pending)
        .ok_or_else(missing)
}

/// One public IP address of a server, for reading.
pub async fn get(app: &App, account: &Account, server_id: &str, ip: &str) -> ApiResult<PublicIp> {
    let pool = app.store.reader();
    let server = servers::get(pool, account.id, server_id)
        .await?
        .ok_or_else(|| not_found(server_id))?;
    shown(pool, &server, ip).await
}

/// Accepts a new public IP address for a server: allocates it and queues the job adding it.
pub async fn add(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    requested: Requested,
) -> ApiResult<Job> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let server = changeable(&mut tx, account, server_id).await?;
    let settings = settings(&server, requested, None)?;
    let address = public_ips::allocate(&mut tx, account.id, &server.dc, &server.id, &settings, now)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(format!(
                "No public IP address is left in data center {}.",
                server.dc
            ))
        })?;
    let payload = PublicIpJob {
        public_ip: ipv4(address),
        settings: None,
    };
    queue(app, tx, who, &server, JobKind::AddPublicIp, payload).await
}

/// Accepts new settings for a public IP address (a full replacement).
pub async fn update(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    ip: &str,
    requested: Requested,
) -> ApiResult<Job> {
    let mut tx = app.store.write().await?;
    let server = changeable(&mut tx, account, server_id).await?;
    let current = shown(&mut tx, &server, ip).await?;
    let settings = settings(&server, requested, Some(current.settings.internal))?;
    let payload = PublicIpJob {
        public_ip: ipv4(current.address),
        settings: Some(settings),
    };
    queue(app, tx, who, &server, JobKind::UpdatePublicIp, payload).await
}

/// Accepts the removal of a public IP address; it returns to the pool when the job succeeds.
pub async fn remove(
    app: &App,
    who: &Principal,
    account: &Account,
    server_id: &str,
    ip: &str,
) -> ApiResult<Job> {
    let mut tx = app.store.write().await?;
    let server = changeable(&mut tx, account, server_id).await?;
    let current = shown(&mut tx, &server, ip).await?;
    let payload = PublicIpJob {
        public_ip: ipv4(current.address),
        settings: None,
    };
    queue(app, tx, who, &server, JobKind::RemovePublicIp, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_and_cidrs_are_checked_and_canonical() {
        let items = json!([{"protocol": "tcp", "port": "80"}, {"Protocol": "UDP", "port": 10, "portTo": 20},
                           {"protocol": "icmp"}]);
        let items: Vec<&Value> = items.as_array().unwrap().iter().collect();
        let ports = parse_ports(&items).unwrap();
        assert_eq!(
            ports[0],
            Port {
                protocol: "TCP".into(),
                port: 80,
                port_to: None
            }
        );
        assert_eq!(ports[1].port_to, Some(20));
        assert_eq!(
            ports[2],
            Port {
                protocol: "ICMP".into(),
                port: 0,
                port_to: None
            }
        );
        for bad in [
            json!([]),
            json!([{"protocol": "sctp", "port": 1}]),
            json!([{"port": 1}]),
            json!([{"protocol": "tcp"}]),
            json!([{"protocol": "tcp", "port": 65536}]),
            json!([{"protocol": "tcp", "port": -1}]),
            json!([{"protocol": "tcp", "port": 80, "portTo": 80}]),
            json!([{"protocol": "tcp", "port": "http"}]),
            json!(["tcp/80"]),
        ] {
            let items: Vec<&Value> = bad.as_array().unwrap().iter().collect();
            let err = parse_ports(&items).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("ports"), "{bad}");
        }
        assert_eq!(
            parse_cidr(" 70.100.60.140/32").as_deref(),
            Some("70.100.60.140/32")
        );
        for bad in ["70.100.60.140", "70.100.60.0/33", "300.1.1.1/8", "x/8", ""] {
            assert_eq!(parse_cidr(bad), None, "{bad}");
        }
    }
}
