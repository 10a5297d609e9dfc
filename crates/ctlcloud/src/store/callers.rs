//! The callers behind the bearer tokens of recent requests, kept by each node so that a request
//! need not read its token, user and account from the store every time: on PostgreSQL that read
//! was one of the two round trips of a GET.
//!
//! A kept caller is given out only while nothing that decides who a token's caller is or what
//! they may do has changed since it was read: a user's roles, password or being disabled, revoked
//! tokens, an account's custom fields. Those changes are committed with
//! [`super::Store::commit_callers`], which counts them in the `callers_changes` table and, on
//! PostgreSQL, notifies every node on [`CHANNEL`] in the same transaction.
//! - SQLite: a request reads that count (one row) in its own snapshot, before the caller, so a
//!   change committed by another process on the file (`ctlcloud admin`) holds at once too.
//! - PostgreSQL: reading the count would be a round trip again. Each node counts the
//!   notifications it receives instead (its own changes too, once committed), and a kept caller
//!   holds while that count has not moved. A notification missed while the listening connection
//!   was lost is made up for when it is made again. Until then the other bound applies: no caller
//!   is kept longer than the node's trust window (`--trust-callers-ms`, one second by default).
//!
//! Unknown, revoked and expired tokens are never kept; a kept caller whose token has expired since
//! is not given out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::Principal;

/// The channel on which PostgreSQL notifies every node of a committed change to callers.
pub const CHANNEL: &str = "ctlcloud_callers";

/// How long a node gives out a caller it read, at most, by default.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// The most callers a node keeps: past that, those it no longer trusts are dropped, and if that
/// is not enough, all.
const MOST: usize = 10_000;

/// A caller as read, with what it was read under.
#[derive(Debug)]
struct Kept {
    principal: Principal,
    /// When the token expires, on the server's clock.
    expires_at: i64,
    /// The count of changes it was read under (see [`Callers::get`]).
    changes: u64,
    /// When its read began.
    read: Instant,
}

/// The callers a node keeps, by their token's hash.
#[derive(Debug)]
pub struct Callers {
    kept: Mutex<HashMap<Vec<u8>, Kept, foldhash::fast::FixedState>>,
    /// The changes to callers this node knows of (PostgreSQL): bumped by its own commits and by
    /// every notification. SQLite reads the count from the file instead.
    known_changes: AtomicU64,
    trusted_for: Duration,
}

impl Default for Callers {
    fn default() -> Self {
        Callers::trusting_for(TRUSTED_FOR)
    }
}

impl Callers {
    /// Callers kept for at most `trusted_for` (zero: none is kept).
    pub fn trusting_for(trusted_for: Duration) -> Callers {
        Callers {
            kept: Mutex::default(),
            known_changes: AtomicU64::new(0),
            trusted_for,
        }
    }

    /// The count of changes to callers this node knows of.
    pub fn known_changes(&self) -> u64 {
        self.known_changes.load(Ordering::Acquire)
    }

    /// Records a change to callers: none kept so far is given out again.
    pub fn changed(&self) {
        self.known_changes.fetch_add(1, Ordering::AcqRel);
    }

    /// The caller kept for `hash`, if it was read under `changes` (the count of changes as it is
    /// now), less than the trust window ago, and its token is unexpired at `now`.
    pub fn get(&self, hash: &[u8], changes: u64, now: i64) -> Option<Principal> {
        let kept = self.lock();
        let k = kept.get(hash)?;
        let holds =
            k.changes == changes && k.expires_at > now && k.read.elapsed() < self.trusted_for;
        holds.then(|| k.principal.clone())
    }

    /// Keeps a caller whose read began at `read`, under `changes` as counted before it began. A
    /// change committed during the read leaves it kept under the count before the change, so it
    /// is not given out.
    pub fn keep(
        &self,
        hash: &[u8],
        principal: &Principal,
        expires_at: i64,
        changes: u64,
        read: Instant,
    ) {
        if self.trusted_for.is_zero() {
            return;
        }
        let mut kept = self.lock();
        if kept.len() >= MOST {
            kept.retain(|_, k| k.read.elapsed() < self.trusted_for);
            if kept.len() >= MOST {
                kept.clear();
            }
        }
        kept.insert(
            hash.to_vec(),
            Kept {
                principal: principal.clone(),
                expires_at,
                changes,
                read,
            },
        );
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Kept, foldhash::fast::FixedState>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Account;

    fn caller(name: &str) -> Principal {
        Principal {
            user_id: 1,
            username: name.into(),
            account: Account {
                id: 1,
                alias: "DEMO".into(),
                name: "Demo".into(),
                parent_alias: None,
                primary_dc: "WA1".into(),
                status: "Active".into(),
                created_at: 0,
                has_custom_fields: false,
            },
            roles: vec!["AccountAdmin".into()],
        }
    }

    #[test]
    fn a_caller_is_given_out_while_nothing_changed_and_its_token_lives() {
        let callers = Callers::default();
        let changes = callers.known_changes();
        callers.keep(b"t", &caller("ann"), 100, changes, Instant::now());
        let got = callers.get(b"t", changes, 99).expect("kept");
        assert_eq!(got.username, "ann");
        assert!(callers.get(b"other", changes, 99).is_none());
        assert!(callers.get(b"t", changes, 100).is_none(), "expired");
        callers.changed();
        assert!(callers.get(b"t", callers.known_changes(), 99).is_none());
    }

    #[test]
    fn a_caller_read_across_a_change_is_not_given_out() {
        let callers = Callers::default();
        let before = callers.known_changes();
        let read = Instant::now();
        callers.changed();
        callers.keep(b"t", &caller("ann"), 100, before, read);
        assert!(callers.get(b"t", callers.known_changes(), 0).is_none());
    }

    #[test]
    fn no_caller_is_given_out_past_the_trust_window() {
        let none = Callers::trusting_for(Duration::ZERO);
        none.keep(b"t", &caller("ann"), 100, 0, Instant::now());
        assert!(none.get(b"t", 0, 0).is_none());
        let callers = Callers::trusting_for(Duration::from_secs(60));
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(61))
            .expect("this machine has been up for a minute");
        callers.keep(b"t", &caller("ann"), 100, 0, long_ago);
        assert!(callers.get(b"t", 0, 0).is_none());
    }

    #[test]
    fn no_more_callers_are_kept_than_the_most() {
        let callers = Callers::default();
        for n in 0..MOST * 2 + 3 {
            callers.keep(&n.to_le_bytes(), &caller("ann"), 100, 0, Instant::now());
            assert!(callers.lock().len() <= MOST);
        }
        let last = (MOST * 2 + 2).to_le_bytes();
        assert!(callers.get(&last, 0, 0).is_some());
    }
}
