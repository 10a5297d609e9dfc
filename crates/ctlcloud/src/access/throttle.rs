//! Throttling of repeated failed logins, keyed by what was tried and from where (the username and
//! the client address). Keys are compared, never looked up in the store, so an unknown username is
//! throttled exactly like a real one and the answer reveals nothing about which exists. Other
//! users, and the same user from another address, are not slowed down.
//!
//! The state lives in memory on each node: a restart forgets it, and with several nodes each keeps
//! its own count.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::http::error::ApiError;

/// Failures allowed before a key is locked.
pub const FREE_FAILURES: u32 = 5;
/// The first lock; each further failure doubles it up to [`MAX_LOCK_SECS`].
pub const FIRST_LOCK_SECS: i64 = 60;
pub const MAX_LOCK_SECS: i64 = 900;
/// Failures older than this are forgotten.
pub const WINDOW_SECS: i64 = 900;
/// Keys tracked at most; past it, forgotten keys are pruned, and if that is not enough all are.
const MAX_KEYS: usize = 65_536;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: i64,
    locked_until: i64,
}

impl Entry {
    fn live(&self, now: i64) -> bool {
        self.locked_until > now || now - self.last_failure < WINDOW_SECS
    }
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

/// The key for a login attempt: the username as the client typed it (any case) and its address.
pub fn login_key(username: &str, client: &str) -> String {
    format!("login\u{0}{}\u{0}{client}", username.trim().to_lowercase())
}

/// The key for an attempt with the admin token: the client address alone.
pub fn admin_token_key(client: &str) -> String {
    format!("admin-token\u{0}{client}")
}

/// The 429 for a locked key, the same whatever was tried.
pub fn refusal(wait_secs: i64) -> ApiError {
    ApiError::too_many_requests(
        format!(
            "Too many failed attempts; try again in {} seconds.",
            wait_secs.max(1)
        ),
        wait_secs,
    )
}

impl Throttle {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves nothing half-written worth refusing service for.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(seconds)` while the key is locked: how long until it may try again.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        match self.entries().get(key) {
            Some(e) if e.locked_until > now => Err(e.locked_until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure; after [`FREE_FAILURES`] the key is locked for a doubling time.
    pub fn failed(&self, key: &str, now: i64) {
        let mut entries = self.entries();
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            entries.retain(|_, e| e.live(now));
            if entries.len() >= MAX_KEYS {
                entries.clear();
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            locked_until: 0,
        });
        if !entry.live(now) {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= FREE_FAILURES {
            let doublings = (entry.failures - FREE_FAILURES).min(16);
            entry.locked_until = now + (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS);
        }
    }

    /// A success forgets the key's failures.
    pub fn succeeded(&self, key: &str) {
        self.entries().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_free_failures_doubles_and_forgets() {
        let t = Throttle::default();
        let key = login_key(" Alice ", "10.0.0.1");
        assert_eq!(key, login_key("alice", "10.0.0.1"));
        for _ in 1..FREE_FAILURES {
            t.failed(&key, 1000);
            assert_eq!(t.check(&key, 1000), Ok(()));
        }
        t.failed(&key, 1000);
        assert_eq!(t.check(&key, 1000), Err(60));
        assert_eq!(t.check(&key, 1059), Err(1));
        assert_eq!(t.check(&key, 1060), Ok(()));
        // Another address and another user are untouched.
        assert_eq!(t.check(&login_key("alice", "10.0.0.2"), 1000), Ok(()));
        assert_eq!(t.check(&login_key("bob", "10.0.0.1"), 1000), Ok(()));
        // The next failure locks for twice as long, and so on up to the cap.
        t.failed(&key, 1060);
        assert_eq!(t.check(&key, 1060), Err(120));
        for _ in 0..20 {
            t.failed(&key, 2000);
        }
        assert_eq!(t.check(&key, 2000), Err(MAX_LOCK_SECS));
        // A quiet window forgets the failures; a success forgets them at once.
        let later = 2000 + MAX_LOCK_SECS + WINDOW_SECS;
        t.failed(&key, later);
        assert_eq!(t.check(&key, later), Ok(()));
        for _ in 0..FREE_FAILURES {
            t.failed(&key, later);
        }
        assert!(t.check(&key, later).is_err());
        t.succeeded(&key);
        assert_eq!(t.check(&key, later), Ok(()));
    }

    #[test]
    fn memory_stays_bounded() {
        let t = Throttle::default();
        for i in 0..MAX_KEYS + 10 {
            t.failed(&format!("k{i}"), 0);
        }
        assert!(t.entries().len() <= MAX_KEYS);
    }
}
