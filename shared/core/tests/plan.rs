//! Plans: candidates, listed exclusions, totals, deterministic order, and the cap (absolute and percent).

mod common;

use common::*;
use miro_sam_core::OrgId;
use miro_sam_core::domain::{License, PlanId, Role, Subscription};
use miro_sam_core::plan::{PlanRefusal, ReclaimPlan, build_plan};
use miro_sam_core::policy::{ExclusionRule, Guardrail, Percent, Policy, ReclaimCap};
use uuid::Uuid;

fn plan_id() -> PlanId {
    PlanId::from_uuid(Uuid::from_u128(0x6f1c2b9e_0d5e_4c1a_9a7e_2f4b8c3d1e0f))
}

fn plan(policy: Policy, purchased: Option<i64>, members: &[Subscription]) -> ReclaimPlan {
    build_plan(
        plan_id(),
        &org(),
        purchased,
        &versioned(policy),
        &[],
        members,
        now(),
    )
}

fn uncapped() -> Policy {
    Policy {
        cap: ReclaimCap {
            max_count: Some(10_000),
            max_percent: None,
        },
        ..Policy::default()
    }
}

fn org_members() -> Vec<Subscription> {
    vec![
        member(5, 212),
        member(2, 100),
        member(9, 100),
        member(3, 10),
        with(member(4, 300), |m| m.role = Role::InternalAdmin),
        with(member(6, 300), |m| m.license = License::Free),
        with(member(7, 300), |m| m.license = License::FreeRestricted),
        with(member(8, 300), |m| m.role = Role::TeamGuestUser),
        // Another org's row must not leak into this plan.
        with(member(1, 500), |m| m.org_id = OrgId::parse("42").unwrap()),
    ]
}

#[test]
fn candidates_exclusions_and_totals() {
    let p = plan(uncapped(), Some(100), &org_members());
    let ids: Vec<_> = p.candidates.iter().map(|c| c.member_id.clone()).collect();
    assert_eq!(
        ids,
        vec![id(5), id(2), id(9)],
        "most inactive first, ties by member id"
    );
    let c = &p.candidates[0];
    assert_eq!(
        c.reason,
        format!(
            "no activity for 212 days (last active {}; threshold 90 days)",
            days_ago(212).date_naive()
        )
    );
    assert_eq!(c.evidence.last_activity_at, Some(days_ago(212)));
    assert_eq!(c.evidence.license, License::Full);
    assert_eq!(c.evidence.license_assigned_at, Some(days_ago(400)));

    let excluded: Vec<_> = p
        .exclusions
        .iter()
        .map(|e| (e.member_id.clone(), e.rules.clone()))
        .collect();
    assert_eq!(
        excluded,
        vec![
            (
                id(4),
                vec![ExclusionRule::Guardrail {
                    guardrail: Guardrail::CompanyAdmin
                }]
            ),
            (
                id(8),
                vec![ExclusionRule::Guardrail {
                    guardrail: Guardrail::Guest
                }]
            ),
        ],
        "guardrail exclusions of in-scope licenses are listed, by member id"
    );
    assert!(p.exclusions[0].reason.contains("Company Admin"));
    let t = p.totals;
    assert_eq!(
        (
            t.members_considered,
            t.candidates,
            t.excluded,
            t.out_of_scope,
            t.below_threshold
        ),
        (8, 3, 2, 2, 1)
    );
    assert_eq!(p.policy_version, 3);
    assert_eq!(p.org_id, org());
    assert!(!p.cap.exceeded);
}

#[test]
fn never_active_reason_in_words() {
    let m = with(member(1, 0), |m| {
        m.last_activity_at = None;
        m.license_assigned_at = Some(days_ago(120));
    });
    let p = plan(uncapped(), Some(10), &[m]);
    assert_eq!(
        p.candidates[0].reason,
        format!(
            "never active; license assigned 120 days ago ({}; threshold 90 days)",
            days_ago(120).date_naive()
        )
    );
}

#[test]
fn plans_are_deterministic() {
    let members = org_members();
    let mut reversed = members.clone();
    reversed.reverse();
    let a = plan(uncapped(), Some(100), &members);
    let b = plan(uncapped(), Some(100), &reversed);
    assert_eq!(a, b, "input order does not matter");
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

fn inactive_members(n: u64) -> Vec<Subscription> {
    (1..=n).map(|i| member(i, 100 + i as i64)).collect()
}

#[test]
fn absolute_cap() {
    let mut p = uncapped();
    p.cap = ReclaimCap {
        max_count: Some(5),
        max_percent: None,
    };
    p.dry_run = false;
    let at_cap = plan(p.clone(), None, &inactive_members(5));
    assert!(!at_cap.cap.exceeded, "5 of 5 is allowed");
    assert_eq!(at_cap.check_executable(false), Ok(()));

    let over = plan(p, None, &inactive_members(6));
    assert!(over.cap.exceeded);
    assert_eq!(over.cap.limit, 5);
    assert_eq!(
        over.candidates.len(),
        6,
        "the plan still shows everyone; it is refused whole"
    );
    match over.check_executable(true) {
        Err(PlanRefusal::CapExceeded {
            candidates: 6,
            limit: 5,
            ..
        }) => {}
        other => panic!("expected a cap refusal even with the dry-run override, got {other:?}"),
    }
    let msg = over.check_executable(false).unwrap_err().to_string();
    assert!(
        msg.contains("over the cap of 5") && msg.contains("nothing is reclaimed"),
        "{msg}"
    );
}

#[test]
fn percent_cap() {
    let mut p = uncapped();
    p.cap = ReclaimCap {
        max_count: None,
        max_percent: Some(Percent::new(10.0).unwrap()),
    };
    p.dry_run = false;
    let members = inactive_members(5);
    let small = plan(p.clone(), Some(49), &members);
    assert_eq!(
        small.cap.percent_limit,
        Some(4),
        "10% of 49 rounds down to 4"
    );
    assert!(small.cap.exceeded);
    assert!(
        small
            .cap
            .explanation
            .contains("10% of 49 purchased seats = 4"),
        "{}",
        small.cap.explanation
    );
    let enough = plan(p.clone(), Some(50), &members);
    assert!(!enough.cap.exceeded);

    let unknown = plan(p, None, &members);
    assert!(
        unknown.cap.exceeded,
        "without purchased seats a percentage cap allows nobody"
    );
    assert!(
        unknown.cap.explanation.contains("unknown"),
        "{}",
        unknown.cap.explanation
    );
}

#[test]
fn the_smaller_cap_wins() {
    let mut p = uncapped();
    p.cap = ReclaimCap {
        max_count: Some(3),
        max_percent: Some(Percent::new(50.0).unwrap()),
    };
    let a = plan(p.clone(), Some(100), &inactive_members(4));
    assert_eq!((a.cap.limit, a.cap.exceeded), (3, true));
    p.cap.max_count = Some(100);
    let b = plan(p, Some(6), &inactive_members(4));
    assert_eq!((b.cap.limit, b.cap.exceeded), (3, true));
}

#[test]
fn dry_run_plans_refuse_unless_overridden() {
    let p = plan(uncapped(), Some(100), &inactive_members(2));
    assert!(p.policy.dry_run, "dry-run is the default");
    assert!(matches!(
        p.check_executable(false),
        Err(PlanRefusal::DryRun { .. })
    ));
    assert_eq!(p.check_executable(true), Ok(()));
}

/// Held members are listed as excluded with the rule and the date the hold ends (and are not candidates).
#[test]
fn held_members_are_excluded_with_the_end_date() {
    use chrono::Duration;
    use miro_sam_core::hold::{Hold, HoldSource};
    let members = org_members();
    let held = members[0].clone();
    let hold = Hold {
        org_id: org(),
        member_id: held.member_id.clone(),
        email: held.email.clone(),
        source: HoldSource::ReactivatedInMiro,
        reason: "reactivated in Miro after miro-sam reclaimed the seat".into(),
        created_by: "miro-sam download".into(),
        created_at: now() - Duration::days(1),
        expires_at: now() + Duration::days(89),
    };
    let without = plan(uncapped(), Some(100), &members);
    assert!(
        without.candidate(&held.member_id).is_some(),
        "a candidate without the hold"
    );
    let with_hold = build_plan(
        plan_id(),
        &org(),
        Some(100),
        &versioned(uncapped()),
        std::slice::from_ref(&hold),
        &members,
        now(),
    );
    assert!(with_hold.candidate(&held.member_id).is_none());
    let ex = with_hold
        .exclusion(&held.member_id)
        .expect("listed as excluded");
    assert!(ex.has_rule(
        |r| matches!(r, ExclusionRule::Held { expires_at, .. } if *expires_at == hold.expires_at)
    ));
    let end = hold.expires_at.date_naive().to_string();
    assert!(ex.reason.contains(&end), "{} names {end}", ex.reason);
    assert_eq!(with_hold.totals.candidates + 1, without.totals.candidates);
}

#[test]
fn a_plan_or_header_written_by_a_newer_build_is_refused_on_read() {
    use miro_sam_core::plan::{PLAN_SCHEMA_VERSION, PlanHeader};
    let built = plan(uncapped(), Some(100), &org_members());
    let mut plan_json = serde_json::to_value(&built).unwrap();
    let mut header_json = serde_json::to_value(built.header()).unwrap();
    // What this build writes reads back.
    assert_eq!(
        serde_json::from_value::<ReclaimPlan>(plan_json.clone()).unwrap(),
        built
    );
    assert_eq!(
        serde_json::from_value::<PlanHeader>(header_json.clone()).unwrap(),
        built.header()
    );
    plan_json["schema_version"] = (PLAN_SCHEMA_VERSION + 1).into();
    header_json["schema_version"] = (PLAN_SCHEMA_VERSION + 1).into();
    for err in [
        serde_json::from_value::<ReclaimPlan>(plan_json)
            .unwrap_err()
            .to_string(),
        serde_json::from_value::<PlanHeader>(header_json)
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            err.contains(&format!(
                "schema_version {} is newer than this build",
                PLAN_SCHEMA_VERSION + 1
            )) && err.contains("upgrade miro-sam"),
            "{err}"
        );
    }
}
