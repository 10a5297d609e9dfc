//! The answers to GETs of a server or a group that a node keeps, to answer the same GET again
//! without reading the store while nothing at all has been committed to it since (clients poll a
//! server while they wait for it, and read their groups again and again to refresh their state).
//!
//! Only where whether anything was committed is known without a read (`Store::commits_seen`): on
//! SQLite, by any process on the file; on PostgreSQL, by a node alone on its database
//! (`store::nodes`). An answer read under one count of commits is given out only while the count
//! has not moved, so it is exactly what reading again would answer. Any commit forgets them all; a
//! store being written to answers every GET from its reads. A PostgreSQL node sharing its
//! database with others does not know of their commits without a round trip, and keeps nothing.
//!
//! An answer depends on who asks: the account they act on, whether they may reach it, and the
//! links their roles let them see. It is kept for the caller's account and grants, and a caller
//! is authorized afresh (and their reach of the account checked) before one is given out.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;

use crate::access::Grants;
use crate::app::App;
use crate::http::error::ApiResult;
use crate::http::{reply_written, Call};
use crate::store::kept::Kept;

/// The most answers kept (a server's answer is a few kilobytes).
const MOST: usize = 2_000;

/// The largest answer kept: a group of a few hundred servers. Larger ones are read every time.
const MOST_BYTES: usize = 32 << 10;

/// What an answer was asked with.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Asked {
    /// The caller's account.
    caller_account: i64,
    /// The caller's grants, when they do not allow everything (`access::links::current`).
    grants: Option<Grants>,
    /// The route's pattern, the values of its path, and the query, as written.
    route: &'static str,
    path: Vec<String>,
    query: Vec<(String, String)>,
}

impl Asked {
    fn of(call: &Call) -> Asked {
        Asked {
            caller_account: call.principal().account.id,
            grants: crate::access::links::current(),
            route: call.matched.endpoint.path,
            path: call.matched.values().map(str::to_owned).collect(),
            query: call.query_pairs().to_vec(),
        }
    }
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
}

/// Answers a GET with what was kept for it, if anything may be given out; otherwise runs `read`,
/// which reads what the answer shows and writes it, and keeps that. A handler calls it once the
/// caller's reach of the account is checked, and reads nothing else before: what is kept is read
/// after the count of commits it is kept under.
pub async fn kept_or_read(
    app: &App,
    call: &Call,
    read: impl Future<Output = ApiResult<Bytes>>,
) -> ApiResult<Response> {
    let Some(commits) = app.store.commits_seen() else {
        return reply_written(StatusCode::OK, read.await?);
    };
    let asked = Asked::of(call);
    if let Some(answer) = app.answers.0.get(&asked, commits) {
        return reply_written(StatusCode::OK, answer);
    }
    let began = Instant::now();
    let answer = read.await?;
    if answer.len() <= MOST_BYTES {
        app.answers.0.keep(asked, answer.clone(), commits, began);
    }
    reply_written(StatusCode::OK, answer)
}
