//! The daily job: for each connected org (or the one named), download every member, write the day's snapshot,
//! build the plan, send the day's notices and the admins' digest when the deployment sends notices ([`notices`]),
//! and queue its candidates unless the org's policy is a dry run. One failing org does not stop
//! the others; the result lists every org's outcome. Re-running on the same day queues nothing twice: the day's
//! executable plan is reused and queued candidates are not sent again. SES's late bounces of the notices come
//! here too ([`bounce`]).
//!
//! A run where any org failed or needs a person says so three ways: the result names those orgs (`failed_orgs`,
//! `action_needed`), the logs carry an error line per org, and the run's EMF metrics count them
//! ([`metrics::ORGS_FAILED`], [`metrics::ORGS_NEEDING_ACTION`]), on which the template's alarms fire.

pub mod action;
pub mod bounce;
mod dispatch;
mod lease;
pub mod notices;
pub mod request;
mod scim_token;
pub mod worker;

pub use action::{Action, ActionNeeded, FailedOrg};
pub use dispatch::dispatch;
pub use notices::NoticeOutcome;
pub use worker::{Handling, JobResult, WorkerResponse, handle_jobs};

use chrono::{DateTime, Utc};
use miro_sam_core::domain::{OrgId, PlanId};
use miro_sam_core::jobs::{
    DownloadOutcome, JobError, StopAt, check_not_paused, download_org_until, enqueue_plan,
    plan_org_streamed,
};
use miro_sam_core::plan::PlanHeader;
use miro_sam_core::policy::Approval;
use miro_sam_lambda::Runtime;
use miro_sam_lambda::metrics::{self, RunMetrics};
use serde::Serialize;
use std::time::Instant;
use tracing::Instrument;

/// The binary's name; the metrics' `Function` dimension when Lambda does not name the function.
pub const FUNCTION: &str = "download-subscriptions";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Downloaded and planned (and queued, unless dry run or over the cap).
    Done,
    /// Stopped before the deadline with a checkpoint; the next run resumes the download where it stopped.
    Paused,
    /// Not started: the invocation was about to reach its deadline. The next run does it.
    Deferred,
    /// Not started: another worker is downloading the org right now (it holds the org's download lease).
    Busy,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgOutcome {
    pub org_id: OrgId,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A person must act (reconnect the org, fix the app's scopes, add the SCIM token): see `action`.
    pub needs_action: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    pub members: u64,
    pub new: u64,
    pub changed: u64,
    pub removed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<PlanId>,
    pub candidates: u64,
    pub enqueued: u64,
    pub already_queued: u64,
    pub dry_run: bool,
    /// Why nothing was queued although there are candidates (dry run, cap exceeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_queued_because: Option<String>,
    /// What the notice run did after the plan, when the deployment sends notices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notices: Option<NoticeOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DownloadResponse {
    /// Download jobs this invocation put on the download queue (the dispatcher: one per org).
    pub queued: u64,
    pub orgs: Vec<OrgOutcome>,
    pub done: u64,
    pub failed: u64,
    pub paused: u64,
    pub deferred: u64,
    /// Orgs a person must act on (some of them failed, others ran but cannot reclaim).
    pub needs_action: u64,
    /// The orgs that failed, with why.
    pub failed_orgs: Vec<FailedOrg>,
    /// The orgs a person must act on, with what to do.
    pub action_needed: Vec<ActionNeeded>,
}

/// Handles one invocation. `deadline`: when to stop starting new orgs (the Lambda deadline minus a margin).
/// Errs only when the input itself is unusable or the org list cannot be read.
pub async fn handle(
    rt: &Runtime,
    request_id: &str,
    payload: serde_json::Value,
    deadline: Option<Instant>,
) -> Result<DownloadResponse, String> {
    let span = tracing::info_span!("invoke", request_id = %request_id, function = FUNCTION);
    async move {
        let started = Instant::now();
        let before = rt.deps.client.stats();
        let req = request::parse(&payload).map_err(|e| {
            tracing::error!(error = %e, "unusable input");
            format!("unusable input: {e}")
        })?;
        let orgs = match req.org_id {
            Some(o) => vec![o],
            // The fan-out: one job per org on the download queue, for the workers.
            None if rt.download_queue.is_some() => {
                let queued = dispatch(rt).await?;
                let response = DownloadResponse {
                    queued,
                    ..summarize(Vec::new())
                };
                run_metrics(
                    rt.settings.metrics_function(FUNCTION),
                    &response,
                    0,
                    started.elapsed().as_millis(),
                )
                .emit();
                tracing::info!(queued, "dispatched one download job per connected org");
                return Ok(response);
            }
            None => rt
                .deps
                .store
                .list_orgs()
                .await
                .map_err(|e| format!("cannot list the connected orgs: {e}"))?
                .into_iter()
                .map(|o| o.id)
                .collect(),
        };
        let mut outcomes = Vec::with_capacity(orgs.len());
        for org in orgs {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                tracing::warn!(org_id = %org, "deferred: the invocation is close to its deadline");
                outcomes.push(OrgOutcome::new(org, Status::Deferred));
                continue;
            }
            let span = tracing::info_span!("org", org_id = %org);
            let holder = format!("{request_id}/{org}");
            outcomes.push(
                lease::run_leased(rt, org, &holder, deadline)
                    .instrument(span)
                    .await,
            );
        }
        let response = summarize(outcomes);
        run_metrics(
            rt.settings.metrics_function(FUNCTION),
            &response,
            rt.deps.client.stats().rate_limited - before.rate_limited,
            started.elapsed().as_millis(),
        )
        .emit();
        tracing::info!(
            orgs = response.orgs.len(),
            done = response.done,
            failed = response.failed,
            paused = response.paused,
            deferred = response.deferred,
            needs_action = response.needs_action,
            duration_ms = started.elapsed().as_millis() as u64,
            "run summary"
        );
        Ok(response)
    }
    .instrument(span)
    .await
}

/// Downloads, plans and queues one org. Every Miro call ends by `deadline` (the client is given it), so the
/// download stops there with a checkpoint whether it is between pages or inside one page's retries.
pub(crate) async fn run_org(rt: &Runtime, org: OrgId, deadline: Option<Instant>) -> OrgOutcome {
    let mut out = OrgOutcome::new(org.clone(), Status::Done);
    let bounded = deadline.map(|d| {
        let mut b = rt.clone();
        b.deps.client = rt.deps.client.with_deadline(d);
        b
    });
    let rt = bounded.as_ref().unwrap_or(rt);
    let result = download_plan_enqueue(rt, &org, deadline, &mut out).await;
    if let Err(JobError::Miro(e)) = &result
        && e.is_deadline()
    {
        // Not a failure: the download kept its checkpoint and the next invocation resumes it.
        tracing::warn!(error = %e, "stopped at the deadline inside a Miro call; the next run resumes");
        out.status = Status::Paused;
        return out;
    }
    if let Err(e) = result {
        out.status = Status::Failed;
        out.action = Action::for_error(&e);
        out.needs_action = out.action.is_some();
        out.error = Some(e.to_string());
        if let Some(action) = out.action {
            tracing::error!(error = %e, action = ?action, "org needs a person to act");
        } else {
            tracing::warn!(error = %e, retryable = e.is_retryable(), "org failed; the next run tries again");
        }
    }
    out
}

async fn download_plan_enqueue(
    rt: &Runtime,
    org: &OrgId,
    deadline: Option<Instant>,
    out: &mut OrgOutcome,
) -> Result<(), JobError> {
    let stop = StopAt {
        deadline,
        max_pages: None,
    };
    let summary = match download_org_until(&rt.deps, org, stop).await? {
        DownloadOutcome::Complete(s) => s,
        DownloadOutcome::Paused(p) => {
            tracing::warn!(
                pages_done = p.pages_done,
                "paused before the deadline; the next run resumes"
            );
            out.status = Status::Paused;
            out.members = p.members_seen;
            return Ok(());
        }
    };
    out.members = summary.members_seen;
    out.new = summary.new;
    out.changed = summary.changed;
    out.removed = summary.removed;
    plan_and_enqueue(rt, org, deadline, out).await
}

/// Plans the org (or reuses today's executable plan), runs its notices, and queues its candidates, as the policy
/// allows. The notices run before the queuing so that a member whose reclaim date came today is marked due and
/// queued the same day. A notice run stopped by `deadline` leaves the org `Paused`: the worker's continuation
/// runs this again (the same plan, the notices where they stopped), and queues then.
pub(crate) async fn plan_and_enqueue(
    rt: &Runtime,
    org: &OrgId,
    deadline: Option<Instant>,
    out: &mut OrgOutcome,
) -> Result<(), JobError> {
    let now = rt.deps.clock.now();
    let plan = match todays_executable_plan(rt, org, now).await? {
        Some(p) => {
            tracing::info!(plan_id = %p.plan_id, "reusing today's executable plan");
            p
        }
        // Planned a page of members at a time; the candidates are stored as items and `enqueue_plan` pages
        // through them, so the run never holds the org or the plan.
        None => plan_org_streamed(rt.deps.store.as_ref(), org, FUNCTION, now).await?,
    };
    out.plan_id = Some(plan.plan_id);
    out.candidates = u64::from(plan.totals.candidates);
    out.dry_run = plan.policy.dry_run;
    if let Some(n) = &rt.notices {
        let notices = notices::run(n, org, plan.plan_id, deadline).await;
        if notices.channel_misconfigured {
            out.needs_action = true;
            out.action = Some(Action::FixNoticeMail);
        }
        let stopped = notices.stopped_at_deadline;
        out.notices = Some(notices);
        if stopped {
            out.status = Status::Paused;
            return Ok(());
        }
    }
    // A policy that reclaims needs the SCIM token; without it every queued reclaim would fail. A dry run does not.
    if !plan.policy.dry_run && !scim_token::is_stored(rt, org).await? {
        tracing::error!("the org's policy reclaims, but no SCIM token is stored; nothing queued");
        out.needs_action = true;
        out.action = Some(Action::StoreScimToken);
        if plan.totals.candidates > 0 {
            out.not_queued_because = Some(
                "no SCIM token is stored for the org, so every reclaim would fail; store it and the next run \
                 queues them"
                    .into(),
            );
        }
        return Ok(());
    }
    if plan.totals.candidates == 0 {
        return Ok(());
    }
    if let Err(why) = plan.check_executable(false) {
        tracing::info!(reason = %why, "plan not queued");
        out.not_queued_because = Some(why.to_string());
        return Ok(());
    }
    // With approval required (the default) the run only plans: a person approves in the console or with the
    // CLI, and that approval queues. Waiting for a person is not a failure, so it raises no alarm.
    if plan.policy.approval == Approval::Required {
        tracing::info!(plan_id = %plan.plan_id, "plan not queued: it waits for an admin's approval");
        out.not_queued_because = Some(format!(
            "the org's policy requires approval: plan {} waits for an admin to approve it in the console              (or `miro-sam approve`)",
            plan.plan_id
        ));
        return Ok(());
    }
    // A paused org is downloaded and planned (the admin still sees it) but nothing is queued: a decision, not a
    // failure, so it raises no alarm.
    if let Err(JobError::Refused(why)) = check_not_paused(rt.deps.store.as_ref(), org).await {
        tracing::info!(reason = %why, "plan not queued: the org is paused");
        out.not_queued_because = Some(why.to_string());
        return Ok(());
    }
    let queue = rt
        .adapters
        .require_queue()
        .map_err(|e| JobError::InvalidRequest(e.to_string()))?;
    let report = enqueue_plan(rt.deps.store.as_ref(), queue, plan.plan_id, false, now).await?;
    out.enqueued = report.enqueued as u64;
    out.already_queued = report.already_queued as u64;
    Ok(())
}

/// The org's latest plan if it was made today and may execute: queuing it again is then a no-op, whereas a
/// fresh plan would queue the same people under a new id.
async fn todays_executable_plan(
    rt: &Runtime,
    org: &OrgId,
    now: DateTime<Utc>,
) -> Result<Option<PlanHeader>, JobError> {
    let plan = rt.deps.store.latest_plan_header(org).await?;
    Ok(plan.filter(|p| {
        p.created_at.date_naive() == now.date_naive() && p.check_executable(false).is_ok()
    }))
}

impl OrgOutcome {
    pub(crate) fn new(org_id: OrgId, status: Status) -> Self {
        OrgOutcome {
            org_id,
            status,
            error: None,
            needs_action: false,
            action: None,
            members: 0,
            new: 0,
            changed: 0,
            removed: 0,
            plan_id: None,
            candidates: 0,
            enqueued: 0,
            already_queued: 0,
            dry_run: true,
            not_queued_because: None,
            notices: None,
        }
    }
}

/// The response for these org outcomes (counts, failed orgs, actions).
pub fn summarize(orgs: Vec<OrgOutcome>) -> DownloadResponse {
    let count = |s: Status| orgs.iter().filter(|o| o.status == s).count() as u64;
    let failed_orgs = orgs
        .iter()
        .filter(|o| o.status == Status::Failed)
        .map(|o| FailedOrg {
            org_id: o.org_id.clone(),
            error: o.error.clone().unwrap_or_default(),
            retryable: o.action.is_none(),
        })
        .collect();
    let action_needed: Vec<ActionNeeded> = orgs
        .iter()
        .filter_map(|o| {
            o.action.map(|action| ActionNeeded {
                org_id: o.org_id.clone(),
                action,
                what_to_do: action.what_to_do(&o.org_id),
            })
        })
        .collect();
    DownloadResponse {
        queued: 0,
        done: count(Status::Done),
        failed: count(Status::Failed),
        paused: count(Status::Paused),
        deferred: count(Status::Deferred) + count(Status::Busy),
        needs_action: action_needed.len() as u64,
        failed_orgs,
        action_needed,
        orgs,
    }
}

/// The run's metrics. Every count is sent on every run, zeros included: the alarms on
/// [`metrics::ORGS_FAILED`] and [`metrics::ORGS_NEEDING_ACTION`] keep their state while no data arrives and
/// return to OK only when a run reports 0.
/// `function`: the `Function` dimension's value ([`miro_sam_lambda::Settings::metrics_function`]).
pub fn run_metrics(
    function: &str,
    r: &DownloadResponse,
    rate_limited: u64,
    duration_ms: u128,
) -> RunMetrics {
    let sum = |f: fn(&OrgOutcome) -> u64| r.orgs.iter().map(f).sum::<u64>();
    let notices = |f: fn(&NoticeOutcome) -> u32| {
        r.orgs
            .iter()
            .filter_map(|o| o.notices.as_ref())
            .map(|n| u64::from(f(n)))
            .sum::<u64>()
    };
    let mut m = RunMetrics::new(function.to_owned());
    m.count("MembersDownloaded", sum(|o| o.members))
        .count("MembersChanged", sum(|o| o.new + o.changed + o.removed))
        .count("Candidates", sum(|o| o.candidates))
        .count("Enqueued", sum(|o| o.enqueued))
        .count(metrics::ORGS_FAILED, r.failed)
        .count(metrics::ORGS_NEEDING_ACTION, r.needs_action)
        .count("OrgsPaused", r.paused)
        .count("OrgsDeferred", r.deferred)
        .count("DownloadJobsQueued", r.queued)
        .count("RateLimited", rate_limited)
        .count(
            "NoticesSent",
            notices(|n| n.counts.notified + n.counts.reminded),
        )
        .count("NoticesNotDelivered", notices(|n| n.counts.not_delivered))
        .count("NoticesSendFailed", notices(|n| n.counts.send_failed))
        .millis("RunDuration", duration_ms);
    m
}
