//! The scheduled download, the plan, the queue and the reclaim worker, with real event JSON, against the Miro
//! sandbox and the local AWS API. The sandbox's SCIM log is the judge of who was deactivated.

use download_subscriptions::Status;
use miro_sam_tests::*;
use miro_sandbox::{FaultConfig, ScimOp};
use std::collections::BTreeSet;

use miro_sam_tests::fanout::scheduled_event;
use miro_sam_tests::reclaim::failed_ids;

fn deactivated(w: &World) -> Vec<String> {
    w.scim_ops(ScimOp::Deactivate)
}

#[tokio::test]
async fn download_plan_queue_reclaim_and_a_same_day_rerun_queues_nothing() {
    let w = connected_world(400, live_policy()).await;

    let (run, _) = w.daily_run().await;
    assert_eq!(run.queued, 1, "one job for the one org");
    assert_eq!((run.done, run.failed, run.deferred), (1, 0, 0), "{run:?}");
    let o = &run.orgs[0];
    assert_eq!(o.status, Status::Done);
    assert_eq!(o.members as usize, w.control.members(w.org.as_str()).len());
    assert!(o.candidates > 0);
    assert_eq!(o.enqueued, o.candidates, "every candidate queued");

    let mut reclaimed = 0;
    w.reclaim_queued("req-2").await;
    for r in w.rt.deps.store.list_reclaim_records(&w.org).await.unwrap() {
        if r.state == miro_sam_core::reclaim::ReclaimState::Done {
            reclaimed += 1;
        }
    }
    let plan =
        w.rt.deps
            .store
            .get_plan(o.plan_id.unwrap())
            .await
            .unwrap()
            .unwrap();
    let planned: BTreeSet<String> = plan
        .candidates
        .iter()
        .map(|c| c.member_id.to_string())
        .collect();
    let done: BTreeSet<String> = deactivated(&w).into_iter().collect();
    assert_eq!(done, planned, "the sandbox deactivated exactly the plan");
    assert_eq!(reclaimed, planned.len());
    assert_eq!(w.control.counters().get("scim_delete_user"), 0);

    // Same day again: the same plan, nothing queued twice, nobody deactivated twice.
    let (again, _) = w.daily_run().await;
    let o2 = &again.orgs[0];
    assert_eq!(o2.plan_id, o.plan_id, "today's executable plan is reused");
    assert_eq!(o2.enqueued, 0);
    assert!(w.drain_queue().await.is_empty());
    assert_eq!(deactivated(&w).len(), planned.len());
}

#[tokio::test]
async fn a_redelivered_batch_deactivates_once_and_records_once() {
    let w = connected_world(200, live_policy()).await;
    w.daily_run().await;
    let batches = w.drain_queue().await;
    let first = batches[0].clone();
    let resp = reclaim_subscription::handle(&w.rt, "r1", first.clone()).await;
    assert!(resp.batch_item_failures.is_empty());
    let writes = w.control.scim_log().len();
    let audit = w.rt.deps.store.list_audit(&w.org).await.unwrap().len();
    let patches = w.control.counters().get("scim_patch_user");

    let again = reclaim_subscription::handle(&w.rt, "r2", first).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(w.control.scim_log().len(), writes, "no second deactivation");
    assert_eq!(
        w.control.counters().get("scim_patch_user"),
        patches,
        "not even a PATCH was sent"
    );
    assert_eq!(
        w.rt.deps.store.list_audit(&w.org).await.unwrap().len(),
        audit,
        "nothing recorded twice"
    );
}

#[tokio::test]
async fn a_mixed_batch_reports_exactly_the_malformed_and_the_transient_messages() {
    let w = connected_world(200, live_policy()).await;
    w.daily_run().await;
    let batch = w.drain_queue().await.remove(0);
    let records = batch["Records"].as_array().unwrap();
    assert!(records.len() >= 2);
    let (done, pending) = (records[0].clone(), records[1].clone());
    // The first is reclaimed now, so later it replays without calling Miro.
    let r = reclaim_subscription::handle(
        &w.rt,
        "r0",
        serde_json::json!({ "Records": [done.clone()] }),
    )
    .await;
    assert!(r.batch_item_failures.is_empty());

    let mut malformed = done.clone();
    malformed["messageId"] = "malformed".into();
    malformed["body"] = "{not json".into();
    let mut future = done.clone();
    future["messageId"] = "future-version".into();
    let mut body: serde_json::Value = serde_json::from_str(done["body"].as_str().unwrap()).unwrap();
    body["schema_version"] = 99.into();
    future["body"] = body.to_string().into();
    let mut transient = pending.clone();
    transient["messageId"] = "transient".into();

    // Miro fails every call now: only the message that needs Miro can fail transiently.
    w.control.set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let mixed = serde_json::json!({ "Records": [done, malformed, future, transient] });
    let resp = reclaim_subscription::handle(&w.rt, "r1", mixed).await;
    let failed = failed_ids(&resp);
    let want: BTreeSet<String> = ["malformed", "future-version", "transient"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(failed, want);

    // Once Miro recovers, the redelivered transient message completes.
    w.control.set_faults(FaultConfig::default());
    let retry =
        reclaim_subscription::handle(&w.rt, "r2", serde_json::json!({ "Records": [pending] }))
            .await;
    assert!(retry.batch_item_failures.is_empty());
    assert_eq!(deactivated(&w).len(), 2);
}

#[tokio::test]
async fn one_failing_org_does_not_stop_the_others() {
    let w = world(WorldOptions {
        members: 50,
        extra_orgs: 1,
        ..Default::default()
    })
    .await;
    let second = w.org_at(1);
    w.connect_every_org(live_policy()).await;
    w.control.revoke_all_tokens(w.org.as_str());

    let (run, _) = w.daily_run().await;
    assert_eq!(run.queued, 2, "one job per org");
    assert_eq!((run.done, run.failed), (1, 1), "{run:?}");
    let bad = run.orgs.iter().find(|o| o.org_id == w.org).unwrap();
    assert!(bad.needs_action, "{bad:?}");
    assert!(
        bad.error
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("reconnect"),
        "{bad:?}"
    );
    let good = run.orgs.iter().find(|o| o.org_id == second).unwrap();
    assert_eq!(good.status, Status::Done);
    assert_eq!(good.members, 50);
}

#[tokio::test]
async fn a_dry_run_org_is_planned_but_nothing_is_queued() {
    let w = connected_world(
        200,
        miro_sam_core::policy::Policy {
            dry_run: true,
            ..live_policy()
        },
    )
    .await;
    let run = w.run_one_org(&w.org).await;
    let o = &run.orgs[0];
    assert!(o.dry_run && o.candidates > 0 && o.enqueued == 0, "{o:?}");
    assert!(
        o.not_queued_because.as_deref().unwrap().contains("dry-run"),
        "{o:?}"
    );
    assert!(w.drain_queue().await.is_empty());
}

#[tokio::test]
async fn a_job_received_past_the_deadline_is_returned_not_half_done() {
    let w = connected_world(10, live_policy()).await;
    w.dispatch().await;
    let d = w.receive_download_job().await.expect("a job");
    let r = w.work(&d, Some(std::time::Instant::now())).await;
    assert_eq!(r.response.batch_item_failures.len(), 1, "{:?}", r.jobs);
    assert_eq!(w.control.counters().get("members"), 0);
    assert_eq!(w.control.counters().get("org"), 0, "Miro was not called");
    // Delivered again, it runs.
    let jobs = w.work_download_queue(5, || None).await;
    assert_eq!(jobs[0].outcome.as_ref().unwrap().status, Status::Done);
}

/// The in-line walk of every org, for a deployment without a download queue, still works (and takes the lease).
#[tokio::test]
async fn without_a_download_queue_the_schedule_downloads_every_org_itself() {
    let mut w = world(WorldOptions {
        members: 30,
        extra_orgs: 1,
        ..Default::default()
    })
    .await;
    w.rt.download_queue = None;
    w.connect_every_org(live_policy()).await;
    let run = download_subscriptions::handle(&w.rt, "r", scheduled_event(), None)
        .await
        .unwrap();
    assert_eq!((run.queued, run.done), (0, 2), "{run:?}");
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason() {
    let w = world_of(1).await;
    let err =
        download_subscriptions::handle(&w.rt, "r", serde_json::json!({"org_id": "acme"}), None)
            .await
            .unwrap_err();
    assert!(err.contains("not a Miro id"), "{err}");
    let resp = reclaim_subscription::handle(&w.rt, "r", serde_json::json!({"not": "sqs"})).await;
    assert!(resp.batch_item_failures.is_empty());
}

/// The kill switch on the deployment: messages queued before the pause reach the worker, which reads the org's
/// pause from DynamoDB right before each PATCH and ends every reclaim `skipped`, sending nothing to SCIM.
#[tokio::test]
async fn messages_queued_before_a_pause_are_skipped_by_the_worker() {
    let w = connected_world(200, live_policy()).await;
    let (run, _) = w.daily_run().await;
    assert!(run.orgs[0].enqueued > 0, "{run:?}");
    let store = w.rt.deps.store.as_ref();
    miro_sam_core::jobs::pause_org(store, &w.org, "incident 42", "ops@acme", chrono::Utc::now())
        .await
        .unwrap();

    assert!(w.reclaim_queued("r1").await > 0);
    assert_eq!(
        w.control.counters().get("scim_patch_user"),
        0,
        "nothing sent"
    );
    let records = store.list_reclaim_records(&w.org).await.unwrap();
    assert_eq!(records.len() as u64, run.orgs[0].enqueued);
    for r in records {
        assert!(
            matches!(
                &r.outcome,
                Some(miro_sam_core::reclaim::ReclaimOutcome::Skipped {
                    reason: miro_sam_core::reclaim::SkipReason::OrgPaused { reason, .. }
                }) if reason == "incident 42"
            ),
            "{r:?}"
        );
    }
}

/// A paused org is still downloaded and planned, but the scheduled run queues nothing and counts no failure.
#[tokio::test]
async fn a_paused_org_is_planned_but_nothing_is_queued_and_nothing_alarms() {
    let w = connected_world(200, live_policy()).await;
    let store = w.rt.deps.store.as_ref();
    miro_sam_core::jobs::pause_org(store, &w.org, "renewal talks", "ops", chrono::Utc::now())
        .await
        .unwrap();
    let (run, _) = w.daily_run().await;
    assert_eq!((run.done, run.failed), (1, 0), "{run:?}");
    let o = &run.orgs[0];
    assert!(o.candidates > 0 && o.enqueued == 0, "{o:?}");
    assert!(
        o.not_queued_because
            .as_deref()
            .is_some_and(|w| w.contains("paused") && w.contains("renewal talks")),
        "{o:?}"
    );
    assert!(w.drain_queue().await.is_empty());
}
