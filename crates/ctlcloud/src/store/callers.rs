//! The callers behind the bearer tokens of recent requests, kept by each node so that a request
//! need not read its token, user and account from the store every time: on PostgreSQL that read
//! was one of the two round trips of a GET.
//!
//! A kept caller is given out only while nothing that decides who a token's caller is or what
//! they may do has changed since it was read: a user's roles or being disabled, revoked tokens
//! (a new password revokes them), an account's custom fields. Every statement that makes such a
//! change counts it in its own transaction ([`count_change`], see `store::kept`):
//! - SQLite: in the `callers_changes` table. A request reads that count (one row) in its own
//!   snapshot, before the caller, so a change committed by another process on the file
//!   (`ctlcloud admin`) holds at once too. When nothing at all was committed to the file since
//!   the count was last read (see [`super::commits`]), the count is known without reading it, and
//!   a request with a kept caller reads nothing.
//! - PostgreSQL: reading the count would be a round trip again. The transaction notifies every
//!   node on [`CHANNEL`]; each node counts the notifications it receives, and the changes it
//!   commits itself, and a kept caller holds while that count has not moved. A notification
//!   missed while the listening connection was lost is made up for when it is made again. Until
//!   then the other bound applies: no caller is kept longer than the node's trust window
//!   (`--trust-callers-ms`, one second by default).
//!
//! Unknown, revoked and expired tokens are never kept; a kept caller whose token has expired since
//! is not given out.

use std::time::{Duration, Instant};

use super::kept::{self, Counted, Kept};
use super::{StoreResult, Tx};
use crate::model::Principal;

/// The channel on which PostgreSQL notifies every node of a committed change to callers.
pub const CHANNEL: &str = "ctlcloud_callers";

/// How long a node gives out a caller it read, at most, by default.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// The callers a node keeps, by their token's hash, with when the token expires (on the server's
/// clock).
#[derive(Debug)]
pub struct Callers(Kept<Vec<u8>, (Principal, i64)>);

impl Default for Callers {
    fn default() -> Self {
        Callers::trusting_for(TRUSTED_FOR)
    }
}

impl Callers {
    /// Callers kept for at most `trusted_for` (zero: none is kept).
    pub fn trusting_for(trusted_for: Duration) -> Callers {
        Callers(Kept::trusting_for(trusted_for))
    }

    /// The count of changes to callers this node was notified of (PostgreSQL).
    pub fn notified_changes(&self) -> u64 {
        self.0.known_changes()
    }

    /// Records a change to callers made by another node: none kept so far is given out again.
    pub fn changed(&self) {
        self.0.changed()
    }

    /// The caller kept for `hash`, if it was read under `changes` (the count of changes as it is
    /// now), less than the trust window ago, and its token is unexpired at `now`.
    pub fn get(&self, hash: &[u8], changes: u64, now: i64) -> Option<Principal> {
        let (principal, expires_at) = self.0.get(hash, changes)?;
        (expires_at > now).then_some(principal)
    }

    /// Keeps a caller whose read began at `read`, under `changes` as counted before it began.
    pub fn keep(
        &self,
        hash: &[u8],
        principal: &Principal,
        expires_at: i64,
        changes: u64,
        read: Instant,
    ) {
        self.0.keep(
            hash.to_vec(),
            (principal.clone(), expires_at),
            changes,
            read,
        )
    }
}

/// Counts a change to callers made in `tx` (see the module's notes).
pub(super) async fn count_change(tx: &mut Tx) -> StoreResult<()> {
    kept::count_change(tx, Counted::Callers).await
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
        let changes = callers.notified_changes();
        callers.keep(b"t", &caller("ann"), 100, changes, Instant::now());
        let got = callers.get(b"t", changes, 99).expect("kept");
        assert_eq!(got.username, "ann");
        assert!(callers.get(b"other", changes, 99).is_none());
        assert!(callers.get(b"t", changes, 100).is_none(), "expired");
        callers.changed();
        assert!(callers.get(b"t", callers.notified_changes(), 99).is_none());
    }

    #[test]
    fn a_caller_read_across_a_change_is_not_given_out() {
        let callers = Callers::default();
        let before = callers.notified_changes();
        let read = Instant::now();
        callers.changed();
        callers.keep(b"t", &caller("ann"), 100, before, read);
        assert!(callers.get(b"t", callers.notified_changes(), 0).is_none());
    }
}
