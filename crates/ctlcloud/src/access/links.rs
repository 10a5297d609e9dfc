//! The links framework's promise: a response lists only the verbs its caller may use. The HTTP
//! layer runs each handler inside [`scope`] with the caller's grants; [`trim`] then routes every
//! link's href through the endpoint table and keeps the verbs the grants allow, dropping links with
//! none left. Handlers build their links in full and never think about roles.

use std::future::Future;

use serde_json::Value;

use super::rules::{self, Need};
use super::Grants;
use crate::http::router::{self, Method, Segments};

tokio::task_local! {
    static CALLER: Grants;
}

/// Runs a handler with the caller's grants in reach of [`current`]. Not an `async fn`: one would
/// hold the handler's future a second time, and every request's future would be that much larger
/// to move.
pub fn scope<F: Future>(grants: Grants, handler: F) -> impl Future<Output = F::Output> {
    CALLER.scope(grants, handler)
}

/// The grants of the caller whose handler is running, when they do not allow everything (and so
/// links need trimming).
pub fn current() -> Option<Grants> {
    CALLER.try_with(|g| *g).ok().filter(|g| *g != Grants::ALL)
}

/// Whether the grants allow `verb` on the path split into `segments`. Paths outside the endpoint
/// table are left alone.
fn allows(grants: Grants, verb: &str, segments: &Segments<'_>) -> bool {
    let Some(method) = axum::http::Method::from_bytes(verb.as_bytes())
        .ok()
        .as_ref()
        .and_then(Method::parse)
    else {
        return true;
    };
    match router::endpoint(method, segments) {
        Some(endpoint) => match rules::required(endpoint) {
            Some(Need::Public) => true,
            Some(Need::Permission(p)) => grants.has(p),
            None => false,
        },
        None => true,
    }
}

/// What becomes of one array element.
enum Verdict {
    NotALink,
    Keep,
    Drop,
}

/// Trims a link object's verbs in place; says whether anything is left of it.
fn trim_link(item: &mut Value, grants: Grants) -> Verdict {
    let Some(link) = item.as_object_mut() else {
        return Verdict::NotALink;
    };
    let Some(href) = link
        .get("href")
        .and_then(Value::as_str)
        .filter(|_| link.get("rel").is_some_and(Value::is_string))
        .map(str::to_owned)
    else {
        return Verdict::NotALink;
    };
    // The path is split once for all the link's verbs.
    let segments = Segments::of(href.split(['?', '#']).next().unwrap_or_default());
    match link.get_mut("verbs") {
        // No verbs means GET only.
        None => match allows(grants, "GET", &segments) {
            true => Verdict::Keep,
            false => Verdict::Drop,
        },
        Some(Value::Array(verbs)) => {
            verbs.retain(|v| v.as_str().is_none_or(|v| allows(grants, v, &segments)));
            match verbs.is_empty() {
                true => Verdict::Drop,
                false => Verdict::Keep,
            }
        }
        Some(_) => Verdict::Keep,
    }
}

/// Trims every link anywhere in a response body.
pub fn trim(value: &mut Value, grants: Grants) {
    match value {
        Value::Array(items) => items.retain_mut(|item| match trim_link(item, grants) {
            Verdict::Keep => true,
            Verdict::Drop => false,
            Verdict::NotALink => {
                trim(item, grants);
                true
            }
        }),
        Value::Object(map) => map.values_mut().for_each(|v| trim(v, grants)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verbs_are_trimmed_and_links_without_any_dropped() {
        let operator = Grants::of(&["ServerOperator".into()]);
        let mut body = json!({
            "id": "WA1DEMOWEB01",
            "links": [
                {"rel": "self", "href": "/v2/servers/DEMO/wa1demoweb01", "verbs": ["GET", "PATCH", "DELETE"]},
                {"rel": "publicIPAddresses", "href": "/v2/servers/DEMO/wa1demoweb01/publicIPAddresses", "verbs": ["POST"]},
                {"rel": "credentials", "href": "/v2/servers/DEMO/wa1demoweb01/credentials"},
                {"rel": "status", "href": "/v2/operations/DEMO/status/wa1-1", "id": "wa1-1"},
                {"rel": "elsewhere", "href": "/v2/not/a/route", "verbs": ["POST"]}
            ],
            "details": {"snapshots": [{"name": "s", "links": [
                {"rel": "delete", "href": "/v2/servers/DEMO/wa1demoweb01/snapshots/1", "verbs": ["DELETE"]}
            ]}]}
        });
        trim(&mut body, operator);
        let rels: Vec<&str> = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        assert_eq!(rels, ["self", "credentials", "status", "elsewhere"]);
        assert_eq!(body["links"][0]["verbs"], json!(["GET"]));
        assert_eq!(body["details"]["snapshots"][0]["links"], json!([]));

        let billing = Grants::of(&["BillingManager".into()]);
        let mut group_link = json!([{"rel": "group", "href": "/v2/groups/DEMO/abc", "id": "abc"}]);
        trim(&mut group_link, billing);
        assert_eq!(group_link, json!([]));
    }
}
