//! ctlcloud: a self-hosted control plane that speaks the CenturyLink Cloud API v2.
//!
//! Layers, top to bottom: `http` (routing, bodies, errors, authentication) → `api` (one module per
//! resource) → `domain` (validation, naming, state) → `store` (SQLite) and `worker` (the queue)
//! → `compute` (what happens to servers).

pub mod access;
pub mod admin;
pub mod adminapi;
pub mod api;
pub mod app;
pub mod bench;
pub mod catalog;
pub mod clock;
pub mod compute;
pub mod domain;
pub mod http;
pub mod ids;
pub mod logs;
pub mod model;
pub mod seed;
pub mod serve;
pub mod steps;
pub mod store;
pub mod wakeup;
pub mod wire;
pub mod worker;

/// The README's coverage table, printed from the endpoint table (`ctlcloud coverage`).
pub fn coverage_table() -> String {
    let mut out = String::from(
        "| tier | resource | operation | method and path | implemented |\n|---|---|---|---|---|\n",
    );
    for e in http::endpoints::ENDPOINTS {
        out.push_str(&format!(
            "| {} | {} | {} | `{} {}` | {} |\n",
            e.tier,
            e.resource,
            e.name,
            e.method.as_str(),
            e.path,
            if e.op.is_some() { "yes" } else { "no (501)" }
        ));
    }
    out
}
