//! Values for tests: members, plans, records, entries. Times carry nanoseconds so a store that truncates them
//! fails the round-trip assertions.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use miro_client::{AdminRole, License, Member, Role};

use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{
    AuditEntryId, DownloadRun, Email, MemberId, OrgId, PlanId, RunId, Subscription,
};
use crate::plan::{ReclaimPlan, build_plan};
use crate::policy::{Policy, VersionedPolicy};
use crate::ports::ReclaimRequest;
use crate::reclaim::ReclaimRecord;
use crate::snapshot::OrgSnapshot;

pub const ORG: &str = "3074457345821141000";
pub const OTHER_ORG: &str = "3074457345821142000";

pub fn org() -> OrgId {
    OrgId::parse(ORG).expect("fixture org id")
}

pub fn other_org() -> OrgId {
    OrgId::parse(OTHER_ORG).expect("fixture org id")
}

/// 2026-06-01T08:30:00.123456789Z
pub fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_302_600, 123_456_789)
        .single()
        .expect("valid time")
}

pub fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, d).expect("valid day")
}

pub fn member_id(n: u64) -> MemberId {
    MemberId::parse(&(3_458_764_517_517_800_000u64 + n).to_string()).expect("fixture member id")
}

/// A complete download of `org` that saw `members_seen` members, finishing at `completed_at` a minute after it
/// started.
pub fn completed_run(org: &OrgId, completed_at: DateTime<Utc>, members_seen: u64) -> DownloadRun {
    DownloadRun {
        org_id: org.clone(),
        run_id: RunId::new(),
        started_at: completed_at - Duration::minutes(1),
        completed_at,
        members_seen,
    }
}

/// A Miro member `n`: internal user, full license, last active `inactive_days` before [`t0`].
pub fn miro_member(n: u64, inactive_days: i64) -> Member {
    Member {
        id: member_id(n).to_string(),
        email: format!("user{n}@example.com"),
        active: true,
        role: Role::InternalUser,
        license: License::Full,
        license_assigned_at: Some(t0() - Duration::days(400) + Duration::nanoseconds(7)),
        last_activity_at: Some(
            t0() - Duration::days(inactive_days) + Duration::nanoseconds(n as i64),
        ),
        admin_roles: Vec::new(),
    }
}

pub fn subscription(org: &OrgId, n: u64, inactive_days: i64) -> Subscription {
    Subscription::from_member(org, &miro_member(n, inactive_days), t0())
        .expect("fixture member parses")
}

/// A varied member for round-trips: unknown role value, admin roles, no dates.
pub fn odd_subscription(org: &OrgId, n: u64) -> Subscription {
    let mut m = miro_member(n, 0);
    m.role = Role::Other("organization_future_role".into());
    m.license = License::Other("enterprise_plus".into());
    m.active = false;
    m.license_assigned_at = None;
    m.last_activity_at = None;
    m.admin_roles = vec![
        AdminRole {
            kind: "prebuilt".into(),
            name: "User Admin".into(),
        },
        AdminRole {
            kind: "custom".into(),
            name: "Board Janitor".into(),
        },
    ];
    Subscription::from_member(org, &m, t0()).expect("fixture member parses")
}

pub fn versioned(org: &OrgId, policy: Policy, version: u32) -> VersionedPolicy {
    VersionedPolicy {
        org_id: org.clone(),
        version,
        created_at: t0(),
        created_by: "contract".into(),
        policy,
    }
}

/// A plan with candidates, guardrail exclusions and exemptions.
pub fn plan(org: &OrgId) -> ReclaimPlan {
    let mut members: Vec<Subscription> = (1..=6)
        .map(|n| subscription(org, n, 100 + n as i64))
        .collect();
    members.push(subscription(org, 7, 3));
    let mut admin = subscription(org, 8, 300);
    admin.role = Role::InternalAdmin;
    members.push(admin);
    let mut policy = Policy::default();
    policy.exemptions.push(crate::policy::Exemption {
        matcher: crate::policy::ExemptionMatch::Email(
            Email::parse("user2@example.com").expect("email"),
        ),
        reason: "on parental leave".into(),
        expires_at: Some(t0() + Duration::days(30)),
    });
    build_plan(
        PlanId::new(),
        org,
        Some(200),
        &versioned(org, policy, 1),
        &[],
        &members,
        t0(),
    )
}

pub fn pending_record(plan: PlanId, org: &OrgId, n: u64) -> ReclaimRecord {
    ReclaimRecord::pending(
        plan,
        org.clone(),
        member_id(n),
        Email::parse(&format!("user{n}@example.com")).expect("email"),
        t0(),
    )
}

/// Reclaim requests of plan `plan` for members 1 to `n` of [`org`], each with its own reason, as the enqueue
/// sends them.
pub fn reclaim_requests(plan: PlanId, n: u64) -> Vec<ReclaimRequest> {
    (1..=n)
        .map(|i| {
            ReclaimRequest::new(
                plan,
                org(),
                member_id(i),
                Email::parse(&format!("user{i}@example.com")).expect("email"),
                format!("no activity for {} days", 100 + i),
            )
        })
        .collect()
}

pub fn audit_entry(org: &OrgId, id: &str, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: AuditEntryId::parse(id).expect("audit id"),
        org_id: org.clone(),
        at,
        actor: "contract".into(),
        event: AuditEvent::ReclaimSkipped {
            plan_id: PlanId::new(),
            member_id: member_id(1),
            email: Email::parse("user1@example.com").expect("email"),
            reason: crate::reclaim::SkipReason::ScimUserNotFound,
        },
    }
}

pub fn snapshot(org: &OrgId, date: NaiveDate, purchased: i64) -> OrgSnapshot {
    let members: Vec<Subscription> = (1..=5)
        .map(|n| subscription(org, n, n as i64 * 20))
        .collect();
    let at = date.and_hms_opt(6, 0, 0).expect("time").and_utc();
    OrgSnapshot::compute_with_purchased(org, purchased, &members, at)
}
