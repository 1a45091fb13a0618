//! Builders shared by the core's tests.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use miro_sam_core::domain::{Email, License, MemberId, OrgId, Role, Subscription};
use miro_sam_core::policy::{Policy, VersionedPolicy};

pub fn org() -> OrgId {
    OrgId::parse("3074457345821141000").unwrap()
}

/// "Now" for every test: 2026-06-01T12:00:00Z.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

pub fn days_ago(d: i64) -> DateTime<Utc> {
    now() - Duration::days(d)
}

pub fn id(n: u64) -> MemberId {
    MemberId::parse(&(3_458_764_517_517_800_000u64 + n).to_string()).unwrap()
}

/// An internal user on a full license, active, license assigned 400 days ago, last active `inactive` days ago.
pub fn member(n: u64, inactive: i64) -> Subscription {
    let mut s = Subscription {
        org_id: org(),
        member_id: id(n),
        email: Email::parse(&format!("user{n}@acme.example")).unwrap(),
        license: License::Full,
        role: Role::InternalUser,
        admin_roles: vec![],
        active: true,
        license_assigned_at: Some(days_ago(400)),
        last_activity_at: Some(days_ago(inactive)),
        first_seen_at: days_ago(500),
        last_seen_at: now(),
        removed_at: None,
        content_hash: miro_sam_core::domain::ContentHash::from_stored(String::new()),
    };
    s.content_hash = s.compute_hash();
    s
}

pub fn with(mut s: Subscription, f: impl FnOnce(&mut Subscription)) -> Subscription {
    f(&mut s);
    s.content_hash = s.compute_hash();
    s
}

pub fn versioned(policy: Policy) -> VersionedPolicy {
    VersionedPolicy {
        org_id: org(),
        version: 3,
        created_at: days_ago(1),
        created_by: "test".into(),
        policy,
    }
}
