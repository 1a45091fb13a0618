//! The re-check made just before a reclaim, against Miro's answer of the moment and the CURRENT policy.

mod common;

use chrono::Duration;
use common::*;
use miro_sam_core::domain::{Email, License, PlanId, Role};
use miro_sam_core::plan::build_plan;
use miro_sam_core::policy::{ExclusionRule, Exemption, ExemptionMatch, InactivityDays, Policy};
use miro_sam_core::reclaim::{ReclaimState, SkipReason, recheck};

#[test]
fn recheck_skips_every_change_that_matters() {
    let planned = member(1, 200);
    let policy = versioned(Policy::default());
    let plan = build_plan(
        PlanId::new(),
        &org(),
        Some(100),
        &policy,
        &[],
        std::slice::from_ref(&planned),
        now(),
    );
    let cand = &plan.candidates[0];
    let later = now() + Duration::hours(1);

    assert_eq!(
        recheck(cand, &planned, &policy, None, later),
        Ok(()),
        "nothing changed"
    );

    let active = with(planned.clone(), |m| {
        m.last_activity_at = Some(later - Duration::minutes(5))
    });
    assert!(matches!(
        recheck(cand, &active, &policy, None, later),
        Err(SkipReason::BecameActive { .. })
    ));

    let relicensed = with(planned.clone(), |m| m.license = License::Basic);
    assert_eq!(
        recheck(cand, &relicensed, &policy, None, later),
        Err(SkipReason::LicenseChanged {
            planned: License::Full,
            now: License::Basic
        })
    );
    let promoted = with(planned.clone(), |m| m.role = Role::InternalAdmin);
    assert_eq!(
        recheck(cand, &promoted, &policy, None, later),
        Err(SkipReason::RoleChanged {
            planned: Role::InternalUser,
            now: Role::InternalAdmin
        })
    );
    let admin = with(planned.clone(), |m| {
        m.admin_roles = vec!["Security Admin".into()]
    });
    assert_eq!(
        recheck(cand, &admin, &policy, None, later),
        Err(SkipReason::GainedAdminRoles {
            names: vec!["Security Admin".into()]
        })
    );

    let mut exempting = Policy::default();
    let e = Exemption {
        matcher: ExemptionMatch::Email(Email::parse("user1@acme.example").unwrap()),
        reason: "returns from sabbatical next week".into(),
        expires_at: None,
    };
    exempting.exemptions.push(e.clone());
    let current = versioned(exempting);
    match recheck(cand, &planned, &current, None, later) {
        Err(SkipReason::ExcludedNow {
            policy_version: 3,
            rules,
        }) => {
            assert_eq!(
                rules,
                vec![ExclusionRule::Exempt {
                    matched: e.matcher,
                    reason: e.reason,
                    expires_at: None
                }]
            );
        }
        other => panic!("expected the new exemption to protect the member, got {other:?}"),
    }

    let stricter = Policy {
        inactivity_days: InactivityDays::new(365).unwrap(),
        ..Policy::default()
    };
    assert!(matches!(
        recheck(cand, &planned, &versioned(stricter), None, later),
        Err(SkipReason::BelowThresholdNow {
            threshold_days: 365,
            days_inactive: 200,
            ..
        })
    ));
    let narrower = Policy::from_json(r#"{"licenses": ["advanced"]}"#).unwrap();
    assert!(matches!(
        recheck(cand, &planned, &versioned(narrower), None, later),
        Err(SkipReason::OutOfScopeNow { .. })
    ));
}

#[test]
fn record_states_move_forward_only() {
    use ReclaimState::*;
    let all = [Pending, Applying, Done, Skipped, Failed];
    for from in all {
        for to in all {
            let expected = matches!(
                (from, to),
                (Pending, Applying | Done | Skipped | Failed) | (Applying, Done | Skipped | Failed)
            );
            assert_eq!(from.can_become(to), expected, "{from} -> {to}");
        }
        assert_eq!(ReclaimState::parse(from.as_str()), Some(from));
    }
}

fn planned_candidate() -> (miro_sam_core::Subscription, miro_sam_core::plan::Candidate) {
    let planned = member(1, 200);
    let plan = build_plan(
        PlanId::new(),
        &org(),
        Some(100),
        &versioned(Policy::default()),
        &[],
        std::slice::from_ref(&planned),
        now(),
    );
    (planned, plan.candidates[0].clone())
}

/// Miro showed a last activity at planning and shows none at the re-check: never fall back to the license date
/// (which, for a long-held license, would make the member look inactive for years).
#[test]
fn activity_that_disappears_is_skipped() {
    let (planned, cand) = planned_candidate();
    let then = planned.last_activity_at.expect("the fixture has activity");
    let vanished = with(planned, |m| {
        m.last_activity_at = None;
        m.license_assigned_at = Some(days_ago(900));
    });
    assert_eq!(
        recheck(
            &cand,
            &vanished,
            &versioned(Policy::default()),
            None,
            now() + Duration::hours(1)
        ),
        Err(SkipReason::ActivityDisappeared {
            planned_last_activity_at: then
        })
    );
}

/// A hold placed after the plan (an undo) protects the member at the re-check; an expired one or another
/// member's does not.
#[test]
fn a_hold_in_force_protects_at_the_recheck() {
    use miro_sam_core::hold::{Hold, HoldSource};
    let (planned, cand) = planned_candidate();
    let later = now() + Duration::hours(1);
    let policy = versioned(Policy::default());
    let hold = Hold {
        org_id: org(),
        member_id: planned.member_id.clone(),
        email: planned.email.clone(),
        source: HoldSource::Reactivated,
        reason: "needs Miro for the rebrand".into(),
        created_by: "ops@acme.example".into(),
        created_at: now(),
        expires_at: now() + Duration::days(90),
    };
    match recheck(&cand, &planned, &policy, Some(&hold), later) {
        Err(SkipReason::ExcludedNow { rules, .. }) => assert!(
            matches!(&rules[..], [ExclusionRule::Held { reason, expires_at, .. }]
                if reason == "needs Miro for the rebrand" && *expires_at == hold.expires_at),
            "{rules:?}"
        ),
        other => panic!("expected the hold to protect the member, got {other:?}"),
    }
    let expired = Hold {
        expires_at: later - Duration::seconds(1),
        ..hold.clone()
    };
    assert_eq!(
        recheck(&cand, &planned, &policy, Some(&expired), later),
        Ok(())
    );
    let someone_else = Hold {
        member_id: id(2),
        ..hold
    };
    assert_eq!(
        recheck(&cand, &planned, &policy, Some(&someone_else), later),
        Ok(())
    );
}
