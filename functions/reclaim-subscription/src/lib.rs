//! The reclaim worker: one SQS batch (up to 10 messages), each a versioned reclaim request or an undo (a
//! reactivate request the console queued: the console holds no SCIM token, this worker does). A reclaim runs the
//! core's reclaim job (re-check, then SCIM deactivation, then the audit entry); an undo runs the core's
//! reactivate job (hold first, then SCIM, then the audit entry). The answer lists the messages to
//! retry (`ReportBatchItemFailures`): transient failures come back later, and malformed or unprocessable
//! messages go round until the redrive count sends them to the dead-letter queue. One bad message never fails
//! the others, and nothing here panics.
//!
//! Near the invocation's deadline the worker starts no further message and returns the unstarted ones as batch
//! item failures; the message in progress has every Miro call bounded by the deadline (its client is given it),
//! so a 429 wait that would outlast the invocation ends it as a retry instead of being cut off by Lambda.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use miro_sam_core::jobs::{JobError, MemberRef, ReclaimOptions, reactivate, reclaim_member};
use miro_sam_core::ports::{ReactivateRequest, WorkMessage};
use miro_sam_core::reclaim::ReclaimOutcome;
use miro_sam_lambda::Runtime;
use miro_sam_lambda::metrics::RunMetrics;
use std::time::Instant;
use tracing::Instrument;

const FUNCTION: &str = "reclaim-subscription";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchCounts {
    pub reclaimed: u64,
    pub skipped: u64,
    pub failed: u64,
    pub retried: u64,
    pub malformed: u64,
    /// Undos carried out (or found already done).
    pub reactivated: u64,
    /// Not started before the deadline; returned to the queue.
    pub unstarted: u64,
}

/// Handles one invocation's payload. A payload that is not an SQS event at all cannot name a message to retry,
/// so it is logged and answered with an empty failure list.
pub async fn handle(
    rt: &Runtime,
    request_id: &str,
    payload: serde_json::Value,
) -> SqsBatchResponse {
    handle_until(rt, request_id, payload, None).await
}

/// [`handle`] with the invocation's deadline (the Lambda deadline minus the margin).
pub async fn handle_until(
    rt: &Runtime,
    request_id: &str,
    payload: serde_json::Value,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let span = tracing::info_span!("invoke", request_id = %request_id, function = FUNCTION);
    async move {
        match serde_json::from_value::<SqsEvent>(payload) {
            Ok(event) => handle_batch_until(rt, event, deadline).await.0,
            Err(e) => {
                tracing::error!(error = %e, "the payload is not an SQS event; nothing to process");
                response(Vec::new())
            }
        }
    }
    .instrument(span)
    .await
}

/// Runs every message of the batch in order; returns the failures to report and the counts.
pub async fn handle_batch(rt: &Runtime, event: SqsEvent) -> (SqsBatchResponse, BatchCounts) {
    handle_batch_until(rt, event, None).await
}

/// [`handle_batch`] that stops at `deadline`: messages not started by then are returned as failures (SQS delivers
/// them again), and every Miro call of the message in progress ends by then.
pub async fn handle_batch_until(
    rt: &Runtime,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> (SqsBatchResponse, BatchCounts) {
    let started = Instant::now();
    let bounded = deadline.map(|d| {
        let mut b = rt.clone();
        b.deps.client = rt.deps.client.with_deadline(d);
        b
    });
    let rt = bounded.as_ref().unwrap_or(rt);
    let before = rt.deps.client.stats();
    let mut counts = BatchCounts::default();
    let mut failures = Vec::new();
    for message in &event.records {
        // SQS always sets it. Without one a failure can only be reported with an empty id, which Lambda treats as
        // a failure of the whole batch: everything is delivered again, which the idempotent reclaim absorbs.
        let message_id = message.message_id.clone().unwrap_or_default();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            tracing::info!(message_id = %message_id, "not started: the invocation reached its deadline; SQS delivers it again");
            counts.unstarted += 1;
            failures.push(message_id);
            continue;
        }
        let outcome = process(rt, message)
            .instrument(tracing::info_span!("message", message_id = %message_id))
            .await;
        match outcome {
            Processed::Reclaimed => counts.reclaimed += 1,
            Processed::Skipped => counts.skipped += 1,
            Processed::Failed => counts.failed += 1,
            Processed::Reactivated => counts.reactivated += 1,
            Processed::Retry => {
                counts.retried += 1;
                failures.push(message_id);
            }
            Processed::Malformed => {
                counts.malformed += 1;
                failures.push(message_id);
            }
        }
    }
    let rate_limited = rt.deps.client.stats().rate_limited - before.rate_limited;
    RunMetrics::new(FUNCTION)
        .count("Messages", event.records.len() as u64)
        .count("Reclaimed", counts.reclaimed)
        .count("Skipped", counts.skipped)
        .count("Failed", counts.failed + counts.malformed)
        .count("Reactivated", counts.reactivated)
        .count("Retried", counts.retried + counts.unstarted)
        .count("RateLimited", rate_limited)
        .millis("RunDuration", started.elapsed().as_millis())
        .emit();
    tracing::info!(
        messages = event.records.len(),
        reclaimed = counts.reclaimed,
        skipped = counts.skipped,
        failed = counts.failed,
        retried = counts.retried,
        malformed = counts.malformed,
        reactivated = counts.reactivated,
        unstarted = counts.unstarted,
        rate_limited,
        duration_ms = started.elapsed().as_millis() as u64,
        "batch summary"
    );
    (response(failures), counts)
}

enum Processed {
    Reclaimed,
    Skipped,
    /// Recorded as failed in the audit log; retrying would not help, so the message is done.
    Failed,
    Reactivated,
    /// Worth another delivery (transient Miro or storage trouble, or a job error a person must fix first).
    Retry,
    Malformed,
}

async fn process(rt: &Runtime, message: &SqsMessage) -> Processed {
    let Some(body) = message.body.as_deref() else {
        tracing::error!("message has no body; it will reach the dead-letter queue");
        return Processed::Malformed;
    };
    let request = match WorkMessage::from_json(body) {
        Ok(WorkMessage::Reclaim(r)) => r,
        Ok(WorkMessage::Reactivate(r)) => return process_undo(rt, &r).await,
        Err(e) => {
            tracing::error!(error = %e, "malformed queue message; it will reach the dead-letter queue");
            return Processed::Malformed;
        }
    };
    let span = tracing::info_span!("reclaim", org_id = %request.org_id, plan_id = %request.plan_id, member_id = %request.member_id);
    let opts = ReclaimOptions {
        override_dry_run: false,
        actor: FUNCTION.into(),
        approved_by: request.approved_by.clone(),
    };
    let result = reclaim_member(&rt.deps, request.plan_id, &request.member_id, &opts)
        .instrument(span.clone())
        .await;
    let _enter = span.enter();
    match result {
        Ok(r) => match r.outcome {
            ReclaimOutcome::Reclaimed { .. } => {
                tracing::info!(replayed = r.replayed, "reclaimed");
                Processed::Reclaimed
            }
            ReclaimOutcome::Skipped { reason } => {
                tracing::info!(replayed = r.replayed, %reason, "skipped at the re-check");
                Processed::Skipped
            }
            ReclaimOutcome::Failed { error } => {
                tracing::warn!(replayed = r.replayed, %error, "Miro refused the deactivation; recorded as failed");
                Processed::Failed
            }
        },
        Err(e) => {
            log_job_error(&e);
            Processed::Retry
        }
    }
}

/// An undo: the reactivate job places the hold before the SCIM call, so a redelivery after a crash finds the
/// member active and only renews the hold.
async fn process_undo(rt: &Runtime, request: &ReactivateRequest) -> Processed {
    let span = tracing::info_span!("reactivate", org_id = %request.org_id, member_id = %request.member_id, request_id = %request.request_id);
    let result = reactivate(
        &rt.deps,
        &request.org_id,
        &MemberRef::Id(request.member_id.clone()),
        &request.requested_by,
        &request.why,
    )
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    match result {
        Ok(r) => {
            tracing::info!(already_active = r.already_active, until = %r.hold.expires_at, "reactivated");
            Processed::Reactivated
        }
        Err(e) => {
            log_job_error(&e);
            Processed::Retry
        }
    }
}

fn log_job_error(e: &JobError) {
    if e.is_retryable() {
        tracing::warn!(error = %e, "transient failure; SQS will deliver the message again");
    } else if e.needs_reconnect() {
        tracing::error!(error = %e, "a person must act before this reclaim can run; the message will reach the dead-letter queue");
    } else {
        tracing::error!(error = %e, "the reclaim cannot run as requested; the message will reach the dead-letter queue");
    }
}

fn response(failures: Vec<String>) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    r.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    r
}
