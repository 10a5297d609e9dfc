//! The groups servers are created into, each with its ancestors and their defaults (its lineage),
//! kept by each node: reading them was a recursive statement for every create, and on PostgreSQL
//! the one round trip a create did not share with the others of its batch.
//!
//! As with callers ([`super::callers`]), a kept lineage is given out only while no change to a
//! group or its defaults has been committed since its read began, and for at most the node's
//! trust window (`--trust-callers-ms`). Every statement that changes a group or its defaults
//! counts the change in its own transaction ([`count_change`]), wherever it runs (a request, a
//! job's step, `ctlcloud admin`):
//! - SQLite: in the `groups_changes` table, which a create reads in its own snapshot.
//! - PostgreSQL: a notification on [`CHANNEL`] to every node, and, once the transaction commits,
//!   the count of the node's own changes, so that the node that made a change never gives out a
//!   lineage read before it. (A row counting changes would make every transaction changing groups
//!   wait for the others.)
//!
//! Adding a group changes no lineage kept: a lineage holds groups that exist already. A kept
//! lineage only prepares a create; the transaction deciding it checks the group again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::kept::{self, Counted, Kept};
use super::{StoreResult, Tx};
use crate::model::{Group, GroupDefaults};

/// The channel on which PostgreSQL notifies every node of a committed change to groups.
pub const CHANNEL: &str = "ctlcloud_groups";

/// A group and each of its ancestors, the group first, each with its own defaults.
pub type Lineage = Arc<Vec<(Group, GroupDefaults)>>;

/// The lineages a node keeps, by account and group id (lower case).
#[derive(Debug)]
pub struct Lineages(Kept<(i64, String), Lineage>);

impl Default for Lineages {
    fn default() -> Self {
        Lineages::trusting_for(super::callers::TRUSTED_FOR)
    }
}

impl Lineages {
    /// Lineages kept for at most `trusted_for` (zero: none is kept).
    pub fn trusting_for(trusted_for: Duration) -> Lineages {
        Lineages(Kept::trusting_for(trusted_for))
    }

    /// The count of changes to groups this node was notified of (PostgreSQL).
    pub fn notified_changes(&self) -> u64 {
        self.0.known_changes()
    }

    /// Records a change to groups made by another node: no lineage kept so far is given out again.
    pub fn changed(&self) {
        self.0.changed()
    }

    pub(super) fn get(&self, key: &(i64, String), changes: u64) -> Option<Lineage> {
        self.0.get(key, changes)
    }

    pub(super) fn keep(&self, key: (i64, String), lineage: Lineage, changes: u64, read: Instant) {
        self.0.keep(key, lineage, changes, read)
    }
}

/// Counts a change to groups or their defaults made in `tx` (see the module's notes).
pub(super) async fn count_change(tx: &mut Tx) -> StoreResult<()> {
    kept::count_change(tx, Counted::Groups).await
}
