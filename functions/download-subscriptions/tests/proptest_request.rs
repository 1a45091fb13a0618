//! Property tests of the download function's input parser (`request::parse`): whatever the schedule, an
//! operator or a test sends, the answer is "every org", "this org" or an error that says what is expected, and
//! never a panic.

use download_subscriptions::request::parse;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[0-9]{1,25}",
        1 => " ?[0-9]{1,19} ?",
        1 => proptest::sample::select(vec!["", " ", "3074457345821141000", "abc", "-1", "1e3", "0x10"])
            .prop_map(str::to_owned),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text().prop_map(Value::String),
    ];
    let key = prop_oneof![
        4 => proptest::sample::select(vec!["org_id", "detail-type", "detail", "source", "version", "time"])
            .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What `parse` must answer for a direct input (not an EventBridge envelope), written independently of it.
fn expected(v: &Value) -> Option<Result<Option<String>, ()>> {
    let map = match v {
        Value::Null => return Some(Ok(None)),
        // An EventBridge envelope: `detail-type` and `source`, and no `org_id` of ours beside them.
        Value::Object(m)
            if m.contains_key("detail-type")
                && m.contains_key("source")
                && !m.contains_key("org_id") =>
        {
            return None;
        }
        Value::Object(m) => m,
        _ => return Some(Err(())),
    };
    if map.keys().any(|k| k != "org_id") {
        return Some(Err(()));
    }
    let digits = |s: &str| {
        let t = s.trim();
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.to_owned())
    };
    Some(match map.get("org_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => digits(s).map(Some).ok_or(()),
        Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(()),
    })
}

proptest! {
    // 256 cases unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig::default())]

    /// Any JSON value: the documented forms parse to what they say, everything else is an error with a message.
    #[test]
    fn any_input(v in arb_json()) {
        let got = parse(&v);
        if let Err(e) = &got {
            prop_assert!(!e.is_empty());
        }
        if let Some(want) = expected(&v) {
            let got = got.map(|r| r.org_id.map(|o| o.as_str().to_owned())).map_err(|_| ());
            prop_assert_eq!(got, want, "input {}", v);
        }
    }

    /// `{"org_id": …}` with any string or number.
    #[test]
    fn org_ids(id in prop_oneof![text().prop_map(Value::String), any::<u64>().prop_map(Value::from), any::<i64>().prop_map(Value::from)]) {
        let v = json!({ "org_id": id });
        let want = expected(&v).expect("a direct input");
        let got = parse(&v).map(|r| r.org_id.map(|o| o.as_str().to_owned())).map_err(|_| ());
        prop_assert_eq!(got, want);
    }

    /// An EventBridge scheduled event: its `detail` object decides, exactly as if it had been sent alone; a
    /// `detail` that is not an object means every org.
    #[test]
    fn scheduled_events(detail in arb_json(), extra in proptest::collection::btree_map("[a-z-]{1,12}", arb_json(), 0..4)) {
        // A `detail` that looks like an envelope itself is read as a direct input inside the envelope; only a
        // plain detail can be compared with sending it alone.
        let mut detail = detail;
        if let Value::Object(m) = &mut detail {
            m.remove("detail-type");
        }
        let mut envelope: Map<String, Value> = extra.into_iter().collect();
        envelope.insert("detail-type".into(), json!("Scheduled Event"));
        envelope.insert("source".into(), json!("aws.events"));
        envelope.insert("detail".into(), detail.clone());
        let got = parse(&Value::Object(envelope)).map(|r| r.org_id).map_err(|_| ());
        match &detail {
            Value::Object(_) => {
                let alone = parse(&detail).map(|r| r.org_id).map_err(|_| ());
                prop_assert_eq!(got, alone);
            }
            _ => prop_assert_eq!(got, Ok(None)),
        }
    }

    /// Any text an operator might pass to `aws lambda invoke --payload`, if it is JSON at all.
    #[test]
    fn any_text(s in any::<String>()) {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            let _ = parse(&v);
        }
    }
}

/// Regression (FUZZING.md, observation 7): a stray `detail-type` next to `org_id` used to make the input an
/// EventBridge envelope and download every org instead of the one named.
#[test]
fn org_id_beside_a_detail_type_is_not_an_envelope() {
    let r = parse(&json!({"detail-type": "x", "org_id": "123"}));
    assert!(r.is_err() || r.is_ok_and(|r| r.org_id.is_some_and(|o| o.as_str() == "123")));
}
