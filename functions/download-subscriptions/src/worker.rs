//! The download worker: SQS events of [`DownloadJob`]s (batch size 1 in the template, any size handled), one org
//! each, under the org's download lease.
//!
//! - Another worker holds the org's lease: the job is put back with a delay until that lease ends (a new message,
//!   so the original's receive count does not grow toward the dead-letter queue) and this message is done.
//! - The worker reaches its deadline with the org unfinished (the download checkpointed, between pages or inside
//!   a page's retries): it releases the lease and queues the job's continuation, which resumes the checkpoint in
//!   the next invocation, so the org finishes the same day.
//! - The org completed a download after the job was queued (a duplicate job, a re-run of the schedule): the
//!   download is skipped and only the plan is checked, which is idempotent.
//! - A transient failure, a job not started before the deadline, or a continuation that could not be queued is
//!   returned as a batch item failure, so SQS delivers it again (and after the redrive count, to the dead-letter
//!   queue, which alarms). A failure only a person can fix is not retried: the run's metrics alarm on it.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::{DownloadJob, DownloadLease, DownloadQueue};
use miro_sam_lambda::Runtime;
use serde::Serialize;
use tracing::Instrument;

use crate::{
    FUNCTION, OrgOutcome, Status, lease, plan_and_enqueue, run_metrics, run_org, summarize,
};

/// Continuations of one job before it is handed to the dead-letter queue: a day of 15-minute invocations. An org
/// that needs more makes no progress (every invocation stops at the deadline without a page).
pub const MAX_CONTINUATIONS: u32 = 96;
/// Times a job is put back behind another worker's lease before it goes to the dead-letter queue.
pub const MAX_DEFERRALS: u32 = 96;

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    /// The org was downloaded, planned and queued (or failed in a way only a person can fix).
    Finished,
    /// The org completed a download after this job was queued: only the plan was checked.
    AlreadyDownloaded,
    /// Stopped at the deadline; the continuation is queued.
    Continued,
    /// Another worker holds the org's lease; the job is queued again for when that lease ends.
    Deferred,
    /// Reported as a batch item failure: SQS delivers it again.
    Returned,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobResult {
    pub message_id: String,
    pub org_id: Option<OrgId>,
    pub handling: Handling,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OrgOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// The answer to Lambda (`response`: `batchItemFailures`) and, for tests and logs, what happened to each job.
#[derive(Debug, Clone)]
pub struct WorkerResponse {
    pub response: SqsBatchResponse,
    pub jobs: Vec<JobResult>,
}

/// Handles one SQS event of download jobs. `deadline`: when to stop (the Lambda deadline minus the margin).
pub async fn handle_jobs(
    rt: &Runtime,
    request_id: &str,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> WorkerResponse {
    let span = tracing::info_span!("invoke", request_id = %request_id, function = FUNCTION, kind = "download-jobs");
    async move {
        let started = Instant::now();
        let before = rt.deps.client.stats();
        let mut jobs = Vec::with_capacity(event.records.len());
        for message in &event.records {
            let message_id = message.message_id.clone().unwrap_or_default();
            let r = job(rt, message, &message_id, deadline)
                .instrument(tracing::info_span!("message", message_id = %message_id))
                .await;
            jobs.push(r);
        }
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = jobs
            .iter()
            .filter(|j| j.handling == Handling::Returned)
            .map(|j| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = j.message_id.clone();
                f
            })
            .collect();
        let mut summary = summarize(jobs.iter().filter_map(|j| j.outcome.clone()).collect());
        summary.queued = jobs
            .iter()
            .filter(|j| matches!(j.handling, Handling::Continued | Handling::Deferred))
            .count() as u64;
        run_metrics(
            rt.settings.metrics_function(FUNCTION),
            &summary,
            rt.deps.client.stats().rate_limited - before.rate_limited,
            started.elapsed().as_millis(),
        )
        .emit();
        tracing::info!(
            messages = jobs.len(),
            returned = response.batch_item_failures.len(),
            queued = summary.queued,
            duration_ms = started.elapsed().as_millis() as u64,
            "download jobs summary"
        );
        WorkerResponse { response, jobs }
    }
    .instrument(span)
    .await
}

async fn job(
    rt: &Runtime,
    message: &SqsMessage,
    message_id: &str,
    deadline: Option<Instant>,
) -> JobResult {
    let mut r = JobResult {
        message_id: message_id.to_owned(),
        org_id: None,
        handling: Handling::Returned,
        outcome: None,
        why: None,
    };
    let returned = |mut r: JobResult, why: String| {
        tracing::warn!(reason = %why, "download job returned to the queue");
        r.handling = Handling::Returned;
        r.why = Some(why);
        r
    };
    let job = match message.body.as_deref().map(DownloadJob::from_json) {
        Some(Ok(j)) => j,
        Some(Err(e)) => {
            tracing::error!(error = %e, "malformed download job; it will reach the dead-letter queue");
            return returned(r, e.to_string());
        }
        None => return returned(r, "the message has no body".into()),
    };
    r.org_id = Some(job.org_id.clone());
    let org = job.org_id.clone();
    let span = tracing::info_span!("org", org_id = %org, continuation = job.continuation);
    async move {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return returned(r, "not started: the invocation reached its deadline".into());
        }
        let Some(queue) = rt.download_queue.as_ref() else {
            return returned(
                r,
                format!("no download queue is configured ({})", miro_sam_lambda::env::DOWNLOAD_QUEUE_URL),
            );
        };
        // A redelivery of this very message may take back its own lease (its first worker died).
        let holder = format!("job:{message_id}");
        match lease::take(rt, &org, &holder, deadline).await {
            Err(e) => return returned(r, e),
            Ok(DownloadLease::Held { holder: other, until }) => {
                if job.deferrals >= MAX_DEFERRALS {
                    return returned(r, format!("put back {} times behind another worker's lease", job.deferrals));
                }
                let wait = (until - rt.deps.clock.now()).to_std().unwrap_or_default() + Duration::from_secs(1);
                return match queue.send(&[job.deferred()], wait).await {
                    Ok(_) => {
                        tracing::info!(holder = %other, %until, "the org is being downloaded by another worker; job put back");
                        r.handling = Handling::Deferred;
                        r.why = Some(format!("lease held by {other} until {until}"));
                        r
                    }
                    Err(e) => returned(r, format!("cannot put the job back: {e}")),
                };
            }
            Ok(DownloadLease::Taken) => {}
        }
        let r = leased(rt, queue, &job, r, deadline).await;
        lease::release(rt, &org, &holder).await;
        r
    }
    .instrument(span)
    .await
}

/// The job's work while holding the lease.
async fn leased(
    rt: &Runtime,
    queue: &miro_sam_aws::sqs::SqsDownloadQueue,
    job: &DownloadJob,
    mut r: JobResult,
    deadline: Option<Instant>,
) -> JobResult {
    let org = &job.org_id;
    if already_downloaded(rt, job).await {
        let mut out = OrgOutcome::new(org.clone(), Status::Done);
        if let Err(e) = plan_and_enqueue(rt, org, deadline, &mut out).await {
            out.status = Status::Failed;
            out.error = Some(e.to_string());
            r.handling = if e.is_retryable() {
                Handling::Returned
            } else {
                Handling::Finished
            };
        } else if out.status == Status::Paused {
            // The notices stopped at the deadline: the continuation sends the rest, then queues.
            r.handling = continue_job(queue, job, &mut r).await;
        } else {
            r.handling = Handling::AlreadyDownloaded;
        }
        r.outcome = Some(out);
        return r;
    }
    let out = run_org(rt, org.clone(), deadline).await;
    r.handling = match out.status {
        Status::Done | Status::Busy => Handling::Finished,
        Status::Paused | Status::Deferred => continue_job(queue, job, &mut r).await,
        // A person must act: retrying cannot help, and the run's metrics alarm on it.
        Status::Failed if out.needs_action => Handling::Finished,
        Status::Failed => {
            r.why = out.error.clone();
            Handling::Returned
        }
    };
    r.outcome = Some(out);
    r
}

/// Queues the job's continuation (the org stopped at the deadline), unless it has had too many.
async fn continue_job(
    queue: &miro_sam_aws::sqs::SqsDownloadQueue,
    job: &DownloadJob,
    r: &mut JobResult,
) -> Handling {
    if job.continuation >= MAX_CONTINUATIONS {
        r.why = Some(format!(
            "{} continuations without finishing the org; the checkpoint is kept",
            job.continuation
        ));
        return Handling::Returned;
    }
    match queue.send(&[job.continued()], Duration::ZERO).await {
        Ok(_) => {
            tracing::info!(
                next = job.continuation + 1,
                "stopped at the deadline; continuation queued"
            );
            Handling::Continued
        }
        Err(e) => {
            r.why = Some(format!("cannot queue the continuation: {e}"));
            Handling::Returned
        }
    }
}

/// The org completed a download after the job was queued and has nothing left to resume.
async fn already_downloaded(rt: &Runtime, job: &DownloadJob) -> bool {
    let store = rt.deps.store.as_ref();
    let (last, checkpoint) = (
        store.last_download_run(&job.org_id).await,
        store.get_checkpoint(&job.org_id).await,
    );
    matches!((last, checkpoint), (Ok(Some(run)), Ok(None)) if run.completed_at >= job.queued_at)
}

/// `{"Records": [...]}` from SQS: the payload of a download worker's invocation.
pub fn is_sqs_event(payload: &serde_json::Value) -> bool {
    payload
        .get("Records")
        .and_then(|r| r.as_array())
        .is_some_and(|records| {
            records
                .iter()
                .all(|r| r.get("eventSource").and_then(|s| s.as_str()) == Some("aws:sqs"))
        })
}

/// Handles any invocation of the function: an SES event (a late bounce), an SQS event of download jobs, or the
/// schedule / a one-org run.
pub async fn handle_any(
    rt: &Runtime,
    request_id: &str,
    payload: serde_json::Value,
    deadline: Option<Instant>,
) -> Result<serde_json::Value, String> {
    // Before the schedule's parse: an SES event is an EventBridge envelope too, with a detail of its own.
    if crate::bounce::is_ses_event(&payload) {
        let r = crate::bounce::handle_ses_event(rt, request_id, &payload).await?;
        return serde_json::to_value(r).map_err(|e| e.to_string());
    }
    if is_sqs_event(&payload) {
        let event: SqsEvent =
            serde_json::from_value(payload).map_err(|e| format!("unreadable SQS event: {e}"))?;
        let r = handle_jobs(rt, request_id, event, deadline).await;
        return serde_json::to_value(r.response).map_err(|e| e.to_string());
    }
    let r = crate::handle(rt, request_id, payload, deadline).await?;
    serde_json::to_value(r).map_err(|e| e.to_string())
}
