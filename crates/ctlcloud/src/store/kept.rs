//! What a node keeps of what it read, to spare reading it again, each under the count of changes
//! it was read under: the callers of recent tokens ([`super::callers`]), the groups servers are
//! created into ([`super::lineages`]) and the answers to GETs of a server or a group
//! (`api::answers`).
//!
//! A kept value is given out only while the count has not moved since its read began and for at
//! most the node's trust window. How the count is known depends on what is kept and the engine:
//! on SQLite callers and lineages are counted in the file, read in the request's own snapshot
//! (callers only when anything was committed since the count was last read), and answers by the
//! commits to the file ([`super::commits`]); on PostgreSQL each node counts the notifications it
//! receives and the changes it commits itself.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{db, StoreResult, Tx};

/// What nodes keep that a transaction can change: each change is counted in the transaction that
/// makes it ([`count_change`]).
#[derive(Clone, Copy, Debug)]
pub enum Counted {
    /// Users, their roles and tokens, and what else a caller is read with ([`super::callers`]).
    Callers = 0,
    /// Groups and their defaults ([`super::lineages`]).
    Groups = 1,
}

impl Counted {
    /// The row counting them on SQLite, and the channel notifying them on PostgreSQL.
    fn counter(self) -> (&'static str, &'static str) {
        match self {
            Counted::Callers => (
                "UPDATE callers_changes SET n = n + 1",
                super::callers::CHANNEL,
            ),
            Counted::Groups => (
                "UPDATE groups_changes SET n = n + 1",
                super::lineages::CHANNEL,
            ),
        }
    }
}

/// Counts a change to `what` made in `tx`, wherever it runs (a request, a job's step,
/// `ctlcloud admin`), so that no node gives out what it kept from before it:
/// - SQLite: in a row of the file, which requests read in their own snapshot.
/// - PostgreSQL: a notification to every node, and, once the transaction commits, the count of
///   this node's own changes, so that the node that made a change never gives out what it read
///   before (it may hear of the notification later). A row counting changes would make every
///   transaction that changes one wait for the others.
pub(super) async fn count_change(tx: &mut Tx, what: Counted) -> StoreResult<()> {
    let (counting, channel) = what.counter();
    match tx {
        Tx::Sqlite(_) | Tx::SqliteBatch(_) => {
            db::query(counting).execute(tx).await?;
        }
        Tx::Postgres(_) | Tx::PostgresAutocommit(_) => {
            db::query("SELECT pg_notify(?, '')")
                .bind(channel)
                .execute(&mut *tx)
                .await?;
            if let Tx::Postgres(conn) | Tx::PostgresAutocommit(conn) = tx {
                conn.count_change(what);
            }
        }
    }
    Ok(())
}

/// The most values kept by default: past that, those no longer trusted are dropped, and if that
/// is not enough, all.
const MOST: usize = 10_000;

#[derive(Debug)]
struct Entry<V> {
    value: V,
    /// The count of changes it was read under.
    changes: u64,
    /// When its read began.
    read: Instant,
}

/// Values kept by key.
#[derive(Debug)]
pub struct Kept<K, V> {
    entries: Mutex<HashMap<K, Entry<V>, foldhash::fast::FixedState>>,
    /// The changes this node was told of with [`Kept::changed`] (PostgreSQL). SQLite reads the
    /// count from the file instead.
    known_changes: AtomicU64,
    trusted_for: Duration,
    most: usize,
}

impl<K: Eq + Hash, V: Clone> Kept<K, V> {
    /// Values given out for at most `trusted_for` after their read (zero: none is kept).
    pub fn trusting_for(trusted_for: Duration) -> Self {
        Kept::holding(MOST, trusted_for)
    }

    /// At most `most` values, each given out for at most `trusted_for` after its read.
    pub fn holding(most: usize, trusted_for: Duration) -> Self {
        Kept {
            entries: Mutex::default(),
            known_changes: AtomicU64::new(0),
            trusted_for,
            most,
        }
    }

    /// The count of changes this node knows of.
    pub fn known_changes(&self) -> u64 {
        self.known_changes.load(Ordering::Acquire)
    }

    /// Records a change: nothing kept so far is given out again.
    pub fn changed(&self) {
        self.known_changes.fetch_add(1, Ordering::AcqRel);
    }

    /// The value kept for `key`, if it was read under `changes` (the count as it is now) less
    /// than the trust window ago.
    pub fn get<Q>(&self, key: &Q, changes: u64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.lock();
        let e = entries.get(key)?;
        let holds = e.changes == changes && e.read.elapsed() < self.trusted_for;
        holds.then(|| e.value.clone())
    }

    /// Keeps a value whose read began at `read`, under `changes` as counted before it began. A
    /// change committed during the read leaves it kept under the count before the change, so it
    /// is not given out.
    pub fn keep(&self, key: K, value: V, changes: u64, read: Instant) {
        if self.trusted_for.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.most {
            entries.retain(|_, e| e.read.elapsed() < self.trusted_for);
            if entries.len() >= self.most {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                value,
                changes,
                read,
            },
        );
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V>, foldhash::fast::FixedState>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_given_out_while_nothing_changed() {
        let kept = Kept::trusting_for(Duration::from_secs(60));
        let changes = kept.known_changes();
        kept.keep("a", 1, changes, Instant::now());
        assert_eq!(kept.get(&"a", changes), Some(1));
        assert_eq!(kept.get(&"b", changes), None);
        kept.changed();
        assert_eq!(kept.get(&"a", kept.known_changes()), None);
    }

    #[test]
    fn a_value_read_across_a_change_is_not_given_out() {
        let kept = Kept::trusting_for(Duration::from_secs(60));
        let before = kept.known_changes();
        let read = Instant::now();
        kept.changed();
        kept.keep("a", 1, before, read);
        assert_eq!(kept.get(&"a", kept.known_changes()), None);
    }

    #[test]
    fn no_value_is_given_out_past_the_trust_window() {
        let none = Kept::trusting_for(Duration::ZERO);
        none.keep("a", 1, 0, Instant::now());
        assert_eq!(none.get(&"a", 0), None);
        let kept = Kept::trusting_for(Duration::from_secs(60));
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(61))
            .expect("this machine has been up for a minute");
        kept.keep("a", 1, 0, long_ago);
        assert_eq!(kept.get(&"a", 0), None);
    }

    #[test]
    fn no_more_values_are_kept_than_the_most() {
        let kept = Kept::trusting_for(Duration::from_secs(60));
        for n in 0..MOST * 2 + 3 {
            kept.keep(n, n, 0, Instant::now());
            assert!(kept.len() <= MOST);
        }
        let last = MOST * 2 + 2;
        assert_eq!(kept.get(&last, 0), Some(last));
    }
}
