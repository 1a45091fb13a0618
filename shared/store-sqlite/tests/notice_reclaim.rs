//! The reclaim waits for the notice (issue 12), over simulated days on the sandbox's clock with a real SQLite
//! store: each morning downloads from the sandboxed Miro, plans and runs the notices as the daily run does; the
//! admin approves and the worker reclaims as `miro-sam serve` does. Judged by the sandbox's SCIM write log, the
//! notice records and the emails handed to the mailer (an outbox: the SMTP and SES adapters have their own tests).
//!
//! Day 0 tells every candidate and an approval queues nobody; a forced reclaim skips. Day 3 a member works again
//! and drops out. Day 5 reminds. Day 7 the others are due, an approval queues exactly them, the worker reclaims
//! them and their cycles end as reclaimed; the member who worked is never touched, and nobody is told twice.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::*;
use miro_sam_core::domain::{MemberId, PlanId};
use miro_sam_core::jobs::{self, Deps, ReclaimOptions, Selection};
use miro_sam_core::notices::{
    DigestChannels, NoKeepLinks, NoticeDaySummary, NoticeDeps, NoticeRecord, NoticeSettings,
    NoticeState, OrgNoticeReport, notices_after_plan,
};
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{Clock, FixedClock, NoticeStore, TokenStore};
use miro_sam_core::reclaim::{NoticeWait, ReclaimOutcome, SkipReason};
use miro_sam_sqlite::QueuedRequest;
use miro_sam_testkit::notice_world::{Outbox, notice_deps};
use miro_sam_testkit::world::access_token;
use miro_sandbox::ScimOp;

fn notice_policy() -> Policy {
    Policy {
        notice_days: 7,
        reminder_days_before: vec![2],
        ..live_policy()
    }
}

/// The sandbox world with the jobs and the notices on one clock, set to the sandbox's each simulated morning.
struct Days {
    w: World,
    clock: Arc<FixedClock>,
    deps: Deps,
    notices: NoticeDeps,
    outbox: Arc<Outbox>,
    settings: NoticeSettings,
    day0: NaiveDate,
}

impl Days {
    async fn start() -> Days {
        let w = world(150).await;
        let clock = Arc::new(FixedClock::new(w.control.now()));
        let outbox = Arc::new(Outbox::default());
        let deps = Deps {
            clock: clock.clone(),
            ..w.deps.clone()
        };
        let notices = notice_deps(Arc::new(w.store.clone()), outbox.clone(), clock.clone());
        let settings = NoticeSettings {
            contact: "it@acme-corp.example".into(),
            keep_links: Arc::new(NoKeepLinks),
            digest: DigestChannels::default(),
        };
        jobs::set_policy(&w.store, &w.org, &notice_policy(), "test", clock.now())
            .await
            .unwrap();
        let day0 = clock.now().date_naive();
        Days {
            w,
            clock,
            deps,
            notices,
            outbox,
            settings,
            day0,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the sandbox (and with it our clock) on by `days`. The sandbox's tokens expire on its clock, so the
    /// org gets a fresh access token, as a refresh would give it.
    async fn advance(&self, days: u64) {
        self.w
            .control
            .advance_clock(std::time::Duration::from_secs(days * 86_400));
        self.clock.set(self.w.control.now());
        let mut fresh = access_token(&self.w.control, &self.w.org);
        fresh.expires_at = Some(self.now() + Duration::minutes(55));
        self.w.store.put_tokens(&fresh).await.unwrap();
    }

    /// The addresses written to since the last call.
    fn told(&self) -> BTreeSet<String> {
        self.outbox
            .take()
            .iter()
            .map(|m| m.to.to_string().to_lowercase())
            .collect()
    }

    fn date(&self, day: i64) -> NaiveDate {
        self.day0 + Duration::days(day)
    }

    /// The daily run: download, plan, notices. The plan's candidates, and what the notices did.
    async fn morning(&self) -> (PlanId, BTreeSet<MemberId>, OrgNoticeReport) {
        jobs::download_org(&self.deps, &self.w.org).await.unwrap();
        let plan = jobs::plan_org(&self.w.store, &self.w.org, "daily run", self.now())
            .await
            .unwrap();
        let report = self.notices_again(plan.plan_id).await;
        let candidates = plan
            .candidates
            .iter()
            .map(|c| c.member_id.clone())
            .collect();
        (plan.plan_id, candidates, report)
    }

    /// The notices of the day run again on its plan (a redelivered message, a retry after a crash).
    async fn notices_again(&self, plan_id: PlanId) -> OrgNoticeReport {
        notices_after_plan(&self.notices, &self.w.org, plan_id, &self.settings)
            .await
            .unwrap()
    }

    async fn approve_all(&self, plan_id: PlanId) -> jobs::ApprovalReport {
        jobs::approve_plan(
            &self.w.store,
            &self.w.store,
            plan_id,
            &Selection::All,
            "admin@acme-corp.example",
            self.now(),
        )
        .await
        .unwrap()
    }

    /// What `miro-sam serve`'s worker does: every queued reclaim, then marked done. The members it reclaimed.
    /// Every request the worker has still to take.
    async fn queued(&self) -> Vec<QueuedRequest> {
        self.w.store.queued_requests(usize::MAX).await.unwrap()
    }

    async fn run_worker(&self) -> BTreeSet<MemberId> {
        let mut reclaimed = BTreeSet::new();
        for q in self.queued().await {
            let r = q.reclaim().expect("only reclaims are queued here");
            let opts = ReclaimOptions {
                approved_by: r.approved_by.clone(),
                ..ReclaimOptions::default()
            };
            let done = jobs::reclaim_member(&self.deps, r.plan_id, &r.member_id, &opts)
                .await
                .unwrap();
            assert!(
                matches!(done.outcome, ReclaimOutcome::Reclaimed { .. }),
                "{done:?}"
            );
            reclaimed.insert(done.member_id);
            self.w.store.complete_request(&q.dedup_key).await.unwrap();
        }
        reclaimed
    }

    async fn record(&self, m: &MemberId) -> NoticeRecord {
        self.w
            .store
            .get_notice(&self.w.org, m)
            .await
            .unwrap()
            .expect("the member has a notice record")
    }

    fn emails(&self, members: &BTreeSet<MemberId>) -> BTreeSet<String> {
        members
            .iter()
            .map(|m| self.w.ground_truth(m).email.to_lowercase())
            .collect()
    }

    fn deactivated(&self) -> BTreeSet<MemberId> {
        self.w
            .control
            .scim_log()
            .into_iter()
            .filter(|l| l.op == ScimOp::Deactivate)
            .map(|l| MemberId::parse(&l.user_id).unwrap())
            .collect()
    }
}

fn waiting_members(r: &jobs::ApprovalReport) -> BTreeSet<MemberId> {
    r.waiting_for_notice
        .iter()
        .map(|w| w.member_id.clone())
        .collect()
}

fn minus(a: &BTreeSet<MemberId>, b: &BTreeSet<MemberId>) -> BTreeSet<MemberId> {
    a.difference(b).cloned().collect()
}

#[tokio::test]
async fn the_reclaim_waits_for_the_notice_over_simulated_days() {
    let d = Days::start().await;

    // Day 0: every candidate is told, with the reclaim date a week ahead.
    let (plan0, told0, day0) = d.morning().await;
    assert!(told0.len() >= 3, "the sandbox org has candidates");
    assert_eq!(day0.summary.notified as usize, told0.len(), "{day0:?}");
    assert_eq!(day0.summary.silenced, None);
    assert_eq!(d.told(), d.emails(&told0));
    let first = told0.first().unwrap().clone();
    assert_eq!(d.record(&first).await.reclaim_on, d.date(7));

    // An approval on day 0 queues nobody: each candidate waits for the reclaim date, and says so.
    let early = d.approve_all(plan0).await;
    assert_eq!((early.queued, early.already_queued), (0, 0));
    assert_eq!(waiting_members(&early), told0);
    assert!(
        early.waiting_for_notice.iter().all(|w| w.wait
            == NoticeWait::NotYetDue {
                reclaim_on: d.date(7)
            }),
        "{:?}",
        early.waiting_for_notice
    );
    let why = early.waiting_for_notice[0].wait.short();
    assert_eq!(why, format!("reclaim date {} not reached", d.date(7)));
    assert!(d.queued().await.is_empty(), "nobody is queued yet");
    // A selection waits the same way.
    let picked = d.approve_all_of(plan0, vec![first.clone()]).await;
    assert_eq!(
        (picked.queued, waiting_members(&picked)),
        (0, [first.clone()].into())
    );

    // A reclaim sent anyway (a message queued by hand, an older build) skips, and says why; nothing reaches SCIM.
    let forced = jobs::reclaim_member(&d.deps, plan0, &first, &ReclaimOptions::default())
        .await
        .unwrap();
    match &forced.outcome {
        ReclaimOutcome::Skipped {
            reason: SkipReason::NoticePending { wait },
        } => assert_eq!(
            *wait,
            NoticeWait::NotYetDue {
                reclaim_on: d.date(7)
            }
        ),
        other => panic!("expected a skip for the notice, got {other:?}"),
    }
    assert!(
        forced.outcome.to_string().contains("not reached"),
        "{}",
        forced.outcome
    );
    assert!(d.deactivated().is_empty());
    assert_eq!(d.record(&first).await.state, NoticeState::Notified);

    // Day 3: one of them works again; the morning's run ends their cycle.
    d.advance(3).await;
    let worker = told0.last().unwrap().clone();
    let now = d.now();
    assert!(
        d.w.control
            .update_member(&d.w.org_str(), worker.as_str(), |m| {
                m.last_activity_at = Some(now - Duration::hours(1));
            })
    );
    // And someone idle for long joins the org (moved in from another team): a candidate from today.
    let late = d.join_idle_member();
    let (_, cand3, day3) = d.morning().await;
    assert!(!cand3.contains(&worker));
    assert_eq!(day3.summary.dropped_out, 1, "{day3:?}");
    assert!(matches!(
        d.record(&worker).await.state,
        NoticeState::DroppedOut { .. }
    ));
    // Only members who became candidates since are told (none of day 0's again).
    let new3 = minus(&cand3, &told0);
    assert!(new3.contains(&late), "{new3:?}");
    assert_eq!(day3.summary.notified as usize, new3.len());
    assert_eq!(d.told(), d.emails(&new3));
    assert_eq!(d.record(&late).await.reclaim_on, d.date(10));

    // Day 5: two days before the date, day 0's remaining candidates get their one reminder.
    d.advance(2).await;
    let due = minus(&told0, &[worker.clone()].into());
    let (_, cand5, day5) = d.morning().await;
    assert_eq!(day5.summary.reminded as usize, due.len(), "{day5:?}");
    let new5 = minus(&minus(&cand5, &told0), &new3);
    assert_eq!(day5.summary.notified as usize, new5.len());
    let mut told5 = d.emails(&due);
    told5.extend(d.emails(&new5));
    assert_eq!(d.told(), told5);

    // Day 7: the date has come; they are due (nothing is sent for that). A re-run of the day does nothing.
    d.advance(2).await;
    let (plan7, cand7, day7) = d.morning().await;
    assert_eq!(day7.summary.due as usize, due.len(), "{day7:?}");
    assert!(cand7.is_superset(&due));
    let new7 = minus(&minus(&minus(&cand7, &told0), &new3), &new5);
    assert_eq!(day7.summary.notified as usize, new7.len());
    assert_eq!(d.told(), d.emails(&new7));
    for m in &due {
        assert_eq!(d.record(m).await.state, NoticeState::Due, "{m}");
    }
    let rerun = d.notices_again(plan7).await;
    assert_eq!(rerun.summary, NoticeDaySummary::default());
    assert!(d.told().is_empty(), "nobody is told twice");

    // The approval queues exactly the due members; the ones told later wait for their own dates.
    let approval = d.approve_all(plan7).await;
    assert_eq!(approval.queued as usize, due.len());
    assert_eq!(waiting_members(&approval), minus(&cand7, &due));
    assert!(waiting_members(&approval).contains(&late));
    assert!(approval.waiting_for_notice.iter().all(|w| matches!(
        w.wait,
        NoticeWait::NotYetDue { reclaim_on } if reclaim_on > d.date(7)
    )));

    // The worker reclaims them; each cycle ends as reclaimed under the plan.
    let reclaimed = d.run_worker().await;
    assert_eq!(reclaimed, due);
    assert_eq!(
        d.deactivated(),
        due,
        "the SCIM log shows exactly the due members"
    );
    for m in &due {
        assert!(!d.w.ground_truth(m).active, "{m}");
        assert_eq!(
            d.record(m).await.state,
            NoticeState::Reclaimed { plan_id: plan7 },
            "{m}"
        );
    }
    // The day's notices once more, after its reclaims, on the same plan (a retry, or `miro-sam plan` again before
    // the next download): the plan still lists the reclaimed members, but it was made before their cycles ended,
    // so nobody starts a new cycle.
    let after_reclaims = d.notices_again(plan7).await;
    assert_eq!(after_reclaims.summary.notified, 0, "{after_reclaims:?}");
    assert!(
        d.told().is_empty(),
        "no new notice to a member just reclaimed"
    );
    assert!(!d.deactivated().contains(&worker));
    assert!(!d.deactivated().contains(&late));
    assert_eq!(d.record(&late).await.state, NoticeState::Notified);
    assert!(d.w.ground_truth(&worker).active);
    assert!(matches!(
        d.record(&worker).await.state,
        NoticeState::DroppedOut { .. }
    ));

    // A redelivered message changes nothing, and a crash between the reclaim and the end of the cycle is
    // finished by it: the replay ends the cycle.
    let again = due.first().unwrap();
    let r = d.record(again).await;
    let reopened = NoticeRecord {
        state: NoticeState::Due,
        version: r.version + 1,
        ..r.clone()
    };
    d.w.store
        .put_notice(&reopened, Some(r.version))
        .await
        .unwrap();
    let replay = jobs::reclaim_member(&d.deps, plan7, again, &ReclaimOptions::default())
        .await
        .unwrap();
    assert!(replay.replayed);
    assert!(matches!(replay.outcome, ReclaimOutcome::Reclaimed { .. }));
    assert_eq!(
        d.record(again).await.state,
        NoticeState::Reclaimed { plan_id: plan7 }
    );
    assert_eq!(d.w.control.scim_log().len(), due.len(), "no second PATCH");
}

#[tokio::test]
async fn the_automatic_run_queues_each_candidate_on_its_reclaim_date() {
    let d = Days::start().await;
    let enqueue = |plan| jobs::enqueue_plan(&d.w.store, &d.w.store, plan, false, d.now());

    let (plan0, told0, _) = d.morning().await;
    d.told();
    let early = enqueue(plan0).await.unwrap();
    assert_eq!((early.enqueued, early.already_queued), (0, 0));
    let waiting: BTreeSet<MemberId> = early
        .waiting_for_notice
        .iter()
        .map(|w| w.member_id.clone())
        .collect();
    assert_eq!(waiting, told0);
    assert!(d.queued().await.is_empty(), "nobody is queued yet");

    d.advance(7).await;
    let (plan7, _, day7) = d.morning().await;
    assert_eq!(day7.summary.due as usize, told0.len(), "{day7:?}");
    let on_the_day = enqueue(plan7).await.unwrap();
    assert_eq!(on_the_day.enqueued, told0.len());
    assert_eq!(d.run_worker().await, told0);
    assert_eq!(d.deactivated(), told0);
}

#[tokio::test]
async fn with_notices_off_the_approval_and_the_worker_do_not_wait() {
    let d = Days::start().await;
    jobs::set_policy(
        &d.w.store,
        &d.w.org,
        &Policy {
            notice_days: 0,
            ..live_policy()
        },
        "test",
        d.now(),
    )
    .await
    .unwrap();
    let (plan, candidates, report) = d.morning().await;
    assert_eq!(
        report.summary.silenced.as_deref(),
        Some("notices are off (notice_days is 0)")
    );
    assert!(d.told().is_empty());
    let approval = d.approve_all(plan).await;
    assert!(approval.waiting_for_notice.is_empty());
    assert_eq!(approval.queued as usize, candidates.len());
    assert_eq!(d.run_worker().await, candidates);
    assert_eq!(d.deactivated(), candidates);
}

impl Days {
    /// Adds a member idle for 200 days (a license held for 400) to the sandbox org.
    fn join_idle_member(&self) -> MemberId {
        let members = self.w.control.members(&self.w.org_str());
        let template = members
            .iter()
            .find(|m| m.active && m.license == "full" && m.role == "organization_internal_user")
            .expect("a full internal user to copy")
            .clone();
        let id = members
            .iter()
            .map(|m| m.id.parse::<u64>().unwrap())
            .max()
            .unwrap()
            + 1;
        let now = self.now();
        self.w.control.add_member(
            &self.w.org_str(),
            miro_sandbox::SandboxMember {
                id: id.to_string(),
                email: format!("late.joiner.{id}@acme-corp.example"),
                last_activity_at: Some(now - Duration::days(200)),
                license_assigned_at: Some(now - Duration::days(400)),
                admin_roles: vec![],
                display_name: "Late Joiner".into(),
                ..template
            },
        );
        MemberId::parse(&id.to_string()).unwrap()
    }

    async fn approve_all_of(
        &self,
        plan_id: PlanId,
        members: Vec<MemberId>,
    ) -> jobs::ApprovalReport {
        jobs::approve_plan(
            &self.w.store,
            &self.w.store,
            plan_id,
            &Selection::Members(members),
            "admin@acme-corp.example",
            self.now(),
        )
        .await
        .unwrap()
    }
}
