//! The `ctlcloud` command: `serve`, `admin`, `coverage`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use ctlcloud::admin::{self, Command};
use ctlcloud::serve::{self, Bootstrap, ServeConfig};

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
    /// Manage accounts and users in a data directory.
    Admin {
        /// The data directory of the installation.
        #[arg(
            long,
            env = "CTLCLOUD_DATA_DIR",
            default_value = "ctlcloud-data",
            global = true
        )]
        data_dir: PathBuf,
        /// A catalog file replacing the built-in data centers and templates.
        #[arg(long, env = "CTLCLOUD_CATALOG", global = true)]
        catalog: Option<PathBuf>,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the API coverage table (markdown).
    Coverage,
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
    /// A catalog file replacing the built-in data centers and templates.
    #[arg(long, env = "CTLCLOUD_CATALOG")]
    catalog: Option<PathBuf>,
    /// How long the simulated driver takes for each build or delete, in milliseconds.
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
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
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
enum AccountCommand {
    /// Create an account, with its groups and a network in every data center.
    Create {
        #[arg(long)]
        alias: String,
        #[arg(long)]
        name: String,
        /// The parent account's alias.
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        primary_dc: Option<String>,
    },
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
}

fn init_logs() {
    let level = std::env::var("CTLCLOUD_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() {
    let cli = Cli::parse();
    if let Top::Coverage = cli.command {
        print!("{}", ctlcloud::coverage_table());
        return;
    }
    init_logs();
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
                    catalog: a.catalog,
                    sim_delay_ms: a.sim_delay_ms,
                    sim_fail_marker: a.sim_fail_marker,
                    clock_offset_secs: a.clock_offset_secs,
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
                data_dir,
                catalog,
                command,
            } => {
                let catalog = serve::load_catalog(catalog.as_deref())?;
                let command = match command {
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
                    AdminCommand::Seed {
                        account,
                        servers,
                        group,
                        networks,
                    } => Command::Seed(ctlcloud::seed::Seed {
                        account,
                        servers,
                        group,
                        networks,
                    }),
                };
                admin::run(&data_dir, &catalog, command).await
            }
            Top::Bench(args) => ctlcloud::bench::run(args).await,
            Top::Baseline { listen } => ctlcloud::bench::serve_baseline(&listen).await,
            Top::Coverage => unreachable!("handled before the runtime starts"),
        }
    });
    if let Err(e) = result {
        eprintln!("ctlcloud: {e}");
        std::process::exit(1);
    }
}
