//! One query interface over both engines, SQLite and PostgreSQL, so that every query of the store
//! is written once. It mirrors the part of sqlx the store uses (`query`, `query_scalar`,
//! `query_as`, `bind`, `fetch_*`, `execute`, `Row::try_get`), and runs each query on the engine
//! at hand: SQLite in-process ([`super::sqlite`]), PostgreSQL through sqlx.
//!
//! SQL is written for SQLite with `?` placeholders and portable syntax (`RETURNING`,
//! `ON CONFLICT`, `TRUE`/`FALSE`); for PostgreSQL the placeholders are renumbered `$1, $2, …`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::postgres::PgRow;
use sqlx::{Column as _, Postgres, Row as _, TypeInfo, ValueRef};

use super::postgres::{Conn, Conns};
use super::sqlite::{self, Readers};
use super::{StoreError, StoreResult};

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection pool of either engine.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(Arc<Readers>),
    Postgres(Arc<Conns>),
}

impl Pool {
    pub fn engine(&self) -> Engine {
        match self {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// Starts a read transaction on one of the pool's connections (see `Store::read`).
    pub async fn read(&self) -> StoreResult<Tx> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin()?),
            Pool::Postgres(p) => Tx::PostgresAutocommit(p.acquire().await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close(),
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// An open transaction: nothing it does is visible or durable until [`Tx::commit`]; dropping it
/// rolls back.
pub enum Tx {
    /// A read transaction on one of SQLite's read connections.
    Sqlite(sqlite::ReadTx),
    /// A write transaction on SQLite: a member of a group-committed batch.
    SqliteBatch(super::writer::Tx),
    /// A PostgreSQL connection in a transaction.
    Postgres(Conn),
    /// One pooled PostgreSQL connection and no transaction: each statement is one of its own.
    /// For reads (at PostgreSQL's isolation level every statement reads its own snapshot, in a
    /// transaction or not, so `BEGIN` and `ROLLBACK` would add two round trips and nothing else),
    /// and for a write of a single statement (`Store::write_one`).
    PostgresAutocommit(Conn),
}

impl Tx {
    pub fn engine(&self) -> Engine {
        match self {
            Tx::Sqlite(_) | Tx::SqliteBatch(_) => Engine::Sqlite,
            Tx::Postgres(_) | Tx::PostgresAutocommit(_) => Engine::Postgres,
        }
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(t) => t.commit()?,
            Tx::SqliteBatch(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
            Tx::PostgresAutocommit(_) => {}
        }
        Ok(())
    }
}

/// Where a query runs: a pool (reads) or a transaction.
pub enum Exec<'a> {
    SqlitePool(&'a Arc<Readers>),
    // Mutable, although rusqlite only needs a shared reference: a `&mut` is `Send` and can be held
    // across an await.
    Sqlite(&'a mut super::sqlite::Conn),
    PostgresPool(&'a Arc<Conns>),
    Postgres(&'a mut Conn),
}

impl Exec<'_> {
    /// The pool this runs on, unless it runs in a transaction.
    pub fn pool(&self) -> Option<Pool> {
        match self {
            Exec::SqlitePool(p) => Some(Pool::Sqlite(Arc::clone(p))),
            Exec::PostgresPool(p) => Some(Pool::Postgres(Arc::clone(p))),
            Exec::Sqlite(_) | Exec::Postgres(_) => None,
        }
    }

    /// The same place, for one more query: a function given an `Exec` can run several.
    pub fn reborrow(&mut self) -> Exec<'_> {
        match self {
            Exec::SqlitePool(p) => Exec::SqlitePool(p),
            Exec::Sqlite(c) => Exec::Sqlite(c),
            Exec::PostgresPool(p) => Exec::PostgresPool(p),
            Exec::Postgres(c) => Exec::Postgres(c),
        }
    }
}

impl<'a> From<&'a Pool> for Exec<'a> {
    fn from(pool: &'a Pool) -> Self {
        match pool {
            Pool::Sqlite(p) => Exec::SqlitePool(p),
            Pool::Postgres(p) => Exec::PostgresPool(p),
        }
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        match tx {
            Tx::Sqlite(t) => Exec::Sqlite(t.conn_mut()),
            Tx::SqliteBatch(t) => Exec::Sqlite(t),
            Tx::Postgres(t) => Exec::Postgres(t),
            Tx::PostgresAutocommit(c) => Exec::Postgres(c),
        }
    }
}

/// A value read from a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// A value bound to a placeholder. Nulls carry their type, which PostgreSQL needs.
#[derive(Clone, Debug)]
pub enum Param {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(Option<bool>),
}

/// Rust values that can be bound.
pub trait ToParam {
    fn to_param(self) -> Param;
    /// The typed null for an absent value of this type.
    fn null() -> Param;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(self) -> Param { Param::Int(Some(self as i64)) }
            fn null() -> Param { Param::Int(None) }
        }
    )*};
}
int_param!(i64, i32, u32, u16, u8, usize);

impl ToParam for bool {
    fn to_param(self) -> Param {
        Param::Bool(Some(self))
    }
    fn null() -> Param {
        Param::Bool(None)
    }
}

impl ToParam for f64 {
    fn to_param(self) -> Param {
        Param::Real(Some(self))
    }
    fn null() -> Param {
        Param::Real(None)
    }
}

impl ToParam for String {
    fn to_param(self) -> Param {
        Param::Text(Some(self))
    }
    fn null() -> Param {
        Param::Text(None)
    }
}

impl ToParam for &str {
    fn to_param(self) -> Param {
        Param::Text(Some(self.to_owned()))
    }
    fn null() -> Param {
        Param::Text(None)
    }
}

impl ToParam for &String {
    fn to_param(self) -> Param {
        Param::Text(Some(self.clone()))
    }
    fn null() -> Param {
        Param::Text(None)
    }
}

impl ToParam for Vec<u8> {
    fn to_param(self) -> Param {
        Param::Bytes(Some(self))
    }
    fn null() -> Param {
        Param::Bytes(None)
    }
}

impl ToParam for &[u8] {
    fn to_param(self) -> Param {
        Param::Bytes(Some(self.to_vec()))
    }
    fn null() -> Param {
        Param::Bytes(None)
    }
}

impl ToParam for &Vec<u8> {
    fn to_param(self) -> Param {
        Param::Bytes(Some(self.clone()))
    }
    fn null() -> Param {
        Param::Bytes(None)
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(self) -> Param {
        match self {
            Some(v) => v.to_param(),
            None => T::null(),
        }
    }
    fn null() -> Param {
        T::null()
    }
}

impl<T: ToParam + Clone> ToParam for &Option<T> {
    fn to_param(self) -> Param {
        self.clone().to_param()
    }
    fn null() -> Param {
        T::null()
    }
}

/// The names of a result's columns, worked out once per query, not per row.
#[derive(Debug)]
pub struct Columns {
    names: Box<[String]>,
    /// Whether a read may look first where the last one left off: only if no two columns share a
    /// name (`SELECT a.*, b.*` can break this).
    look_ahead: bool,
}

impl Columns {
    /// The names of a query's columns; made once per query and connection on both engines.
    pub fn new(names: impl IntoIterator<Item = String>) -> Arc<Columns> {
        let names: Box<[String]> = names.into_iter().collect();
        let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        let look_ahead = sorted.windows(2).all(|pair| pair[0] != pair[1]);
        Arc::new(Columns { names, look_ahead })
    }

    /// How many columns.
    pub fn count(&self) -> usize {
        self.names.len()
    }
}

/// A row of a result, with its column names.
#[derive(Debug)]
pub struct Row {
    columns: Arc<Columns>,
    values: Vec<Value>,
    /// The column after the one read last: where the next read by name looks first.
    next: AtomicUsize,
}

impl Clone for Row {
    fn clone(&self) -> Row {
        Row::new(self.columns.clone(), self.values.clone())
    }
}

/// How a column is named when reading a row: by name or by position.
pub trait RowIndex {
    /// The column's position in `columns`; `hint` is where it most likely is.
    fn position(&self, columns: &Columns, hint: usize) -> Option<usize>;
}

impl RowIndex for &str {
    fn position(&self, columns: &Columns, hint: usize) -> Option<usize> {
        // Rows are mostly read in the order their columns were selected: then the column is the
        // one after the last read, and a row of 40 columns is not searched from its start for
        // each. A name selected twice is the first column of that name, as the search finds it.
        let names = &columns.names;
        if columns.look_ahead && names.get(hint).is_some_and(|n| n == self) {
            return Some(hint);
        }
        names.iter().position(|n| n == self)
    }
}

impl RowIndex for usize {
    fn position(&self, columns: &Columns, _hint: usize) -> Option<usize> {
        (*self < columns.count()).then_some(*self)
    }
}

/// Rust values a column can be read as.
pub trait FromValue<'r>: Sized {
    fn from_value(value: &'r Value) -> Option<Self>;
}

impl FromValue<'_> for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue<'_> for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}

impl FromValue<'_> for f64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Real(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue<'_> for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl<'r> FromValue<'r> for &'r str {
    fn from_value(value: &'r Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl FromValue<'_> for Vec<u8> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bytes(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl<'r, T: FromValue<'r>> FromValue<'r> for Option<T> {
    fn from_value(value: &'r Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl Row {
    pub fn new(columns: Arc<Columns>, values: Vec<Value>) -> Row {
        Row {
            columns,
            values,
            next: AtomicUsize::new(0),
        }
    }

    /// A column's value as `T`; an error names the column if it is missing or of another type.
    pub fn try_get<'r, T: FromValue<'r>, I: RowIndex>(&'r self, index: I) -> StoreResult<T> {
        let i = index
            .position(&self.columns, self.next.load(Ordering::Relaxed))
            .ok_or_else(|| StoreError("a query read a column it did not select".into()))?;
        self.next.store(i + 1, Ordering::Relaxed);
        T::from_value(&self.values[i]).ok_or_else(|| {
            StoreError(format!(
                "column {} holds {:?}, not a {}",
                self.columns.names[i],
                self.values[i],
                std::any::type_name::<T>()
            ))
        })
    }
}

/// Rust values a whole row can be read as: tuples of columns in order.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> StoreResult<Self>;
}

impl<A: for<'r> FromValue<'r>, B: for<'r> FromValue<'r>> FromRow for (A, B) {
    fn from_row(row: &Row) -> StoreResult<Self> {
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

impl<A: for<'r> FromValue<'r>, B: for<'r> FromValue<'r>, C: for<'r> FromValue<'r>> FromRow
    for (A, B, C)
{
    fn from_row(row: &Row) -> StoreResult<Self> {
        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
    }
}

impl<A, B, C, D> FromRow for (A, B, C, D)
where
    A: for<'r> FromValue<'r>,
    B: for<'r> FromValue<'r>,
    C: for<'r> FromValue<'r>,
    D: for<'r> FromValue<'r>,
{
    fn from_row(row: &Row) -> StoreResult<Self> {
        Ok((
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        ))
    }
}

/// The outcome of a statement that returns no rows.
#[derive(Debug)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// `LIMIT` with its count from a parameter (`param`: `?` or a numbered one). SQLite's planner reads
/// the value bound to a bare `LIMIT ?`, so a statement holding one is prepared anew whenever it is
/// bound: for the job claim, seven to ten times the cost of running it. A count behind `CAST` is
/// read only when the statement runs.
pub fn limit(param: &str) -> String {
    format!("LIMIT CAST({param} AS BIGINT)")
}

/// `n` placeholders, `?, ?, …`: an `IN` list of `n` values.
pub fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Placeholders for an `IN (…)` list of `n` values, which [`Query::bind_in_list`] fills: `n`
/// rounded up to a power of two. PostgreSQL prepares each distinct statement once per connection,
/// so lists of any length share a handful of statements.
pub fn in_list(n: usize) -> String {
    marks(padded(n))
}

fn padded(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// The rows of a multi-row `INSERT`, `n` of `width` values each, bound by [`Query::bind_rows`]. On
/// SQLite a `VALUES (?, ?), (?, ?), …`. On PostgreSQL `SELECT * FROM UNNEST(?, ?)`, bound with one
/// array per column: a statement per count of rows would be prepared anew (an exchange of its own)
/// on almost every connection for almost every batch, and planned at each of its first runs; this
/// one is prepared once per connection.
pub fn rows(engine: Engine, width: usize, n: usize) -> String {
    match engine {
        Engine::Sqlite => {
            let row = format!("({})", marks(width));
            format!("VALUES {}", vec![row.as_str(); n].join(", "))
        }
        Engine::Postgres => format!("SELECT * FROM UNNEST({})", marks(width)),
    }
}

/// What a statement may change, as its text tells: how a PostgreSQL node counts its own changes
/// (`store::nodes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    /// Nothing: a `SELECT` (or `WITH`) naming no `INSERT`, `UPDATE` or `DELETE`.
    Nothing,
    /// The rows it reports: an `INSERT`, `UPDATE` or `DELETE`, which changed nothing when it
    /// matched no row. `returning`: its rows are those it changed.
    Rows { returning: bool },
    /// Anything: a change inside `WITH`, a change of the schema, and whatever else.
    Anything,
}

impl Writes {
    pub fn of(sql: &str) -> Writes {
        let upper = sql.trim_start().to_ascii_uppercase();
        let first = upper.split(|c: char| !c.is_ascii_alphabetic()).next();
        let changing = ["INSERT", "UPDATE", "DELETE"]
            .iter()
            .any(|w| has_word(&upper, w));
        match first {
            Some("SELECT" | "WITH") if !changing => Writes::Nothing,
            Some("INSERT" | "UPDATE" | "DELETE") => Writes::Rows {
                returning: has_word(&upper, "RETURNING"),
            },
            _ => Writes::Anything,
        }
    }

    /// Whether a statement of this text changed anything, given the rows it reported (those it
    /// affected, or those it returned), if known.
    pub fn changed(self, rows: Option<u64>) -> bool {
        match self {
            Writes::Nothing => false,
            Writes::Rows { .. } => rows.is_none_or(|n| n > 0),
            Writes::Anything => true,
        }
    }
}

/// Whether `word` is in `text` as a word of its own (not part of a name such as `updated_at`).
fn has_word(text: &str, word: &str) -> bool {
    let part_of_name = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(word).any(|(at, _)| {
        !part_of_name(text[..at].chars().next_back())
            && !part_of_name(text[at + word.len()..].chars().next())
    })
}

/// A statement and its bound values.
pub struct Query<'q> {
    sql: &'q str,
    params: Vec<Param>,
    /// The values bound by [`Query::bind_rows`].
    rows: Vec<Rows>,
}

/// Starts a statement.
pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        params: Vec::new(),
        rows: Vec::new(),
    }
}

/// A statement whose result is the first column of its rows.
pub fn query_scalar<T>(sql: &str) -> Scalar<'_, T> {
    Scalar {
        query: query(sql),
        _t: std::marker::PhantomData,
    }
}

/// A statement whose rows are read as tuples.
pub fn query_as<T: FromRow>(sql: &str) -> As<'_, T> {
    As {
        query: query(sql),
        _t: std::marker::PhantomData,
    }
}

/// Renumbers `?` placeholders as `$1, $2, …` (and `?N` as `$N`) for PostgreSQL, once per
/// statement and connection (`postgres::Conn::text`). The store's SQL has no `?` inside string
/// literals.
pub(super) fn postgres_sql(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    // The text between placeholders is copied a run at a time: SELECT lists make it long.
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut runs = sql.split('?');
    out.push_str(runs.next().unwrap_or_default());
    for run in runs {
        out.push('$');
        // `?N` keeps its number, which is then the run's start.
        if !run.starts_with(|c: char| c.is_ascii_digit()) {
            n += 1;
            let _ = write!(out, "{n}");
        }
        out.push_str(run);
    }
    Cow::Owned(out)
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// One column of the [`rows`] of an `INSERT`, as PostgreSQL is sent it: an array.
enum Array<'a> {
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Text(Vec<Option<&'a str>>),
    Bytes(Vec<Option<&'a [u8]>>),
    Bool(Vec<Option<bool>>),
}

/// A value as PostgreSQL is sent it: bound alone, or as one column of the [`rows`] of an
/// `INSERT`.
enum Sent<'a> {
    One(&'a Param),
    Column(Array<'a>),
}

/// Values bound row after row by [`Query::bind_rows`]: `params[at]`, `width` to a row.
struct Rows {
    at: std::ops::Range<usize>,
    width: usize,
}

/// What is sent for `params`: each alone, but the [`Rows`] in `rows` as one array per column.
fn sent<'a>(params: &'a [Param], rows: &[Rows]) -> StoreResult<Vec<Sent<'a>>> {
    let mut sent = Vec::with_capacity(params.len());
    let mut next = 0;
    for r in rows {
        sent.extend(params[next..r.at.start].iter().map(Sent::One));
        sent.extend(
            columns(&params[r.at.clone()], r.width)?
                .into_iter()
                .map(Sent::Column),
        );
        next = r.at.end;
    }
    sent.extend(params[next..].iter().map(Sent::One));
    Ok(sent)
}

/// The values bound row after row, `width` to a row, as one [`Array`] per column.
fn columns(params: &[Param], width: usize) -> StoreResult<Vec<Array<'_>>> {
    if width == 0 || params.is_empty() || !params.len().is_multiple_of(width) {
        return Err(StoreError(format!(
            "{} values are not rows of {width}",
            params.len()
        )));
    }
    let mixed = |column| StoreError(format!("column {column} of an INSERT's rows mixes types"));
    (0..width)
        .map(|column| {
            let values = params.iter().skip(column).step_by(width);
            // This column's values as one array, each read from its `Param` by `$read`.
            macro_rules! array {
                ($variant:ident, $v:ident => $read:expr) => {
                    Array::$variant(
                        values
                            .map(|p| match p {
                                Param::$variant($v) => Ok($read),
                                _ => Err(mixed(column)),
                            })
                            .collect::<StoreResult<_>>()?,
                    )
                };
            }
            Ok(match &params[column] {
                Param::Int(_) => array!(Int, v => *v),
                Param::Real(_) => array!(Real, v => *v),
                Param::Text(_) => array!(Text, v => v.as_deref()),
                Param::Bytes(_) => array!(Bytes, v => v.as_deref()),
                Param::Bool(_) => array!(Bool, v => *v),
            })
        })
        .collect()
}

/// Binds a statement's values (see [`sent`]).
fn bind_postgres<'q>(mut q: PgQuery<'q>, sent: &'q [Sent<'q>]) -> PgQuery<'q> {
    for s in sent {
        q = match s {
            Sent::One(Param::Int(v)) => q.bind(*v),
            Sent::One(Param::Real(v)) => q.bind(*v),
            Sent::One(Param::Text(v)) => q.bind(v.as_deref()),
            Sent::One(Param::Bytes(v)) => q.bind(v.as_deref()),
            Sent::One(Param::Bool(v)) => q.bind(*v),
            Sent::Column(Array::Int(v)) => q.bind(v),
            Sent::Column(Array::Real(v)) => q.bind(v),
            Sent::Column(Array::Text(v)) => q.bind(v),
            Sent::Column(Array::Bytes(v)) => q.bind(v),
            Sent::Column(Array::Bool(v)) => q.bind(v),
        };
    }
    q
}

/// How a PostgreSQL column's values are read into [`Value`]s.
#[derive(Clone, Copy, Debug)]
enum PgKind {
    Int8,
    Int4,
    Int2,
    Bool,
    Float8,
    Float4,
    Bytes,
    Text,
    Void,
}

/// How a PostgreSQL statement's rows are read: their columns' names, and each column's kind as
/// its type tells it (a type the store does not use is an error). Worked out once per statement
/// and connection (see `postgres::Conn::shape`), not for every result.
#[derive(Debug)]
pub struct PgShape {
    names: Arc<Columns>,
    kinds: Box<[PgKind]>,
}

impl PgShape {
    /// The shape of the rows `row` is one of.
    pub fn of(row: &PgRow) -> StoreResult<PgShape> {
        let kinds = row
            .columns()
            .iter()
            .map(|c| {
                Ok(match c.type_info().name() {
                    "INT8" => PgKind::Int8,
                    "INT4" => PgKind::Int4,
                    "INT2" => PgKind::Int2,
                    "BOOL" => PgKind::Bool,
                    "FLOAT8" => PgKind::Float8,
                    "FLOAT4" => PgKind::Float4,
                    "BYTEA" => PgKind::Bytes,
                    "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => PgKind::Text,
                    "VOID" => PgKind::Void,
                    other => {
                        return Err(StoreError(format!(
                            "column {} has the unsupported type {other}",
                            c.name()
                        )))
                    }
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(PgShape {
            names: Columns::new(row.columns().iter().map(|c| c.name().to_owned())),
            kinds,
        })
    }

    /// Whether `row` still has this shape: a statement that reads `table.*` and is prepared again
    /// after another node's migration answers more columns. (A column whose type a migration
    /// changed is found by PostgreSQL, and the connection's shapes worked out afresh: see
    /// `Conn::prepare_again`.)
    pub fn fits(&self, row: &PgRow) -> bool {
        self.kinds.len() == row.columns().len()
    }
}

/// A value decoded as the type its column's kind was told to be (so sqlx's check that the types
/// match, once per value, is not needed).
fn decode<'r, T: sqlx::Decode<'r, Postgres>>(
    raw: sqlx::postgres::PgValueRef<'r>,
) -> StoreResult<T> {
    T::decode(raw).map_err(|e| StoreError(format!("reading a value: {e}")))
}

fn from_postgres(row: &PgRow, shape: &PgShape) -> StoreResult<Row> {
    let mut values = Vec::with_capacity(shape.kinds.len());
    for (i, kind) in shape.kinds.iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            match kind {
                PgKind::Int8 => Value::Int(decode(raw)?),
                PgKind::Int4 => Value::Int(i64::from(decode::<i32>(raw)?)),
                PgKind::Int2 => Value::Int(i64::from(decode::<i16>(raw)?)),
                PgKind::Bool => Value::Bool(decode(raw)?),
                PgKind::Float8 => Value::Real(decode(raw)?),
                PgKind::Float4 => Value::Real(f64::from(decode::<f32>(raw)?)),
                PgKind::Bytes => Value::Bytes(decode(raw)?),
                PgKind::Text => Value::Text(decode(raw)?),
                PgKind::Void => Value::Null,
            }
        };
        values.push(value);
    }
    Ok(Row::new(shape.names.clone(), values))
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl ToParam) -> Self {
        self.params.push(value.to_param());
        self
    }

    /// Binds the [`rows`] of an `INSERT`: `bind` binds `width` values for each of `items`.
    pub fn bind_rows<T>(
        mut self,
        width: usize,
        items: impl IntoIterator<Item = T>,
        mut bind: impl FnMut(Self, T) -> Self,
    ) -> Self {
        let start = self.params.len();
        for item in items {
            self = bind(self, item);
        }
        let at = start..self.params.len();
        self.rows.push(Rows { at, width });
        self
    }

    /// Binds the values (at least one) of an [`in_list`] of their length: the last again for each
    /// placeholder of the padding, which leaves the list's meaning as it is.
    pub fn bind_in_list<T: ToParam + Copy>(mut self, values: &[T]) -> Self {
        let last = values.len() - 1;
        for i in 0..padded(values.len()) {
            self = self.bind(values[i.min(last)]);
        }
        self
    }

    /// Runs a statement, as `text` ([`Conn::before`]) with its values as `sent`, on a PostgreSQL
    /// connection; [`Conn::finished`] must follow.
    async fn execute_on(
        conn: &mut Conn,
        text: &str,
        sent: &[Sent<'_>],
    ) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
        bind_postgres(sqlx::query::<Postgres>(text), sent)
            .execute(conn.statement())
            .await
    }

    /// Runs a statement, as `text` ([`Conn::before`]) with its values as `sent`, on a PostgreSQL
    /// connection for its rows; [`Conn::finished`] must follow.
    async fn fetch_all_on(
        conn: &mut Conn,
        text: &str,
        sent: &[Sent<'_>],
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        bind_postgres(sqlx::query::<Postgres>(text), sent)
            .fetch_all(conn.statement())
            .await
    }

    /// The values as PostgreSQL is sent them.
    fn sent(&self) -> StoreResult<Vec<Sent<'_>>> {
        sent(&self.params, &self.rows)
    }

    pub async fn execute<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Done> {
        let mut pooled;
        let conn = match exec.into() {
            Exec::SqlitePool(p) => {
                let rows_affected = p.with_conn(|c| sqlite::execute(c, self.sql, &self.params))?;
                return Ok(Done { rows_affected });
            }
            Exec::Sqlite(c) => {
                let rows_affected = sqlite::execute(c, self.sql, &self.params)?;
                return Ok(Done { rows_affected });
            }
            Exec::PostgresPool(p) => {
                pooled = p.acquire().await?;
                &mut pooled
            }
            Exec::Postgres(c) => c,
        };
        let sent = self.sent()?;
        let (text, writes) = conn.before(self.sql).await?;
        let mut result = Self::execute_on(conn, &text, &sent).await;
        if conn.prepare_again(&result).await {
            result = Self::execute_on(conn, &text, &sent).await;
        }
        let rows = result.as_ref().ok().map(|r| r.rows_affected());
        conn.after(writes, rows);
        let rows_affected = conn.finished(result)?.rows_affected();
        Ok(Done { rows_affected })
    }

    pub async fn fetch_all<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Vec<Row>> {
        let mut pooled;
        let conn = match exec.into() {
            Exec::SqlitePool(p) => {
                return p.with_conn(|c| sqlite::fetch_all(c, self.sql, &self.params))
            }
            Exec::Sqlite(c) => return sqlite::fetch_all(c, self.sql, &self.params),
            Exec::PostgresPool(p) => {
                pooled = p.acquire().await?;
                &mut pooled
            }
            Exec::Postgres(c) => c,
        };
        let sent = self.sent()?;
        let (text, writes) = conn.before(self.sql).await?;
        let mut result = Self::fetch_all_on(conn, &text, &sent).await;
        if conn.prepare_again(&result).await {
            result = Self::fetch_all_on(conn, &text, &sent).await;
        }
        let returned = match (writes, &result) {
            (Writes::Rows { returning: true }, Ok(rows)) => Some(rows.len() as u64),
            _ => None,
        };
        conn.after(writes, returned);
        let rows = conn.finished(result)?;
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let shape = conn.shape(self.sql, first)?;
        rows.iter().map(|r| from_postgres(r, &shape)).collect()
    }

    pub async fn fetch_optional<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Option<Row>> {
        Ok(self.fetch_all(exec).await?.into_iter().next())
    }

    pub async fn fetch_one<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Row> {
        self.fetch_optional(exec)
            .await?
            .ok_or_else(|| StoreError("a query that returns a row returned none".into()))
    }
}

/// A query read as its first column.
pub struct Scalar<'q, T> {
    query: Query<'q>,
    _t: std::marker::PhantomData<T>,
}

impl<'q, T: for<'r> FromValue<'r>> Scalar<'q, T> {
    pub fn bind(mut self, value: impl ToParam) -> Self {
        self.query = self.query.bind(value);
        self
    }

    pub fn bind_in_list<V: ToParam + Copy>(mut self, values: &[V]) -> Self {
        self.query = self.query.bind_in_list(values);
        self
    }

    pub async fn fetch_all<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Vec<T>> {
        self.query
            .fetch_all(exec)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect()
    }

    pub async fn fetch_optional<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Option<T>> {
        self.query
            .fetch_optional(exec)
            .await?
            .map(|r| r.try_get(0))
            .transpose()
    }

    pub async fn fetch_one<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<T> {
        self.query.fetch_one(exec).await?.try_get(0)
    }
}

/// A query read as tuples.
pub struct As<'q, T> {
    query: Query<'q>,
    _t: std::marker::PhantomData<T>,
}

impl<'q, T: FromRow> As<'q, T> {
    pub fn bind(mut self, value: impl ToParam) -> Self {
        self.query = self.query.bind(value);
        self
    }

    pub async fn fetch_all<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Vec<T>> {
        self.query
            .fetch_all(exec)
            .await?
            .iter()
            .map(T::from_row)
            .collect()
    }

    pub async fn fetch_optional<'e>(self, exec: impl Into<Exec<'e>>) -> StoreResult<Option<T>> {
        self.query
            .fetch_optional(exec)
            .await?
            .as_ref()
            .map(T::from_row)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_to_postgresql_as_one_array_per_column() {
        let q = query("")
            .bind("before")
            .bind_rows(2, [(Some(1i64), Some("a")), (None, None)], |q, (i, t)| {
                q.bind(i).bind(t)
            })
            .bind(true);
        let sent = q.sent().unwrap();
        assert!(matches!(&sent[..], [
            Sent::One(Param::Text(Some(b))),
            Sent::Column(Array::Int(i)),
            Sent::Column(Array::Text(t)),
            Sent::One(Param::Bool(Some(true))),
        ] if b == "before" && *i == [Some(1), None] && *t == [Some("a"), None]));
        let mixed = query("").bind_rows(1, [0, 1], |q, i| match i {
            0 => q.bind(1i64),
            _ => q.bind("a"),
        });
        assert!(mixed.sent().is_err(), "a column of one type");
        let ragged = query("").bind_rows(2, [1i64, 2, 3], |q, i| q.bind(i));
        assert!(ragged.sent().is_err(), "whole rows");
    }

    #[test]
    fn placeholders_for_lists_and_rows() {
        assert_eq!(marks(1), "?");
        assert_eq!(marks(3), "?, ?, ?");
        assert_eq!(rows(Engine::Sqlite, 2, 3), "VALUES (?, ?), (?, ?), (?, ?)");
        assert_eq!(rows(Engine::Sqlite, 1, 1), "VALUES (?)");
        assert_eq!(rows(Engine::Postgres, 2, 3), "SELECT * FROM UNNEST(?, ?)");
        assert_eq!(in_list(1), "?");
        assert_eq!(in_list(3), "?, ?, ?, ?");
        let bound = query("").bind_in_list(&[1i64, 2, 3]).params;
        let ints: Vec<i64> = bound
            .iter()
            .map(|p| match p {
                Param::Int(Some(v)) => *v,
                _ => panic!("{p:?}"),
            })
            .collect();
        assert_eq!(ints, vec![1, 2, 3, 3]);
    }

    #[test]
    fn what_a_statement_may_change_is_told_by_its_words() {
        let returning = Writes::Rows { returning: true };
        let counted = Writes::Rows { returning: false };
        let told = [
            (
                "SELECT id, updated_at, deleted_at FROM servers WHERE id = ?",
                Writes::Nothing,
            ),
            ("  select pg_notify(?, '')", Writes::Nothing),
            (
                "WITH RECURSIVE up AS (SELECT id FROM groups) SELECT * FROM up",
                Writes::Nothing,
            ),
            ("SELECT inserted FROM t", Writes::Nothing),
            ("UPDATE jobs SET a = ? WHERE id = ? RETURNING id", returning),
            ("insert into t (returning_at) values (1)", counted),
            ("DELETE FROM tokens WHERE expires_at < ?", counted),
            (
                "WITH x AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM x",
                Writes::Anything,
            ),
            (
                "SELECT id FROM jobs FOR UPDATE SKIP LOCKED",
                Writes::Anything,
            ),
            ("CREATE TABLE t (deleted BIGINT)", Writes::Anything),
            ("ANALYZE servers", Writes::Anything),
            ("", Writes::Anything),
        ];
        for (sql, writes) in told {
            assert_eq!(Writes::of(sql), writes, "{sql}");
        }
        assert!(!counted.changed(Some(0)));
        assert!(counted.changed(Some(2)));
        assert!(counted.changed(None), "not known: counted as a change");
        assert!(!Writes::Nothing.changed(None));
        assert!(Writes::Anything.changed(Some(0)));
    }

    #[test]
    fn placeholders_are_renumbered_for_postgres() {
        assert_eq!(postgres_sql("SELECT 1"), "SELECT 1");
        assert_eq!(
            postgres_sql("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(
            postgres_sql("x = ?1 OR y = ?2 OR z = ?1"),
            "x = $1 OR y = $2 OR z = $1"
        );
        assert_eq!(postgres_sql("?"), "$1");
        assert_eq!(postgres_sql("?? ?12é?"), "$1$2 $12é$3");
    }

    /// The renumbering, a character at a time: what `postgres_sql` must agree with.
    fn renumbered_char_by_char(sql: &str) -> String {
        let mut out = String::new();
        let (mut n, mut chars) = (0, sql.chars().peekable());
        while let Some(c) = chars.next() {
            if c != '?' {
                out.push(c);
                continue;
            }
            out.push('$');
            if chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                while let Some(d) = chars.next_if(|d| d.is_ascii_digit()) {
                    out.push(d);
                }
            } else {
                n += 1;
                out.push_str(&n.to_string());
            }
        }
        out
    }

    #[test]
    fn placeholders_are_renumbered_as_read_a_character_at_a_time() {
        let alphabet = ['?', '?', '1', '9', '0', 'a', ' ', '(', ',', 'é'];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut sql = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                sql.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            assert_eq!(postgres_sql(&sql), renumbered_char_by_char(&sql), "{sql:?}");
        }
    }

    /// Reads by name find the first column of that name whatever order they come in: in select
    /// order (where the next column is looked at first), in any other, and with names selected
    /// twice.
    #[test]
    fn columns_are_found_by_name_in_any_order_of_reading() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..5_000 {
            let names: Vec<String> = (0..1 + next(12))
                .map(|_| format!("c{}", next(10)))
                .collect();
            let values: Vec<Value> = (0..names.len() as i64).map(Value::Int).collect();
            let row = Row::new(Columns::new(names.clone()), values);
            for _ in 0..20 {
                let name = if next(3) == 0 {
                    format!("c{}", next(12))
                } else {
                    let last = row.next.load(Ordering::Relaxed);
                    names.get(last).cloned().unwrap_or_else(|| "c0".into())
                };
                let first = names.iter().position(|n| *n == name);
                match row.try_get::<i64, _>(name.as_str()) {
                    Ok(i) => assert_eq!(Some(i as usize), first, "{name} of {names:?}"),
                    Err(_) => assert_eq!(first, None, "{name} of {names:?}"),
                }
            }
        }
    }

    #[test]
    fn typed_nulls_and_reading_values() {
        assert!(matches!(None::<&str>.to_param(), Param::Text(None)));
        assert!(matches!(None::<i64>.to_param(), Param::Int(None)));
        let row = Row::new(
            Columns::new(["a".into(), "b".into(), "c".into()]),
            vec![Value::Int(1), Value::Null, Value::Text("x".into())],
        );
        assert_eq!(row.try_get::<i64, _>("a").unwrap(), 1);
        assert!(row.try_get::<bool, _>("a").unwrap());
        assert_eq!(row.try_get::<Option<String>, _>("b").unwrap(), None);
        assert_eq!(row.try_get::<&str, _>("c").unwrap(), "x");
        assert!(row.try_get::<i64, _>("c").is_err());
        assert!(row.try_get::<i64, _>("nope").is_err());
    }
}
