//! `ctlcloud bench`: the benchmark harness. It starts its own `ctlcloud serve` (this binary) on a
//! scratch directory with the simulated driver at zero delay, or measures a running server given
//! by `--url`; drives it over loopback with its own HTTP/1.1 load generator; repeats every
//! measurement and prints one markdown table of medians, each throughput also as a ratio to the
//! baseline measured in the same run (the same HTTP stack answering a fixed body).

mod load;
mod report;
mod scenarios;
mod setup;
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use target::serve_baseline;

use report::{thousands, Figure, Table};
use target::{Process, Scratch};

/// The command line of `ctlcloud bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Measure a running server (e.g. http://127.0.0.1:8080) instead of starting one; only the
    /// HTTP figures are taken (no cold start, seeding, disk or memory).
    #[arg(long)]
    url: Option<String>,
    /// The user to log in as with `--url`.
    #[arg(long, default_value = "admin")]
    username: String,
    /// That user's password (with `--url`).
    #[arg(long, env = "CTLCLOUD_BENCH_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The ctlcloud binary to start; by default this one.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// An empty PostgreSQL database to measure instead of SQLite: every row runs against `serve
    /// --database-url`, the store's size is the database's, and each cold start gets an empty
    /// database of its own on the same server (which needs the CREATEDB privilege).
    #[arg(long)]
    database_url: Option<String>,
    /// How many times each measurement is repeated; the table shows medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// How long each run of requests lasts, in seconds.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// At most this many requests in one run.
    #[arg(long, default_value_t = 200_000)]
    max_requests: u64,
    /// Concurrent connections for the loaded measurements.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Servers seeded into the large account.
    #[arg(long, default_value_t = 1_000_000)]
    large_servers: i64,
    /// Servers seeded into the group whose GET is measured.
    #[arg(long, default_value_t = 10_000)]
    group_servers: i64,
}

/// What every measurement needs.
pub struct Settings {
    pub bin: PathBuf,
    pub runs: usize,
    pub duration: Duration,
    pub max_requests: u64,
    pub connections: usize,
}

pub async fn run(args: Args) -> Result<(), String> {
    if args.database_url.is_some() && args.url.is_some() {
        return Err("--database-url starts a server of its own: it does not go with --url".into());
    }
    let url = args.url.as_deref().map(parse_url).transpose()?;
    let password = match (&url, &args.password) {
        (_, Some(p)) => p.clone(),
        (None, None) => target::PASSWORD.to_owned(),
        (Some(_), None) => return Err("--url needs --password (or CTLCLOUD_BENCH_PASSWORD)".into()),
    };
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(|e| e.to_string())?,
    };
    if cfg!(debug_assertions) && args.server_bin.is_none() {
        eprintln!("ctlcloud bench: this is a debug build; figures for the record come from `cargo run --release -- bench`");
    }
    let s = Settings {
        bin,
        runs: args.runs.max(1),
        duration: Duration::from_secs_f64(args.seconds.max(0.1)),
        max_requests: args.max_requests.max(1),
        connections: args.connections.max(1),
    };
    let mut table = Table::default();
    let baseline = baseline(&s, &mut table).await?;
    match url {
        Some(addr) => engine_rows(&s, &args, &password, addr, None, &baseline, &mut table).await?,
        None => {
            let engine = engine_label(&args);
            let database_url = args.database_url.as_deref();
            let scratch = Scratch::new(engine)?;
            let data = scratch.0.join("data");
            let serve = target::serve_args(&data);
            let serve: Vec<&str> = serve.iter().map(String::as_str).collect();
            let env = target::serve_env(database_url);
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let process = Process::start(&s.bin, &serve, &env, &scratch.0.join("log"))?;
            // Room for every create of the runs: each network holds 243 servers.
            let networks = (s.runs as u64 * s.max_requests.min(40_000)).div_ceil(243) + 1;
            let networks = networks.to_string();
            target::admin(
                &s.bin,
                &data,
                database_url,
                &["seed", "--account", "DEMO", "--networks", &networks],
            )?;
            let local = Some((&process, data.as_path()));
            engine_rows(
                &s,
                &args,
                &password,
                process.addr,
                local,
                &baseline,
                &mut table,
            )
            .await?;
        }
    }
    print!("{}", table.render(&s));
    Ok(())
}

/// The table's engine column: a server measured through `--url` runs on an engine this process
/// is not told.
fn engine_label(args: &Args) -> &'static str {
    match (&args.url, &args.database_url) {
        (Some(_), _) => "at --url",
        (None, Some(_)) => "postgres",
        (None, None) => "sqlite",
    }
}

/// The baseline's own figures, which every other row is divided by.
struct Baseline {
    one: f64,
    loaded: f64,
    cold_ms: f64,
    rss_mb: f64,
}

fn progress(what: &str) {
    eprintln!("ctlcloud bench: {what}");
}

async fn baseline(s: &Settings, table: &mut Table) -> Result<Baseline, String> {
    progress("baseline");
    let scratch = Scratch::new("baseline")?;
    let listen = ["baseline", "--listen", "127.0.0.1:0"];
    let process = Process::start(&s.bin, &listen, &[], &scratch.0.join("log"))?;
    let one = scenarios::gets(s, process.addr, None, "/", 1).await;
    let loaded = scenarios::gets(s, process.addr, None, "/", s.connections).await;
    let rss = Figure::single(process.peak_rss().unwrap_or(0) as f64 / 1e6);
    drop(process);
    let cold = scenarios::cold_starts(
        s,
        "baseline-cold",
        |_| listen.iter().map(|a| a.to_string()).collect(),
        |_| Vec::new(),
        scenarios::first_answer,
    )
    .await?;
    let b = Baseline {
        one: one.median(),
        loaded: loaded.median(),
        cold_ms: cold.median(),
        rss_mb: rss.median(),
    };
    let what = "baseline: fixed JSON, no auth, no store";
    table.add(what, "-", "1", one, "req/s", Some(b.one));
    table.add(
        what,
        "-",
        &s.connections.to_string(),
        loaded,
        "req/s",
        Some(b.loaded),
    );
    table.add(
        "baseline: cold start to first answer",
        "-",
        "-",
        cold,
        "ms",
        Some(b.cold_ms),
    );
    table.add("baseline: peak RSS", "-", "-", rss, "MB", Some(b.rss_mb));
    Ok(b)
}

/// The rows of one engine. `local` is the server this run started and its data directory: only
/// then are the large account, cold start, disk and memory measured.
async fn engine_rows(
    s: &Settings,
    args: &Args,
    password: &str,
    addr: SocketAddr,
    local: Option<(&Process, &std::path::Path)>,
    b: &Baseline,
    table: &mut Table,
) -> Result<(), String> {
    let engine = engine_label(args);
    let c = &s.connections.to_string();
    // First, on a quiet machine: the rows that write (creates, seeding) leave the disk busy for a
    // while after, and a cold start writes a new store.
    let cold = match local {
        Some(_) => Some(cold_starts(s, args.database_url.as_deref()).await?),
        None => None,
    };
    let (auth, alias, dc) = scenarios::login(addr, &args.username, password).await?;
    let group = setup::default_group(addr, &auth, &alias, &dc).await?;
    let server_path = setup::one_server(addr, &auth, &alias, &group).await?;

    progress("authenticated GET of a server");
    let what = "authenticated GET of a server";
    let one = scenarios::gets(s, addr, Some(auth.clone()), &server_path, 1).await;
    table.add(what, engine, "1", one, "req/s", Some(b.one));
    let loaded = scenarios::gets(s, addr, Some(auth.clone()), &server_path, s.connections).await;
    table.add(what, engine, c, loaded, "req/s", Some(b.loaded));

    progress("creates and builds");
    let (accepted, built) = scenarios::creates(s, addr, auth.clone(), &alias, &group).await;
    table.add(
        "create server accepted (202)",
        engine,
        c,
        accepted,
        "202/s",
        Some(b.loaded),
    );
    table.add(
        "builds completed (202 to succeeded)",
        engine,
        c,
        built,
        "builds/s",
        Some(b.loaded),
    );

    let (Some((process, data)), Some(cold)) = (local, cold) else {
        return Ok(());
    };
    let database_url = args.database_url.as_deref();
    progress("seeding the large account");
    let seed = |servers: i64, group: &str| {
        let servers = servers.to_string();
        target::admin(
            &s.bin,
            data,
            database_url,
            &[
                "seed",
                "--account",
                &alias,
                "--servers",
                &servers,
                "--group",
                group,
            ],
        )
    };
    seed(args.large_servers, "Bench large")?;
    let group_id = setup::seeded_group(&seed(args.group_servers, "Bench group")?)?;

    progress("GET of a large group, and of a server in a large account");
    let path = format!("/v2/groups/{alias}/{group_id}");
    let g = scenarios::gets(s, addr, Some(auth.clone()), &path, 1).await;
    let what = format!(
        "GET of a group of {} servers",
        thousands(args.group_servers)
    );
    table.add(&what, engine, "1", g, "req/s", Some(b.one));
    let one = crate::seed::server_name(&alias, &dc, args.large_servers / 2);
    let path = format!("/v2/servers/{alias}/{one}");
    let total = thousands(args.large_servers + args.group_servers);
    let what = format!("GET of a server in an account of {total}+ servers");
    let g = scenarios::gets(s, addr, Some(auth.clone()), &path, 1).await;
    table.add(&what, engine, "1", g, "req/s", Some(b.one));
    let g = scenarios::gets(s, addr, Some(auth.clone()), &path, s.connections).await;
    table.add(&what, engine, c, g, "req/s", Some(b.loaded));

    table.add(
        "cold start to first successful login",
        engine,
        "-",
        cold,
        "ms",
        Some(b.cold_ms),
    );
    let bytes = match database_url {
        None => target::disk_usage(data),
        Some(url) => target::database_size(url).await?,
    };
    let size = Figure::single(bytes as f64 / 1e6);
    table.add("store size on disk", engine, "-", size, "MB", None);
    let rss = Figure::single(process.peak_rss().unwrap_or(0) as f64 / 1e6);
    table.add("server peak RSS", engine, "-", rss, "MB", Some(b.rss_mb));
    Ok(())
}

/// Cold starts to a first login, each on an empty store of its own.
async fn cold_starts(s: &Settings, database_url: Option<&str>) -> Result<Figure, String> {
    progress("cold starts");
    match database_url {
        None => {
            scenarios::cold_starts(
                s,
                "sqlite-cold",
                target::serve_args,
                |_| target::serve_env(None),
                scenarios::first_login,
            )
            .await
        }
        Some(url) => {
            let databases = target::EmptyDatabases::create(url, s.runs).await?;
            let cold = scenarios::cold_starts(
                s,
                "postgres-cold",
                target::serve_args,
                |run| target::serve_env(Some(&databases.urls[run])),
                scenarios::first_login,
            )
            .await;
            databases.drop_all().await;
            cold
        }
    }
}

fn parse_url(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .trim_end_matches('/')
        .strip_prefix("http://")
        .ok_or("--url must be http://HOST:PORT")?;
    let addr: SocketAddr = rest
        .parse()
        .map_err(|_| format!("--url {url}: give a loopback IP address and port"))?;
    if !addr.ip().is_loopback() {
        return Err(
            "the benchmark only drives servers on this machine (a loopback address)".into(),
        );
    }
    Ok(addr)
}
