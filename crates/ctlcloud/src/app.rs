//! The running application: the store, the catalog, the clock, the compute driver and the queue's
//! wake-up signal, shared by the HTTP layer and the workers.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::compute::Compute;
use crate::store::Store;

pub struct App {
    pub store: Store,
    pub catalog: Catalog,
    pub clock: Clock,
    pub compute: Compute,
    /// Signalled whenever a job is queued, so that idle workers start at once.
    pub queued: Arc<Notify>,
}

impl App {
    /// Tells the workers new work is queued. Called after the job's transaction commits.
    pub fn wake_workers(&self) {
        self.queued.notify_one();
    }
}
