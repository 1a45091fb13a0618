//! Property tests of the reclaim worker's input: whatever SQS (or anyone who can invoke the function) hands
//! `handle`, it never panics, and every record whose body is not a reclaim request is reported as failed
//! (`batchItemFailures`), so it goes round to the dead-letter queue instead of being dropped.
//!
//! The worker's `Runtime` is built the way a cold start builds it (`Runtime::from_env`), with storage pointed at a
//! closed local port: a well-formed request then fails fast at its first read and must be reported as failed
//! too (retried later), which is what a storage outage does in production.

// The workspace denies unsafe code; this binary sets the process environment once, before any thread starts,
// and std::env::set_var (so miro_sam_testkit::strategies::set_offline_cold_start_env) is unsafe since edition
// 2024 (see the SAFETY comment).
#![allow(unsafe_code)]

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::event::sqs::SqsEvent;
use miro_sam_core::ports::ReclaimRequest;
use miro_sam_lambda::Runtime;
use miro_sam_testkit::strategies::{self, JsonShape, any_number};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reclaim_subscription::{handle, handle_batch};
use serde_json::{Value, json};

const VALID: &str = r#"{"schema_version":1,"plan_id":"6f1c2b9e-0d5e-4c1a-9a7e-2f4b8c3d1e0f","org_id":"3074457345821141000","member_id":"3074457345000015838","email":"ada.smith@acme-corp.example","reason":"inactive for 120 days"}"#;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => "[0-9]{1,20}",
        1 => proptest::sample::select(vec![
            "", " ", "6f1c2b9e-0d5e-4c1a-9a7e-2f4b8c3d1e0f", "3074457345821141000", "a@b.example", "not-an-email",
        ])
        .prop_map(str::to_owned),
    ]
}

fn arb_json(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    // Depth, size, branch; the most array items and object entries; a known key's weight.
    let shape = JsonShape::new(4, 40, 6, 5, 6, 4);
    strategies::json(keys, text(), any_number(), shape)
}

const REQUEST_KEYS: &[&str] = strategies::RECLAIM_REQUEST_KEYS;
const EVENT_KEYS: &[&str] = &[
    "Records",
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
    "stringValue",
    "dataType",
];

/// A message body: absent, null, or text of any kind, from anything at all to a valid request.
fn arb_body() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        2 => any::<String>().prop_map(|s| Some(json!(s))),
        2 => arb_json(REQUEST_KEYS).prop_map(|v| Some(json!(v.to_string()))),
        2 => (proptest::sample::select(REQUEST_KEYS), arb_json(REQUEST_KEYS)).prop_map(|(k, v)| {
            let mut doc: Value = serde_json::from_str(VALID).expect("valid");
            doc[k] = v;
            Some(json!(doc.to_string()))
        }),
        1 => proptest::sample::select(REQUEST_KEYS).prop_map(|k| {
            let mut doc: Value = serde_json::from_str(VALID).expect("valid");
            doc.as_object_mut().expect("object").remove(k);
            Some(json!(doc.to_string()))
        }),
        2 => Just(Some(json!(VALID))),
    ]
}

/// An SQS event of up to ten records with unique message ids, as the event source mapping delivers them.
fn arb_event() -> impl Strategy<Value = Value> {
    let attributes = proptest::collection::btree_map("[A-Za-z]{1,16}", any::<String>(), 0..4);
    proptest::collection::vec((arb_body(), attributes, any::<bool>()), 0..=10).prop_map(|records| {
        let records: Vec<Value> = records
            .into_iter()
            .enumerate()
            .map(|(i, (body, attributes, with_attributes))| {
                let mut r = json!({
                    "messageId": format!("0b1d4e5f-{i:04}"),
                    "receiptHandle": format!("AQEB{i}"),
                    "md5OfBody": "00000000000000000000000000000000",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:miro-sam-reclaim",
                    "awsRegion": "us-east-1",
                });
                if let Some(b) = body {
                    r["body"] = b;
                }
                if with_attributes {
                    r["attributes"] = json!(attributes);
                }
                r
            })
            .collect();
        json!({ "Records": records })
    })
}

/// One test, so the environment is set before anything else in this process runs.
#[test]
fn sqs_input_never_panics_and_bad_bodies_are_reported() {
    let storage = strategies::closed_port_url();
    let miro = [
        ("MIRO_SAM_RECLAIM_WORKERS", "4"),
        ("MIRO_SAM_MIRO_API_BASE_URL", storage.as_str()),
        ("MIRO_SAM_MIRO_OAUTH_BASE_URL", storage.as_str()),
        ("MIRO_SAM_MIRO_SCIM_BASE_URL", storage.as_str()),
    ];
    // SAFETY: the only test of this binary, run before it starts any thread of its own; nothing else
    // reads or writes the environment concurrently.
    unsafe { strategies::set_offline_cold_start_env(&storage, &miro, &[]) };
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rt = tokio
        .block_on(Runtime::from_env(|s| s.miro_for_reclaim_worker()))
        .expect("a cold start without AWS calls");

    // 1. Any JSON payload at all.
    let mut runner = strategies::runner(256);
    runner
        .run(&arb_json(EVENT_KEYS), |payload| {
            let is_event = serde_json::from_value::<SqsEvent>(payload.clone()).is_ok();
            let resp = tokio.block_on(handle(&rt, "req-1", payload));
            if !is_event {
                prop_assert!(resp.batch_item_failures.is_empty());
            }
            Ok(())
        })
        .expect("any payload");

    // 2. SQS events: every record with a body that is not a request is reported, under its own id; the others
    //    fail at the unreachable store and are reported for a retry. Nothing is lost, nothing reported twice.
    let mut runner = strategies::runner(256);
    runner
        .run(&arb_event(), |event_json| {
            let event: SqsEvent = serde_json::from_value(event_json.clone())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let bodies: HashMap<String, Option<String>> = event
                .records
                .iter()
                .map(|m| (m.message_id.clone().unwrap_or_default(), m.body.clone()))
                .collect();
            let malformed = bodies
                .values()
                .filter(|b| {
                    b.as_deref()
                        .is_none_or(|b| ReclaimRequest::from_json(b).is_err())
                })
                .count() as u64;
            let (resp, counts) = tokio.block_on(handle_batch(&rt, event));
            let reported: Vec<&str> = resp
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            let distinct: BTreeSet<&str> = reported.iter().copied().collect();
            prop_assert_eq!(distinct.len(), reported.len(), "a record reported twice");
            let all: BTreeSet<&str> = bodies.keys().map(String::as_str).collect();
            prop_assert_eq!(
                distinct,
                all,
                "every record must be reported: bad bodies for the DLQ, the rest for a retry"
            );
            prop_assert_eq!(counts.malformed, malformed);
            prop_assert_eq!(counts.retried, bodies.len() as u64 - malformed);
            prop_assert_eq!(counts.reclaimed + counts.skipped + counts.failed, 0);
            // The same event through the entry point answers the same way.
            let again = tokio.block_on(handle(&rt, "req-2", event_json));
            prop_assert_eq!(again.batch_item_failures.len(), reported.len());
            Ok(())
        })
        .expect("SQS events");
}
