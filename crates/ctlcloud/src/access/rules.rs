//! Which permission each row of the endpoint table needs, implemented or not. Rules are keyed by
//! the row's resource and method, with a few paths singled out; the first rule that matches a row
//! decides. A test proves that every row of `http::endpoints` is matched, so an unbuilt operation
//! is refused for the same roles on the day it is built.

use super::Permission::{self, *};
use crate::http::router::{Endpoint, Method};

/// What calling an endpoint requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: no token is needed (login).
    Public,
    Permission(Permission),
}

/// One rule: rows of `resource` with this method (any if `None`) whose path ends with `suffix`
/// (any if `None`).
struct Rule {
    resource: &'static str,
    method: Option<Method>,
    suffix: Option<&'static str>,
    need: Need,
}

const fn reads(resource: &'static str, p: Permission) -> Rule {
    Rule {
        resource,
        method: Some(Method::Get),
        suffix: None,
        need: Need::Permission(p),
    }
}

const fn all(resource: &'static str, p: Permission) -> Rule {
    Rule {
        resource,
        method: None,
        suffix: None,
        need: Need::Permission(p),
    }
}

const fn path(resource: &'static str, method: Method, suffix: &'static str, p: Permission) -> Rule {
    Rule {
        resource,
        method: Some(method),
        suffix: Some(suffix),
        need: Need::Permission(p),
    }
}

#[rustfmt::skip]
const RULES: &[Rule] = &[
    Rule { resource: "Authentication", method: Some(Method::Post), suffix: None, need: Need::Public },
    reads("Data Centers", AccountRead),
    reads("Custom Fields", AccountRead),
    reads("Accounts", AccountRead),
    reads("Queue", AccountRead),
    path("Groups", Method::Get, "/billing", BillingRead),
    reads("Groups", ServersRead),
    all("Groups", ServersManage),
    all("Group Actions", ServersManage),
    path("Servers", Method::Get, "/credentials", ServersCredentials),
    reads("Servers", ServersRead),
    all("Servers", ServersManage),
    all("Power Operations", ServersPower),
    all("Server Actions", ServersManage),
    reads("Networks", NetworksRead),
    all("Networks", NetworksManage),
    reads("Public IP", NetworksRead),
    all("Public IP", NetworksManage),
    reads("Alert Policies", ServersRead),
    all("Alert Policies", PoliciesManage),
    reads("Anti-Affinity Policies", ServersRead),
    all("Anti-Affinity Policies", PoliciesManage),
    reads("Autoscale Policies", ServersRead),
    all("Autoscale Policies", PoliciesManage),
    reads("Billing", BillingRead),
    reads("Firewall", NetworksRead),
    all("Firewall", FirewallManage),
    reads("Shared Load Balancers", NetworksRead),
    all("Shared Load Balancers", NetworksManage),
    reads("Webhooks", AccountRead),
    all("Webhooks", AccountManage),
    reads("Site-to-Site VPN", NetworksRead),
    all("Site-to-Site VPN", NetworksManage),
    all("Instances", ServersManage),
    reads("IPS", NetworksRead),
    all("IPS", FirewallManage),
    reads("Patching", ServersRead),
    reads("LBaaS", NetworksRead),
    all("LBaaS", NetworksManage),
    path("RDBS", Method::Get, "/v1/datacenters", AccountRead),
    path("RDBS", Method::Get, "/billing", BillingRead),
    reads("RDBS", ServersRead),
    all("RDBS", ServersManage),
    reads("Simple Backup", ServersRead),
    all("Simple Backup", ServersManage),
];

/// What an endpoint row needs; `None` for a row no rule covers (refused to everyone).
pub fn required(endpoint: &Endpoint) -> Option<Need> {
    RULES
        .iter()
        .find(|r| {
            r.resource == endpoint.resource
                && r.method.is_none_or(|m| m == endpoint.method)
                && r.suffix.is_none_or(|s| endpoint.path.ends_with(s))
        })
        .map(|r| r.need)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::endpoints::ENDPOINTS;

    #[test]
    fn every_endpoint_row_needs_exactly_what_one_rule_says() {
        for e in ENDPOINTS {
            assert!(
                required(e).is_some(),
                "{} {} ({}) has no permission rule",
                e.method.as_str(),
                e.path,
                e.resource
            );
        }
        // Rows that share a method and path (the PATCH variants) need the same permission, so
        // that routing a link's href finds the right one.
        for a in ENDPOINTS {
            for b in ENDPOINTS {
                if a.method == b.method && a.path == b.path {
                    assert_eq!(required(a), required(b), "{}", a.path);
                }
            }
        }
        let login = ENDPOINTS
            .iter()
            .find(|e| e.path == "/v2/authentication/login");
        assert_eq!(required(login.unwrap()), Some(Need::Public));
        assert_eq!(
            ENDPOINTS
                .iter()
                .filter(|e| required(e) == Some(Need::Public))
                .count(),
            1,
            "only login is public"
        );
    }
}
