//! The answers to GETs of a server that a node keeps, to answer the same GET again without reading
//! the store while nothing at all has been committed to it since (clients poll a server's GET
//! while they wait for it).
//!
//! Only on SQLite, where whether anything was committed, by any process on the file, is known
//! without a read (`Store::commits_seen`): an answer read under one count of commits is given out
//! only while the count has not moved, so it is exactly what reading again would answer. Any
//! commit forgets them all; a store being written to answers every GET from its reads. On
//! PostgreSQL other nodes' commits are not known without a round trip, and nothing is kept.
//!
//! An answer depends on who asks: the account they act on, whether they may reach it, and the
//! links their roles let them see. It is kept for the caller's account and grants, and a caller
//! is authorized afresh (and their reach of the account checked) before one is given out.

use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::access::Grants;
use crate::store::kept::Kept;

/// The most answers kept (a server's answer is a few kilobytes).
const MOST: usize = 2_000;

/// What an answer was asked with.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Asked {
    /// The caller's account.
    pub caller_account: i64,
    /// The caller's grants, when they do not allow everything (`access::links::current`).
    pub grants: Option<Grants>,
    /// The account the server was asked of.
    pub account: i64,
    /// The server's name or uuid, as written in the path.
    pub server: String,
    /// Whether it was asked by uuid.
    pub by_uuid: bool,
}

/// Answers kept, by what they were asked with.
#[derive(Debug)]
pub struct Answers(Kept<Asked, Bytes>);

impl Default for Answers {
    fn default() -> Self {
        Answers::trusting_for(crate::store::callers::TRUSTED_FOR)
    }
}

impl Answers {
    /// Answers kept for at most `trusted_for` each (zero: none is kept).
    pub fn trusting_for(trusted_for: Duration) -> Answers {
        Answers(Kept::holding(MOST, trusted_for))
    }

    /// The answer kept for `asked`, if it was read under `commits` (the count as it is now).
    pub fn get(&self, asked: &Asked, commits: u64) -> Option<Bytes> {
        self.0.get(asked, commits)
    }

    /// Keeps an answer whose reads began at `read`, under `commits` as seen before they began.
    pub fn keep(&self, asked: Asked, answer: Bytes, commits: u64, read: Instant) {
        self.0.keep(asked, answer, commits, read)
    }
}
