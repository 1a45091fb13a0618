//! CloudWatch Embedded Metric Format: one JSON line per run on stdout, which CloudWatch turns into metrics without
//! any API call from the function.

use serde_json::{Map, Value, json};
use std::borrow::Cow;

pub const NAMESPACE: &str = "miro-sam";
/// The one dimension of every metric: the function's name.
pub const DIMENSION: &str = "Function";

/// Orgs of a download run that failed, for any reason. `infra/template.yaml` alarms when it is above 0;
/// `infra/test_stack.py` reads the alarmed names from this file, so renaming one here fails the template check.
pub const ORGS_FAILED: &str = "OrgsFailed";
/// Orgs of a download run that need a person: reconnect the org, fix the app's access, store the SCIM token.
/// Alarmed like [`ORGS_FAILED`].
pub const ORGS_NEEDING_ACTION: &str = "OrgsNeedingAction";

/// The metrics of one run of one function.
#[derive(Debug, Clone)]
pub struct RunMetrics {
    function: Cow<'static, str>,
    values: Vec<(&'static str, &'static str, f64)>,
}

impl RunMetrics {
    /// `function`: the value of the [`DIMENSION`], the deployed function's name where there is one
    /// ([`crate::Settings::metrics_function`]).
    pub fn new(function: impl Into<Cow<'static, str>>) -> Self {
        Self {
            function: function.into(),
            values: Vec::new(),
        }
    }

    pub fn count(&mut self, name: &'static str, value: u64) -> &mut Self {
        self.values.push((name, "Count", value as f64));
        self
    }

    pub fn millis(&mut self, name: &'static str, value: u128) -> &mut Self {
        self.values.push((name, "Milliseconds", value as f64));
        self
    }

    /// The EMF document.
    pub fn to_json(&self, timestamp_ms: i64) -> Value {
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": definitions,
                }],
            }),
        );
        doc.insert(DIMENSION.into(), json!(self.function.as_ref()));
        for (name, _, value) in &self.values {
            doc.insert((*name).into(), json!(value));
        }
        Value::Object(doc)
    }

    /// Prints the document as one line on stdout, where the Lambda log agent picks it up.
    pub fn emit(&self) {
        println!("{}", self.to_json(chrono::Utc::now().timestamp_millis()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_declares_every_value() {
        let mut m = RunMetrics::new("download-subscriptions");
        m.count("MembersDownloaded", 120)
            .count("RateLimited", 0)
            .millis("RunDuration", 1500);
        let doc = m.to_json(1_700_000_000_000);
        let defs = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(defs.len(), 3);
        for d in defs {
            let name = d["Name"].as_str().unwrap();
            assert!(doc.get(name).is_some(), "{name} declared but absent");
        }
        assert_eq!(doc["MembersDownloaded"], 120.0);
        assert_eq!(doc[DIMENSION], "download-subscriptions");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[DIMENSION]])
        );
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
    }
}
