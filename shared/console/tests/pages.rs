//! Every page with seeded data (a real download and plan from the sandbox), and the actions behind them, over
//! real HTTP with a signed-in browser.

mod common;
mod support;

use std::collections::BTreeSet;

use chrono::Duration;
use common::*;
use miro_sam_core::audit::{AuditEntry, AuditEvent};
use miro_sam_core::domain::{AuditEntryId, MemberId, OrgId};
use miro_sam_core::plan::candidate_order;
use miro_sam_core::ports::{AuditStore, MemberStore, OrgStore, PlanStore};
use miro_sam_core::reclaim::ReclaimState;
use miro_sam_core::timeline::{ActivityBucket, MemberChange, MemberEvent};
use miro_sam_core::{License, Role};
use miro_sandbox::SignInAs;

#[tokio::test]
async fn every_page_renders_with_seeded_data() {
    let (c, plan, b) = seeded(Options::default()).await;
    // A second day of snapshots, so the chart over time has a line.
    let mut yesterday = c.w.store.latest_snapshot(&c.w.org).await.unwrap().unwrap();
    yesterday.date -= Duration::days(1);
    yesterday.assigned_paid += 3;
    c.w.store.put_snapshot(&yesterday).await.unwrap();
    let member = &plan.candidates[0];

    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("Could not read"),
        "every part of the overview was read: {page}"
    );
    for want in [
        "Purchased",
        "Used in 30 days",
        "Never used",
        "Deactivated",
        "Seats over time",
        "<svg",
    ] {
        assert!(page.contains(want), "overview shows {want:?}");
    }
    assert_eq!(
        page.matches("<svg").count(),
        2,
        "seats over time and activity buckets"
    );
    assert!(page.contains(&format!(
        "names <strong>{}</strong> candidates",
        plan.candidates.len()
    )));
    let potential = 1_000 * plan.candidates.len() as u64 / 100;
    assert!(
        page.contains(&format!("{potential}.00 USD a month")),
        "potential savings = candidates × price"
    );
    assert!(page.contains("Last complete download ended"));

    let (status, page) = c.get(&b, "/plans").await;
    assert_eq!(status, 200);
    assert!(page.contains(&plan.plan_id.to_string()));
    assert!(page.contains(member.email.as_str()) && page.contains(&member.reason));
    assert!(page.contains("not approved"), "each candidate's status");
    assert!(page.contains("This is the org's first plan."));

    let prefix = &member.email.as_str()[..3];
    let (status, page) = c.get(&b, &format!("/members?q={prefix}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(member.email.as_str()));
    let found = member_links(&page);
    assert!(!found.is_empty());
    let all = c.w.store.list_members(&c.w.org).await.unwrap();
    let expected = all
        .iter()
        .filter(|m| m.email.as_str().starts_with(prefix))
        .count();
    assert_eq!(
        found.len(),
        expected.min(50),
        "the search lists exactly the members with that prefix"
    );

    // Timeline events as the jobs record them (a year apart, so the order shows).
    let t0 = c.now() - Duration::days(300);
    let ev = |at, change| MemberEvent {
        org_id: c.w.org.clone(),
        member_id: member.member_id.clone(),
        at,
        change,
    };
    c.w.store
        .append_member_events(&[
            ev(
                t0,
                MemberChange::Joined {
                    license: License::Full,
                    role: Role::InternalUser,
                },
            ),
            ev(
                t0 + Duration::days(200),
                MemberChange::ActivityCrossed {
                    from: ActivityBucket::Within(30),
                    to: ActivityBucket::Beyond,
                },
            ),
            ev(
                t0 + Duration::days(299),
                MemberChange::Planned {
                    plan_id: plan.plan_id,
                    reason: member.reason.clone(),
                },
            ),
        ])
        .await
        .unwrap();
    let (status, page) = c.get(&b, &format!("/members/{}", member.member_id)).await;
    assert_eq!(status, 200);
    assert!(page.contains(member.license.as_str()) && page.contains("Timeline"));
    let timeline = between(&page, "<h2>Timeline</h2>", "audit log");
    let (joined, crossed, planned) = (
        timeline.find("joined with a full license").expect("joined"),
        timeline
            .find("active within 30 days → inactive over 120 days")
            .expect("activity crossed"),
        timeline
            .find(&format!("candidate of plan {}", plan.plan_id))
            .expect("planned"),
    );
    assert!(
        planned < crossed && crossed < joined,
        "newest first: {timeline}"
    );

    for (path, want) in [
        ("/reclaimed", "No seat reclaimed yet."),
        ("/exemptions", "Add an exemption"),
        ("/policy", "&#34;inactivity_days&#34;: 90"),
        ("/audit", "plan_created"),
    ] {
        let (status, page) = c.get(&b, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(want), "{path} shows {want:?}: {page}");
        assert!(page.contains("Sign out"), "{path} is a signed-in page");
    }
    for path in [
        "/".to_owned(),
        "/plans".to_owned(),
        format!("/members/{}", member.member_id),
        "/members?q=a".to_owned(),
        "/reclaimed".to_owned(),
        "/exemptions".to_owned(),
        "/policy".to_owned(),
        "/audit".to_owned(),
        "/audit.csv".to_owned(),
        "/members.csv".to_owned(),
    ] {
        let r = b.get(format!("{}{path}", c.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()["content-security-policy"],
            miro_sam_console::CSP,
            "{path}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer", "{path}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("<script") && !body.contains(" style="),
            "{path}: no scripts, no inline styles"
        );
    }
}

#[tokio::test]
async fn approving_a_selection_queues_exactly_those_candidates() {
    let (c, plan, b) = seeded(Options::default()).await;
    let (page, open) = c.open_candidates(&b).await;
    assert_eq!(
        open.len(),
        plan.candidates.len().min(50),
        "every candidate on the page can be ticked"
    );
    let chosen: Vec<&str> = vec![&open[0], &open[2], &open[3]];
    let mut form = vec![("action", "approve")];
    form.extend(chosen.iter().map(|m| ("member", *m)));
    let (status, result) = c.select(&b, plan.plan_id, &csrf_of(&page), &form).await;
    assert_eq!(status, 200, "{result}");
    assert!(
        result.contains("Approved 3 of the ticked candidates"),
        "{result}"
    );

    let queued: BTreeSet<String> =
        c.w.store
            .queued_requests(10_000)
            .await
            .unwrap()
            .iter()
            .filter_map(|q| q.reclaim().map(|r| r.member_id.to_string()))
            .collect();
    let want: BTreeSet<String> = chosen.iter().map(|m| m.to_string()).collect();
    assert_eq!(queued, want, "exactly the ticked candidates are queued");

    let (_, page) = c.get(&b, "/plans").await;
    assert_eq!(page.matches("approved, queued").count(), 3);
    assert_eq!(
        checkboxes(&page).len(),
        open.len() - 3,
        "queued candidates cannot be ticked again"
    );
    let audit = c.w.store.list_audit(&c.w.org).await.unwrap();
    let approved: Vec<_> = audit
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                AuditEvent::PlanApproved {
                    queued: 3,
                    selection: true,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(approved.len(), 1, "{audit:?}");
    assert!(
        approved[0].actor.contains("(console, Miro user "),
        "audited with the admin's identity"
    );
}

#[tokio::test]
async fn rejecting_a_selection_needs_a_reason_and_skips_those_candidates() {
    let (c, plan, b) = seeded(Options::default()).await;
    let (page, open) = c.open_candidates(&b).await;
    let csrf = csrf_of(&page);
    let (status, _) = c
        .select(
            &b,
            plan.plan_id,
            &csrf,
            &[("action", "reject"), ("member", &open[1])],
        )
        .await;
    assert_eq!(status, 400, "a rejection without a reason is refused");
    assert!(
        c.w.store
            .get_reclaim_record(plan.plan_id, &MemberId::parse(&open[1]).unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let (status, result) = c
        .select(
            &b,
            plan.plan_id,
            &csrf,
            &[
                ("action", "reject"),
                ("why", "still onboarding"),
                ("member", &open[1]),
                ("member", &open[4]),
            ],
        )
        .await;
    assert_eq!(status, 200, "{result}");
    assert!(result.contains("Rejected 2 candidates"));
    for m in [&open[1], &open[4]] {
        let r =
            c.w.store
                .get_reclaim_record(plan.plan_id, &MemberId::parse(m).unwrap())
                .await
                .unwrap()
                .unwrap();
        assert_eq!(r.state, ReclaimState::Skipped);
    }
    assert!(
        c.w.store.queued_requests(100).await.unwrap().is_empty(),
        "a rejection queues nothing"
    );
    let rejected =
        c.w.store
            .list_audit(&c.w.org)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.event, AuditEvent::CandidateRejected { .. }))
            .count();
    assert_eq!(rejected, 2);
}

#[tokio::test]
async fn the_plan_list_pages_through_every_candidate_once_in_order() {
    let (c, plan, b) = seeded(Options::members(400)).await;
    assert!(
        plan.candidates.len() > 50,
        "enough for two pages: {}",
        plan.candidates.len()
    );
    let mut seen = Vec::new();
    let mut path = "/plans".to_owned();
    for _ in 0..20 {
        let (status, page) = c.get(&b, &path).await;
        assert_eq!(status, 200);
        let rows = member_links(between(&page, "<h2>Candidates</h2>", "<h2>What changed"));
        assert!(rows.len() <= 50, "one page at a time");
        seen.extend(rows);
        match link_labelled(&page, "Next page") {
            Some(next) => path = next,
            None => break,
        }
    }
    let mut expected = plan.candidates.clone();
    expected.sort_by(candidate_order);
    let expected: Vec<String> = expected.iter().map(|c| c.member_id.to_string()).collect();
    assert_eq!(
        seen, expected,
        "every candidate exactly once, most inactive first"
    );

    // Search narrows the list (and says how many match); sorting by email orders it.
    let needle = &plan.candidates[0].email.as_str()[..4];
    let (_, page) = c.get(&b, &format!("/plans?q={needle}&sort=email")).await;
    let want: Vec<_> = {
        let mut m: Vec<_> = plan
            .candidates
            .iter()
            .filter(|x| x.email.as_str().contains(needle))
            .collect();
        m.sort_by(|a, b| a.email.cmp(&b.email).then(a.member_id.cmp(&b.member_id)));
        m.iter().take(50).map(|x| x.member_id.to_string()).collect()
    };
    assert_eq!(
        member_links(between(&page, "<h2>Candidates</h2>", "<h2>What changed")),
        want
    );
    let matching = plan
        .candidates
        .iter()
        .filter(|x| x.email.as_str().contains(needle))
        .count();
    assert!(
        page.contains(&format!("{matching} candidates match.")),
        "{page}"
    );
}

#[tokio::test]
async fn undo_from_the_member_page_enqueues_a_reactivate_message() {
    let (c, plan, b) = seeded(Options::default()).await;
    let (page, open) = c.open_candidates(&b).await;
    let target = open[0].clone();
    c.approve_member(&b, plan.plan_id, &page, &target).await;
    c.run_reclaim_worker().await;
    assert!(
        !c.w.ground_truth(&MemberId::parse(&target).unwrap()).active,
        "reclaimed in Miro"
    );

    let (_, reclaimed) = c.get(&b, "/reclaimed").await;
    let mut listed = member_links(&reclaimed);
    listed.dedup();
    assert_eq!(
        listed,
        vec![target.clone()],
        "the reclaimed list names them"
    );
    // The console's clock (fixed for the session tests) catches up with the worker's.
    c.clock.set(chrono::Utc::now());
    let (_, page) = c.get(&b, &format!("/members/{target}")).await;
    assert!(page.contains("Seat reclaimed"), "{page}");
    assert!(page.contains("Undo: reactivate this member"));
    let (status, _) = c.request_undo(&b, &page, &target, None).await;
    assert_eq!(status, 400, "an undo needs a reason");
    let (status, result) = c
        .request_undo(&b, &page, &target, Some("needs it for the audit"))
        .await;
    assert_eq!(status, 200, "{result}");
    let undo = c.queued_undos().await;
    assert_eq!(undo.len(), 1);
    assert_eq!(undo[0].member_id.as_str(), target);
    assert_eq!(undo[0].why, "needs it for the audit");
    assert!(
        undo[0].requested_by.contains("(console, Miro user "),
        "{}",
        undo[0].requested_by
    );
    let (_, page) = c.get(&b, &format!("/members/{target}")).await;
    assert!(
        page.contains("Undo requested"),
        "the member page says the undo is on its way"
    );

    // Realised savings: one seat freed (price 10.00 a month) until the worker carries out the undo.
    let (_, overview) = c.get(&b, "/").await;
    let reclaimed_so_far = between(&overview, "<h2>Reclaimed so far</h2>", "<h2>Daily download");
    assert!(
        reclaimed_so_far.contains("<th>Net seats freed</th><td>1</td>")
            && reclaimed_so_far.contains("10.00 USD a month"),
        "{reclaimed_so_far}"
    );
    c.carry_out_undo(&undo[0]).await;
    assert!(
        c.w.ground_truth(&MemberId::parse(&target).unwrap()).active,
        "active again in Miro"
    );
    let (_, overview) = c.get(&b, "/").await;
    let reclaimed_so_far = between(&overview, "<h2>Reclaimed so far</h2>", "<h2>Daily download");
    assert!(
        reclaimed_so_far.contains("<th>Reactivated since</th><td>1</td>")
            && reclaimed_so_far.contains("<th>Net seats freed</th><td>0</td>")
            && reclaimed_so_far.contains("0.00 USD a month"),
        "net of the reactivation: {reclaimed_so_far}"
    );
    let (_, page) = c.get(&b, &format!("/members/{target}")).await;
    assert!(
        page.contains("since reactivated") && !page.contains("Undo: reactivate"),
        "{page}"
    );
}

#[tokio::test]
async fn an_invalid_policy_shows_the_error_and_stores_nothing() {
    let c = console(Options::default()).await;
    let b = c.signed_in_browser().await;
    let (_, csrf) = c.form_page(&b, "/policy").await;
    let before = c.w.store.latest_policy(&c.w.org).await.unwrap().unwrap();
    let version = before.version.to_string();

    let bad = r#"{"inactivity_days": 0, "dry_run": false}"#;
    let (status, page) = c.post_policy(&b, "preview", &csrf, &version, bad).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("Not saved") && page.contains("between 1 and 3650"),
        "{page}"
    );
    assert!(
        page.contains("inactivity_days&#34;: 0"),
        "the text as sent stays in the editor: {page}"
    );
    let (status, _) = c.post_policy(&b, "save", &csrf, &version, bad).await;
    assert_eq!(status, 422, "saving it directly is refused too");
    assert_eq!(c.policy_version().await, before.version, "nothing stored");

    let good = r#"{"inactivity_days": 120, "dry_run": true}"#;
    let (status, page) = c.post_policy(&b, "preview", &csrf, &version, good).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<span class=\"del\">-   &#34;inactivity_days&#34;: 90,</span>"),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"add\">+   &#34;inactivity_days&#34;: 120,</span>"),
        "{page}"
    );
    assert_eq!(
        c.policy_version().await,
        before.version,
        "a preview stores nothing"
    );

    let (status, _) = c.post_policy(&b, "save", &csrf, "0", good).await;
    assert_eq!(status, 409, "an edit of an older version is refused");
    let (status, page) = c.post_policy(&b, "save", &csrf, &version, good).await;
    assert_eq!(status, 200, "{page}");
    let after = c.w.store.latest_policy(&c.w.org).await.unwrap().unwrap();
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.policy.inactivity_days.get(), 120);
    assert!(after.created_by.contains("(console, Miro user "));
}

#[tokio::test]
async fn exemptions_are_added_and_removed_as_policy_versions() {
    let c = console(Options::default()).await;
    let b = c.signed_in_browser().await;
    let (_, csrf) = c.form_page(&b, "/exemptions").await;
    let v1 = c.policy_version().await;
    let bad = [
        ("kind", "email"),
        ("value", "not an email"),
        ("reason", "x"),
    ];
    let (status, page) = c.add_exemption(&b, &csrf, v1, &bad).await;
    assert_eq!(status, 400, "{page}");
    let domain = [
        ("kind", "domain"),
        ("value", "contractors.example.com"),
        ("reason", "board"),
        ("expires", "2099-01-31"),
    ];
    let (status, page) = c.add_exemption(&b, &csrf, v1, &domain).await;
    assert_eq!(status, 200, "{page}");
    let p = c.w.store.latest_policy(&c.w.org).await.unwrap().unwrap();
    assert_eq!(p.version, v1 + 1);
    assert_eq!(p.policy.exemptions.len(), 1);
    assert_eq!(p.policy.exemptions[0].reason, "board");
    let (_, page) = c.get(&b, "/exemptions").await;
    assert!(page.contains("contractors.example.com"));
    let (status, _) = c
        .post(
            &b,
            "/exemptions/remove",
            &[
                ("csrf", &csrf),
                ("version", &p.version.to_string()),
                ("index", "0"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let p = c.w.store.latest_policy(&c.w.org).await.unwrap().unwrap();
    assert_eq!(p.version, v1 + 2);
    assert!(p.policy.exemptions.is_empty());
}

#[tokio::test]
async fn pausing_stops_approvals_until_resumed() {
    let (c, plan, b) = seeded(Options::default()).await;
    let (_, csrf) = c.form_page(&b, "/policy").await;
    let (status, _) = c
        .post(&b, "/pause", &[("csrf", &csrf), ("reason", "audit week")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        c.w.store.get_pause(&c.w.org).await.unwrap().unwrap().reason,
        "audit week"
    );
    let (_, overview) = c.get(&b, "/").await;
    assert!(overview.contains("Reclaims are paused"));
    let (status, page) = c.approve_plan(&b, plan.plan_id, &csrf).await;
    assert_eq!(status, 409, "{page}");
    assert!(c.w.store.queued_requests(10).await.unwrap().is_empty());
    let (status, _) = c.post(&b, "/resume", &[("csrf", &csrf)]).await;
    assert_eq!(status, 200);
    assert!(c.w.store.get_pause(&c.w.org).await.unwrap().is_none());
    let (status, page) = c.approve_plan(&b, plan.plan_id, &csrf).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        c.w.store.queued_requests(10_000).await.unwrap().len(),
        plan.candidates.len()
    );
}

#[tokio::test]
async fn a_plan_of_another_org_or_no_plan_cannot_be_approved() {
    let (c, _, b) = seeded(Options::default()).await;
    let (_, page) = c.get(&b, "/").await;
    let (status, _) = c
        .post(
            &b,
            &format!("/plans/{}/approve", miro_sam_core::domain::PlanId::new()),
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(status, 404);
    assert!(c.w.store.queued_requests(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_audit_exports_have_every_row() {
    let (c, _, b) = seeded(Options::default()).await;
    let entries = c.w.store.list_audit(&c.w.org).await.unwrap();
    assert!(
        entries.len() >= 3,
        "connect, policy, plan, sign-in: {entries:?}"
    );

    let r = b.get(format!("{}/audit.csv", c.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let body = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>()[..4],
        ["at", "id", "actor", "kind"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), entries.len());
    let ids: BTreeSet<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(
        ids,
        entries
            .iter()
            .map(|e| e.id.as_str())
            .collect::<BTreeSet<_>>()
    );

    let r = b
        .get(format!("{}/audit.json?kind=signed_in", c.url))
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        json.as_array().unwrap().len(),
        1,
        "the filter applies to the export"
    );
    assert_eq!(json[0]["event"]["event"], "signed_in");

    let (status, page) = c.get(&b, "/audit?kind=signed_in").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<td>signed_in</td>").count(), 1);
    let (status, _) = c.get(&b, "/audit?kind=nonsense").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_members_csv_has_every_member_with_oomnitzas_fields() {
    let (c, _, b) = seeded(Options::default()).await;
    let r = b
        .get(format!("{}/members.csv", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "Id",
            "Username",
            "First name",
            "Family name",
            "User type",
            "Active",
            "Role",
            "Last activity",
            "License assigned",
            "Sync time"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let members = c.w.store.list_members(&c.w.org).await.unwrap();
    assert_eq!(rows.len(), members.len());
    let first = &members[0];
    let row = rows
        .iter()
        .find(|r| &r[0] == first.member_id.as_str())
        .unwrap();
    assert_eq!(&row[1], first.email.as_str());
    assert_eq!(&row[4], first.license.as_str());
    assert_eq!(&row[5], if first.active { "true" } else { "false" });
}

/// Two connected orgs: a session sees and changes its own org only.
#[tokio::test]
async fn a_session_sees_and_changes_only_its_own_org() {
    let c = console(Options::extra_orgs(1)).await;
    let mine = c.seed().await;
    // Connect and plan the second org as its own admin.
    let other_id = c.w.control.org_ids()[1].clone();
    c.w.control
        .set_sign_in(SignInAs::AdminOf {
            org_id: other_id.clone(),
        })
        .unwrap();
    connect(&c.w).await;
    let theirs = c.seed_org(&OrgId::parse(&other_id).unwrap()).await;
    let their_member = theirs.candidates[0].member_id.to_string();

    c.w.control.set_sign_in(SignInAs::OrgAdmin).unwrap();
    let b = c.signed_in_browser().await;
    let (_, page) = c.get(&b, "/plans").await;
    assert!(page.contains(&mine.plan_id.to_string()));
    assert!(
        !page.contains(&theirs.plan_id.to_string()),
        "the other org's plan is not shown"
    );
    assert!(!page.contains("Other Org 0"));
    assert_eq!(c.get(&b, &format!("/members/{their_member}")).await.0, 404);
    let (status, _) = c
        .post(
            &b,
            &format!("/plans/{}/approve", theirs.plan_id),
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(status, 404, "another org's plan cannot be approved");
    let (status, _) = c.request_undo(&b, &page, &their_member, Some("x")).await;
    assert_eq!(status, 404, "another org's member cannot be reactivated");
    assert!(c.w.store.queued_requests(10).await.unwrap().is_empty());
    let r = b.get(format!("{}/audit.csv", c.url)).send().await.unwrap();
    let body = r.text().await.unwrap();
    assert!(
        !body.contains(&other_id),
        "no entry of the other org in the export"
    );

    // Its own admin sees it.
    c.w.control
        .set_sign_in(SignInAs::AdminOf {
            org_id: other_id.clone(),
        })
        .unwrap();
    let b2 = c.signed_in_browser().await;
    let (_, page) = c.get(&b2, "/plans").await;
    assert!(page.contains(&theirs.plan_id.to_string()) && page.contains("Other Org 0"));
}

#[tokio::test]
async fn the_audit_log_pages_through_every_entry_once_newest_first() {
    let c = console(Options::default()).await;
    let t0 = chrono::Utc::now() - Duration::days(3);
    for i in 0..120 {
        c.w.store
            .append_audit(&AuditEntry {
                id: AuditEntryId::parse(&format!("test/{i:03}")).unwrap(),
                org_id: c.w.org.clone(),
                // Pairs share an instant: the id orders them.
                at: t0 + Duration::minutes(i / 2),
                actor: "test".into(),
                event: AuditEvent::OrgPaused {
                    reason: format!("r{i}"),
                },
            })
            .await
            .unwrap();
    }
    let b = c.signed_in_browser().await;
    let ids_on = |page: &str| -> Vec<String> {
        page.match_indices("<code class=\"muted entry-id\">")
            .map(|(i, m)| {
                let rest = &page[i + m.len()..];
                rest[..rest.find('<').unwrap()].to_owned()
            })
            .collect()
    };
    let mut seen = Vec::new();
    let mut path = "/audit?kind=org_paused".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = c.get(&b, &path).await;
        assert_eq!(status, 200);
        pages += 1;
        let ids = ids_on(&page);
        assert!(ids.len() <= 50);
        seen.extend(ids);
        match link_labelled(&page, "Next page (older)") {
            Some(next) => path = next,
            None => break,
        }
        assert!(pages < 10, "paging ends");
    }
    let want: Vec<String> = (0..120).rev().map(|i| format!("test/{i:03}")).collect();
    assert_eq!(seen, want, "every entry once, newest first");
    assert_eq!(pages, 3);

    // A date window: the first day only.
    let day = t0.date_naive();
    let (_, page) = c
        .get(&b, &format!("/audit?kind=org_paused&from={day}&to={day}"))
        .await;
    let expected = (0..120)
        .filter(|i| (t0 + Duration::minutes(i / 2)).date_naive() == day)
        .count();
    assert_eq!(ids_on(&page).len(), expected.min(50));
}

#[tokio::test]
async fn member_search_pages_through_every_match_in_email_order() {
    let (c, _, b) = seeded(Options::members(130)).await;
    let mut all = c.w.store.list_members(&c.w.org).await.unwrap();
    all.sort_by(|a, b| a.email.cmp(&b.email).then(a.member_id.cmp(&b.member_id)));
    let mut seen = Vec::new();
    let mut path = "/members".to_owned();
    for _ in 0..10 {
        let (status, page) = c.get(&b, &path).await;
        assert_eq!(status, 200);
        let table = between(&page, "<table>", "</table>");
        seen.extend(member_links(table));
        match link_labelled(&page, "Next page") {
            Some(next) => path = next,
            None => break,
        }
    }
    let want: Vec<String> = all.iter().map(|m| m.member_id.to_string()).collect();
    assert_eq!(seen, want, "every member once, by email");
    // Upper case in the search box finds the folded addresses.
    let prefix = all[0].email.as_str()[..2].to_ascii_uppercase();
    let (_, page) = c.get(&b, &format!("/members?q={prefix}")).await;
    assert!(page.contains(all[0].email.as_str()));
}
