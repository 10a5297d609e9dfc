//! What the measurements need in place: the account's Default Group, one built server, and the
//! ids printed by `ctlcloud admin seed`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};

use super::load::Conn;

async fn get(addr: SocketAddr, auth: &HeaderValue, path: &str) -> Result<Value, String> {
    let (status, body) = Conn::new(addr)
        .send(&Method::GET, path, Some(auth), None)
        .await?;
    if status != StatusCode::OK {
        return Err(format!("GET {path}: {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {path}: {e}"))
}

fn link_id(v: &Value, rel: &str) -> Option<String> {
    v["links"].as_array()?.iter().find(|l| l["rel"] == rel)?["id"]
        .as_str()
        .map(str::to_owned)
}

/// The id of the Default Group of the account's data center `dc`.
pub async fn default_group(
    addr: SocketAddr,
    auth: &HeaderValue,
    alias: &str,
    dc: &str,
) -> Result<String, String> {
    let datacenter = get(
        addr,
        auth,
        &format!("/v2/datacenters/{alias}/{dc}?groupLinks=true"),
    )
    .await?;
    let root = link_id(&datacenter, "group").ok_or("the data center has no group link")?;
    let tree = get(addr, auth, &format!("/v2/groups/{alias}/{root}")).await?;
    tree["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["name"] == "Default Group"))
        .and_then(|g| g["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the root group has no Default Group".into())
}

/// Creates a server, waits for its build, and returns its path.
pub async fn one_server(
    addr: SocketAddr,
    auth: &HeaderValue,
    alias: &str,
    group: &str,
) -> Result<String, String> {
    let body = json!({
        "name": "get", "groupId": group, "sourceServerId": "UBUNTU-16-64-TEMPLATE",
        "cpu": 1, "memoryGB": 1, "type": "standard",
    });
    let (status, answer) = Conn::new(addr)
        .send(
            &Method::POST,
            &format!("/v2/servers/{alias}"),
            Some(auth),
            Some(body.to_string().into()),
        )
        .await?;
    let answer: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    if status != StatusCode::ACCEPTED {
        return Err(format!("create server: {status} {answer}"));
    }
    let status_id = link_id(&answer, "status").ok_or("no status link")?;
    let uuid = link_id(&answer, "self").ok_or("no self link")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = get(
            addr,
            auth,
            &format!("/v2/operations/{alias}/status/{status_id}"),
        )
        .await?;
        match job["status"].as_str() {
            Some("succeeded") => break,
            Some("failed") => return Err(format!("the build failed: {job}")),
            _ if Instant::now() > deadline => return Err("the build took over 60 s".into()),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    let server = get(addr, auth, &format!("/v2/servers/{alias}/{uuid}?uuid=true")).await?;
    let id = server["id"].as_str().ok_or("the server has no id")?;
    Ok(format!("/v2/servers/{alias}/{id}"))
}

/// The group id in `ctlcloud admin seed`'s report.
pub fn seeded_group(report: &str) -> Result<String, String> {
    report
        .lines()
        .find_map(|l| {
            l.strip_prefix("seeded ")?
                .split(" in group ")
                .nth(1)?
                .split(' ')
                .next()
        })
        .map(str::to_owned)
        .ok_or_else(|| format!("no group in the seed report: {report}"))
}
