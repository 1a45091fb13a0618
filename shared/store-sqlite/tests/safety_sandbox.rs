//! Reclaim safety end to end against the sandboxed Miro: the kill switch, holds that make an undo stick, the right
//! person, admins by every signal, activity that disappears, one bad member, a refused cursor. The sandbox's SCIM
//! write log and counters are the judge of what was really sent.

mod common;

use chrono::{Duration, Utc};
use common::*;
use miro_sam_core::domain::{Email, MemberId};
use miro_sam_core::hold::HoldSource;
use miro_sam_core::jobs::{self, DownloadOutcome, JobError, MemberRef, StopAt};
use miro_sam_core::plan::{PlanRefusal, ReclaimPlan};
use miro_sam_core::policy::{ExclusionRule, Policy};
use miro_sam_core::ports::{AuditStore, MemberStore, OrgStore};
use miro_sam_core::reclaim::{ReclaimOutcome, SkipReason};
use miro_sandbox::{EmptyActivity, SCIM_ROLE_USER, SandboxMember, ScimRoles};

fn skipped(outcome: ReclaimOutcome) -> SkipReason {
    match outcome {
        ReclaimOutcome::Skipped { reason } => reason,
        other => panic!("expected a skip, got {other}"),
    }
}

fn patches(w: &World) -> u64 {
    w.control.counters().get("scim_patch_user")
}

fn held_rule(plan: &ReclaimPlan, member: &MemberId) -> (HoldSource, chrono::DateTime<Utc>) {
    assert!(
        plan.candidate(member).is_none(),
        "a held member is no candidate"
    );
    let ex = plan.exclusion(member).expect("listed as excluded");
    ex.rules
        .iter()
        .find_map(|r| match r {
            ExclusionRule::Held {
                source, expires_at, ..
            } => Some((*source, *expires_at)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("excluded by a hold: {ex:?}"))
}

// --- Undo that sticks -------------------------------------------------------------------------------------------

/// The defect reproduced with the CLI: a member reactivated with `reactivate` was the only candidate of the very
/// next plan.
#[tokio::test]
async fn a_reactivated_member_is_held_out_of_the_next_plans() {
    let (w, plan) = live_world().await;
    let c = &plan.candidates[0];
    assert_reclaimed(&reclaim(&w, plan.plan_id, &c.member_id).await.outcome);
    let r = reactivate(
        &w,
        &MemberRef::Email(c.email.clone()),
        "jane.admin@acme-corp.example",
        "needs Miro for the rebrand",
    )
    .await
    .expect("reactivate");
    assert_eq!(r.hold.created_by, "jane.admin@acme-corp.example");
    assert_eq!(r.hold.reason, "needs Miro for the rebrand");
    let days = (r.hold.expires_at - r.hold.created_at).num_days();
    assert_eq!(days, 90, "policy default reactivation_hold_days");

    jobs::download_org(&w.deps, &w.org).await.expect("download");
    let next = jobs::plan_org(w.deps.store.as_ref(), &w.org, "test", Utc::now())
        .await
        .unwrap();
    let (source, until) = held_rule(&next, &c.member_id);
    assert_eq!(
        (source, until),
        (HoldSource::Reactivated, r.hold.expires_at)
    );
    assert!(
        next.exclusion(&c.member_id)
            .unwrap()
            .reason
            .contains(&until.date_naive().to_string()),
        "the plan says when the hold ends"
    );
    let holds = w.store.list_holds(&w.org).await.unwrap();
    assert_eq!(holds.len(), 1);
    let audit = w.store.list_audit(&w.org).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.event.kind() == "hold_placed" && e.actor == "jane.admin@acme-corp.example")
    );

    // After the hold ends, the member is reviewed again like anyone else.
    let after = jobs::plan_org(
        w.deps.store.as_ref(),
        &w.org,
        "test",
        until + Duration::seconds(1),
    )
    .await
    .unwrap();
    assert!(
        after
            .exclusion(&c.member_id)
            .is_none_or(|e| !e.has_rule(|r| matches!(r, ExclusionRule::Held { .. }))),
        "an expired hold protects nobody"
    );
}

/// An admin reactivated a reclaimed member in Miro's admin console: the next download notices and holds them.
#[tokio::test]
async fn a_member_reactivated_in_miro_is_held_by_the_next_download() {
    let (w, plan) = live_world().await;
    let c = &plan.candidates[0];
    assert_reclaimed(&reclaim(&w, plan.plan_id, &c.member_id).await.outcome);
    let seen_deactivated = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(
        seen_deactivated.holds_placed, 0,
        "still deactivated: no hold"
    );

    assert!(
        w.control
            .admin_set_active(&w.org_str(), c.member_id.as_str(), true)
    );
    let s = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(s.holds_placed, 1);
    let next = jobs::plan_org(w.deps.store.as_ref(), &w.org, "test", Utc::now())
        .await
        .unwrap();
    let (source, _) = held_rule(&next, &c.member_id);
    assert_eq!(source, HoldSource::ReactivatedInMiro);

    let again = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(
        again.holds_placed, 0,
        "one hold per reactivation, not one per day"
    );
    assert_eq!(w.store.list_holds(&w.org).await.unwrap().len(), 1);
}

// --- Kill switch ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_paused_org_sends_nothing_and_refuses_to_queue() {
    let (w, plan) = live_world().await;
    let before = patches(&w);
    let p = jobs::pause_org(
        w.deps.store.as_ref(),
        &w.org,
        "license audit this week",
        "ops@acme-corp.example",
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(p.reason, "license audit this week");

    // A plan approved before the pause (and a message queued before it) is stopped at the re-check.
    let reason = skipped(
        reclaim(&w, plan.plan_id, &plan.candidates[0].member_id)
            .await
            .outcome,
    );
    assert!(
        matches!(&reason, SkipReason::OrgPaused { reason, paused_by, .. }
            if reason == "license audit this week" && paused_by == "ops@acme-corp.example"),
        "{reason:?}"
    );
    assert!(reason.to_string().contains("resume"), "{reason}");
    assert_eq!(patches(&w), before, "nothing was sent to SCIM");
    assert!(w.control.scim_log().is_empty());

    let queue = w.store.clone();
    let err = jobs::enqueue_plan(&w.store, &queue, plan.plan_id, false, Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, JobError::Refused(PlanRefusal::OrgPaused { .. })),
        "{err}"
    );
    assert!(w.store.queued_requests(100).await.unwrap().is_empty());

    let lifted = jobs::resume_org(w.deps.store.as_ref(), &w.org, "ops", Utc::now())
        .await
        .unwrap();
    assert_eq!(lifted, Some(p));
    let kinds: Vec<_> = w
        .store
        .list_audit(&w.org)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert!(kinds.contains(&"org_paused") && kinds.contains(&"org_resumed"));
    // The skipped reclaim stays skipped; the next candidate goes through now.
    assert_reclaimed(
        &reclaim(&w, plan.plan_id, &plan.candidates[1].member_id)
            .await
            .outcome,
    );
    assert_eq!(patches(&w), before + 1);
}

/// Setting the CURRENT policy to dry run stops a plan made while it was live.
#[tokio::test]
async fn dry_run_set_after_planning_stops_the_plan() {
    let (w, plan) = live_world().await;
    let dry = Policy {
        dry_run: true,
        ..live_policy()
    };
    let v = jobs::set_policy(w.deps.store.as_ref(), &w.org, &dry, "ops", Utc::now())
        .await
        .unwrap();
    let reason = skipped(
        reclaim(&w, plan.plan_id, &plan.candidates[0].member_id)
            .await
            .outcome,
    );
    assert_eq!(
        reason,
        SkipReason::DryRunNow {
            policy_version: v.version
        }
    );
    assert_eq!(patches(&w), 0);
}

// --- The right person, admins by every signal, activity that disappears -----------------------------------------

#[tokio::test]
async fn a_scim_user_with_another_id_is_never_patched() {
    let (w, plan) = live_world().await;
    let c = &plan.candidates[0];
    assert!(
        w.control
            .set_scim_id(&w.org_str(), c.member_id.as_str(), "3458764599999999999")
    );
    let reason = skipped(reclaim(&w, plan.plan_id, &c.member_id).await.outcome);
    assert!(
        matches!(&reason, SkipReason::ScimUserMismatch { scim_user_id, member_id }
            if scim_user_id == "3458764599999999999" && member_id == &c.member_id),
        "{reason:?}"
    );
    assert_eq!(patches(&w), 0);
    assert!(w.ground_truth(&c.member_id).active);
}

/// The candidate's address has a Kelvin sign (U+212A) where another person's has a `k`. Full Unicode case
/// folding made them the same address, and the other person was deactivated.
#[tokio::test]
async fn a_kelvin_sign_lookalike_is_not_confused_with_another_user() {
    let w = world(300).await;
    w.set_live_policy().await;
    let o = w.org_str();
    let victim_id = "3458764588888888881";
    let template = w
        .control
        .members(&o)
        .into_iter()
        .find(|m| m.role == "organization_internal_user" && m.active && m.admin_roles.is_empty())
        .expect("an ordinary member");
    let lookalike = SandboxMember {
        id: "3458764588888888880".into(),
        email: "\u{212A}im.lookalike@acme-corp.example".into(),
        license: "full".into(),
        last_activity_at: Some(Utc::now() - Duration::days(400)),
        license_assigned_at: Some(Utc::now() - Duration::days(800)),
        ..template.clone()
    };
    w.control.add_member(&o, lookalike.clone());
    assert!(w.control.add_scim_only_user(
        &o,
        SandboxMember {
            id: victim_id.into(),
            email: "kim.lookalike@acme-corp.example".into(),
            ..template
        }
    ));
    let plan = w.download_and_plan().await;
    let c = plan
        .candidates
        .iter()
        .find(|c| c.member_id.as_str() == lookalike.id)
        .expect("the look-alike is a candidate");
    assert_eq!(c.email.as_str(), "\u{212A}im.lookalike@acme-corp.example");
    let outcome = reclaim(&w, plan.plan_id, &c.member_id).await.outcome;
    let victim = w
        .control
        .scim_only_users(&o)
        .into_iter()
        .find(|u| u.id == victim_id)
        .unwrap();
    assert!(victim.active, "the other person keeps their seat");
    assert!(
        w.control.scim_log().iter().all(|l| l.user_id != victim_id),
        "nothing was sent for the other person: {:?} ({outcome})",
        w.control.scim_log()
    );
}

#[tokio::test]
async fn scim_admins_are_never_deactivated_whatever_rest_says() {
    let (w, plan) = live_world().await;
    let (a, b) = (&plan.candidates[0], &plan.candidates[1]);
    assert!(w.control.set_scim_roles(
        &w.org_str(),
        a.member_id.as_str(),
        ScimRoles::company_admin()
    ));
    assert!(w.control.set_scim_roles(
        &w.org_str(),
        b.member_id.as_str(),
        ScimRoles {
            primary: SCIM_ROLE_USER.into(),
            admin_roles: vec!["Content Admin".into()],
        }
    ));
    assert!(matches!(
        skipped(reclaim(&w, plan.plan_id, &a.member_id).await.outcome),
        SkipReason::ScimCompanyAdmin { .. }
    ));
    let reason = skipped(reclaim(&w, plan.plan_id, &b.member_id).await.outcome);
    assert!(
        matches!(&reason, SkipReason::ScimAdminRoles { names, .. } if names == &vec!["Content Admin".to_string()]),
        "{reason:?}"
    );
    assert_eq!(patches(&w), 0);
}

#[tokio::test]
async fn activity_that_disappears_before_the_reclaim_is_skipped() {
    let (w, plan) = live_world().await;
    let c = plan
        .candidates
        .iter()
        .find(|c| c.evidence.last_activity_at.is_some())
        .expect("a candidate with activity");
    assert!(w.control.set_last_activity_empty(
        &w.org_str(),
        c.member_id.as_str(),
        EmptyActivity::EmptyString
    ));
    let reason = skipped(reclaim(&w, plan.plan_id, &c.member_id).await.outcome);
    assert!(
        matches!(reason, SkipReason::ActivityDisappeared { .. }),
        "{reason:?}"
    );
    assert_eq!(patches(&w), 0);
}

// --- Downloads: one bad member, a refused cursor -------------------------------------------------------------

#[tokio::test]
async fn one_unreadable_member_keeps_the_rest_and_removes_nobody() {
    let w = world(250).await;
    let first = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(first.rejected, 0);
    let o = w.org_str();
    let members = w.control.members(&o);
    let (bad, gone, changed) = (&members[10], &members[20], &members[30]);
    assert!(
        w.control
            .update_member(&o, &bad.id, |m| m.email = "not-an-address".into())
    );
    assert!(w.control.remove_member(&o, &gone.id));
    assert!(
        w.control
            .update_member(&o, &changed.id, |m| m.license = "basic".into())
    );

    let s = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(s.rejected, 1);
    assert!(
        s.incomplete
            .as_deref()
            .is_some_and(|r| r.contains("could not be read")),
        "{s:?}"
    );
    assert_eq!(s.removed, 0, "an incomplete listing removes nobody");
    assert_eq!(s.changed, 1, "the rest of the page is kept");
    for id in [&bad.id, &gone.id] {
        let m = stored_member(&w, id).await;
        assert!(!m.is_removed(), "{id} is not marked removed");
    }
    let stored = stored_member(&w, &changed.id).await;
    assert_eq!(stored.license, miro_sam_core::License::Basic);

    // Once the member reads again, the next complete run applies the removal.
    assert!(
        w.control
            .update_member(&o, &bad.id, |m| m.email = bad.email.clone())
    );
    let fixed = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!((fixed.rejected, fixed.removed), (0, 1));
    assert!(fixed.incomplete.is_none());
}

/// An entry Miro lists that does not even decode (a required field missing): the rest of its page is kept, it is
/// counted, and the run removes nobody.
#[tokio::test]
async fn an_undecodable_entry_costs_neither_the_page_nor_anyone_their_record() {
    let w = world(250).await;
    jobs::download_org(&w.deps, &w.org).await.unwrap();
    let o = w.org_str();
    let members = w.control.members(&o);
    let (bad, gone, changed) = (&members[5], &members[6], &members[7]);
    assert!(w.control.set_member_entry_undecodable(&o, &bad.id, true));
    assert!(w.control.remove_member(&o, &gone.id));
    assert!(
        w.control
            .update_member(&o, &changed.id, |m| m.license = "basic".into())
    );

    let s = jobs::download_org(&w.deps, &w.org)
        .await
        .expect("the page is not lost");
    assert_eq!((s.rejected, s.removed, s.changed), (1, 0, 1), "{s:?}");
    assert_eq!(s.members_seen, 248, "everyone else on the page was read");
    assert!(s.incomplete.is_some());
    for id in [&bad.id, &gone.id] {
        let m = stored_member(&w, id).await;
        assert!(
            !m.is_removed(),
            "{id} is not marked removed by an incomplete run"
        );
    }
}

/// A paused download's cursor is the id of the last member it received. If that member leaves before the next
/// run, Miro refuses the cursor; the download must start over instead of failing every day.
#[tokio::test]
async fn a_refused_cursor_restarts_the_listing_from_the_first_page() {
    let w = world(250).await;
    let one_page = StopAt {
        deadline: None,
        max_pages: Some(1),
    };
    let paused = jobs::download_org_until(&w.deps, &w.org, one_page)
        .await
        .unwrap();
    assert!(matches!(paused, DownloadOutcome::Paused(_)));
    let cp = w
        .store
        .get_checkpoint(&w.org)
        .await
        .unwrap()
        .expect("checkpoint");
    let cursor = cp.cursor.clone().expect("a cursor after one page");
    assert!(w.control.remove_member(&w.org_str(), &cursor));

    let done = jobs::download_org_until(&w.deps, &w.org, StopAt::default())
        .await
        .expect("the refused cursor does not fail the run");
    let DownloadOutcome::Complete(s) = done else {
        panic!("expected a complete run");
    };
    assert_eq!(
        s.members_seen, 249,
        "every remaining member, listed from the start"
    );
    assert_eq!(s.removed, 1, "the member who left is marked removed");
    assert!(w.store.get_checkpoint(&w.org).await.unwrap().is_none());
    let left = stored_member(&w, &cursor).await;
    assert!(left.is_removed());
}

// --- SCIM per RFC 7644 ------------------------------------------------------------------------------------------

/// The second defect reproduced with the CLI: against a SCIM server answering PATCH with 204, every reclaim was
/// recorded as failed and `reactivate` failed, although the server had made the change.
#[tokio::test]
async fn a_204_patch_is_a_success_for_reclaim_and_reactivate() {
    let (w, plan) = live_world().await;
    w.control.set_faults(miro_sandbox::FaultConfig {
        scim_patch_no_content: true,
        ..Default::default()
    });
    let c = &plan.candidates[0];
    assert_reclaimed(&reclaim(&w, plan.plan_id, &c.member_id).await.outcome);
    assert!(!w.ground_truth(&c.member_id).active);
    let r = reactivate(
        &w,
        &MemberRef::Email(Email::parse(c.email.as_str()).unwrap()),
        "ops",
        "mistake",
    )
    .await
    .expect("reactivate accepts 204");
    assert!(!r.already_active);
    assert!(w.ground_truth(&c.member_id).active);
}

/// A PATCH that Miro acknowledges but does not apply is a failure with a reason, not a reclaim.
#[tokio::test]
async fn a_patch_that_did_not_take_effect_fails_the_record() {
    let (w, plan) = live_world().await;
    w.control.set_faults(miro_sandbox::FaultConfig {
        scim_patch_not_applied: true,
        ..Default::default()
    });
    let c = &plan.candidates[0];
    match reclaim(&w, plan.plan_id, &c.member_id).await.outcome {
        ReclaimOutcome::Failed { error } => {
            assert!(error.contains("still"), "{error}")
        }
        other => panic!("expected a failure, got {other}"),
    }
    assert!(w.ground_truth(&c.member_id).active);
    let rec = record(&w.store, plan.plan_id, &c.member_id).await;
    assert_eq!(rec.state, miro_sam_core::reclaim::ReclaimState::Failed);
}
