//! `ctlcloud serve`: open the store, bootstrap an empty one, run the workers and the API until
//! SIGINT or SIGTERM, then stop accepting, finish in-flight requests and stop claiming jobs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::app::App;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::compute::{Compute, Sim};
use crate::domain::limits::Limits;
use crate::store::{self, Store};
use crate::wakeup::Announcer;

/// Everything `serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    /// PostgreSQL instead of the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// How long a worker's claim on a job lasts before another node may take the job over.
    pub job_lease_secs: i64,
    /// How often idle workers look for work nobody woke them for, in milliseconds.
    pub job_poll_ms: u64,
    /// Jobs this node runs at once; 0: none (the node only answers the API, on PostgreSQL).
    pub max_running_jobs: usize,
    pub catalog: Option<PathBuf>,
    pub sim_delay_ms: u64,
    pub sim_fail_marker: Option<String>,
    pub clock_offset_secs: i64,
    /// The argon2 hash of the admin token; the admin API is off without one.
    pub admin_token_hash: Option<String>,
    /// How long a client has to send a request's headers, and then its body.
    pub read_timeout: Duration,
    /// How long a kept caller or lineage may be given out at most (see `store::callers` and
    /// `store::lineages`).
    pub trust_callers: Duration,
    pub limits: Limits,
    pub bootstrap: Bootstrap,
}

/// The account and user created on the first start of an empty store.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub alias: String,
    pub dc: String,
    pub username: String,
    pub password: Option<String>,
}

/// The database file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ctlcloud.db")
}

/// Opens the store: PostgreSQL when a URL is given, otherwise the data directory's SQLite file.
pub async fn open_store(data_dir: &Path, database_url: Option<&str>) -> Result<Store, String> {
    let opened = match database_url {
        Some(url) => Store::open(store::Location::Postgres(url)).await,
        None => {
            std::fs::create_dir_all(data_dir).map_err(|e| {
                format!(
                    "cannot create the data directory {}: {e}",
                    data_dir.display()
                )
            })?;
            Store::open(store::Location::File(&database_path(data_dir))).await
        }
    };
    opened.map_err(|e| format!("cannot open the store: {e}"))
}

/// Takes the data directory's lock: one server per SQLite file, since its workers assume no other
/// process runs its jobs. Held until the returned file is dropped.
fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e}",
            data_dir.display()
        )
    })?;
    let lock_path = data_dir.join("ctlcloud.lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.try_lock()
        .map_err(|_| format!("another ctlcloud server is using {}", data_dir.display()))?;
    Ok(lock)
}

pub fn load_catalog(path: Option<&Path>) -> Result<Catalog, String> {
    match path {
        Some(p) => Catalog::load(p),
        None => Ok(Catalog::built_in()),
    }
}

pub async fn run(config: ServeConfig) -> Result<(), String> {
    let lock = match config.database_url {
        None => Some(lock_data_dir(&config.data_dir)?),
        Some(_) => None,
    };
    let catalog = load_catalog(config.catalog.as_deref())?;
    let admin_token = config
        .admin_token_hash
        .as_deref()
        .map(crate::adminapi::AdminToken::new)
        .transpose()?;
    if config.limits.servers_per_account < 0 || config.limits.groups_per_account < 0 {
        return Err("the per-account caps cannot be negative".into());
    }
    if config.max_running_jobs == 0 && config.database_url.is_none() {
        return Err(
            "a node that runs no jobs needs --database-url: other nodes on the same database run them"
                .into(),
        );
    }
    // The first account's password is hashed while the store opens (argon2id takes tens of
    // milliseconds on purpose), so a first start is not the sum of both; on a later start the
    // hash is not needed and is dropped.
    let first_password = FirstPassword::start(&config.bootstrap);
    // Nodes on one PostgreSQL database wake each other's workers when they queue work, and tell
    // each other of changes to callers and groups. The listening connection is made while the store
    // opens.
    let node = crate::ids::new_id();
    let queued = Arc::new(Notify::new());
    let callers = Arc::new(store::callers::Callers::trusting_for(config.trust_callers));
    let lineages = Arc::new(store::lineages::Lineages::trusting_for(
        config.trust_callers,
    ));
    let (stop_background, background_stopping) = watch::channel(false);
    let listen = async {
        match &config.database_url {
            Some(url) => {
                let listening = crate::wakeup::listen(
                    url,
                    node.clone(),
                    queued.clone(),
                    callers.clone(),
                    lineages.clone(),
                    background_stopping.clone(),
                );
                listening.await.map(Some)
            }
            None => Ok(None),
        }
    };
    let opened = open_store(&config.data_dir, config.database_url.as_deref());
    let (store, listener) = tokio::join!(opened, listen);
    let store = store?
        .keeping_callers_in(callers)
        .keeping_lineages_in(lineages);
    let mut background_tasks: Vec<_> = listener?.into_iter().collect();
    let mut announcer = Announcer::default();
    if store.engine() == store::Engine::Postgres {
        let pool = store.reader().clone();
        let (a, task) = crate::wakeup::announcer(pool, node.clone(), background_stopping.clone());
        announcer = a;
        background_tasks.push(task);
        background_tasks.push(store::statistics::keep_current(
            store.clone(),
            background_stopping.clone(),
        ));
    }
    let clock = Clock::with_offset(config.clock_offset_secs);
    if store.engine() == store::Engine::Sqlite {
        // The only node of this store: whatever was running when it last stopped runs again now.
        let mut tx = store.write().await.map_err(|e| e.to_string())?;
        let resumed = store::jobs::expire_leases(&mut tx)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        if resumed > 0 {
            tracing::info!(
                jobs = resumed,
                "resuming jobs left running by the previous start"
            );
        }
    }
    bootstrap(&store, &catalog, &clock, &config.bootstrap, first_password).await?;
    let app = Arc::new(App {
        store: store.clone(),
        catalog,
        clock,
        compute: Compute::Sim(Sim {
            delay: Duration::from_millis(config.sim_delay_ms),
            fail_marker: config.sim_fail_marker.clone(),
        }),
        queued,
        announcer,
        limits: config.limits,
        creates: Default::default(),
        answers: crate::api::answers::Answers::trusting_for(config.trust_callers),
        throttle: Default::default(),
        admin_token,
        read_timeout: config.read_timeout,
    });
    let (stop_workers, workers_stopping) = watch::channel(false);
    let workers = (config.max_running_jobs > 0).then(|| {
        let settings = crate::worker::Settings {
            lease_secs: config.job_lease_secs,
            poll: Duration::from_millis(config.job_poll_ms.max(1)),
            max_running: config.max_running_jobs,
        };
        tokio::spawn(crate::worker::run(app.clone(), settings, workers_stopping))
    });

    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "ctlcloud started");
    println!("ctlcloud listening on http://{addr}");
    let _ = std::io::stdout().flush();

    let router = crate::http::service(app);
    crate::http::connections::serve(listener, router, config.read_timeout, shutdown_signal()).await;
    let _ = stop_workers.send(true);
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    // After the workers: the jobs they queued last are still announced.
    let _ = stop_background.send(true);
    for task in background_tasks {
        let _ = task.await;
    }
    store.close().await;
    drop(lock);
    tracing::info!("ctlcloud stopped");
    Ok(())
}

/// The first user's password, given or generated, and its hash being computed.
struct FirstPassword {
    password: String,
    generated: bool,
    hash: tokio::task::JoinHandle<crate::http::error::ApiResult<String>>,
}

impl FirstPassword {
    fn start(b: &Bootstrap) -> FirstPassword {
        let (password, generated) = match &b.password {
            Some(p) => (p.clone(), false),
            None => (crate::ids::new_password(), true),
        };
        let hash = tokio::spawn({
            let password = password.clone();
            async move { crate::domain::users::hash_password(&password).await }
        });
        FirstPassword {
            password,
            generated,
            hash,
        }
    }
}

async fn bootstrap(
    store: &Store,
    catalog: &Catalog,
    clock: &Clock,
    b: &Bootstrap,
    first: FirstPassword,
) -> Result<(), String> {
    if store::accounts::count(store.reader())
        .await
        .map_err(|e| e.to_string())?
        > 0
    {
        return Ok(());
    }
    let FirstPassword {
        password,
        generated,
        hash,
    } = first;
    let hash = hash
        .await
        .map_err(|e| format!("bootstrap: {e}"))?
        .map_err(|e| format!("bootstrap: {}", e.message))?;
    let now = clock.now();
    let mut tx = store.write().await.map_err(|e| e.to_string())?;
    let account = crate::domain::accounts::create_account(
        &mut tx,
        catalog,
        crate::domain::accounts::NewAccount {
            alias: &b.alias,
            name: &b.alias,
            parent: None,
            primary_dc: &b.dc,
        },
        now,
        "ctlcloud",
    )
    .await
    .map_err(|e| format!("bootstrap: {}", e.message))?;
    let roles = ["AccountAdmin".to_owned(), "ServerAdmin".to_owned()];
    crate::domain::users::create(
        &mut tx,
        &account,
        &b.username,
        &hash,
        &roles,
        now,
        "ctlcloud",
    )
    .await
    .map_err(|e| format!("bootstrap: {}", e.message))?;
    tx.commit().await.map_err(|e| e.to_string())?;
    tracing::info!(
        account = account.alias,
        user = b.username,
        "created the first account and user"
    );
    if generated {
        // Shown once, on the terminal that started ctlcloud; never written to the logs.
        println!(
            "ctlcloud created account {} with user {} and password {password} (shown only now)",
            account.alias, b.username
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("stopping: no new connections, finishing requests in flight");
}
