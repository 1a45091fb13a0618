//! Building and reading items. Most entities are stored as one JSON document (`doc`) next to their keys: the
//! core's serde types are the schema, and the few attributes a condition or a key needs are copied out beside it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::corrupt;
use crate::table::{PK, SK};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The JSON document of an item.
pub(crate) const DOC: &str = "doc";

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// A key plus the JSON document of `value`.
pub(crate) fn doc_item<T: Serialize>(
    pk: impl Into<String>,
    sk: impl Into<String>,
    what: &str,
    value: &T,
) -> Result<Item, StoreError> {
    let mut item = key(pk, sk);
    item.insert(DOC.to_owned(), s(to_json(what, value)?));
    Ok(item)
}

pub(crate) fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("cannot serialize {what}: {e}")))
}

pub(crate) fn get_s<'a>(item: &'a Item, attr: &str, what: &str) -> Result<&'a str, StoreError> {
    match item.get(attr) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(corrupt(what, format!("attribute {attr} is not a string"))),
        None => Err(corrupt(what, format!("attribute {attr} is missing"))),
    }
}

pub(crate) fn opt_s<'a>(
    item: &'a Item,
    attr: &str,
    what: &str,
) -> Result<Option<&'a str>, StoreError> {
    match item.get(attr) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => get_s(item, attr, what).map(Some),
    }
}

pub(crate) fn get_n<T: std::str::FromStr>(
    item: &Item,
    attr: &str,
    what: &str,
) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    match item.get(attr) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|e| corrupt(what, format!("attribute {attr} = {v:?}: {e}"))),
        Some(_) => Err(corrupt(what, format!("attribute {attr} is not a number"))),
        None => Err(corrupt(what, format!("attribute {attr} is missing"))),
    }
}

pub(crate) fn get_time(item: &Item, attr: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    parse_time(get_s(item, attr, what)?, attr, what)
}

pub(crate) fn opt_time(
    item: &Item,
    attr: &str,
    what: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    opt_s(item, attr, what)?
        .map(|v| parse_time(v, attr, what))
        .transpose()
}

fn parse_time(v: &str, attr: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            corrupt(
                what,
                format!("attribute {attr} = {v:?} is not an RFC 3339 time: {e}"),
            )
        })
}

/// The `doc` attribute parsed as `T`.
pub(crate) fn parse_doc<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    let json = get_s(item, DOC, what)?;
    serde_json::from_str(json).map_err(|e| corrupt(what, e))
}

/// `pk/sk` of an item, for error messages.
pub(crate) fn describe_key(item: &Item) -> String {
    let part = |a: &str| match item.get(a) {
        Some(AttributeValue::S(v)) => v.as_str(),
        _ => "?",
    };
    format!("{}/{}", part(PK), part(SK))
}
