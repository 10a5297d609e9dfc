//! The running application: the store, the catalog, the clock, the compute driver, the queue's
//! wake-up signal and the access settings, shared by the HTTP layer and the workers.
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::access::throttle::Throttle;
use crate::adminapi::AdminToken;
use crate::api::answers::Answers;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::compute::Compute;
use crate::domain::limits::Limits;
use crate::domain::server_creates::Creates;
use crate::http::connections;
use crate::store::Store;
use crate::wakeup::Announcer;

pub struct App {
    pub store: Store,
    pub catalog: Catalog,
    pub clock: Clock,
    pub compute: Compute,
    /// Signalled whenever a job is queued, so that idle workers start at once.
    pub queued: Arc<Notify>,
    /// Tells the other nodes on the same PostgreSQL database that a job is queued.
    pub announcer: Announcer,
    /// Caps on what one account may hold.
    pub limits: Limits,
    /// Server creates waiting to be decided together, per account.
    pub creates: Arc<Creates>,
    /// Answers to GETs of a server or a group, kept while nothing is committed (SQLite).
    pub answers: Answers,
    /// Failed logins and admin-token attempts, per client (in memory on this node).
    pub throttle: Throttle,
    /// The operator's admin token; the admin API is off without one.
    pub admin_token: Option<AdminToken>,
    /// How long a client has to send a request's headers, and then its body.
    pub read_timeout: Duration,
}

impl App {
    /// An application on `store` with the simulated driver at zero delay, the default caps, no
    /// other nodes and no admin token: what the local admin commands and the tests run.
    pub fn simulated(store: Store, catalog: Catalog) -> App {
        App {
            store,
            catalog,
            clock: Clock::default(),
            compute: Compute::Sim(Default::default()),
            queued: Default::default(),
            announcer: Default::default(),
            limits: Default::default(),
            creates: Default::default(),
            answers: Default::default(),
            throttle: Default::default(),
            admin_token: None,
            read_timeout: connections::DEFAULT_READ_TIMEOUT,
        }
    }

    /// Tells the workers, of this node and of the others, that new work is queued. Called after
    /// the job's transaction commits.
    pub fn wake_workers(&self) {
        self.queued.notify_one();
        self.announcer.announce();
    }
}
