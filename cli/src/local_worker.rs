//! The reclaim worker of one machine: what SQS and the reclaim Lambda do on a deployment, `miro-sam serve` does
//! here. It takes the messages the console queued in the SQLite queue (approved reclaims, undos) and runs the
//! same core jobs the Lambda runs, so a reclaim approved in the console is re-checked and carried out exactly
//! as on AWS.

use std::time::Duration;

use miro_sam_core::jobs::{JobError, MemberRef, ReclaimOptions, reactivate, reclaim_member};
use miro_sam_core::ports::WorkMessage;

use crate::context::Ctx;

/// How often the worker looks at the queue when it is empty. A person clicked a button: a second is soon enough,
/// and an idle queue costs one indexed read per tick.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Messages taken per round.
const BATCH: usize = 10;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub done: usize,
    /// Left queued for the next round (Miro busy, storage hiccup).
    pub retry_later: usize,
}

/// Runs rounds until the process ends.
pub async fn run_forever(ctx: &Ctx, actor: &str) {
    let mut tick = tokio::time::interval(IDLE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run_round(ctx, actor).await {
            Ok(r) if r.done > 0 || r.retry_later > 0 => {
                tracing::info!(done = r.done, retry_later = r.retry_later, "worker round");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the worker could not read its queue; trying again")
            }
        }
    }
}

/// Takes up to [`BATCH`] queued messages and runs each. A message whose job failed for good is completed (its
/// outcome is in the reclaim record and the audit log, or in the log for an undo); one that may succeed later
/// stays queued.
pub async fn run_round(ctx: &Ctx, actor: &str) -> Result<Round, miro_sam_core::StoreError> {
    let mut round = Round::default();
    for q in ctx.store.queued_requests(BATCH).await? {
        let result = match &q.message {
            WorkMessage::Reclaim(r) => {
                let opts = ReclaimOptions {
                    override_dry_run: false,
                    actor: actor.to_owned(),
                    approved_by: r.approved_by.clone(),
                };
                reclaim_member(&ctx.deps, r.plan_id, &r.member_id, &opts)
                    .await
                    .map(|r| tracing::info!(member = %r.member_id, outcome = %r.outcome, "reclaim"))
            }
            WorkMessage::Reactivate(r) => reactivate(
                &ctx.deps,
                &r.org_id,
                &MemberRef::Id(r.member_id.clone()),
                &r.requested_by,
                &r.why,
            )
            .await
            .map(|r| tracing::info!(email = %r.email, already_active = r.already_active, "reactivate")),
        };
        match result {
            Err(e) if retry_later(&e) => {
                tracing::warn!(error = %e, key = %q.dedup_key, "left queued; the next round tries again");
                round.retry_later += 1;
            }
            other => {
                if let Err(e) = other {
                    tracing::error!(error = %e, key = %q.dedup_key, "the queued job cannot run; dropped");
                }
                ctx.store.complete_request(&q.dedup_key).await?;
                round.done += 1;
            }
        }
    }
    Ok(round)
}

fn retry_later(e: &JobError) -> bool {
    e.is_retryable()
}
