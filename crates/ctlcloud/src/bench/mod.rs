//! `ctlcloud bench`: the benchmark harness. It starts its own `ctlcloud serve` (this binary) on a
//! scratch directory with the simulated driver at zero delay, or measures a running server given
//! by `--url`; drives it over loopback with its own HTTP/1.1 load generator; repeats every
//! measurement and prints one markdown table of medians, each throughput also as a ratio to the
//! baseline measured in the same run (the same HTTP stack answering a fixed body).

mod load;
mod scenarios;
mod setup;
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use target::serve_baseline;

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
    /// A PostgreSQL database to measure instead of SQLite (not supported by this build yet).
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

/// One figure's runs: the value of each run (requests/s, ms, …) and its latency quantiles.
#[derive(Default, Clone)]
pub struct Figure {
    values: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    failed: u64,
    first_error: Option<String>,
}

impl Figure {
    fn record(&mut self, run: &mut load::Run, value: f64) {
        self.values.push(value);
        self.p50.push(run.quantile_ms(0.5));
        self.p99.push(run.quantile_ms(0.99));
        self.failed += run.failed;
        if self.first_error.is_none() {
            self.first_error = run.first_error.take();
        }
    }

    fn value(&mut self, value: f64) {
        self.values.push(value);
    }

    fn median(&self) -> f64 {
        median(&self.values)
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// One row of the table.
struct Row {
    what: String,
    engine: &'static str,
    connections: String,
    figure: Figure,
    unit: &'static str,
    /// The baseline figure this row is divided by.
    baseline: Option<f64>,
}

pub async fn run(args: Args) -> Result<(), String> {
    if args.database_url.is_some() {
        // The place for the PostgreSQL engine: start `serve --database-url …` and measure the same
        // rows with engine "postgres".
        return Err("this build of ctlcloud has no PostgreSQL engine yet".into());
    }
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(|e| e.to_string())?,
    };
    if cfg!(debug_assertions) && args.server_bin.is_none() {
        eprintln!("ctlcloud bench: this is a debug build; figures for the record come from `cargo run --release -- bench`");
    }
    let url = args.url.as_deref().map(parse_url).transpose()?;
    let password = match (&url, &args.password) {
        (_, Some(p)) => p.clone(),
        (None, None) => target::PASSWORD.to_owned(),
        (Some(_), None) => return Err("--url needs --password (or CTLCLOUD_BENCH_PASSWORD)".into()),
    };
    let s = Settings {
        bin,
        runs: args.runs.max(1),
        duration: Duration::from_secs_f64(args.seconds.max(0.1)),
        max_requests: args.max_requests.max(1),
        connections: args.connections.max(1),
    };
    let c = s.connections;
    let mut rows = Vec::new();
    let progress = |what: &str| eprintln!("ctlcloud bench: {what}");

    progress("baseline");
    let scratch = Scratch::new("baseline")?;
    let baseline = Process::start(
        &s.bin,
        &["baseline", "--listen", "127.0.0.1:0"],
        &[],
        &scratch.0.join("log"),
    )?;
    let base_1 = scenarios::gets(&s, baseline.addr, None, "/", 1).await;
    let base_c = scenarios::gets(&s, baseline.addr, None, "/", c).await;
    let base_rss = baseline.peak_rss();
    drop(baseline);
    let (base_cold, _) = scenarios::cold_starts(
        &s,
        "baseline-cold",
        |_| vec!["baseline".into(), "--listen".into(), "127.0.0.1:0".into()],
        &[],
        scenarios::first_answer,
    )
    .await?;
    let (b1, bc) = (base_1.median(), base_c.median());
    rows.push(row(
        "baseline: fixed JSON, no auth, no store",
        "-",
        "1",
        base_1,
        "req/s",
        Some(b1),
    ));
    rows.push(row(
        "baseline: fixed JSON, no auth, no store",
        "-",
        &c.to_string(),
        base_c,
        "req/s",
        Some(bc),
    ));
    let engine = "sqlite";

    let server_scratch;
    let (server, addr, data_dir) = match url {
        Some(addr) => (None, addr, None),
        None => {
            server_scratch = Scratch::new("sqlite")?;
            let data = server_scratch.0.join("data");
            let process = Process::start(
                &s.bin,
                &target::serve_args(&data)
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                target::SERVE_ENV,
                &server_scratch.0.join("log"),
            )?;
            let addr = process.addr;
            // Room for every create of the runs: each network holds 243 servers.
            let networks = (s.runs as u64 * s.max_requests.min(40_000)).div_ceil(243) + 1;
            target::admin(
                &s.bin,
                &data,
                &[
                    "seed",
                    "--account",
                    "DEMO",
                    "--networks",
                    &networks.to_string(),
                ],
            )?;
            (Some(process), addr, Some(data))
        }
    };
    let (auth, alias, dc) = scenarios::login(addr, &args.username, &password).await?;
    let group = setup::default_group(addr, &auth, &alias, &dc).await?;
    let server_path = setup::one_server(addr, &auth, &alias, &group).await?;

    progress("authenticated GET of a server");
    let get_1 = scenarios::gets(&s, addr, Some(auth.clone()), &server_path, 1).await;
    let get_c = scenarios::gets(&s, addr, Some(auth.clone()), &server_path, c).await;
    rows.push(row(
        "authenticated GET of a server",
        engine,
        "1",
        get_1,
        "req/s",
        Some(b1),
    ));
    rows.push(row(
        "authenticated GET of a server",
        engine,
        &c.to_string(),
        get_c,
        "req/s",
        Some(bc),
    ));

    progress("creates and builds");
    let (accepted, built) = scenarios::creates(&s, addr, auth.clone(), &alias, &group).await;
    rows.push(row(
        "create server accepted (202)",
        engine,
        &c.to_string(),
        accepted,
        "202/s",
        Some(bc),
    ));
    rows.push(row(
        "builds completed (202 to succeeded)",
        engine,
        &c.to_string(),
        built,
        "builds/s",
        Some(bc),
    ));

    if let (Some(server), Some(data)) = (&server, &data_dir) {
        progress("seeding the large account");
        target::admin(
            &s.bin,
            data,
            &[
                "seed",
                "--account",
                &alias,
                "--servers",
                &args.large_servers.to_string(),
                "--group",
                "Bench large",
            ],
        )?;
        let small = target::admin(
            &s.bin,
            data,
            &[
                "seed",
                "--account",
                &alias,
                "--servers",
                &args.group_servers.to_string(),
                "--group",
                "Bench group",
            ],
        )?;
        let group_id = setup::seeded_group(&small)?;
        let total = args.large_servers + args.group_servers;
        progress("GET of a large group and of a server in a large account");
        let g = scenarios::gets(
            &s,
            addr,
            Some(auth.clone()),
            &format!("/v2/groups/{alias}/{group_id}"),
            1,
        )
        .await;
        rows.push(row(
            &format!(
                "GET of a group of {} servers",
                thousands(args.group_servers)
            ),
            engine,
            "1",
            g,
            "req/s",
            Some(b1),
        ));
        let one = crate::seed::server_name(&alias, &dc, args.large_servers / 2);
        let g = scenarios::gets(
            &s,
            addr,
            Some(auth.clone()),
            &format!("/v2/servers/{alias}/{one}"),
            c,
        )
        .await;
        rows.push(row(
            &format!(
                "GET of a server in an account of {}+ servers",
                thousands(total)
            ),
            engine,
            &c.to_string(),
            g,
            "req/s",
            Some(bc),
        ));

        progress("cold starts");
        let (cold, _) = scenarios::cold_starts(
            &s,
            "sqlite-cold",
            target::serve_args,
            target::SERVE_ENV,
            scenarios::first_login,
        )
        .await?;
        let mut size = Figure::default();
        size.value(target::disk_usage(data) as f64 / 1e6);
        let mut rss = Figure::default();
        rss.value(server.peak_rss().unwrap_or(0) as f64 / 1e6);
        let base_cold_ms = base_cold.median();
        let mut base_rss_fig = Figure::default();
        base_rss_fig.value(base_rss.unwrap_or(0) as f64 / 1e6);
        let base_rss_mb = base_rss_fig.median();
        rows.push(row(
            "cold start to first successful login",
            engine,
            "-",
            cold,
            "ms",
            Some(base_cold_ms),
        ));
        rows.push(row(
            "baseline: cold start to first answer",
            "-",
            "-",
            base_cold,
            "ms",
            Some(base_cold_ms),
        ));
        rows.push(row("store size on disk", engine, "-", size, "MB", None));
        rows.push(row(
            "server peak RSS",
            engine,
            "-",
            rss,
            "MB",
            Some(base_rss_mb),
        ));
        rows.push(row(
            "baseline peak RSS",
            "-",
            "-",
            base_rss_fig,
            "MB",
            Some(base_rss_mb),
        ));
    }
    drop(server);
    print!("{}", table(&s, &rows));
    Ok(())
}

fn row(
    what: &str,
    engine: &'static str,
    connections: &str,
    figure: Figure,
    unit: &'static str,
    baseline: Option<f64>,
) -> Row {
    Row {
        what: what.to_owned(),
        engine,
        connections: connections.to_owned(),
        figure,
        unit,
        baseline,
    }
}

/// 1000000 as 1,000,000.
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
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

fn table(s: &Settings, rows: &[Row]) -> String {
    let mut out = format!(
        "\nctlcloud bench: medians of {} runs of {:.1} s (at most {} requests each); ratio = figure / baseline figure\n\n\
         | measurement | engine | connections | median | p50 ms | p99 ms | ratio to baseline | failed |\n\
         |---|---|---|---|---|---|---|---|\n",
        s.runs,
        s.duration.as_secs_f64(),
        s.max_requests
    );
    for r in rows {
        let value = r.figure.median();
        let ms = |v: &[f64]| {
            let m = median(v);
            if m.is_nan() {
                "-".to_owned()
            } else {
                format!("{m:.2}")
            }
        };
        let ratio = match r.baseline {
            Some(b) if b > 0.0 && !value.is_nan() => format!("{:.2}", value / b),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} {} | {} | {} | {} | {} |\n",
            r.what,
            r.engine,
            r.connections,
            if value >= 100.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.1}")
            },
            r.unit,
            ms(&r.figure.p50),
            ms(&r.figure.p99),
            ratio,
            r.figure.failed,
        ));
        if let Some(e) = &r.figure.first_error {
            out.push_str(&format!(
                "|  | first failure: {} |||||||\n",
                e.chars().take(160).collect::<String>()
            ));
        }
    }
    out
}
