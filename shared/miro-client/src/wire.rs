//! Tolerant decoders for the quirks of Miro's JSON.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// Ids arrive as strings or as bare numbers above 2^53. Numbers are taken as integers and never pass through f64,
/// which would silently change the last digits.
pub(crate) fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(IdVisitor)
}

pub(crate) fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(OptIdVisitor)
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an id as a string or an integer")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<String, E> {
        Err(E::custom(
            "id is a floating-point number; its digits cannot be trusted",
        ))
    }
}

struct OptIdVisitor;

impl<'de> Visitor<'de> for OptIdVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an optional id")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        id_string(d).map(|s| if s.is_empty() { None } else { Some(s) })
    }
}

/// Dates may be absent, null, "" (never active) or RFC 3339 with `Z`, an offset, or `+0000` without a colon.
/// A non-empty value that does not parse is an error: treating it as "never active" could make someone a
/// reclaim candidate by mistake.
pub(crate) fn lenient_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse_datetime(s)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("not a date-time: {s:?}"))),
    }
}

pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    // A bare local time without a zone: Miro documents UTC.
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// `null` where a list or object is expected means "none".
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// SCIM values are typed loosely (string, bool or number); keep their text.
pub(crate) fn any_as_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

pub(crate) fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Ids {
        #[serde(deserialize_with = "id_string")]
        a: String,
        #[serde(default, deserialize_with = "opt_id_string")]
        b: Option<String>,
    }

    #[test]
    fn ids_above_2_pow_53_keep_every_digit() {
        let v: Ids =
            serde_json::from_str(r#"{"a": 3074457358607431473, "b": "3074457358607431475"}"#)
                .unwrap();
        assert_eq!(v.a, "3074457358607431473");
        assert_eq!(v.b.as_deref(), Some("3074457358607431475"));
        let v: Ids = serde_json::from_str(r#"{"a": "1", "b": null}"#).unwrap();
        assert_eq!(v.b, None);
        assert!(serde_json::from_str::<Ids>(r#"{"a": 3.0744573586074315e18}"#).is_err());
    }

    #[test]
    fn dates_accept_every_documented_form() {
        let z = parse_datetime("2023-09-01T09:30:10.840Z").unwrap();
        let no_colon = parse_datetime("2023-09-01T09:30:10.840+0000").unwrap();
        assert_eq!(z, no_colon);
        assert!(parse_datetime("yesterday").is_none());
    }
}
