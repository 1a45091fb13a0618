//! The demo's month: the sandbox lives one day at a time ([`SandboxControl::live_day`]) and miro-sam does what
//! its daily run does each day (download, which writes the day's snapshot and timeline events, then plan). On
//! chosen days the org's admin acts as in the console: approves a whole plan, later part of one, and undoes one
//! reclaim. Approvals and the undo go through the reclaim queue and the worker `miro-sam serve` runs, the same
//! path as a click in the console, so the history is the product's own, not written around it.
//!
//! Notices (issue 12) go out after each day's plan, as the daily run sends them: the first day's candidates are
//! told their seat goes [`NOTICE_DAYS`] days later, a few keep it through their link on [`KEEP_DAY`], the others
//! get a reminder and are due on the reclaim date; the first approval, the day after, reclaims those due (the
//! approval gate holds back anyone whose notice has not run out).

use chrono::{DateTime, NaiveDate, Utc};
use miro_sam_core::domain::{Email, MemberId, OrgId, PlanId};
use miro_sam_core::jobs::{
    ApprovalReport, DownloadSummary, Selection, approve_plan, plan_org, request_reactivation,
};
use miro_sam_core::notices::NoticeDaySummary;
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::ports::Clock;
use miro_sam_core::reclaim::{ReclaimOutcome, ReclaimState};
use miro_sandbox::{DayChurn, LivedDay, SandboxControl};

use super::super::notices::send as send_notices;
use super::super::sync;
use super::notices::{self, Cohort, CohortStanding, DemoNotices, Keep};
use crate::context::Ctx;
use crate::exit;
use crate::failure::{CmdResult, Failure};
use crate::local_worker;

/// Days lived after the day of connecting: with that first day, 36 daily snapshots, so the console's 30-day
/// views are full.
pub const HISTORY_DAYS: u64 = 35;
/// The notice period of the demo's policy: the first day's candidates may be reclaimed from day 7.
pub const NOTICE_DAYS: u32 = 7;
/// The reminder, this many days before the reclaim date (day 5).
pub const REMINDER_DAYS_BEFORE: u32 = 2;
/// Some of the first day's candidates keep their seat through the link in their notice.
const KEEP_DAY: u64 = 2;
/// The admin approves that day's whole plan, the day after the first notices ran out: the seats come free in
/// the middle of the chart.
const FIRST_APPROVAL_DAY: u64 = NOTICE_DAYS as u64 + 1;
/// Two weeks later more people have crossed the inactivity line; the admin approves part of that plan.
const SECOND_APPROVAL_DAY: u64 = 22;
/// Someone whose seat went in the first approval asks for it back.
const UNDO_DAY: u64 = 26;
/// Worker rounds in a row that finish nothing before the demo gives up (Miro keeps refusing).
const STUCK_ROUNDS: u32 = 20;

/// Who clicks in the console: the org's Company Admin (the sandbox's installing admin).
const ADMIN: &str = "jane.admin.1@acme-corp.example (miro-sam demo)";
const WORKER: &str = "miro-sam demo (worker)";

/// "Now" for the store and the jobs is the sandbox's now, so a simulated day is a day for both.
pub struct SandboxClock(pub SandboxControl);

impl Clock for SandboxClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

/// One simulated day and what miro-sam's daily run saw.
pub struct DemoDay {
    pub lived: LivedDay,
    pub date: NaiveDate,
    pub download: DownloadSummary,
    pub plan_id: PlanId,
    pub candidates: usize,
    /// What the day's notice run did.
    pub notices: NoticeDaySummary,
}

/// An approval and what the worker did with it.
pub struct Wave {
    pub day: u64,
    pub plan: ReclaimPlan,
    /// The candidates the admin approved: all of the plan, or a part.
    pub approved: Vec<MemberId>,
    pub approval: ApprovalReport,
    /// Approved, but not queued by the approval gate: their notice has not run out (or was never delivered).
    pub waiting: usize,
    pub reclaimed: Vec<MemberId>,
    pub skipped: usize,
    pub failed: usize,
}

pub struct Undo {
    pub day: u64,
    pub member_id: MemberId,
    pub email: Email,
    pub held_until: Option<DateTime<Utc>>,
}

pub struct History {
    pub days: Vec<DemoDay>,
    pub waves: Vec<Wave>,
    pub undo: Option<Undo>,
    /// The last day's plan.
    pub plan: ReclaimPlan,
    /// The first day's candidates who kept their seat through their link.
    pub keeps: Vec<Keep>,
    /// Where the first day's notices stood on the first approval day, before the approval.
    pub at_first_approval: Option<CohortStanding>,
    /// Of the first day's notices, the members the first approval reclaimed.
    pub cohort_reclaimed: usize,
}

/// Lives [`HISTORY_DAYS`] days. `dry_run`: the policy reclaims nothing, so the admin approves nothing (and
/// nobody is told). `cohort`: the first day's notices.
pub async fn live(
    ctx: &Ctx,
    control: &SandboxControl,
    org: &OrgId,
    dry_run: bool,
    demo: &DemoNotices,
    cohort: &Cohort,
) -> CmdResult<History> {
    let churn = DayChurn::default();
    let mut days = Vec::new();
    let mut waves = Vec::new();
    let mut undo = None;
    let mut plan = None;
    let mut keeps = Vec::new();
    let mut at_first_approval = None;
    let mut cohort_reclaimed = 0;
    for day in 1..=HISTORY_DAYS {
        let lived = control
            .live_day(org.as_str(), &churn)
            .ok_or_else(|| Failure::new(exit::FAILURE, format!("the sandbox has no org {org}")))?;
        let download = sync::download(ctx, org).await?;
        let today = plan_org(
            ctx.deps.store.as_ref(),
            org,
            "miro-sam demo (daily run)",
            ctx.deps.clock.now(),
        )
        .await?;
        let told = send_notices(ctx, org, today.plan_id, &demo.channels).await?;
        days.push(DemoDay {
            date: lived.now.date_naive(),
            lived,
            download,
            plan_id: today.plan_id,
            candidates: today.candidates.len(),
            notices: told.summary,
        });
        let date = days[days.len() - 1].date;
        if !dry_run {
            match day {
                KEEP_DAY if !cohort.members.is_empty() => {
                    keeps = notices::keep_through_links(ctx, org, demo, cohort).await?;
                    println!(
                        "   day {day} ({date}): {} of the members told on the first day kept their seat through the \
                         link in their notice (held out of plans until {}).",
                        keeps.len(),
                        keeps
                            .first()
                            .map(|k| k.hold_until.date_naive().to_string())
                            .unwrap_or_default()
                    );
                }
                d if d == u64::from(NOTICE_DAYS - REMINDER_DAYS_BEFORE) => {
                    println!(
                        "   day {day} ({date}): {} reminders went out, {REMINDER_DAYS_BEFORE} days before the \
                         reclaim date{}.",
                        days[days.len() - 1].notices.reminded,
                        cohort
                            .reclaim_on
                            .map(|d| format!(" of the first notices ({d})"))
                            .unwrap_or_default()
                    );
                }
                FIRST_APPROVAL_DAY => {
                    at_first_approval = Some(notices::standing(ctx, org, cohort).await?);
                    let w = approve(ctx, org, day, &today, Selection::All).await?;
                    print_wave(&w, date, "the admin approved the whole plan");
                    cohort_reclaimed = w
                        .reclaimed
                        .iter()
                        .filter(|m| cohort.members.contains(m))
                        .count();
                    waves.push(w);
                }
                SECOND_APPROVAL_DAY if !today.candidates.is_empty() => {
                    // The first half of the new candidates: "which subset" is the person's decision.
                    let part: Vec<MemberId> = today
                        .candidates
                        .iter()
                        .take(today.candidates.len().div_ceil(2))
                        .map(|c| c.member_id.clone())
                        .collect();
                    let w = approve(ctx, org, day, &today, Selection::Members(part)).await?;
                    print_wave(&w, date, "the admin approved part of the plan");
                    waves.push(w);
                }
                UNDO_DAY => {
                    undo = undo_one(ctx, control, org, day, waves.first()).await?;
                    if let Some(u) = &undo {
                        println!(
                            "   day {day} ({date}): {} asked for the seat back; the admin undid the reclaim{}.",
                            u.email,
                            u.held_until
                                .map(|t| format!(" (held until {})", t.date_naive()))
                                .unwrap_or_default()
                        );
                    }
                }
                _ => {}
            }
        }
        plan = Some(today);
    }
    let plan = plan.ok_or_else(|| Failure::new(exit::FAILURE, "the demo lived no day"))?;
    Ok(History {
        days,
        waves,
        undo,
        plan,
        keeps,
        at_first_approval,
        cohort_reclaimed,
    })
}

fn print_wave(w: &Wave, date: NaiveDate, what: &str) {
    println!(
        "   day {} ({date}): {what} ({} of {} candidates; {} wait for their notice to run out); {} seats reclaimed, \
         {} skipped at the re-check, {} failed.",
        w.day,
        w.approved.len(),
        w.plan.candidates.len(),
        w.waiting,
        w.reclaimed.len(),
        w.skipped,
        w.failed
    );
}

/// Approves `selection` of the day's plan as the console does, then lets the worker carry out the queue.
async fn approve(
    ctx: &Ctx,
    org: &OrgId,
    day: u64,
    plan: &ReclaimPlan,
    selection: Selection,
) -> CmdResult<Wave> {
    let approved = match &selection {
        Selection::All => plan
            .candidates
            .iter()
            .map(|c| c.member_id.clone())
            .collect(),
        Selection::Members(m) => m.clone(),
    };
    let approval = approve_plan(
        ctx.deps.store.as_ref(),
        ctx.store.as_ref(),
        plan.plan_id,
        &selection,
        ADMIN,
        ctx.deps.clock.now(),
    )
    .await?;
    drain(ctx).await?;
    let waiting = approval.waiting_for_notice.len();
    let mut wave = Wave {
        day,
        plan: plan.clone(),
        approved,
        waiting,
        approval,
        reclaimed: Vec::new(),
        skipped: 0,
        failed: 0,
    };
    for r in ctx.deps.store.list_reclaim_records(org).await? {
        if r.plan_id != plan.plan_id {
            continue;
        }
        match (r.state, r.outcome) {
            (ReclaimState::Done, Some(ReclaimOutcome::Reclaimed { .. })) => {
                wave.reclaimed.push(r.member_id)
            }
            (ReclaimState::Skipped, _) => wave.skipped += 1,
            (ReclaimState::Failed, _) => wave.failed += 1,
            _ => {}
        }
    }
    Ok(wave)
}

/// The first member (by id) the first approval reclaimed asks for the seat back: the admin's undo is queued
/// and carried out by the worker (hold first, then SCIM), and the person signs in again that morning.
async fn undo_one(
    ctx: &Ctx,
    control: &SandboxControl,
    org: &OrgId,
    day: u64,
    first: Option<&Wave>,
) -> CmdResult<Option<Undo>> {
    let Some(member) = first.and_then(|w| w.reclaimed.iter().min()).cloned() else {
        return Ok(None);
    };
    let request = request_reactivation(
        ctx.deps.store.as_ref(),
        ctx.store.as_ref(),
        org,
        &member,
        ADMIN,
        "needs the board archive for an audit; asked for the seat back",
        ctx.deps.clock.now(),
    )
    .await?;
    drain(ctx).await?;
    let hold = ctx.deps.store.get_hold(org, &member).await?;
    let now = control.now();
    control.update_member(org.as_str(), member.as_str(), |m| {
        m.last_activity_at = Some(now)
    });
    Ok(Some(Undo {
        day,
        member_id: member,
        email: request.email,
        held_until: hold.map(|h| h.expires_at),
    }))
}

/// Runs the local worker until the queue is empty, as `miro-sam serve` would in the background.
async fn drain(ctx: &Ctx) -> CmdResult<()> {
    let mut stuck = 0;
    loop {
        let round = local_worker::run_round(ctx, WORKER).await?;
        if round.done == 0 && round.retry_later == 0 {
            return Ok(());
        }
        stuck = if round.done == 0 { stuck + 1 } else { 0 };
        if stuck >= STUCK_ROUNDS {
            return Err(Failure::new(
                exit::RETRY_LATER,
                format!(
                    "the sandbox kept refusing {} queued reclaims or undos for {STUCK_ROUNDS} rounds; run the demo again",
                    round.retry_later
                ),
            ));
        }
    }
}
