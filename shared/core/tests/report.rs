//! The report: seats, the current plan, reclaims to date and savings.

mod common;

use common::*;
use miro_sam_core::audit::{AuditEntry, AuditEvent};
use miro_sam_core::domain::{AuditEntryId, DownloadRun, License, PlanId, RegisteredOrg, RunId};
use miro_sam_core::plan::build_plan;
use miro_sam_core::policy::Policy;
use miro_sam_core::reclaim::SkipReason;
use miro_sam_core::report::{ReportConfig, ReportInput, build_report};
use miro_sam_core::snapshot::OrgSnapshot;

fn entry(id: &str, at_days_ago: i64, event: AuditEvent) -> AuditEntry {
    AuditEntry {
        id: AuditEntryId::parse(id).unwrap(),
        org_id: org(),
        at: days_ago(at_days_ago),
        actor: "test".into(),
        event,
    }
}

#[test]
fn report_counts_savings_only_for_seats_still_free() {
    let plan_id = PlanId::new();
    let reclaimed = |n: u64, at: i64| {
        entry(
            &format!("reclaim/{plan_id}/{}", id(n)),
            at,
            AuditEvent::Reclaimed {
                plan_id,
                member_id: id(n),
                email: member(n, 0).email,
                license: License::Full,
                scim_user_id: id(n).to_string(),
            },
        )
    };
    let audit = vec![
        reclaimed(1, 10),
        reclaimed(2, 10),
        reclaimed(3, 10),
        reclaimed(4, 10),
        // Member 2 was undone through miro-sam.
        entry(
            "reactivate/1",
            5,
            AuditEvent::Reactivated {
                member_id: Some(id(2)),
                email: member(2, 0).email,
                scim_user_id: id(2).to_string(),
                why: "needed for the Q3 audit".into(),
            },
        ),
        entry(
            "reclaim/x/9",
            9,
            AuditEvent::ReclaimSkipped {
                plan_id,
                member_id: id(9),
                email: member(9, 0).email,
                reason: SkipReason::AlreadyDeactivated,
            },
        ),
    ];
    let members = vec![
        with(member(1, 200), |m| m.active = false),
        with(member(2, 1), |m| m.active = true),
        // Member 3 was reactivated in Miro directly; the download after the reclaim saw it.
        with(member(3, 1), |m| m.active = true),
        // Member 4: the download after the reclaim shows them still deactivated.
        with(member(4, 300), |m| m.active = false),
        member(5, 150),
    ];
    let run = DownloadRun {
        org_id: org(),
        run_id: RunId::new(),
        started_at: days_ago(2),
        completed_at: days_ago(2),
        members_seen: 5,
    };
    let snapshots: Vec<OrgSnapshot> = [3, 1, 2]
        .iter()
        .map(|d| OrgSnapshot::compute_with_purchased(&org(), 10, &members, days_ago(*d)))
        .collect();
    let policy = versioned(Policy::default());
    let plan = build_plan(plan_id, &org(), Some(10), &policy, &[], &members, now());
    let registered = RegisteredOrg {
        id: org(),
        name: "Acme".into(),
        connected_at: days_ago(90),
    };
    let config = ReportConfig {
        price_per_seat_month_minor: Some(1_600),
        currency: "EUR".into(),
    };

    let r = build_report(ReportInput {
        org_id: &org(),
        org: Some(&registered),
        snapshots: &snapshots,
        latest_plan: Some(&plan),
        members: &members,
        audit: &audit,
        last_download: Some(&run),
        now: now(),
        config: &config,
    });

    assert_eq!(r.org_name.as_deref(), Some("Acme"));
    assert_eq!(
        r.as_of,
        Some(days_ago(1).date_naive()),
        "the latest snapshot"
    );
    let seats = r.seats.as_ref().unwrap();
    assert_eq!(
        (seats.purchased, seats.assigned_paid, seats.unused),
        (10, 3, 7)
    );
    assert_eq!(
        r.series.iter().map(|p| p.date).collect::<Vec<_>>(),
        [3, 2, 1].map(|d| days_ago(d).date_naive())
    );
    assert_eq!(r.candidates.len(), 1, "member 5, inactive 150 days");
    assert_eq!(r.current_plan.as_ref().map(|p| p.plan_id), Some(plan_id));

    let still: Vec<_> = r
        .reclaimed
        .iter()
        .map(|s| (s.member_id.clone(), s.still_deactivated))
        .collect();
    assert_eq!(
        still,
        vec![(id(1), true), (id(2), false), (id(3), false), (id(4), true)]
    );
    assert_eq!(r.reclaims.reclaimed_members, 4);
    assert_eq!(r.reclaims.still_deactivated, 2);
    assert_eq!(
        (
            r.reclaims.reactivations,
            r.reclaims.skipped,
            r.reclaims.failed
        ),
        (1, 1, 0)
    );
    let s = r.savings.as_ref().unwrap();
    assert_eq!(
        (s.seats, s.monthly_minor, s.annual_minor),
        (2, 3_200, 38_400)
    );
    assert_eq!(s.currency, "EUR");

    // Stored data older than the reclaim says nothing about it.
    let old_run = DownloadRun {
        completed_at: days_ago(20),
        ..run
    };
    let r2 = build_report(ReportInput {
        org_id: &org(),
        org: None,
        snapshots: &[],
        latest_plan: None,
        members: &members,
        audit: &audit,
        last_download: Some(&old_run),
        now: now(),
        config: &ReportConfig::default(),
    });
    assert_eq!(
        r2.reclaims.still_deactivated, 3,
        "only the undo through miro-sam counts"
    );
    assert!(r2.savings.is_none() && r2.seats.is_none() && r2.series.is_empty());
}
