//! The links framework's promise: a response lists only the verbs its caller may use. The HTTP
//! layer runs each handler inside [`scope`] with the caller's grants; as a response is written,
//! every link's href is routed through the endpoint table and only the verbs the grants allow are
//! written, links with none left not at all ([`shown`], [`trimmed`]). Handlers build their links
//! in full and never think about roles.

use std::future::Future;

use serde::Serializer;

use super::rules::{self, Need};
use super::Grants;
use crate::http::router::{self, Method, Segments};
use crate::wire::Link;

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

/// Runs `f` as a handler of a caller with `grants` runs, for tests of what links are written.
#[cfg(test)]
pub fn as_caller<T>(grants: Grants, f: impl FnOnce() -> T) -> T {
    CALLER.sync_scope(grants, f)
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

/// A link as a caller with `grants` sees it: with only the verbs they may use (a link without
/// verbs means GET), and nothing at all when none is left.
pub fn trimmed(link: &Link, grants: Grants) -> Option<Link> {
    // The path is split once for all the link's verbs.
    let segments = path_of(&link.href);
    match &link.verbs {
        None => allows(grants, "GET", &segments).then(|| link.clone()),
        Some(verbs) => {
            let verbs: Vec<&'static str> = verbs
                .iter()
                .copied()
                .filter(|verb| allows(grants, verb, &segments))
                .collect();
            (!verbs.is_empty()).then(|| Link {
                verbs: Some(verbs),
                ..link.clone()
            })
        }
    }
}

/// Whether a caller with `grants` may GET `href` (a link without verbs).
pub fn may_get(grants: Grants, href: &str) -> bool {
    allows(grants, "GET", &path_of(href))
}

/// The segments of an href's path, without its query or fragment.
fn path_of(href: &str) -> Segments<'_> {
    Segments::of(href.split(['?', '#']).next().unwrap_or_default())
}

/// Writes a response's links as its caller sees them (see [`trimmed`]): every `links` field is
/// written through this (`#[serde(serialize_with)]`), so that they are trimmed as the answer is
/// written, without the answer being built twice.
pub fn shown<S: Serializer>(links: &[Link], serializer: S) -> Result<S::Ok, S::Error> {
    match current() {
        None => serializer.collect_seq(links),
        Some(grants) => serializer.collect_seq(links.iter().filter_map(|l| trimmed(l, grants))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize)]
    struct Shown {
        #[serde(serialize_with = "shown")]
        links: Vec<Link>,
    }

    fn written(grants: Grants, links: Vec<Link>) -> serde_json::Value {
        let body = Shown { links };
        let text = as_caller(grants, || serde_json::to_string(&body).unwrap());
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["links"].take()
    }

    fn server_links() -> Vec<Link> {
        vec![
            Link::new("self", "/v2/servers/DEMO/wa1demoweb01".into())
                .verbs(&["GET", "PATCH", "DELETE"]),
            Link::new(
                "publicIPAddresses",
                "/v2/servers/DEMO/wa1demoweb01/publicIPAddresses".into(),
            )
            .verbs(&["POST"]),
            Link::new(
                "credentials",
                "/v2/servers/DEMO/wa1demoweb01/credentials".into(),
            ),
            Link::new("status", "/v2/operations/DEMO/status/wa1-1".into()).id("wa1-1"),
            Link::new("elsewhere", "/v2/not/a/route".into()).verbs(&["POST"]),
        ]
    }

    #[test]
    fn verbs_are_trimmed_and_links_without_any_left_out() {
        let operator = Grants::of(&["ServerOperator".into()]);
        let links = written(operator, server_links());
        let rels: Vec<&str> = links
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        assert_eq!(rels, ["self", "credentials", "status", "elsewhere"]);
        assert_eq!(links[0]["verbs"], json!(["GET"]));
        assert_eq!(links[1].get("verbs"), None);

        let billing = Grants::of(&["BillingManager".into()]);
        let group_link = Link::new("group", "/v2/groups/DEMO/abc".into()).id("abc");
        assert_eq!(written(billing, vec![group_link]), json!([]));
    }

    /// Every field of links in the source is written through [`shown`]: one that was not would
    /// show every caller every verb.
    #[test]
    fn every_links_field_is_written_through_shown() {
        fn sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                match path.is_dir() {
                    true => sources(&path, found),
                    false if path.extension().is_some_and(|e| e == "rs") => found.push(path),
                    false => {}
                }
            }
        }
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut fields = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (n, line) in lines.iter().enumerate() {
                let line = line.trim();
                if line.starts_with("pub links: Vec<Link>") || line.starts_with("links: Vec<Link>,")
                {
                    fields += 1;
                    let above = lines[n - 1];
                    assert!(
                        above.contains("serialize_with") && above.contains("shown"),
                        "{}:{}: a links field not written through `shown`",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
        assert!(fields >= 12, "{fields} links fields found");
    }

    #[test]
    fn a_caller_allowed_everything_sees_every_link_as_built() {
        let links = written(Grants::ALL, server_links());
        assert_eq!(links, serde_json::to_value(server_links()).unwrap());
    }
}
