//! What the schedule sends: `{}` for every connected org, `{"org_id": "…"}` for one. An EventBridge scheduled
//! event envelope is accepted too (its `detail` may carry `org_id`).

use miro_sam_core::domain::OrgId;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    /// `None`: every connected org.
    pub org_id: Option<OrgId>,
}

pub fn parse(payload: &Value) -> Result<DownloadRequest, String> {
    let body = match payload {
        Value::Null => return Ok(DownloadRequest { org_id: None }),
        // An EventBridge envelope: the fields EventBridge always sets, and nothing of ours at the top level.
        Value::Object(map)
            if map.contains_key("detail-type")
                && map.contains_key("source")
                && !map.contains_key("org_id") =>
        {
            match map.get("detail") {
                Some(d @ Value::Object(_)) => d,
                _ => return Ok(DownloadRequest { org_id: None }),
            }
        }
        other => other,
    };
    let Value::Object(map) = body else {
        return Err(format!(
            "expected a JSON object such as {{}} or {{\"org_id\": \"3074457345821141000\"}}, got {}",
            kind(body)
        ));
    };
    if let Some(unknown) = map.keys().find(|k| k.as_str() != "org_id") {
        return Err(format!(
            "unknown field {unknown:?}; the input takes only \"org_id\""
        ));
    }
    let org_id = match map.get("org_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(OrgId::parse(s).map_err(|e| e.to_string())?),
        Some(Value::Number(n)) if n.is_u64() => {
            Some(OrgId::parse(&n.to_string()).map_err(|e| e.to_string())?)
        }
        Some(other) => {
            return Err(format!(
                "org_id must be a string of digits, got {}",
                kind(other)
            ));
        }
    };
    Ok(DownloadRequest { org_id })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_accepted_form() {
        assert_eq!(parse(&json!({})).unwrap().org_id, None);
        assert_eq!(parse(&Value::Null).unwrap().org_id, None);
        assert_eq!(
            parse(&json!({"org_id": "123"}))
                .unwrap()
                .org_id
                .unwrap()
                .as_str(),
            "123"
        );
        assert_eq!(
            parse(&json!({"org_id": 3074457345821141000u64}))
                .unwrap()
                .org_id
                .unwrap()
                .as_str(),
            "3074457345821141000"
        );
        let scheduled = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert_eq!(parse(&scheduled).unwrap().org_id, None);
    }

    #[test]
    fn bad_input_says_what_is_expected() {
        assert!(
            parse(&json!([]))
                .unwrap_err()
                .contains("expected a JSON object")
        );
        assert!(
            parse(&json!({"org": "1"}))
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            parse(&json!({"org_id": "abc"}))
                .unwrap_err()
                .contains("not a Miro id")
        );
        assert!(
            parse(&json!({"org_id": true}))
                .unwrap_err()
                .contains("string of digits")
        );
    }
}
