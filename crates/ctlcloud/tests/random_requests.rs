//! Random requests to every endpoint of the API: bodies made by mangling valid ones and from
//! random JSON, malformed JSON, wrong content types, random path parameters and random paths. A
//! server must answer each with a status below 500 (or 501 for an operation not built), a JSON
//! body, and a message with every refusal; must go on answering; and must leave what was stored
//! before untouched. Path parameters name a real server, group, network, job and alert policy
//! three times in four; one that requests deleted (or archived) is replaced before the next
//! endpoint's requests, so that they go on reaching past the lookup of what they name.
//!
//! The requests are drawn from a seed, printed with every failure: `CTLCLOUD_TEST_SEED=<seed>`
//! draws the same requests again. Without it each run draws new ones.

mod common;

use common::random::{encode, Leaves, Rng};
use common::*;
use ctlcloud::http::endpoints::ENDPOINTS;
use serde_json::{json, Map, Value};

/// How many requests each endpoint that is built gets.
const PER_ENDPOINT: usize = 40;
/// How many requests go to paths outside the endpoint table.
const STRAY_PATHS: usize = 500;

/// Field names of the API's request bodies, so that random objects reach past the first check.
const FIELDS: &[&str] = &[
    "name",
    "description",
    "groupId",
    "parentGroupId",
    "sourceServerId",
    "cpu",
    "memoryGB",
    "type",
    "storageType",
    "networkId",
    "ipAddress",
    "password",
    "sourceServerPassword",
    "primaryDns",
    "secondaryDns",
    "customFields",
    "additionalDisks",
    "ttl",
    "packages",
    "isManagedOS",
    "isManagedBackup",
    "op",
    "member",
    "value",
    "id",
    "path",
    "sizeGB",
    "disks",
    "ports",
    "protocol",
    "port",
    "portTo",
    "sourceRestrictions",
    "cidr",
    "internalIPAddress",
    "publicIPAddress",
    "snapshotExpirationDays",
    "serverIds",
    "servers",
    "server",
    "username",
    "email",
    "actions",
    "triggers",
    "metric",
    "duration",
    "threshold",
    "settings",
    "templateName",
    "memory",
    "alias",
    "vlan",
    "enabled",
    "status",
    "destinationAccount",
    "source",
    "destination",
    "action",
    "method",
    "persistence",
    "keepOnlyLatest",
];

/// Strings that have broken parsers elsewhere.
const NASTY: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "%",
    "%00",
    "%zz",
    "\u{0}",
    "\u{7f}",
    "é",
    "☃",
    "\u{202e}",
    "\u{fffd}",
    "𝄞",
    "../../etc/passwd",
    "'; DROP TABLE servers; --",
    "\" OR 1=1 --",
    "?",
    "?1",
    "$1",
    "*",
    "\\",
    "/",
    "//",
    "a/b",
    "10.0.0.1",
    "10.0.0.300",
    "255.255.255.255",
    "0.0.0.0/0",
    "10.0.0.0/33",
    "::1",
    "2020-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "WA1",
    "DEMO",
    "demo",
    "Default Group",
    "RHEL-6-64-TEMPLATE",
    "UBUNTU-16-64-TEMPLATE",
    "standard",
    "hyperscale",
    "premium",
    "partitioned",
    "raw",
    "set",
    "add",
    "remove",
    "powerOn",
    "TCP",
    "udp",
    "GET",
];

fn random_string(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=4 => rng.pick(NASTY).to_string(),
        5 => "y".repeat(rng.below(70_000)),
        _ => (0..rng.below(40))
            .map(|_| match rng.below(4) {
                0 => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'),
                1 => char::from(rng.below(128) as u8),
                _ => *rng.pick(&['a', 'Z', '0', '-', '.', '/', '%', ' ', '{', '"']),
            })
            .collect(),
    }
}

fn random_number(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(i64::MAX),
        3 => json!(i64::MIN),
        4 => json!(u64::MAX),
        5 => json!(1e300),
        6 => json!(rng.below(200) as f64 / 7.0),
        _ => json!(rng.below(40)),
    }
}

/// The leaves of random bodies: the API's field names most often, troublesome strings and
/// numbers.
const LEAVES: Leaves = Leaves {
    key: api_key,
    string: random_string,
    number: random_number,
    members: 6,
};

fn api_key(rng: &mut Rng) -> String {
    match rng.chance(85) {
        true => rng.pick(FIELDS).to_string(),
        false => random_string(rng),
    }
}

/// A valid body with some of its values replaced, removed or added to, at any depth.
fn mangle(rng: &mut Rng, value: &Value, depth: usize) -> Value {
    match value {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, v) in fields {
                match rng.below(10) {
                    0 => {}
                    1 | 2 => {
                        out.insert(key.clone(), LEAVES.value(rng, depth + 1));
                    }
                    _ => {
                        out.insert(key.clone(), mangle(rng, v, depth + 1));
                    }
                }
            }
            if rng.chance(20) {
                out.insert(rng.pick(FIELDS).to_string(), LEAVES.value(rng, depth + 1));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                if rng.chance(90) {
                    out.push(mangle(rng, item, depth + 1));
                }
            }
            Value::Array(out)
        }
        _ if rng.chance(15) => LEAVES.value(rng, depth + 1),
        other => other.clone(),
    }
}

/// What a request carries as its body.
enum Body {
    None,
    Json(Value),
    /// Bytes that are not JSON, sent as JSON.
    Broken(Vec<u8>),
    /// JSON sent with another content type.
    Mislabelled(Value),
}

fn random_body(rng: &mut Rng, valid: &[Value]) -> Body {
    match rng.below(20) {
        0 => Body::None,
        1 => {
            let text = serde_json::to_string(rng.pick(valid)).unwrap();
            let cut = rng.below(text.len().max(1));
            Body::Broken(text.as_bytes()[..cut].to_vec())
        }
        2 => Body::Broken(random_string(rng).into_bytes()),
        3 => Body::Mislabelled(rng.pick(valid).clone()),
        4..=11 => {
            let picked = rng.pick(valid).clone();
            Body::Json(mangle(rng, &picked, 0))
        }
        12..=15 => Body::Json(LEAVES.object(rng, 0)),
        16 | 17 => Body::Json(LEAVES.array(rng, 0)),
        _ => Body::Json(LEAVES.value(rng, 0)),
    }
}

/// A random string as a path segment, at most 2,000 characters of it: a longer path is refused
/// by the client before it is sent.
fn random_segment(rng: &mut Rng) -> String {
    encode(&random_string(rng).chars().take(2_000).collect::<String>())
}

/// The ids a path parameter is usually given, so that requests reach past "not found".
struct Known {
    server: String,
    group: String,
    network: String,
    /// A job of the account (the known server's build), for the queue's status.
    status: String,
    /// An alert policy.
    policy: String,
    /// The data center's root group, where a new group is made when the known one is gone.
    root: String,
    /// Servers and groups made so far to stand in for those requests took away.
    made: usize,
}

/// Makes sure the server and group that requests are given exist and take work, making new ones
/// in place of those that requests deleted or archived: otherwise most requests after that would
/// end at their lookup with a 404.
async fn restore(s: &Session, known: &mut Known) {
    let (status, group) = s.get(&format!("/v2/groups/DEMO/{}", known.group)).await;
    if status != 200 || group["status"] != "active" {
        known.made += 1;
        let new = json!({"name": format!("Fuzz {}", known.made), "parentGroupId": known.root});
        let (status, made) = s.post("/v2/groups/DEMO", new).await;
        assert_eq!(status, 201, "{made}");
        known.group = made["id"].as_str().unwrap().to_owned();
    }
    let (status, _) = s
        .get(&format!("/v2/alertPolicies/DEMO/{}", known.policy))
        .await;
    if known.policy.is_empty() || status != 200 {
        let (status, made) = s.post("/v2/alertPolicies/DEMO", policy_body()).await;
        assert_eq!(status, 201, "{made}");
        known.policy = made["id"].as_str().unwrap().to_owned();
    }
    let (status, server) = s.get(&format!("/v2/servers/DEMO/{}", known.server)).await;
    if status != 200 || server["status"] != "active" {
        known.made += 1;
        known.server = s.build_in(&format!("w{}", known.made), &known.group).await;
    }
}

/// An alert policy's body.
fn policy_body() -> Value {
    json!({"name": "p", "actions": [{"action": "email", "settings": {"recipients": ["a@b.c"]}}],
           "triggers": [{"metric": "cpu", "duration": "00:05:00", "threshold": 80}]})
}

/// Valid bodies of the API's requests, naming what is known; requests send them mangled.
fn valid_bodies(known: &Known) -> Vec<Value> {
    vec![
        server_body_in("web", &known.group),
        json!({"name": "Fuzzed", "description": "d", "parentGroupId": known.group}),
        json!([{"op": "set", "member": "cpu", "value": 2}]),
        json!([{"op": "set", "member": "disks", "value": [{"diskId": "0:0", "sizeGB": 2}]}]),
        json!([known.server]),
        json!({"serverIds": [known.server], "snapshotExpirationDays": 3}),
        json!({"ports": [{"protocol": "TCP", "port": 80}], "internalIPAddress": "10.0.0.1",
               "sourceRestrictions": [{"cidr": "10.0.0.0/24"}]}),
        json!({"name": "n", "description": "d", "networkId": known.network}),
        json!({"cpu": 2, "memoryGB": 4, "networkId": known.network, "primaryDns": "8.8.8.8"}),
        policy_body(),
        json!({"id": known.policy}),
        json!({"username": "nobody-here", "password": "not this one"}),
    ]
}

fn fill(rng: &mut Rng, pattern: &str, known: &Known) -> String {
    pattern
        .split('/')
        .map(|segment| {
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                return segment.to_owned();
            };
            if rng.chance(25) {
                return random_segment(rng);
            }
            match name {
                "accountAlias" | "sourceAccountAlias" => "DEMO".into(),
                "dataCenter" => "WA1".into(),
                "serverId" => known.server.clone(),
                "groupId" => known.group.clone(),
                "networkId" => known.network.clone(),
                "statusId" | "operationId" => known.status.clone(),
                "policyId" => known.policy.clone(),
                _ => random_segment(rng),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What was sent, for failure messages.
fn describe(method: &str, path: &str, body: &Body) -> String {
    let body = match body {
        Body::None => "no body".to_owned(),
        Body::Json(v) | Body::Mislabelled(v) => {
            let text = v.to_string();
            text.chars().take(400).collect()
        }
        Body::Broken(bytes) => format!("{} bytes of broken JSON", bytes.len()),
    };
    format!("{method} {} with {body}", &path[..path.len().min(300)])
}

async fn send(
    s: &Session,
    seed: u64,
    method: &str,
    path: &str,
    body: Body,
    may_be_unbuilt: bool,
) -> u16 {
    let sent = describe(method, path, &body);
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = s
        .server
        .http
        .request(method, s.server.url(path))
        .bearer_auth(&s.token);
    request = match body {
        Body::None => request,
        Body::Json(v) => request.json(&v),
        Body::Broken(bytes) => request
            .header("content-type", "application/json")
            .body(bytes),
        Body::Mislabelled(v) => request
            .header("content-type", "text/plain")
            .body(v.to_string()),
    };
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: {sent}: no answer: {e:?}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(
        status < 500 || (status == 501 && may_be_unbuilt),
        "seed {seed}: {sent}: {status} {text}"
    );
    if text.is_empty() {
        return status;
    }
    let answer: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("seed {seed}: {sent}: not JSON ({status}): {text}"));
    if status >= 400 {
        // A message, or (a bulk server operation none of whose servers could be queued) the
        // array of per-server answers, each with its own.
        let said = |v: &Value, key: &str| v[key].as_str().is_some_and(|m| !m.is_empty());
        let explained = match &answer {
            Value::Array(items) => items.iter().all(|item| said(item, "errorMessage")),
            _ => said(&answer, "message"),
        };
        assert!(
            explained,
            "seed {seed}: {sent}: a refusal without a message ({status}): {text}"
        );
    }
    status
}

#[tokio::test]
async fn random_requests_are_answered_with_json_and_change_nothing_stored_before() {
    let (mut rng, seed) = Rng::from_env();
    let dir = TempDir::new();
    let s = Session::start(&dir.0, Options::default()).await;

    // Stored before: a server in a group of its own, which no request names.
    let root = s.group_id("Hardware").await;
    let (status, kept_group) = s
        .post(
            "/v2/groups/DEMO",
            json!({"name": "Kept", "parentGroupId": root}),
        )
        .await;
    assert_eq!(status, 201, "{kept_group}");
    let mut kept_body = server_body_in("keep", kept_group["id"].as_str().unwrap());
    let (status, accepted) = s.post("/v2/servers/DEMO", kept_body.clone()).await;
    assert_eq!(status, 202, "{accepted}");
    s.wait(&status_href(&accepted)).await;
    let kept_path = "/v2/servers/DEMO/WA1DEMOKEEP01";
    let (_, kept_before) = s.get(kept_path).await;
    let kept_group_path = format!("/v2/groups/DEMO/{}", kept_group["id"].as_str().unwrap());
    let (_, kept_group_before) = s.get(&kept_group_path).await;

    // The ids requests are given: a server and its group, and a network.
    let body = s.server_body("web").await;
    let (status, accepted) = s.post("/v2/servers/DEMO", body.clone()).await;
    assert_eq!(status, 202, "{accepted}");
    s.wait(&status_href(&accepted)).await;
    let (_, networks) = s.get("/v2-experimental/networks/DEMO/WA1").await;
    let status_id = status_href(&accepted)
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let mut known = Known {
        server: "WA1DEMOWEB01".into(),
        group: body["groupId"].as_str().unwrap().to_owned(),
        network: networks[0]["id"].as_str().unwrap().to_owned(),
        status: status_id,
        policy: String::new(),
        root,
        made: 0,
    };

    // How many answers of each status, printed: requests that only ever bounced off the first
    // check would test little.
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for endpoint in ENDPOINTS {
        restore(&s, &mut known).await;
        let valid = valid_bodies(&known);
        // An operation not built answers 501 whatever it is sent: a few requests show it.
        let requests = if endpoint.op.is_some() {
            PER_ENDPOINT
        } else {
            3
        };
        for _ in 0..requests {
            let path = fill(&mut rng, endpoint.path, &known);
            let body = random_body(&mut rng, &valid);
            let status = send(
                &s,
                seed,
                endpoint.method.as_str(),
                &path,
                body,
                endpoint.op.is_none(),
            )
            .await;
            *statuses.entry(status).or_default() += 1;
        }
    }
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    restore(&s, &mut known).await;
    let valid = valid_bodies(&known);
    for _ in 0..STRAY_PATHS {
        let segments: Vec<String> = (0..rng.below(7))
            .map(|_| match rng.chance(60) {
                true => rng
                    .pick(&[
                        "v2",
                        "servers",
                        "groups",
                        "DEMO",
                        "WA1",
                        "operations",
                        "status",
                    ])
                    .to_string(),
                false => random_segment(&mut rng),
            })
            .collect();
        let path = format!("/{}", segments.join("/"));
        let method = *rng.pick(&methods);
        let body = random_body(&mut rng, &valid);
        let status = send(&s, seed, method, &path, body, false).await;
        *statuses.entry(status).or_default() += 1;
    }
    println!("answers by status: {statuses:?}");
    let accepted: usize = statuses.range(200..300).map(|(_, n)| n).sum();
    assert!(
        accepted > 0,
        "seed {seed}: no request was accepted: {statuses:?}"
    );

    // What was stored before is as it was, and the server still takes work. (The group the
    // requests were given may be gone.)
    let (_, kept_after) = s.get(kept_path).await;
    assert_eq!(kept_after, kept_before, "seed {seed}");
    let (_, kept_group_after) = s.get(&kept_group_path).await;
    assert_eq!(kept_group_after, kept_group_before, "seed {seed}");
    kept_body["name"] = json!("after");
    let (status, accepted) = s.post("/v2/servers/DEMO", kept_body).await;
    assert_eq!(status, 202, "seed {seed}: {accepted}");
    let done = s.wait(&status_href(&accepted)).await;
    assert_eq!(done["status"], "succeeded", "seed {seed}: {done}");
}
