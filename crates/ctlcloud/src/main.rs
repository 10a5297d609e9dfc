//! The `ctlcloud` command: `serve`, `admin`, `coverage`, `roles`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use ctlcloud::admin::{self, Command, Target};
use ctlcloud::domain::limits::Limits;
use ctlcloud::http::connections::DEFAULT_READ_TIMEOUT;
use ctlcloud::serve::{self, Bootstrap, ServeConfig};

// A request allocates and frees many small strings and rows; mimalloc does that in thread-local
// pages, which gave authenticated GETs under load about 8% more throughput than the system's
// allocator (`ctlcloud bench`, runs side by side).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ctlcloud",
    version,
    about = "A self-hosted control plane that speaks the CenturyLink Cloud API v2"
)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Run the API and its workers.
    Serve(ServeArgs),
    /// Manage accounts, users, roles, networks and custom fields, and read the audit trail: through
    /// the admin API of a running installation with --url, on a data directory otherwise.
    Admin {
        /// The data directory of the installation (without --url).
        #[arg(
            long,
            env = "CTLCLOUD_DATA_DIR",
            default_value = "ctlcloud-data",
            global = true
        )]
        data_dir: PathBuf,
        /// A PostgreSQL URL: the installation's store instead of the data directory's SQLite file
        /// (without --url).
        #[arg(
            long,
            env = "CTLCLOUD_DATABASE_URL",
            global = true,
            hide_env_values = true
        )]
        database_url: Option<String>,
        /// A catalog file replacing the built-in data centers and templates (without --url).
        #[arg(long, env = "CTLCLOUD_CATALOG", global = true)]
        catalog: Option<PathBuf>,
        /// The base URL of a running installation; the admin token is read from
        /// CTLCLOUD_ADMIN_TOKEN.
        #[arg(long, env = "CTLCLOUD_ADMIN_URL", global = true)]
        url: Option<String>,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the API coverage table (markdown).
    Coverage,
    /// Print the role table: which permissions each role grants (markdown).
    Roles,
    /// Measure this build: start a server (or use --url), load it, print a table of medians.
    Bench(ctlcloud::bench::Args),
    /// The benchmark's baseline: the same HTTP stack answering a fixed JSON body.
    #[command(hide = true)]
    Baseline {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CTLCLOUD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Where the database lives.
    #[arg(long, env = "CTLCLOUD_DATA_DIR", default_value = "ctlcloud-data")]
    data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://user:password@host/db): many nodes share it. SQLite when absent.
    #[arg(long, env = "CTLCLOUD_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// How long a node's claim on a job lasts; a job whose node died is taken over after this.
    #[arg(long, env = "CTLCLOUD_JOB_LEASE_SECS", default_value_t = 60)]
    job_lease_secs: i64,
    /// How often idle workers look for work nobody woke them for (scheduled jobs, and on
    /// PostgreSQL jobs whose notification from another node was lost), in milliseconds.
    #[arg(long, env = "CTLCLOUD_JOB_POLL_MS", default_value_t = 250)]
    job_poll_ms: u64,
    /// Jobs this node runs at once; 0 makes it answer the API only (PostgreSQL: other nodes run
    /// the jobs).
    #[arg(long, env = "CTLCLOUD_MAX_RUNNING_JOBS", default_value_t = 256)]
    max_running_jobs: usize,
    /// A catalog file replacing the built-in data centers and templates.
    #[arg(long, env = "CTLCLOUD_CATALOG")]
    catalog: Option<PathBuf>,
    /// How long the simulated driver takes for each step (build, change, delete, power operation,
    /// snapshot), in milliseconds.
    #[arg(long, env = "CTLCLOUD_SIM_BUILD_DELAY_MS", default_value_t = 1000)]
    sim_delay_ms: u64,
    /// The simulated driver fails builds of servers whose name contains this text.
    #[arg(long, env = "CTLCLOUD_SIM_FAIL_MARKER")]
    sim_fail_marker: Option<String>,
    /// Shifts the server's clock by this many seconds (for testing expiry without waiting).
    #[arg(
        long,
        env = "CTLCLOUD_CLOCK_OFFSET_SECS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    clock_offset_secs: i64,
    /// Alias of the account created on the first start.
    #[arg(long, env = "CTLCLOUD_BOOTSTRAP_ALIAS", default_value = "DEMO")]
    bootstrap_alias: String,
    /// Primary data center of that account.
    #[arg(long, env = "CTLCLOUD_BOOTSTRAP_DC", default_value = "WA1")]
    bootstrap_dc: String,
    /// Username of the first user.
    #[arg(long, env = "CTLCLOUD_BOOTSTRAP_USERNAME", default_value = "admin")]
    bootstrap_username: String,
    /// Password of the first user; generated and printed once if not given.
    #[arg(long, env = "CTLCLOUD_BOOTSTRAP_PASSWORD", hide_env_values = true)]
    bootstrap_password: Option<String>,
    /// The argon2 hash (PHC string) of the admin token; the admin API is off without it.
    #[arg(long, env = "CTLCLOUD_ADMIN_TOKEN_HASH", hide_env_values = true)]
    admin_token_hash: Option<String>,
    /// The most servers one account may have.
    #[arg(long, env = "CTLCLOUD_MAX_SERVERS_PER_ACCOUNT", default_value_t = Limits::default().servers_per_account)]
    max_servers_per_account: i64,
    /// The most groups (beyond each data center's own) one account may have.
    #[arg(long, env = "CTLCLOUD_MAX_GROUPS_PER_ACCOUNT", default_value_t = Limits::default().groups_per_account)]
    max_groups_per_account: i64,
    /// How long a client has to send a request's headers, and then its body, in seconds; a
    /// connection idle this long between requests is closed.
    #[arg(long, env = "CTLCLOUD_READ_TIMEOUT_SECS", default_value_t = DEFAULT_READ_TIMEOUT.as_secs())]
    read_timeout_secs: u64,
    /// How long a node goes on answering for a token's caller, using a group's lineage, and giving
    /// out a kept answer to a GET of a server or a group (SQLite), as it read them without reading
    /// them again, in milliseconds: the longest a change to users or groups made elsewhere can go
    /// unseen by a node that missed its notification (PostgreSQL); 0 reads them for every request.
    #[arg(long, env = "CTLCLOUD_TRUST_CALLERS_MS", default_value_t = 1000)]
    trust_callers_ms: u64,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Custom fields an account defines for its servers and groups.
    #[command(subcommand)]
    CustomField(CustomFieldCommand),
    /// Networks.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// The roles and the permissions each grants.
    Roles,
    /// The audit trail, newest first.
    Audit {
        /// Only writes by users of this account.
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        /// Only entries older than this id (the nextBefore of the previous page).
        #[arg(long)]
        before: Option<i64>,
    },
    /// Generate an admin token and print it with its hash for --admin-token-hash.
    TokenHash,
    /// Add many servers (in a new group) and networks to an account at once, for benchmarks.
    Seed {
        #[arg(long)]
        account: String,
        /// Servers to create, built and started, in a new group.
        #[arg(long, default_value_t = 0)]
        servers: i64,
        /// The new group's name, under the root group of the account's primary data center.
        #[arg(long, default_value = "Seeded")]
        group: String,
        /// Private /24 networks to add in the primary data center.
        #[arg(long, default_value_t = 0)]
        networks: u32,
    },
}

#[derive(Subcommand)]
enum CustomFieldCommand {
    /// Define a custom field; answers it, with its id.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        /// text, checkbox or option.
        #[arg(long = "type")]
        kind: String,
        /// Servers and groups must give a value.
        #[arg(long)]
        required: bool,
        /// A choice of an option field, as NAME=VALUE (repeat for several).
        #[arg(long = "option")]
        options: Vec<String>,
    },
    /// List an account's custom fields.
    List {
        #[arg(long)]
        account: String,
    },
}

#[derive(Subcommand)]
enum NetworkCommand {
    /// Give an account another private /24 network in a data center.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        dc: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account, with its groups and a network in every data center.
    Create {
        #[arg(long)]
        alias: String,
        #[arg(long)]
        name: Option<String>,
        /// The parent account's alias.
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        primary_dc: Option<String>,
    },
    /// List accounts.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from stdin or generated and printed once.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        username: String,
        /// A platform role (repeat for several); ServerAdmin if none.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List an account's users.
    List {
        #[arg(long)]
        account: String,
    },
    /// Replace a user's roles.
    SetRoles {
        #[arg(long)]
        username: String,
        /// A platform role (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Set a user's password and revoke their tokens.
    SetPassword {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user and revoke their tokens.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Revoke every token of a user.
    RevokeTokens {
        #[arg(long)]
        username: String,
    },
}

impl AdminCommand {
    fn into_command(self) -> Command {
        match self {
            AdminCommand::Roles => Command::Roles,
            AdminCommand::Audit {
                account,
                limit,
                before,
            } => Command::Audit {
                account,
                limit,
                before,
            },
            AdminCommand::TokenHash => unreachable!("handled without a target"),
            AdminCommand::Seed { .. } => unreachable!("seeding works on the store directly"),
            AdminCommand::Account(AccountCommand::List) => Command::ListAccounts,
            AdminCommand::Account(AccountCommand::Create {
                alias,
                name,
                parent,
                primary_dc,
            }) => Command::CreateAccount {
                alias,
                name,
                parent,
                primary_dc,
            },
            AdminCommand::User(UserCommand::Create {
                account,
                username,
                roles,
                password_stdin,
            }) => Command::CreateUser {
                account,
                username,
                roles,
                password_stdin,
            },
            AdminCommand::User(UserCommand::List { account }) => Command::ListUsers { account },
            AdminCommand::User(UserCommand::SetRoles { username, roles }) => {
                Command::SetRoles { username, roles }
            }
            AdminCommand::User(UserCommand::SetPassword {
                username,
                password_stdin,
            }) => Command::SetPassword {
                username,
                password_stdin,
            },
            AdminCommand::User(UserCommand::Disable { username }) => {
                Command::DisableUser { username }
            }
            AdminCommand::User(UserCommand::Enable { username }) => {
                Command::EnableUser { username }
            }
            AdminCommand::User(UserCommand::RevokeTokens { username }) => {
                Command::RevokeTokens { username }
            }
            AdminCommand::CustomField(CustomFieldCommand::Create {
                account,
                name,
                kind,
                required,
                options,
            }) => Command::CreateCustomField {
                account,
                name,
                kind,
                required,
                options,
            },
            AdminCommand::CustomField(CustomFieldCommand::List { account }) => {
                Command::ListCustomFields { account }
            }
            AdminCommand::Network(NetworkCommand::Create { account, dc }) => {
                Command::CreateNetwork { account, dc }
            }
        }
    }
}

/// Starts the log; what it holds is written by the time [`ctlcloud::logs::Log::flush`] returns.
fn init_logs() -> ctlcloud::logs::Log {
    let level = std::env::var("CTLCLOUD_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    // Colours only on a terminal: a log written to a file or a collector stays plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let log = ctlcloud::logs::Log::start();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(log.clone())
        .with_ansi(colours)
        .with_target(false);
    if colours {
        subscriber.init();
    } else {
        subscriber.event_format(ctlcloud::logs::Line).init();
    }
    log
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Top::Coverage => {
            print!("{}", ctlcloud::coverage_table());
            return;
        }
        Top::Roles => {
            print!("{}", ctlcloud::access::roles_table());
            return;
        }
        Top::Admin {
            command: AdminCommand::TokenHash,
            ..
        } => {
            let (token, hash) = ctlcloud::adminapi::generate_token();
            println!("admin token (give it to admin API callers, shown only now): {token}");
            println!("its hash (for --admin-token-hash / CTLCLOUD_ADMIN_TOKEN_HASH): {hash}");
            return;
        }
        _ => {}
    }
    let log = init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let result = runtime.block_on(async {
        match cli.command {
            Top::Serve(a) => {
                serve::run(ServeConfig {
                    listen: a.listen,
                    data_dir: a.data_dir,
                    database_url: a.database_url,
                    job_lease_secs: a.job_lease_secs.max(1),
                    job_poll_ms: a.job_poll_ms,
                    max_running_jobs: a.max_running_jobs,
                    catalog: a.catalog,
                    sim_delay_ms: a.sim_delay_ms,
                    sim_fail_marker: a.sim_fail_marker,
                    clock_offset_secs: a.clock_offset_secs,
                    admin_token_hash: a.admin_token_hash,
                    read_timeout: Duration::from_secs(a.read_timeout_secs.max(1)),
                    trust_callers: Duration::from_millis(a.trust_callers_ms),
                    limits: Limits {
                        servers_per_account: a.max_servers_per_account,
                        groups_per_account: a.max_groups_per_account,
                    },
                    bootstrap: Bootstrap {
                        alias: a.bootstrap_alias,
                        dc: a.bootstrap_dc,
                        username: a.bootstrap_username,
                        password: a.bootstrap_password,
                    },
                })
                .await
            }
            Top::Admin {
                database_url,
                data_dir,
                catalog,
                url,
                command,
            } => {
                if let AdminCommand::Seed {
                    account,
                    servers,
                    group,
                    networks,
                } = command
                {
                    // Bulk writes go straight to the store, in large transactions of their own.
                    let catalog = serve::load_catalog(catalog.as_deref())?;
                    let store = serve::open_store(&data_dir, database_url.as_deref()).await?;
                    let seed = ctlcloud::seed::Seed {
                        account,
                        servers,
                        group,
                        networks,
                    };
                    let now = ctlcloud::clock::Clock::default().now();
                    let report = ctlcloud::seed::run(&store, &catalog, seed, now).await;
                    store.close().await;
                    print!("{}", report?);
                    return Ok(());
                }
                let target = match url {
                    Some(url) => Target::Remote {
                        url,
                        token: std::env::var("CTLCLOUD_ADMIN_TOKEN").map_err(|_| {
                            "--url needs the admin token in CTLCLOUD_ADMIN_TOKEN".to_owned()
                        })?,
                    },
                    None => Target::Local {
                        data_dir,
                        database_url,
                        catalog,
                    },
                };
                admin::run(target, command.into_command()).await
            }
            Top::Bench(args) => ctlcloud::bench::run(args).await,
            Top::Baseline { listen } => ctlcloud::bench::serve_baseline(&listen).await,
            Top::Coverage | Top::Roles => unreachable!("handled before the runtime starts"),
        }
    });
    log.flush();
    if let Err(e) = result {
        eprintln!("ctlcloud: {e}");
        std::process::exit(1);
    }
}
