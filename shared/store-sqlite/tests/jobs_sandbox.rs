//! The jobs end to end against the sandboxed Miro, with the sandbox's SCIM write log as the judge of what was
//! really done to whom.

mod common;

use chrono::Utc;
use common::*;
use miro_sam_core::audit::{AuditEntry, AuditEvent};
use miro_sam_core::domain::{AuditEntryId, Email, MemberId};
use miro_sam_core::jobs::{self, JobError, MemberRef, ReclaimOptions};
use miro_sam_core::plan::PlanRefusal;
use miro_sam_core::policy::{Exemption, ExemptionMatch, Policy};
use miro_sam_core::ports::{AuditStore, MemberStore, PlanStore, TokenStore};
use miro_sam_core::reclaim::{ReclaimOutcome, ReclaimState, ReclaimTransition, SkipReason};
use miro_sam_core::report::ReportConfig;
use miro_sandbox::ScimOp;

/// How many of the org's audit entries `keep` selects.
async fn audit_count(w: &World, keep: impl Fn(&AuditEntry) -> bool) -> usize {
    let entries = w.store.list_audit(&w.org).await.unwrap();
    entries.iter().filter(|e| keep(e)).count()
}

#[tokio::test]
async fn download_plan_reclaim_round_trip() {
    let w = world(300).await;
    w.set_live_policy().await;

    let first = jobs::download_org(&w.deps, &w.org).await.expect("download");
    let truth = w.control.members(&w.org_str());
    assert_eq!(first.members_seen, truth.len() as u64);
    assert_eq!(
        (
            first.new,
            first.changed,
            first.unchanged,
            first.removed,
            first.rejected
        ),
        (300, 0, 0, 0, 0)
    );
    assert_eq!(first.pages, 3, "100 members per page");
    assert_eq!(w.store.list_members(&w.org).await.unwrap().len(), 300);
    let active_full = truth
        .iter()
        .filter(|m| m.active && m.license == "full")
        .count() as u32;
    assert_eq!(
        first
            .snapshot
            .assigned_by_license
            .get(&miro_sam_core::License::Full),
        Some(&active_full)
    );

    let plan = jobs::plan_org(w.deps.store.as_ref(), &w.org, "test", Utc::now())
        .await
        .unwrap();
    assert!(plan.candidates.len() >= 5, "{:?}", plan.totals);
    assert!(!plan.cap.exceeded && !plan.policy.dry_run);
    // The guardrails, judged against the sandbox's ground truth rather than our own copy.
    for c in &plan.candidates {
        let m = w.ground_truth(&c.member_id);
        assert_eq!(m.role, "organization_internal_user", "{c:?}");
        assert!(m.active && m.admin_roles.is_empty(), "{c:?}");
    }
    assert_eq!(
        w.store.get_plan(plan.plan_id).await.unwrap().as_ref(),
        Some(&plan),
        "the plan is stored"
    );

    let chosen: Vec<_> = plan.candidates.iter().take(5).collect();
    for c in &chosen {
        let r = reclaim(&w, plan.plan_id, &c.member_id).await;
        assert_reclaimed(&r.outcome);
        assert!(!r.replayed);
    }

    let log = w.control.scim_log();
    assert_eq!(log.len(), 5, "exactly five SCIM writes: {log:?}");
    for (write, c) in log.iter().zip(&chosen) {
        assert_eq!(write.op, ScimOp::Deactivate);
        assert_eq!(write.user_id, c.member_id.as_str());
        assert_eq!(write.email, c.email.as_str());
        assert!(!w.ground_truth(&c.member_id).active);
    }
    let audit = w.store.list_audit(&w.org).await.unwrap();
    let reclaimed = audit
        .iter()
        .filter(|e| matches!(e.event, AuditEvent::Reclaimed { .. }))
        .count();
    assert_eq!(reclaimed, 5);
    assert!(
        audit
            .iter()
            .all(|e| e.actor == "it-ops@acme-corp.example" || e.actor == "test")
    );
    let records = w.store.list_reclaim_records(&w.org).await.unwrap();
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r.state == ReclaimState::Done));

    // The next download sees the five as deactivated; the report counts them as saved.
    let second = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!((second.new, second.changed, second.removed), (0, 5, 0));
    assert_eq!(second.snapshot.deactivated, first.snapshot.deactivated + 5);
    let config = ReportConfig {
        price_per_seat_month_minor: Some(1_000),
        currency: "USD".into(),
    };
    let report = report_today(&w, &config).await;
    assert_eq!(report.reclaims.reclaimed_members, 5);
    assert_eq!(report.reclaims.still_deactivated, 5);
    assert_eq!(
        report.savings.as_ref().map(|s| s.monthly_minor),
        Some(5_000)
    );
    assert_eq!(
        report.series.len(),
        1,
        "two downloads on one day are one snapshot"
    );
    assert_eq!(report.org_name.as_deref(), Some("Acme Corp"));
}

#[tokio::test]
async fn an_unchanged_second_download_writes_nothing() {
    let w = world(300).await;
    jobs::download_org(&w.deps, &w.org).await.unwrap();
    let written = w.store.member_rows_written();
    assert_eq!(written, 300);
    let before = w.store.list_members(&w.org).await.unwrap();

    let again = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(
        (again.new, again.changed, again.unchanged, again.removed),
        (0, 0, 300, 0)
    );
    assert_eq!(
        w.store.member_rows_written(),
        written,
        "no member row was rewritten"
    );
    let after = w.store.list_members(&w.org).await.unwrap();
    assert_eq!(after.len(), 300);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.member_id, &b.content_hash, b.first_seen_at),
            (&a.member_id, &a.content_hash, a.first_seen_at)
        );
        assert!(
            a.last_seen_at >= again.finished_at,
            "seen by the latest complete download without a write"
        );
    }
    let today = Utc::now().date_naive();
    assert_eq!(
        w.store
            .list_snapshots(&w.org, today, today)
            .await
            .unwrap()
            .len(),
        1
    );

    // One member changes, one leaves: exactly those two are written or marked.
    let truth = w.control.members(&w.org_str());
    let changed = truth.iter().skip(1).find(|m| m.license != "basic").unwrap();
    let gone = truth.iter().skip(1).find(|m| m.id != changed.id).unwrap();
    w.control
        .update_member(&w.org_str(), &changed.id, |m| m.license = "basic".into());
    w.control.remove_member(&w.org_str(), &gone.id);
    let third = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(
        (third.new, third.changed, third.unchanged, third.removed),
        (0, 1, 298, 1)
    );
    assert_eq!(w.store.member_rows_written(), written + 1);
    let gone_id = MemberId::parse(&gone.id).unwrap();
    let stored = w.store.get_member(&w.org, &gone_id).await.unwrap().unwrap();
    assert_eq!(stored.removed_at, Some(third.finished_at));
    assert_eq!(
        stored.last_seen_at, again.finished_at,
        "last seen by the download before it left"
    );
}

#[tokio::test]
async fn reclaiming_the_same_candidate_twice_deactivates_once() {
    let (w, plan) = live_world().await;
    let c = &plan.candidates[0];

    let first = reclaim(&w, plan.plan_id, &c.member_id).await;
    assert!(matches!(first.outcome, ReclaimOutcome::Reclaimed { .. }));
    let calls = w.api_calls();
    let second = reclaim(&w, plan.plan_id, &c.member_id).await;
    assert!(second.replayed, "the recorded outcome is returned");
    assert_eq!(second.outcome, first.outcome);
    assert_eq!(w.api_calls(), calls, "no Miro call at all the second time");
    assert_eq!(w.control.scim_log().len(), 1);
    assert_eq!(w.control.counters().get("scim_patch_user"), 1);
    let reclaim_entries = audit_count(&w, |e| e.reclaim_outcome().is_some()).await;
    assert_eq!(reclaim_entries, 1);
}

#[tokio::test]
async fn recheck_skips_members_who_changed_since_the_plan() {
    let (w, plan) = live_world().await;
    let org = w.org_str();
    let ids: Vec<MemberId> = plan
        .candidates
        .iter()
        .take(5)
        .map(|c| c.member_id.clone())
        .collect();

    w.control.update_member(&org, ids[0].as_str(), |m| {
        m.last_activity_at = Some(Utc::now())
    });
    w.control.update_member(&org, ids[1].as_str(), |m| {
        m.role = "organization_internal_admin".into()
    });
    w.control.update_member(&org, ids[2].as_str(), |m| {
        m.admin_roles = vec![("prebuilt".into(), "Content Admin".into())]
    });
    w.control.remove_member(&org, ids[3].as_str());
    // A new policy version exempts the fifth after planning.
    let mut p = live_policy();
    p.exemptions.push(Exemption {
        matcher: ExemptionMatch::Email(plan.candidates[4].email.clone()),
        reason: "keynote speaker next month".into(),
        expires_at: None,
    });
    jobs::set_policy(w.deps.store.as_ref(), &w.org, &p, "test", Utc::now())
        .await
        .unwrap();

    let mut reasons = Vec::new();
    for id in &ids {
        let r = reclaim(&w, plan.plan_id, id).await;
        match r.outcome {
            ReclaimOutcome::Skipped { reason } => reasons.push(reason),
            other => panic!("{id} should have been skipped, got {other:?}"),
        }
    }
    assert!(
        matches!(reasons[0], SkipReason::BecameActive { .. }),
        "{:?}",
        reasons[0]
    );
    assert!(
        matches!(reasons[1], SkipReason::RoleChanged { .. }),
        "{:?}",
        reasons[1]
    );
    assert!(
        matches!(reasons[2], SkipReason::GainedAdminRoles { .. }),
        "{:?}",
        reasons[2]
    );
    assert_eq!(reasons[3], SkipReason::GoneFromMiro);
    assert!(
        matches!(
            reasons[4],
            SkipReason::ExcludedNow {
                policy_version: 2,
                ..
            }
        ),
        "{:?}",
        reasons[4]
    );

    assert!(w.control.scim_log().is_empty(), "nobody was deactivated");
    assert_eq!(w.control.counters().get("scim_patch_user"), 0);
    let skipped = audit_count(&w, |e| matches!(e.event, AuditEvent::ReclaimSkipped { .. })).await;
    assert_eq!(skipped, 5, "each skip is recorded with its reason");
    for id in &ids {
        let rec = record(&w.store, plan.plan_id, id).await;
        assert_eq!(rec.state, ReclaimState::Skipped);
    }
}

#[tokio::test]
async fn a_crash_between_patch_and_audit_completes_without_a_second_patch() {
    let (w, plan) = live_world().await;
    let c = &plan.candidates[0];
    let scim = w.store.get_scim_token(&w.org).await.unwrap();

    // What a crashed attempt leaves behind: the record marked Applying, then the PATCH, then nothing.
    let now = Utc::now();
    w.store
        .create_reclaim_record(&pending(&w, plan.plan_id, c, now))
        .await
        .unwrap();
    let user = scim_user(&w, &scim, c.email.as_str()).await;
    w.store
        .transition_reclaim(
            plan.plan_id,
            &c.member_id,
            ReclaimState::Pending,
            &ReclaimTransition {
                to: ReclaimState::Applying,
                scim_user_id: Some(user.id.clone()),
                outcome: None,
                at: now,
            },
        )
        .await
        .unwrap();
    w.deps
        .client
        .scim_set_active(&scim, &user.id, false)
        .await
        .unwrap();
    assert_eq!(w.control.counters().get("scim_patch_user"), 1);

    let r = reclaim(&w, plan.plan_id, &c.member_id).await;
    assert_eq!(
        r.outcome,
        ReclaimOutcome::Reclaimed {
            scim_user_id: user.id.clone(),
            at: now
        },
        "finished as reclaimed, not 'skipped: already deactivated'"
    );
    assert_eq!(
        w.control.counters().get("scim_patch_user"),
        1,
        "no second PATCH"
    );
    assert_eq!(w.control.scim_log().len(), 1);
    let entry = w
        .store
        .get_audit(&AuditEntryId::for_reclaim(plan.plan_id, &c.member_id))
        .await
        .unwrap()
        .expect("audit entry written");
    assert!(matches!(entry.event, AuditEvent::Reclaimed { .. }));

    // Someone else deactivating a candidate (no attempt of ours in flight) is NOT counted as our reclaim.
    let other = &plan.candidates[1];
    let other_user = scim_user(&w, &scim, other.email.as_str()).await;
    w.deps
        .client
        .scim_set_active(&scim, &other_user.id, false)
        .await
        .unwrap();
    let r = reclaim(&w, plan.plan_id, &other.member_id).await;
    assert_eq!(
        r.outcome,
        ReclaimOutcome::Skipped {
            reason: SkipReason::AlreadyDeactivated
        }
    );
    assert_eq!(
        w.control.counters().get("scim_patch_user"),
        2,
        "only the outside PATCH"
    );
}

#[tokio::test]
async fn a_crash_after_the_audit_entry_finishes_from_it_without_calling_miro() {
    let w = world(120).await;
    w.set_live_policy().await;
    let plan = w.download_and_plan().await;
    let c = &plan.candidates[0];
    let opts = live();
    // Run once for real, then rewind the record to Applying as if the final transition had been lost.
    let done = reclaim_with(&w, plan.plan_id, &c.member_id, &opts)
        .await
        .unwrap();
    let fresh = miro_sam_sqlite::SqliteStore::in_memory().unwrap();
    fresh.put_plan(&plan).await.unwrap();
    let now = Utc::now();
    fresh
        .create_reclaim_record(&pending(&w, plan.plan_id, c, now))
        .await
        .unwrap();
    let applying = ReclaimTransition {
        to: ReclaimState::Applying,
        scim_user_id: Some(c.member_id.to_string()),
        outcome: None,
        at: now,
    };
    fresh
        .transition_reclaim(plan.plan_id, &c.member_id, ReclaimState::Pending, &applying)
        .await
        .unwrap();
    let entry = w
        .store
        .get_audit(&AuditEntryId::for_reclaim(plan.plan_id, &c.member_id))
        .await
        .unwrap()
        .unwrap();
    fresh.append_audit(&entry).await.unwrap();
    let mut deps = w.deps.clone();
    deps.store = std::sync::Arc::new(fresh.clone());
    let calls = w.api_calls();
    let r = jobs::reclaim_member(&deps, plan.plan_id, &c.member_id, &opts)
        .await
        .unwrap();
    assert_eq!(r.outcome, done.outcome);
    assert_eq!(
        w.api_calls(),
        calls,
        "the audit entry is the truth; Miro is not asked again"
    );
    let rec = record(&fresh, plan.plan_id, &c.member_id).await;
    assert_eq!(rec.state, ReclaimState::Done);
}

#[tokio::test]
async fn dry_run_and_cap_refuse_before_any_miro_write() {
    let w = world(300).await;
    let plan = w.download_and_plan().await; // the default policy: dry-run, capped
    let c = &plan.candidates[0];
    assert!(plan.policy.dry_run);
    assert!(
        plan.cap.exceeded,
        "the sandbox org has more candidates than 10% of its seats: {:?}",
        plan.cap
    );
    let why = refusal(&w, plan.plan_id, &c.member_id, &ReclaimOptions::default()).await;
    assert!(matches!(why, PlanRefusal::CapExceeded { .. }), "{why:?}");
    let overridden = ReclaimOptions {
        override_dry_run: true,
        ..ReclaimOptions::default()
    };
    let why = refusal(&w, plan.plan_id, &c.member_id, &overridden).await;
    assert!(
        matches!(why, PlanRefusal::CapExceeded { .. }),
        "the cap cannot be overridden"
    );

    // Under the cap but still dry-run: refused unless overridden (the demo path).
    let p = Policy {
        dry_run: true,
        ..live_policy()
    };
    jobs::set_policy(w.deps.store.as_ref(), &w.org, &p, "test", Utc::now())
        .await
        .unwrap();
    let plan = jobs::plan_org(w.deps.store.as_ref(), &w.org, "test", Utc::now())
        .await
        .unwrap();
    let c = &plan.candidates[0];
    let why = refusal(&w, plan.plan_id, &c.member_id, &ReclaimOptions::default()).await;
    assert!(matches!(why, PlanRefusal::DryRun { .. }), "{why:?}");
    assert!(w.control.scim_log().is_empty());
    assert!(
        w.store
            .get_reclaim_record(plan.plan_id, &c.member_id)
            .await
            .unwrap()
            .is_none()
    );
    let r = reclaim_with(&w, plan.plan_id, &c.member_id, &overridden)
        .await
        .unwrap();
    assert!(matches!(r.outcome, ReclaimOutcome::Reclaimed { .. }));
    assert_eq!(w.control.scim_log().len(), 1);

    let not_candidate = plan.exclusions[0].member_id.clone();
    let err = reclaim_with(&w, plan.plan_id, &not_candidate, &overridden)
        .await
        .unwrap_err();
    assert!(matches!(err, JobError::NotACandidate { .. }), "{err}");
}

#[tokio::test]
async fn reactivation_undoes_a_reclaim_and_is_audited() {
    let (w, plan) = live_world().await;
    let c = &plan.candidates[0];
    reclaim(&w, plan.plan_id, &c.member_id).await;
    assert!(!w.ground_truth(&c.member_id).active);

    let who = MemberRef::Email(Email::parse(&c.email.as_str().to_uppercase()).unwrap());
    let r = reactivate(
        &w,
        &who,
        "jane.admin.1@acme-corp.example",
        "still needs Miro for the rebrand",
    )
    .await
    .unwrap();
    assert!(!r.already_active);
    assert_eq!(r.member_id.as_ref(), Some(&c.member_id));
    assert!(w.ground_truth(&c.member_id).active);
    let log = w.control.scim_log();
    assert_eq!(
        log.iter().map(|l| l.op).collect::<Vec<_>>(),
        vec![ScimOp::Deactivate, ScimOp::Reactivate]
    );
    let entry = w
        .store
        .get_audit(r.audit_id.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.actor, "jane.admin.1@acme-corp.example");
    assert!(
        matches!(&entry.event, AuditEvent::Reactivated { why, .. } if why == "still needs Miro for the rebrand")
    );

    let again = reactivate(
        &w,
        &MemberRef::Id(c.member_id.clone()),
        "jane",
        "double click",
    )
    .await
    .unwrap();
    assert!(again.already_active && again.audit_id.is_none());
    assert_eq!(
        w.control.scim_log().len(),
        2,
        "reactivating an active user sends nothing"
    );
    let err = reactivate(&w, &who, "jane", " ").await.unwrap_err();
    assert!(matches!(err, JobError::InvalidRequest(_)));

    let report = report_today(&w, &ReportConfig::default()).await;
    assert_eq!(
        (
            report.reclaims.reclaimed_members,
            report.reclaims.still_deactivated
        ),
        (1, 0)
    );
}

#[tokio::test]
async fn queued_plans_run_to_completion_once() {
    let (w, plan) = live_world().await;
    let queued = enqueue(&w, plan.plan_id).await;
    assert_eq!(queued.enqueued, plan.candidates.len());
    let again = enqueue(&w, plan.plan_id).await;
    assert_eq!(
        (again.enqueued, again.already_queued),
        (0, plan.candidates.len())
    );

    let items = w.store.queued_requests(usize::MAX).await.unwrap();
    assert_eq!(items.len(), plan.candidates.len());
    for item in &items {
        let request = item.reclaim().expect("only reclaims were queued");
        let r = reclaim(&w, request.plan_id, &request.member_id).await;
        assert_reclaimed(&r.outcome);
        assert!(w.store.complete_request(&item.dedup_key).await.unwrap());
    }
    assert!(w.store.queued_requests(10).await.unwrap().is_empty());
    let deactivated = w
        .control
        .scim_log()
        .iter()
        .filter(|l| l.op == ScimOp::Deactivate)
        .count();
    assert_eq!(deactivated, plan.candidates.len());
}

#[tokio::test]
async fn transient_miro_errors_are_retryable_and_leave_the_reclaim_open() {
    let (w, plan) = live_world().await;
    let c = &plan.candidates[0];

    w.control.set_faults(miro_sandbox::FaultConfig {
        error_rate: 1.0,
        ..Default::default()
    });
    let err = reclaim_with(&w, plan.plan_id, &c.member_id, &live())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(!err.needs_reconnect());
    let rec = record(&w.store, plan.plan_id, &c.member_id).await;
    assert!(!rec.state.is_terminal(), "not failed-final: {rec:?}");
    assert!(
        w.store
            .get_audit(&AuditEntryId::for_reclaim(plan.plan_id, &c.member_id))
            .await
            .unwrap()
            .is_none()
    );

    w.control.set_faults(miro_sandbox::FaultConfig::default());
    let r = reclaim(&w, plan.plan_id, &c.member_id).await;
    assert_reclaimed(&r.outcome);
    assert_eq!(w.control.scim_log().len(), 1);

    // A download cut off half-way marks nobody removed and writes no snapshot.
    let snapshots_before = w.store.latest_snapshot(&w.org).await.unwrap();
    w.control
        .remove_member(&w.org_str(), plan.candidates[1].member_id.as_str());
    w.control.set_faults(miro_sandbox::FaultConfig {
        malformed_members_page_once: true,
        ..Default::default()
    });
    assert!(jobs::download_org(&w.deps, &w.org).await.is_err());
    let kept = w
        .store
        .get_member(&w.org, &plan.candidates[1].member_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        kept.removed_at.is_none(),
        "an incomplete listing proves nobody left"
    );
    assert_eq!(
        w.store.latest_snapshot(&w.org).await.unwrap(),
        snapshots_before
    );
}
