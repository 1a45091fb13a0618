//! Contract of [`ReclaimQueue`]: one delivered request per (plan, member), however often it is enqueued.
//!
//! What an enqueue call *reports* cannot show deduplication (an SQS FIFO queue accepts a duplicate and silently
//! drops it), so the contract reads back what the queue would deliver through the adapter's [`QueueProbe`].

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::fixtures::*;
use crate::domain::{Email, PlanId};
use crate::ports::{ReclaimQueue, ReclaimRequest};

/// How the contract sees what a queue delivers: every request now waiting, removed as it is read (what a
/// worker would receive). Called once, after all the contract's sends.
#[async_trait]
pub trait QueueProbe: Send + Sync {
    async fn drain(&self) -> Vec<ReclaimRequest>;
}

/// The queue under test and the way to read it back. The queue must start empty.
#[derive(Clone)]
pub struct QueueUnderTest {
    pub queue: Arc<dyn ReclaimQueue>,
    pub probe: Arc<dyn QueueProbe>,
}

/// Panics with the violation; [`check_queue_dedups_per_plan_and_member`] returns it instead.
pub async fn queue_dedups_per_plan_and_member(under_test: QueueUnderTest) {
    if let Err(violation) = check_queue_dedups_per_plan_and_member(under_test).await {
        panic!("{violation}");
    }
}

/// The same plan enqueued again (a retried planner run) and a key repeated within one call must each be
/// delivered once; the same member under another plan is a new request. `Err` names the first violation, so a
/// test can show that a queue which does not deduplicate fails this contract.
pub async fn check_queue_dedups_per_plan_and_member(
    under_test: QueueUnderTest,
) -> Result<(), String> {
    let QueueUnderTest { queue, probe } = under_test;
    let plan = PlanId::new();
    let req = |n: u64| {
        ReclaimRequest::new(
            plan,
            org(),
            member_id(n),
            Email::parse(&format!("user{n}@example.com")).expect("fixture email"),
            "no activity".into(),
        )
    };
    let other_plan = ReclaimRequest {
        plan_id: PlanId::new(),
        ..req(1)
    };
    let enqueue = |batch: Vec<ReclaimRequest>| {
        let queue = queue.clone();
        async move {
            queue
                .enqueue(&batch)
                .await
                .map_err(|e| format!("enqueue of {} requests failed: {e}", batch.len()))
        }
    };

    let first = enqueue(vec![req(1), req(2), req(2)]).await?;
    check(
        first.enqueued + first.already_queued == 3 && first.enqueued >= 2,
        format!("every request is accounted for: reported {first:?}"),
    )?;
    let second = enqueue(vec![req(2), req(3)]).await?;
    check(
        second.enqueued + second.already_queued == 2 && second.enqueued >= 1,
        format!("the new member is queued and every request is accounted for: reported {second:?}"),
    )?;
    let third = enqueue(vec![other_plan.clone()]).await?;
    check(
        third.enqueued == 1,
        format!("the key is per plan: reported {third:?}"),
    )?;
    let empty = enqueue(vec![]).await?;
    check(
        empty.enqueued == 0 && empty.already_queued == 0,
        format!("an empty call queues nothing: reported {empty:?}"),
    )?;

    let mut delivered: BTreeMap<String, Vec<ReclaimRequest>> = BTreeMap::new();
    for r in probe.drain().await {
        delivered.entry(r.dedup_key()).or_default().push(r);
    }
    let expected = [req(1), req(2), req(3), other_plan];
    for want in &expected {
        let got = delivered.remove(&want.dedup_key()).unwrap_or_default();
        check(
            !got.is_empty(),
            format!("request {} was never delivered", want.dedup_key()),
        )?;
        check(
            got.len() == 1,
            format!(
                "request {} was delivered {} times: a queue must drop a second request with the same \
                 (plan, member) key",
                want.dedup_key(),
                got.len()
            ),
        )?;
        check(
            &got[0] == want,
            format!(
                "request {} changed in the queue: {:?}",
                want.dedup_key(),
                got[0]
            ),
        )?;
    }
    check(
        delivered.is_empty(),
        format!(
            "the queue delivered requests nobody sent: {:?}",
            delivered.keys().collect::<Vec<_>>()
        ),
    )
}

fn check(ok: bool, violation: String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(violation) }
}
