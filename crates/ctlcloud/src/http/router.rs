//! Request routing: a request's method and path are matched against the endpoint table before
//! anything else runs. Literal segments match case-insensitively and win over placeholders, a
//! trailing slash is optional, and placeholders are percent-decoded.

use std::sync::LazyLock;

use axum::http;

use super::endpoints::ENDPOINTS;

/// The HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn parse(method: &axum::http::Method) -> Option<Method> {
        Some(match *method {
            http::Method::GET | http::Method::HEAD => Method::Get,
            http::Method::POST => Method::Post,
            http::Method::PUT => Method::Put,
            http::Method::PATCH => Method::Patch,
            http::Method::DELETE => Method::Delete,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// The operations ctlcloud implements; each maps to one handler in `crate::api`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Login,
    ListAlertPolicies,
    GetAlertPolicy,
    CreateAlertPolicy,
    UpdateAlertPolicy,
    DeleteAlertPolicy,
    AttachAlertPolicy,
    DetachAlertPolicy,
    ListDataCenters,
    GetDataCenter,
    GetDeploymentCapabilities,
    GetBareMetalCapabilities,
    GetCustomFields,
    GetAccount,
    GetGroup,
    CreateGroup,
    PatchGroup,
    DeleteGroup,
    GetGroupDefaults,
    SetGroupDefaults,
    ArchiveGroup,
    RestoreGroup,
    GetServer,
    CreateServer,
    DeleteServer,
    GetServerCredentials,
    /// Power, maintenance-mode and archive operations on a list of servers; the operation is the
    /// last segment of the row's path.
    OperateServers,
    SetMaintenance,
    RestoreServer,
    CreateSnapshot,
    DeleteSnapshot,
    RevertSnapshot,
    PatchServer,
    GetServerCapabilities,
    AddSecondaryNetwork,
    RemoveSecondaryNetwork,
    AddPublicIp,
    GetPublicIp,
    UpdatePublicIp,
    RemovePublicIp,
    GetStatus,
    GetExperimentalStatus,
    ListNetworks,
    GetNetwork,
    ListIpAddresses,
    ClaimNetwork,
    UpdateNetwork,
    ReleaseNetwork,
    GetLogForwarding,
    UpdateLogForwarding,
}

/// One row of the API catalog.
#[derive(Debug)]
pub struct Endpoint {
    pub tier: u8,
    pub resource: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub name: &'static str,
    /// `None` until ctlcloud implements the operation: the router then answers 501.
    pub op: Option<Op>,
}

enum Segment {
    Literal(&'static str),
    Param(&'static str),
}

struct Pattern {
    endpoint: &'static Endpoint,
    segments: Vec<Segment>,
    /// Which segments are literal: among patterns matching a path, the greatest wins.
    rank: Vec<bool>,
}

/// The patterns by their number of segments, each list in the table's order: a path is compared
/// only with those as long as it is.
static PATTERNS: LazyLock<Vec<Vec<Pattern>>> = LazyLock::new(|| {
    let mut by_length: Vec<Vec<Pattern>> = Vec::new();
    for endpoint in ENDPOINTS.iter() {
        let segments: Vec<Segment> = split(endpoint.path)
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => Segment::Param(name),
                    None => Segment::Literal(s),
                },
            )
            .collect();
        let rank = segments
            .iter()
            .map(|s| matches!(s, Segment::Literal(_)))
            .collect();
        let length = segments.len();
        if by_length.len() <= length {
            by_length.resize_with(length + 1, Vec::new);
        }
        by_length[length].push(Pattern {
            endpoint,
            segments,
            rank,
        });
    }
    by_length
});

fn split(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/')
}

/// A request matched to an endpoint, with its path parameters.
#[derive(Debug)]
pub struct Matched {
    pub endpoint: &'static Endpoint,
    params: Vec<(&'static str, String)>,
}

impl Matched {
    /// The values of the path's placeholders, in the path's order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|(_, v)| v.as_str())
    }

    /// The value of a path placeholder; every handler asks only for its own route's names.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// Why a request matched no endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum NoMatch {
    /// No endpoint has this path.
    NotFound,
    /// Endpoints have this path, but not with this method; the methods they have.
    MethodNotAllowed(Vec<Method>),
}

/// Finds the endpoint for a request. Among patterns that match the path, the one whose literal
/// segments come first wins (`…/networks/{a}/{dc}/logging` over `…/{networkId}`).
pub fn route(method: Method, path: &str) -> Result<Matched, NoMatch> {
    let segments = Segments::of(path);
    let mut allowed = Vec::new();
    match best(method, &segments, Some(&mut allowed)) {
        Some(pattern) => Ok(Matched {
            endpoint: pattern.endpoint,
            params: pattern
                .segments
                .iter()
                .zip(&segments.0)
                .filter_map(|(s, value)| match s {
                    Segment::Param(name) => Some((*name, percent_decode(value))),
                    Segment::Literal(_) => None,
                })
                .collect(),
        }),
        None if allowed.is_empty() => Err(NoMatch::NotFound),
        None => Err(NoMatch::MethodNotAllowed(allowed)),
    }
}

/// A path split into its segments once, to be matched with several methods.
pub struct Segments<'a>(Vec<&'a str>);

impl<'a> Segments<'a> {
    pub fn of(path: &'a str) -> Segments<'a> {
        Segments(split(path).collect())
    }
}

/// The endpoint [`route`] would find, without decoding its parameters: for checking what links
/// lead to, many to a response.
pub fn endpoint(method: Method, segments: &Segments<'_>) -> Option<&'static Endpoint> {
    best(method, segments, None).map(|pattern| pattern.endpoint)
}

/// The best pattern for the method among those matching the path; the methods of the others that
/// match it are put in `allowed`, if asked for.
fn best(
    method: Method,
    segments: &Segments<'_>,
    mut allowed: Option<&mut Vec<Method>>,
) -> Option<&'static Pattern> {
    let segments = &segments.0;
    let mut best: Option<&Pattern> = None;
    let candidates = PATTERNS.get(segments.len()).map_or(&[][..], Vec::as_slice);
    for pattern in candidates {
        if !matches(pattern, segments) {
            continue;
        }
        if pattern.endpoint.method != method {
            if let Some(allowed) = allowed
                .as_mut()
                .filter(|a| !a.contains(&pattern.endpoint.method))
            {
                allowed.push(pattern.endpoint.method);
            }
            continue;
        }
        if best.is_none_or(|b| pattern.rank > b.rank) {
            best = Some(pattern);
        }
    }
    best
}

fn matches(pattern: &Pattern, segments: &[&str]) -> bool {
    pattern.segments.iter().zip(segments).all(|(p, s)| match p {
        Segment::Literal(lit) => lit.eq_ignore_ascii_case(s),
        Segment::Param(_) => !s.is_empty(),
    })
}

pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_case_insensitive_and_trailing_slash_is_optional() {
        let m = route(Method::Post, "/V2/Servers/demo/").unwrap();
        assert_eq!(m.endpoint.path, "/v2/servers/{accountAlias}");
        assert_eq!(m.param("accountAlias"), "demo");
    }

    #[test]
    fn literal_segments_win_over_placeholders() {
        let m = route(Method::Get, "/v2-experimental/networks/DEMO/WA1/logging").unwrap();
        assert_eq!(m.endpoint.name, "Get log forwarding address");
        let m = route(Method::Get, "/v2-experimental/networks/DEMO/WA1/abc123").unwrap();
        assert_eq!(m.endpoint.name, "Get network");
        assert_eq!(m.param("networkId"), "abc123");
    }

    #[test]
    fn unknown_paths_and_methods() {
        assert_eq!(
            route(Method::Get, "/v2/nothing/here").unwrap_err(),
            NoMatch::NotFound
        );
        assert_eq!(
            route(Method::Put, "/v2/authentication/login").unwrap_err(),
            NoMatch::MethodNotAllowed(vec![Method::Post])
        );
        assert_eq!(
            route(Method::Get, "/v2/servers//x").unwrap_err(),
            NoMatch::NotFound
        );
    }

    #[test]
    fn placeholders_are_percent_decoded() {
        let m = route(Method::Get, "/v2/servers/DEMO/WA1%44EMO").unwrap();
        assert_eq!(m.param("serverId"), "WA1DEMO");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn any_path_routes_or_is_refused_and_never_panics() {
        let pieces = [
            "",
            "v2",
            "V2",
            "servers",
            "DEMO",
            "%",
            "%2F",
            "%41",
            "..",
            "{x}",
            "é",
            "groups",
            "wa1",
            "operations",
            "status",
            "x",
            "//",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for _ in 0..20_000 {
            let segments: Vec<&str> = (0..next() % 8)
                .map(|_| pieces[next() % pieces.len()])
                .collect();
            let path = format!("/{}", segments.join("/"));
            let method = [
                Method::Get,
                Method::Post,
                Method::Put,
                Method::Patch,
                Method::Delete,
            ][next() % 5];
            let found = endpoint(method, &Segments::of(&path)).map(|e| e.name);
            assert_eq!(found, route(method, &path).ok().map(|m| m.endpoint.name));
            if let Ok(m) = route(method, &path) {
                assert_eq!(m.endpoint.method, method);
                for (name, value) in &m.params {
                    assert!(m.endpoint.path.contains(&format!("{{{name}}}")));
                    assert!(!value.is_empty());
                }
            }
        }
    }
}
