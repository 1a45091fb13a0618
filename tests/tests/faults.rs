//! The fault-injection suite: the sandbox injects 10% 5xx, 5% timeouts, 429 bursts, a malformed page and a token
//! that expires mid-run, and the local AWS API goes away once during the download. The download must end with
//! exactly the sandbox's member set (or a clear error and a checkpoint the next run finishes from); every planned
//! candidate ends reclaimed exactly once or skipped with a reason; nobody protected is ever deactivated.

use download_subscriptions::Status;
use download_subscriptions::worker::Handling;
use miro_client::MiroConfig;
use miro_sam_core::reclaim::ReclaimState;
use miro_sam_tests::proxy::FlakyProxy;
use miro_sam_tests::reclaim::failed_ids;
use miro_sam_tests::*;
use miro_sandbox::{FaultConfig, ScimOp};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

const PAID: [&str; 5] = ["full", "advanced", "standard", "basic", "occasional"];

fn impatient(c: &mut MiroConfig) {
    c.request_timeout = Duration::from_millis(250);
    c.retry.max_attempts = 6;
}

fn chaos(seed: u64) -> FaultConfig {
    FaultConfig {
        error_rate: 0.10,
        timeout_rate: 0.05,
        timeout_delay: Duration::from_millis(800),
        rate_limit_burst: 3,
        malformed_members_page_once: true,
        expire_tokens_after_requests: Some(12),
        fault_seed: seed,
        ..FaultConfig::default()
    }
}

/// Connects through the real code flow so the stored bundle has a refresh token (needed when the token dies).
async fn connect_with_refresh_token(w: &World) {
    w.connect_through_consent(live_policy()).await;
    w.store_scim_token(&w.org).await;
}

#[tokio::test]
async fn the_download_survives_every_fault_and_stores_exactly_the_sandbox_members() {
    let proxy = FlakyProxy::start(&aws_host_port(), u32::MAX, 3).await;
    let w = world(WorldOptions {
        members: 2_000,
        aws_endpoint: Some(proxy.url.clone()),
        tune_miro: Some(impatient),
        ..Default::default()
    })
    .await;
    connect_with_refresh_token(&w).await;
    // The schedule's dispatcher queues the org's job; then the faults begin.
    assert_eq!(w.dispatch().await.queued, 1);
    w.control.set_faults(chaos(1));
    proxy.arm(15);

    // Each worker invocation either finishes the org or returns the job with a clear error and a checkpoint; SQS
    // delivers it again, and a few deliveries finish the job.
    let mut runs = Vec::new();
    let done = loop {
        assert!(runs.len() < 8, "the download never finished: {runs:#?}");
        let d = w
            .receive_download_job()
            .await
            .expect("the job stays on the queue until the org is done");
        let r = w.work(&d, None).await;
        let j = r.jobs[0].clone();
        runs.push(j.clone());
        let Some(o) = j.outcome.clone() else {
            // The local AWS API was away when the worker took the org's lease: returned, not lost.
            assert_eq!(j.handling, Handling::Returned, "{j:?}");
            continue;
        };
        match o.status {
            Status::Done => break o,
            Status::Failed => {
                assert!(
                    !o.needs_action,
                    "a transient fault must not ask a person to act: {o:?}"
                );
                assert!(o.error.is_some());
                assert_eq!(j.handling, Handling::Returned, "retried by SQS: {j:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        w.receive_download_job().await.is_none(),
        "nothing is left on the download queue"
    );
    let truth = w.sandbox_member_ids(&w.org);
    let stored = w.stored_member_ids(&w.org).await;
    assert_eq!(stored.len(), truth.len(), "none lost, none doubled");
    assert_eq!(
        stored.iter().collect::<BTreeSet<_>>(),
        truth.iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(
        done.removed, 0,
        "nobody left the org, so nobody may be marked removed"
    );
    assert_eq!(proxy.outages(), 1, "the AWS API went away once");
    assert!(
        w.control.refresh_count() >= 1,
        "the token that died mid-run was refreshed"
    );
    assert!(w.control.counters().faults_injected > 0);
    assert!(!w.has_checkpoint().await);
}

#[tokio::test]
async fn reclaims_under_faults_end_exactly_once_and_never_touch_a_protected_member() {
    let w = world(WorldOptions {
        members: 600,
        tune_miro: Some(impatient),
        ..Default::default()
    })
    .await;
    connect_with_refresh_token(&w).await;
    let (first, _) = w.daily_run().await;
    let plan_id = first.orgs[0].plan_id.expect("a plan");
    let plan = w.rt.deps.store.get_plan(plan_id).await.unwrap().unwrap();
    assert!(plan.candidates.len() > 20);
    // Between plan and apply one candidate uses Miro again: the re-check must spare them.
    let revived = plan.candidates[0].member_id.to_string();
    w.control.update_member(w.org.as_str(), &revived, |m| {
        m.last_activity_at = Some(chrono::Utc::now())
    });

    w.control.set_faults(FaultConfig {
        expire_tokens_after_requests: None,
        malformed_members_page_once: false,
        ..chaos(7)
    });
    let mut pending: Vec<serde_json::Value> = w.drain_queue().await;
    let mut rounds = 0;
    while let Some(batch) = pending.pop() {
        rounds += 1;
        assert!(rounds < 200, "reclaims never settled");
        let resp = reclaim_subscription::handle(&w.rt, "chaos", batch.clone()).await;
        let failed = failed_ids(&resp);
        if !failed.is_empty() {
            // SQS delivers the reported messages again.
            let again: Vec<serde_json::Value> = batch["Records"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| failed.contains(r["messageId"].as_str().unwrap()))
                .cloned()
                .collect();
            pending.insert(0, serde_json::json!({ "Records": again }));
        }
    }

    let records = w.rt.deps.store.list_reclaim_records(&w.org).await.unwrap();
    assert_eq!(records.len(), plan.candidates.len());
    assert!(
        records
            .iter()
            .all(|r| matches!(r.state, ReclaimState::Done | ReclaimState::Skipped)),
        "{records:#?}"
    );
    let log = w.control.scim_log();
    let deactivated: Vec<&str> = log
        .iter()
        .filter(|l| l.op == ScimOp::Deactivate)
        .map(|l| l.user_id.as_str())
        .collect();
    let unique: BTreeSet<&str> = deactivated.iter().copied().collect();
    assert_eq!(
        unique.len(),
        deactivated.len(),
        "someone was deactivated twice"
    );
    let done: BTreeSet<String> = records
        .iter()
        .filter(|r| r.state == ReclaimState::Done)
        .map(|r| r.member_id.to_string())
        .collect();
    assert_eq!(
        unique
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        done,
        "SCIM and records agree"
    );
    assert!(
        !unique.contains(revived.as_str()),
        "the member who became active was spared"
    );

    let truth: HashMap<String, miro_sandbox::SandboxMember> = w
        .control
        .members(w.org.as_str())
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let recent = chrono::Utc::now() - chrono::Duration::days(90);
    for id in unique {
        let m = &truth[id];
        assert_eq!(m.role, "organization_internal_user", "{id}");
        assert!(m.admin_roles.is_empty(), "{id}");
        assert!(PAID.contains(&m.license.as_str()), "{id}");
        assert!(
            m.last_activity_at.is_none_or(|t| t < recent),
            "{id} was recently active"
        );
    }
}

#[tokio::test]
async fn a_worker_killed_between_the_scim_call_and_the_audit_write_completes_on_redelivery() {
    use miro_sam_core::reclaim::ReclaimTransition;
    let w = world_of(200).await;
    connect_with_refresh_token(&w).await;
    w.daily_run().await;
    let batch = w.drain_queue().await.remove(0);
    let record = batch["Records"][0].clone();
    let req =
        miro_sam_core::ports::ReclaimRequest::from_json(record["body"].as_str().unwrap()).unwrap();

    // What a worker does up to the crash: mark the record applying, then deactivate. Then it dies.
    let scim = w.rt.deps.tokens.get_scim_token(&w.org).await.unwrap();
    let user =
        w.rt.deps
            .client
            .scim_find_user_by_email(&scim, req.email.as_str())
            .await
            .unwrap()
            .unwrap();
    w.rt.deps
        .store
        .transition_reclaim(
            req.plan_id,
            &req.member_id,
            ReclaimState::Pending,
            &ReclaimTransition {
                to: ReclaimState::Applying,
                scim_user_id: Some(user.id.clone()),
                outcome: None,
                at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    w.rt.deps
        .client
        .scim_set_active(&scim, &user.id, false)
        .await
        .unwrap();
    let patches = w.control.counters().get("scim_patch_user");
    let audit_before = w.rt.deps.store.list_audit(&w.org).await.unwrap().len();

    // SQS redelivers the message to another worker.
    let resp = reclaim_subscription::handle(
        &w.rt,
        "redelivery",
        serde_json::json!({ "Records": [record] }),
    )
    .await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(
        w.control.counters().get("scim_patch_user"),
        patches,
        "no second deactivation"
    );
    let rec =
        w.rt.deps
            .store
            .get_reclaim_record(req.plan_id, &req.member_id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(rec.state, ReclaimState::Done, "recorded as our reclaim");
    assert_eq!(
        w.rt.deps.store.list_audit(&w.org).await.unwrap().len(),
        audit_before + 1,
        "audited once"
    );
    assert_eq!(
        w.control
            .scim_log()
            .iter()
            .filter(|l| l.op == ScimOp::Deactivate)
            .count(),
        1
    );
}
