//! Property tests of the core's parsers of outside input: the reclaim request (an SQS message body), the policy
//! file, and the domain values both are built from. Nothing panics; every bad input is a typed `DomainError`;
//! every valid value survives its own serialization.

use chrono::{DateTime, TimeZone, Utc};
use miro_client::{License, Member};
use miro_sam_core::DomainError;
use miro_sam_core::domain::LicenseExt;
use miro_sam_core::domain::{Email, EmailDomain, MemberId, OrgId, PlanId, Subscription};
use miro_sam_core::policy::{
    Approval, Exemption, ExemptionMatch, InactivityDays, NoticeTemplate, POLICY_SCHEMA_VERSION,
    Percent, Policy, ReclaimCap,
};
use miro_sam_core::ports::{RECLAIM_REQUEST_SCHEMA_VERSION, ReclaimRequest};
use miro_sam_testkit::strategies::{self, JsonShape, any_number};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---- arbitrary JSON ---------------------------------------------------------------------------------------

/// Texts that matter to these parsers: ids, emails, dates, enum values, and anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[0-9]{1,20}",
        1 => " ?[0-9]{1,19} ?",
        2 => "[a-z.]{0,8}@[a-z]{0,8}(\\.[a-z]{0,4})?",
        1 => proptest::sample::select(vec![
            "full", "advanced", "standard", "basic", "occasional", "free", "free_restricted",
            "full_trial", "unknown", "", " ", "2024-01-01T00:00:00Z", "+10000-01-01T00:00:00Z",
            "6f1c2b9e-0d5e-4c1a-9a7e-2f4b8c3d1e0f", "NaN", "Infinity", "-0", "1e400",
        ])
        .prop_map(str::to_owned),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => any_number(),
        1 => (0u64..5000).prop_map(Value::from),
        1 => (-10.0f64..200.0).prop_map(|f| json!(f)),
    ]
}

/// Any JSON value, objects keyed mostly by the names the parser under test knows.
fn arb_json(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    // Depth, size, branch; the most array items and object entries; a known key's weight.
    strategies::json(keys, text(), number(), JsonShape::new(4, 48, 6, 6, 7, 4))
}

const POLICY_KEYS: &[&str] = &[
    "schema_version",
    "licenses",
    "inactivity_days",
    "grace_days",
    "exemptions",
    "cap",
    "dry_run",
    "reactivation_hold_days",
    "max_count",
    "max_percent",
    "match",
    "reason",
    "expires_at",
    "email",
    "domain",
    "admin_role",
];

const REQUEST_KEYS: &[&str] = strategies::RECLAIM_REQUEST_KEYS;

// ---- valid values -----------------------------------------------------------------------------------------

fn arb_datetime() -> impl Strategy<Value = DateTime<Utc>> {
    let (lo, hi) = (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    prop_oneof![
        // The years people write: 1970..2100.
        3 => (0i64..4_102_444_800, 0u32..1_000_000_000),
        // Anything chrono can hold.
        1 => (lo..=hi, 0u32..1_000_000_000),
    ]
    .prop_filter_map("in range", |(s, n)| Utc.timestamp_opt(s, n).single())
}

fn arb_email() -> impl Strategy<Value = Email> {
    "[a-zA-Z0-9._%+-]{1,12}@[a-zA-Z0-9-]{1,10}(\\.[a-zA-Z]{2,6}){1,2}"
        .prop_map(|s| Email::parse(&s).expect("the pattern is an email"))
}

fn arb_exemption() -> impl Strategy<Value = Exemption> {
    let matcher = prop_oneof![
        arb_email().prop_map(ExemptionMatch::Email),
        "[a-z0-9-]{1,10}(\\.[a-z]{2,6}){1,2}"
            .prop_map(|d| ExemptionMatch::Domain(EmailDomain::parse(&d).expect("a domain"))),
        "[A-Za-z][A-Za-z ]{0,20}".prop_map(ExemptionMatch::AdminRole),
    ];
    (
        matcher,
        "[^\\s][^\\n]{0,30}",
        proptest::option::of(arb_datetime()),
    )
        .prop_map(|(matcher, reason, expires_at)| Exemption {
            matcher,
            reason,
            expires_at,
        })
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    let paid: Vec<License> = License::KNOWN
        .iter()
        .filter(|l| l.is_paid())
        .cloned()
        .collect();
    let cap = prop_oneof![
        (any::<u32>(), 0.0f64..=100.0).prop_map(|(c, p)| (Some(c), Some(p))),
        any::<u32>().prop_map(|c| (Some(c), None)),
        (0.0f64..=100.0).prop_map(|p| (None, Some(p))),
    ];
    (
        proptest::sample::subsequence(paid.clone(), 1..=paid.len()),
        1u32..=3650,
        0u32..=3650,
        proptest::collection::vec(arb_exemption(), 0..5),
        cap,
        any::<bool>(),
        1u32..=3650,
        any::<bool>(),
        arb_notice_settings(),
        arb_notice_wording(),
    )
        .prop_map(
            |(
                licenses,
                days,
                grace,
                exemptions,
                (count, percent),
                dry_run,
                hold_days,
                automatic,
                (notice_days, reminder_days_before, keep_days, keep_needs_approval, on_bounce),
                (notice_contact, notice_template),
            )| Policy {
                schema_version: POLICY_SCHEMA_VERSION,
                licenses: licenses.into_iter().collect(),
                inactivity_days: InactivityDays::new(days).expect("in range"),
                grace_days: grace,
                exemptions,
                cap: ReclaimCap {
                    max_count: count,
                    max_percent: percent.map(|p| Percent::new(p).expect("in range")),
                },
                dry_run,
                reactivation_hold_days: hold_days,
                approval: if automatic {
                    Approval::Automatic
                } else {
                    Approval::Required
                },
                notice_days,
                reminder_days_before,
                keep_days,
                keep_needs_approval,
                reclaim_without_notice_on_bounce: on_bounce,
                notice_contact,
                notice_template,
            },
        )
}

/// A contact and templates that compile: any mix of parts, quoting the variables.
fn arb_notice_wording() -> impl Strategy<Value = (Option<String>, Option<NoticeTemplate>)> {
    let part = || {
        proptest::option::of(
            "[A-Za-z]{1,8}( [A-Za-z<&>\"]{0,8}){0,3}"
                .prop_map(|t| format!("{t} {{{{ org_name }}}} {{{{ reclaim_on }}}}")),
        )
    };
    (
        proptest::option::of("[A-Za-z][A-Za-z ,@.]{0,40}"),
        proptest::option::of((part(), part(), part()).prop_map(|(subject, text, html)| {
            NoticeTemplate {
                subject,
                text,
                html,
            }
        })),
    )
}

/// Valid notice settings: reminders distinct, inside the notice period, earliest first (the parsed order).
fn arb_notice_settings() -> impl Strategy<Value = (u32, Vec<u32>, u32, bool, bool)> {
    (0u32..=90)
        .prop_flat_map(|n| {
            let room: Vec<u32> = (1..n.max(2)).collect();
            let most = if n >= 2 { (n as usize - 1).min(5) } else { 0 };
            (
                Just(n),
                proptest::sample::subsequence(room, 0..=most),
                1u32..=3650,
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(|(n, mut reminders, keep, approve, bounce)| {
            reminders.reverse();
            (n, reminders, keep, approve, bounce)
        })
}

fn arb_plan_id() -> impl Strategy<Value = PlanId> {
    any::<u128>().prop_map(|n| {
        let h = format!("{n:032x}");
        let s = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        PlanId::parse(&s).expect("a UUID")
    })
}

fn arb_request() -> impl Strategy<Value = ReclaimRequest> {
    (
        arb_plan_id(),
        "[1-9][0-9]{0,18}",
        "[1-9][0-9]{0,18}",
        arb_email(),
        any::<String>(),
    )
        .prop_map(|(plan, org, member, email, reason)| {
            ReclaimRequest::new(
                plan,
                OrgId::parse(&org).expect("digits"),
                MemberId::parse(&member).expect("digits"),
                email,
                reason,
            )
        })
}

/// Replaces, removes or adds one field somewhere in the document.
fn mutate(doc: &mut Value, path: &[usize], replacement: Value, how: u8) {
    let Value::Object(map) = doc else {
        *doc = replacement;
        return;
    };
    if map.is_empty() {
        map.insert("x".into(), replacement);
        return;
    }
    let key = map
        .keys()
        .nth(path.first().copied().unwrap_or(0) % map.len())
        .cloned();
    let Some(key) = key else { return };
    match how % 4 {
        0 => {
            map.remove(&key);
        }
        1 => {
            map.insert(format!("{key}_"), replacement);
        }
        2 if path.len() > 1 => {
            if let Some(v) = map.get_mut(&key) {
                mutate(v, &path[1..], replacement, how / 4);
            }
        }
        _ => {
            map.insert(key, replacement);
        }
    }
}

// ---- the properties ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::default())]

    /// Any JSON document: either a valid policy that round-trips, or `InvalidPolicy`.
    #[test]
    fn policy_from_any_json(doc in arb_json(POLICY_KEYS)) {
        check_policy_text(&doc.to_string())?;
    }

    /// Any text at all.
    #[test]
    fn policy_from_any_text(s in any::<String>()) {
        check_policy_text(&s)?;
    }

    /// Every valid policy survives its own serialization exactly, including exemptions ending in any year chrono
    /// holds and percentages of any precision.
    #[test]
    fn valid_policies_round_trip(p in arb_policy()) {
        prop_assert!(p.validate().is_ok());
        let text = p.to_json_pretty();
        let back = Policy::from_json(&text);
        prop_assert_eq!(back.as_ref().ok(), Some(&p), "{} -> {:?}", text, back);
    }

    /// A valid policy with one field replaced, removed or misspelled: valid and round-trips, or `InvalidPolicy`.
    #[test]
    fn mutated_policies(
        p in arb_policy(),
        path in proptest::collection::vec(any::<usize>(), 1..4),
        replacement in arb_json(POLICY_KEYS),
        how in any::<u8>(),
    ) {
        let mut doc: Value = serde_json::from_str(&p.to_json_pretty()).expect("JSON");
        mutate(&mut doc, &path, replacement, how);
        check_policy_text(&doc.to_string())?;
    }

    /// SQS message bodies: any JSON document or any text is a request or `Invalid { what: "reclaim request" }`.
    #[test]
    fn reclaim_request_from_anything(doc in arb_json(REQUEST_KEYS), s in any::<String>()) {
        check_request_text(&doc.to_string())?;
        check_request_text(&s)?;
    }

    /// Every request the planner writes is read back unchanged; any other schema version is refused by name.
    #[test]
    fn reclaim_requests_round_trip(r in arb_request(), version in any::<u32>()) {
        let back = ReclaimRequest::from_json(&r.to_json());
        prop_assert_eq!(back.as_ref().ok(), Some(&r));
        prop_assert_eq!(back.map(|b| b.dedup_key()).ok(), Some(r.dedup_key()));
        let mut doc: Value = serde_json::from_str(&r.to_json()).expect("JSON");
        doc["schema_version"] = json!(version);
        let other = ReclaimRequest::from_json(&doc.to_string());
        if version == RECLAIM_REQUEST_SCHEMA_VERSION {
            prop_assert!(other.is_ok());
        } else {
            let e = other.expect_err("another version is refused");
            prop_assert!(e.to_string().contains("schema_version"), "{}", e);
        }
    }

    /// A valid request with one field replaced, removed or added.
    #[test]
    fn mutated_reclaim_requests(
        r in arb_request(),
        path in proptest::collection::vec(any::<usize>(), 1..3),
        replacement in arb_json(REQUEST_KEYS),
        how in any::<u8>(),
    ) {
        let mut doc: Value = serde_json::from_str(&r.to_json()).expect("JSON");
        mutate(&mut doc, &path, replacement, how);
        check_request_text(&doc.to_string())?;
    }

    /// The domain values everything above is built from.
    #[test]
    fn domain_values(s in text(), t in any::<String>()) {
        for input in [&s, &t] {
            match Email::parse(input) {
                Ok(e) => {
                    prop_assert_eq!(Email::parse(e.as_str()).ok(), Some(e.clone()), "not idempotent");
                    prop_assert_eq!(e.as_str().matches('@').count(), 1);
                    prop_assert!(!e.as_str().chars().any(char::is_whitespace));
                    let json = serde_json::to_string(&e).expect("serializes");
                    prop_assert_eq!(serde_json::from_str::<Email>(&json).ok(), Some(e));
                }
                Err(e) => prop_assert!(matches!(e, DomainError::NotAnEmail { .. }), "{:?}", e),
            }
            match EmailDomain::parse(input) {
                Ok(d) => prop_assert_eq!(EmailDomain::parse(d.as_str()).ok(), Some(d.clone())),
                Err(e) => prop_assert!(matches!(e, DomainError::NotADomain { .. }), "{:?}", e),
            }
            let digits = {
                let t = input.trim();
                !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
            };
            prop_assert_eq!(OrgId::parse(input).is_ok(), digits);
            prop_assert_eq!(MemberId::parse(input).is_ok(), digits);
            if let Ok(id) = MemberId::parse(input) {
                prop_assert_eq!(id.as_str(), input.trim());
            }
            if let Err(e) = PlanId::parse(input) {
                prop_assert!(matches!(e, DomainError::NotAPlanId { .. }), "{:?}", e);
            }
        }
    }

    /// Members as Miro sends them (any JSON), turned into subscriptions: a typed error or a subscription whose
    /// hash does not depend on when it was seen.
    #[test]
    fn subscriptions_from_any_member(doc in arb_json(&[
        "id", "email", "active", "role", "license", "licenseAssignedAt", "lastActivityAt", "adminRoles",
        "type", "name",
    ]), seen in arb_datetime(), later in arb_datetime()) {
        let org = OrgId::parse("3074457345821141000").expect("digits");
        if let Ok(m) = serde_json::from_value::<Member>(doc) {
            match Subscription::from_member(&org, &m, seen) {
                Ok(s) => {
                    let again = Subscription::from_member(&org, &m, later).expect("same member");
                    prop_assert_eq!(&s.content_hash, &again.content_hash);
                    prop_assert_eq!(s.member_id.as_str(), m.id.trim());
                }
                Err(e) => prop_assert!(
                    matches!(e, DomainError::NotAnId { .. } | DomainError::NotAnEmail { .. }),
                    "{:?}", e
                ),
            }
        }
    }
}

/// Regression, FOUND BY `valid_policies_round_trip` (see FUZZING.md, finding 3): without serde_json's
/// `float_roundtrip` feature, the double 90.35838128316101 came back as 90.358381283161, one ulp off, so a stored
/// policy was not equal to the policy that was stored.
#[test]
fn percent_round_trips_exactly() {
    let mut p = Policy::default();
    p.cap.max_percent =
        Some(Percent::new(f64::from_bits(0x4056_96ef_b80c_ab34_u64)).expect("in range"));
    let back = Policy::from_json(&p.to_json_pretty()).expect("valid");
    assert_eq!(back, p);
}

fn check_policy_text(text: &str) -> Result<(), TestCaseError> {
    match Policy::from_json(text) {
        Ok(p) => {
            prop_assert!(p.validate().is_ok(), "accepted an invalid policy: {:?}", p);
            let again = Policy::from_json(&p.to_json_pretty());
            prop_assert_eq!(
                again.as_ref().ok(),
                Some(&p),
                "{} did not round-trip: {:?}",
                text,
                again
            );
        }
        Err(e) => prop_assert!(matches!(e, DomainError::InvalidPolicy(_)), "{:?}", e),
    }
    Ok(())
}

fn check_request_text(text: &str) -> Result<(), TestCaseError> {
    match ReclaimRequest::from_json(text) {
        Ok(r) => {
            prop_assert_eq!(r.schema_version, RECLAIM_REQUEST_SCHEMA_VERSION);
            prop_assert_eq!(ReclaimRequest::from_json(&r.to_json()).ok(), Some(r));
        }
        Err(e) => prop_assert!(
            matches!(
                e,
                DomainError::Invalid {
                    what: "reclaim request",
                    ..
                }
            ),
            "{:?}",
            e
        ),
    }
    Ok(())
}
