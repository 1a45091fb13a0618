//! The daily job: for each connected org (or the one named), download every member, write the day's snapshot,
//! build the plan, and queue its candidates unless the org's policy is a dry run. One failing org does not stop
//! the others; the result lists every org's outcome. Re-running on the same day queues nothing twice: the day's
//! executable plan is reused and queued candidates are not sent again.

pub mod request;

use chrono::{DateTime, Utc};
use miro_sam_core::domain::{OrgId, PlanId};
use miro_sam_core::jobs::{
    DownloadOutcome, JobError, StopAt, download_org_until, enqueue_plan, plan_org,
};
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_lambda::Runtime;
use miro_sam_lambda::metrics::RunMetrics;
use serde::Serialize;
use std::time::Instant;
use tracing::Instrument;

const FUNCTION: &str = "download-subscriptions";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Downloaded and planned (and queued, unless dry run or over the cap).
    Done,
    /// Stopped before the deadline with a checkpoint; the next run resumes the download where it stopped.
    Paused,
    /// Not started: the invocation was about to reach its deadline. The next run does it.
    Deferred,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgOutcome {
    pub org_id: OrgId,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A person must act (reconnect the org, fix the app's scopes, add the SCIM token).
    pub needs_action: bool,
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
}

#[derive(Debug, Clone, Serialize)]
pub struct DownloadResponse {
    pub orgs: Vec<OrgOutcome>,
    pub done: u64,
    pub failed: u64,
    pub paused: u64,
    pub deferred: u64,
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
            outcomes.push(run_org(rt, org, deadline).instrument(span).await);
        }
        let response = summarize(outcomes);
        emit_metrics(
            &response,
            rt.deps.client.stats().rate_limited - before.rate_limited,
            started,
        );
        tracing::info!(
            orgs = response.orgs.len(),
            done = response.done,
            failed = response.failed,
            paused = response.paused,
            deferred = response.deferred,
            duration_ms = started.elapsed().as_millis() as u64,
            "run summary"
        );
        Ok(response)
    }
    .instrument(span)
    .await
}

async fn run_org(rt: &Runtime, org: OrgId, deadline: Option<Instant>) -> OrgOutcome {
    let mut out = OrgOutcome::new(org.clone(), Status::Done);
    if let Err(e) = download_plan_enqueue(rt, &org, deadline, &mut out).await {
        out.status = Status::Failed;
        out.needs_action = e.needs_reconnect();
        out.error = Some(e.to_string());
        if e.needs_reconnect() {
            tracing::error!(error = %e, "org needs a person to act");
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

    let now = rt.deps.clock.now();
    let plan = match todays_executable_plan(rt, org, now).await? {
        Some(p) => {
            tracing::info!(plan_id = %p.plan_id, "reusing today's executable plan");
            p
        }
        None => plan_org(rt.deps.store.as_ref(), org, FUNCTION, now).await?,
    };
    out.plan_id = Some(plan.plan_id);
    out.candidates = plan.candidates.len() as u64;
    out.dry_run = plan.policy.dry_run;
    if plan.candidates.is_empty() {
        return Ok(());
    }
    if let Err(why) = plan.check_executable(false) {
        tracing::info!(reason = %why, "plan not queued");
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
) -> Result<Option<ReclaimPlan>, JobError> {
    let plan = rt.deps.store.latest_plan(org).await?;
    Ok(plan.filter(|p| {
        p.created_at.date_naive() == now.date_naive() && p.check_executable(false).is_ok()
    }))
}

impl OrgOutcome {
    fn new(org_id: OrgId, status: Status) -> Self {
        OrgOutcome {
            org_id,
            status,
            error: None,
            needs_action: false,
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
        }
    }
}

fn summarize(orgs: Vec<OrgOutcome>) -> DownloadResponse {
    let count = |s: Status| orgs.iter().filter(|o| o.status == s).count() as u64;
    DownloadResponse {
        done: count(Status::Done),
        failed: count(Status::Failed),
        paused: count(Status::Paused),
        deferred: count(Status::Deferred),
        orgs,
    }
}

fn emit_metrics(r: &DownloadResponse, rate_limited: u64, started: Instant) {
    let sum = |f: fn(&OrgOutcome) -> u64| r.orgs.iter().map(f).sum::<u64>();
    RunMetrics::new(FUNCTION)
        .count("MembersDownloaded", sum(|o| o.members))
        .count("MembersChanged", sum(|o| o.new + o.changed + o.removed))
        .count("Candidates", sum(|o| o.candidates))
        .count("Enqueued", sum(|o| o.enqueued))
        .count("OrgsFailed", r.failed)
        .count("OrgsPaused", r.paused)
        .count("OrgsDeferred", r.deferred)
        .count("RateLimited", rate_limited)
        .millis("RunDuration", started.elapsed().as_millis())
        .emit();
}
