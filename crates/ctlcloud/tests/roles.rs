//! The role matrix over HTTP: for every role and every route the router knows (implemented or
//! not), the call is allowed or refused with 403 as the role's description says, and the links of
//! what a role may read list exactly the verbs it may use. The expectations here are written from
//! the roles' descriptions, independently of the server's own rule table.

mod common;

use common::{create_user, links, status_href, Options, Server, Session, TempDir};
use ctlcloud::http::endpoints::ENDPOINTS;
use ctlcloud::http::router::{self, Endpoint, Method};
use reqwest::Method as M;
use serde_json::Value;

const ROLES: [&str; 8] = [
    "AccountAdmin",
    "AccountViewer",
    "ServerAdmin",
    "ServerOperator",
    "NetworkManager",
    "SecurityManager",
    "BillingManager",
    "DNSManager",
];

/// What part of the cloud an endpoint touches, read from its path.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Area {
    Login,
    Account,
    Webhooks,
    Billing,
    Credentials,
    Power,
    Policies,
    Networks,
    Firewall,
    Servers,
}

fn area(path: &str) -> Area {
    let lower = path.to_ascii_lowercase();
    let last = path.rsplit('/').next().unwrap_or_default();
    const POWER: [&str; 9] = [
        "pause",
        "powerOff",
        "powerOn",
        "reboot",
        "reset",
        "shutDown",
        "startMaintenance",
        "stopMaintenance",
        "setMaintenance",
    ];
    if path == "/v2/authentication/login" {
        Area::Login
    } else if lower.contains("billing") || lower.starts_with("/v2/invoice") {
        Area::Billing
    } else if last == "credentials" {
        Area::Credentials
    } else if path.starts_with("/v2/operations/{accountAlias}/servers/") && POWER.contains(&last) {
        Area::Power
    } else if ["alertpolic", "antiaffinitypolic", "autoscalepolic"]
        .iter()
        .any(|p| lower.contains(p))
    {
        Area::Policies
    } else if lower.contains("firewallpolicies") || lower.starts_with("/ips/") {
        Area::Firewall
    } else if lower.starts_with("/v2-experimental/networks")
        || lower.contains("publicipaddresses")
        || lower.contains("loadbalancer")
        || lower.contains("sitetositevpn")
    {
        Area::Networks
    } else if lower.starts_with("/v2/webhooks") {
        Area::Webhooks
    } else if lower.starts_with("/v2/accounts/")
        || lower.starts_with("/v2/datacenters/")
        || lower.contains("/status/")
        || path == "/v1/datacenters"
    {
        Area::Account
    } else {
        Area::Servers
    }
}

/// Whether a role may call an endpoint, from the roles' descriptions.
fn may(role: &str, method: Method, path: &str) -> bool {
    use Area::*;
    let read = method == Method::Get;
    let area = area(path);
    if area == Login || role == "AccountAdmin" {
        return true;
    }
    // Everyone reads the account, its data centers, the queue and the webhook settings.
    if read && matches!(area, Account | Webhooks) {
        return true;
    }
    match role {
        "AccountViewer" => read && area != Credentials,
        "ServerAdmin" => match area {
            Servers | Credentials | Power | Policies => true,
            Networks | Firewall => read,
            _ => false,
        },
        "ServerOperator" => match area {
            Credentials | Power => true,
            Servers | Policies | Networks | Firewall => read,
            _ => false,
        },
        "NetworkManager" => match area {
            Networks | Firewall => true,
            Servers | Policies => read,
            _ => false,
        },
        "SecurityManager" => match area {
            Firewall | Webhooks => true,
            Servers | Policies | Networks => read,
            _ => false,
        },
        "BillingManager" => area == Billing,
        "DNSManager" => read && matches!(area, Networks | Firewall),
        _ => false,
    }
}

/// The ids the requests use: real ones for reads (so that their links can be compared), ones
/// that exist nowhere for writes (so that an allowed write changes nothing).
struct Ids {
    server: String,
    group: String,
    network: String,
    status: String,
}

fn path_for(e: &Endpoint, ids: &Ids) -> String {
    let read = e.method == Method::Get;
    e.path
        .split('/')
        .map(|s| match s {
            "{accountAlias}" | "{sourceAccountAlias}" => "DEMO".to_owned(),
            "{dataCenter}" => "WA1".to_owned(),
            "{serverId}" if read => ids.server.clone(),
            "{groupId}" if read => ids.group.clone(),
            "{networkId}" if read => ids.network.clone(),
            "{serverId}" => "WA1DEMONONE99".to_owned(),
            "{groupId}" | "{networkId}" => "0123456789abcdef0123456789abcdef".to_owned(),
            "{statusId}" | "{operationId}" => ids.status.clone(),
            s if s.starts_with('{') => "x1".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn reqwest_method(m: Method) -> M {
    M::from_bytes(m.as_str().as_bytes()).unwrap()
}

/// Checks that a role's links are the admin's links with exactly the verbs the role may use.
fn check_links(role: &str, what: &str, admin: &Value, mine: &Value) {
    let mine = links(mine);
    for (rel, href, verbs) in links(admin) {
        let listed = verbs.clone().unwrap_or_else(|| vec!["GET".to_owned()]);
        let expected: Vec<String> = listed
            .into_iter()
            .filter(|v| {
                let method = Method::parse(&M::from_bytes(v.as_bytes()).unwrap()).unwrap();
                let path = href.split('?').next().unwrap();
                match router::route(method, path) {
                    Ok(m) => may(role, method, m.endpoint.path),
                    Err(_) => true,
                }
            })
            .collect();
        let found = mine.iter().find(|(r, h, _)| *r == rel && *h == href);
        match found {
            None => assert!(
                expected.is_empty(),
                "{what}: link {rel} {href} is missing; it may use {expected:?}"
            ),
            Some((_, _, got)) => {
                assert!(
                    !expected.is_empty(),
                    "{what}: link {rel} {href} should be gone"
                );
                let got = got.clone().unwrap_or_else(|| vec!["GET".to_owned()]);
                assert_eq!(got, expected, "{what}: verbs of {rel} {href}");
            }
        }
    }
}

#[tokio::test]
async fn every_role_on_every_route_is_allowed_or_refused_as_described() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    let (status, created) = s.post("/v2/servers/DEMO", s.server_body("web").await).await;
    assert_eq!(status, 202, "{created}");
    let status_path = status_href(&created);
    s.wait(&status_path).await;
    // Every route is called, writes included: restarted with builds that take ten minutes, the
    // work they queue never runs during the test, so every role sees the same state.
    let token = s.token.clone();
    s.server.kill();
    let slow = Options {
        delay_ms: 600_000,
        ..Default::default()
    };
    let s = Session {
        server: Server::start(&dir.0, &slow),
        token,
        alias: "DEMO".into(),
    };
    let (_, caps) = s
        .get("/v2/datacenters/DEMO/WA1/deploymentCapabilities")
        .await;
    let ids = Ids {
        server: "WA1DEMOWEB01".into(),
        group: s.group_id("Default Group").await,
        network: caps["deployableNetworks"][0]["networkId"]
            .as_str()
            .unwrap()
            .to_owned(),
        status: status_path.rsplit('/').next().unwrap().to_owned(),
    };

    for role in ROLES {
        let username = format!("user-{}", role.to_lowercase());
        create_user(&dir.0, "DEMO", &username, &[role], "R0le-Passw0rd");
        let token = s.server.login(&username, "R0le-Passw0rd").await;
        let (_, login) = s
            .server
            .call(
                M::POST,
                "/v2/authentication/login",
                None,
                Some(serde_json::json!({"username": username, "password": "R0le-Passw0rd"})),
            )
            .await;
        assert_eq!(
            login["roles"],
            serde_json::json!([role]),
            "login returns the roles"
        );

        for e in ENDPOINTS {
            let path = path_for(e, &ids);
            let (status, body) = s
                .server
                .call(reqwest_method(e.method), &path, Some(&token), None)
                .await;
            let what = format!("{role}: {} {path} ({})", e.method.as_str(), e.name);
            if may(role, e.method, e.path) {
                assert_ne!(status, 403, "{what} was refused: {body}");
                assert!(
                    (200..600).contains(&status) && status != 401,
                    "{what}: {status} {body}"
                );
            } else {
                assert_eq!(status, 403, "{what} was allowed: {body}");
                let message = body["message"].as_str().unwrap_or_default();
                // Rows sharing a method and path (the PATCH variants) answer as the first.
                let routed = router::route(e.method, &path).unwrap().endpoint;
                let needed = ctlcloud::access::rules::required(e);
                let Some(ctlcloud::access::rules::Need::Permission(p)) = needed else {
                    panic!("{what}: refused without a permission");
                };
                assert!(
                    message.contains(p.name())
                        && message.contains(routed.name)
                        && message.contains(role),
                    "{what}: the refusal names the operation, the permission and the role: {message}"
                );
            }
            if e.method == Method::Get && status == 200 && role != "AccountAdmin" {
                // Work queued by earlier calls (a network claim) may end between two reads:
                // compare the role's read with the admin's reads around it when those agree.
                for attempt in 0.. {
                    let (_, before) = s.get(&path).await;
                    let (_, mine) = s
                        .server
                        .call(reqwest_method(e.method), &path, Some(&token), None)
                        .await;
                    let (_, after) = s.get(&path).await;
                    if before == after || attempt == 5 {
                        check_links(role, &what, &after, &mine);
                        break;
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_role_change_applies_from_the_next_request() {
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;
    create_user(&dir.0, "DEMO", "olga", &["ServerOperator"], "0lga-Passw0rd");
    let token = s.server.login("olga", "0lga-Passw0rd").await;
    let body = s.server_body("olga").await;
    let (status, _) = s
        .server
        .call(
            M::POST,
            "/v2/servers/DEMO",
            Some(&token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 403);
    common::admin(
        &dir.0,
        &[
            "user",
            "set-roles",
            "--username",
            "olga",
            "--role",
            "ServerAdmin",
        ],
        None,
    );
    let (status, created) = s
        .server
        .call(M::POST, "/v2/servers/DEMO", Some(&token), Some(body))
        .await;
    assert_eq!(status, 202, "{created}");
    s.wait(&status_href(&created)).await;
    // The server records who built it.
    let (_, server) = s.get("/v2/servers/DEMO/WA1DEMOOLGA01").await;
    assert_eq!(server["changeInfo"]["createdBy"], "olga");
}

#[test]
fn readme_role_table_matches_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("<!-- roles:begin -->\n")
        .expect("README has the role table markers")
        + "<!-- roles:begin -->\n".len();
    let end = readme.find("<!-- roles:end -->").unwrap();
    assert_eq!(
        &readme[start..end],
        ctlcloud::access::roles_table(),
        "README's role table is stale: replace it with the output of `ctlcloud roles`"
    );
}
