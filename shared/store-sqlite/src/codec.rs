//! Conversions between domain values and SQLite columns.
//!
//! Times are RFC 3339 UTC text with nanoseconds (`2026-06-01T08:30:00.123456789Z`): exact on round trip, and
//! fixed width, so text order is time order and `MAX()`/`ORDER BY` work on them directly.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use miro_sam_core::StoreError;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A statement built for the inputs of one call: its text and its numbered parameters (`?1`, `?2`, ...). The page
/// queries are built as values, so the tests can ask SQLite how it runs exactly the statement a page runs.
pub(crate) struct Query {
    pub sql: String,
    pub values: Vec<rusqlite::types::Value>,
}

impl Query {
    pub(crate) fn new(sql: &str, values: Vec<rusqlite::types::Value>) -> Self {
        Query {
            sql: sql.to_owned(),
            values,
        }
    }

    /// Binds `v` as the next parameter and appends `sql` with its `?` numbered accordingly.
    pub(crate) fn bind(&mut self, sql: &str, v: impl Into<rusqlite::types::Value>) {
        self.values.push(v.into());
        self.sql
            .push_str(&sql.replacen('?', &format!("?{}", self.values.len()), 1));
    }

    pub(crate) fn params(
        self,
    ) -> (
        String,
        rusqlite::ParamsFromIter<Vec<rusqlite::types::Value>>,
    ) {
        (self.sql, rusqlite::params_from_iter(self.values))
    }
}

/// `limit` as SQLite's LIMIT takes it.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn opt_ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

pub(crate) fn parse_ts(what: &str, s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what, format!("time {s:?}: {e}")))
}

pub(crate) fn parse_opt_ts(
    what: &str,
    s: Option<String>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.map(|s| parse_ts(what, &s)).transpose()
}

pub(crate) fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn to_json<T: Serialize>(what: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("cannot encode {what}: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e.to_string()))
}

pub(crate) fn corrupt(what: &str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: what.to_owned(),
        detail: detail.into(),
    }
}

/// Parses a domain value, reporting failure as corrupt data.
pub(crate) fn parsed<T, E: std::fmt::Display>(
    what: &str,
    r: Result<T, E>,
) -> Result<T, StoreError> {
    r.map_err(|e| corrupt(what, e.to_string()))
}

/// The JSON body in column 0 of the one row `sql` selects, parsed.
pub(crate) fn json_row<T: serde::de::DeserializeOwned>(
    c: &Connection,
    what: &str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, StoreError> {
    let body: Option<String> = c
        .query_row(sql, params, |r| r.get(0))
        .optional()
        .map_err(backend)?;
    body.map(|b| from_json(what, &b)).transpose()
}

/// The JSON bodies in column 0 of every row `sql` selects, parsed, in the query's order.
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(
    c: &Connection,
    what: &str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let bodies = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    bodies.iter().map(|b| from_json(what, b)).collect()
}
