//! The download fan-out with real event JSON against the Miro sandbox and the local AWS API: the scheduled event
//! queues one job per org, a worker stopping at its deadline checkpoints and queues its continuation, two workers
//! for one org never download it at once, and the reclaim worker returns what it cannot finish before its
//! deadline. No test sleeps: deadlines are instants, waits come from the sandbox's faults.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use download_subscriptions::Status;
use download_subscriptions::worker::Handling;
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::{DownloadJob, DownloadLease};
use miro_sam_tests::fanout::count;
use miro_sam_tests::reclaim::{delete, failed_ids};
use miro_sam_tests::*;
use miro_sandbox::FaultConfig;

async fn members_stored(w: &World, org: &OrgId) -> BTreeSet<String> {
    w.stored_member_ids(org).await.into_iter().collect()
}

fn truth(w: &World, org: &OrgId) -> BTreeSet<String> {
    w.sandbox_member_ids(org).into_iter().collect()
}

#[tokio::test]
async fn the_scheduled_event_queues_one_job_per_connected_org_and_downloads_nothing() {
    let w = world(WorldOptions {
        members: 20,
        extra_orgs: 2,
        ..Default::default()
    })
    .await;
    let orgs = w.connect_every_org(live_policy()).await;
    let r = w.dispatch().await;
    assert_eq!(r.queued, 3, "{r:?}");
    assert_eq!(
        w.control.counters().get("members"),
        0,
        "the dispatcher downloads nothing"
    );
    let mut queued = BTreeSet::new();
    while let Some(d) = w.receive_download_job().await {
        let job = DownloadJob::from_json(&d.body).expect("a download job");
        assert_eq!(job.continuation, 0);
        queued.insert(job.org_id.to_string());
        delete(&w.harness_sqs, &w.download_queue_url, &d.receipt_handle).await;
    }
    let want: BTreeSet<String> = orgs.iter().map(|o| o.to_string()).collect();
    assert_eq!(queued, want, "exactly one job per org");
}

#[tokio::test]
async fn a_worker_at_its_deadline_checkpoints_queues_its_continuation_and_the_org_finishes_the_same_day()
 {
    // 4 000 members: 40 pages plus the org call, 25 ms each (over 1 s); every invocation has 500 ms.
    let w = world(WorldOptions {
        members: 4_000,
        latency: Duration::from_millis(25),
        ..Default::default()
    })
    .await;
    w.connect_directly(&w.org, live_policy()).await;
    w.dispatch().await;

    let first = w.receive_download_job().await.expect("the job");
    let r = w
        .work(&first, Some(Instant::now() + Duration::from_millis(500)))
        .await;
    assert_eq!(r.jobs[0].handling, Handling::Continued, "{:?}", r.jobs);
    assert!(r.response.batch_item_failures.is_empty());
    let store = w.rt.deps.store.as_ref();
    let cp = store
        .get_checkpoint(&w.org)
        .await
        .unwrap()
        .expect("a checkpoint");
    assert!(cp.pages_done > 0 && cp.cursor.is_some(), "{cp:?}");
    // The worker released its lease: another one can take the org at once.
    let now = w.rt.deps.clock.now();
    let taken = store
        .take_download_lease(&w.org, "probe", now, now + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(taken, DownloadLease::Taken, "the worker released its lease");
    assert!(store.release_download_lease(&w.org, "probe").await.unwrap());

    // Later invocations get 2 s each and up to 200 tries: the local AWS API can take most of a second per query
    // on a loaded machine, and what is asserted is that the org finishes through continuations, not how fast.
    let rest = w
        .work_download_queue(200, || Some(Instant::now() + Duration::from_secs(2)))
        .await;
    let last = rest.last().unwrap();
    assert_eq!(last.handling, Handling::Finished, "{rest:#?}");
    let o = last.outcome.as_ref().unwrap();
    assert_eq!(o.status, Status::Done);
    assert!(o.enqueued > 0, "the plan was queued at the end: {o:?}");
    let continuations: Vec<u32> = rest
        .iter()
        .map(|j| j.handling)
        .zip(1..)
        .filter(|(h, _)| *h == Handling::Continued)
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        continuations.len(),
        rest.len() - 1,
        "every other invocation continued: {rest:#?}"
    );
    assert_eq!(
        members_stored(&w, &w.org).await,
        truth(&w, &w.org),
        "exactly the org's members"
    );
    assert!(!w.has_checkpoint().await);
    let run = store.last_download_run(&w.org).await.unwrap().unwrap();
    assert_eq!(
        run.completed_at.date_naive(),
        chrono::Utc::now().date_naive(),
        "finished the same day"
    );
    assert!(w.receive_download_job().await.is_none());
}

#[tokio::test]
async fn a_429_that_would_wait_past_the_deadline_ends_the_invocation_at_once_with_a_continuation() {
    let w = connected_world(300, live_policy()).await;
    w.dispatch().await;
    w.control.set_faults(FaultConfig {
        rate_limit_burst: 1,
        rate_limit_retry_after: Some(Duration::from_secs(600)),
        ..FaultConfig::default()
    });
    let d = w.receive_download_job().await.unwrap();
    // The client waits at most 4 s after a 429 (its cap, `MiroConfig::longest_retry_wait`); 3 s are left.
    let left = Duration::from_secs(3);
    assert!(w.rt.deps.client.config().longest_retry_wait() > left);
    let started = Instant::now();
    let r = w.work(&d, Some(Instant::now() + left)).await;
    assert!(
        started.elapsed() < left,
        "the worker waited for Retry-After: {:?}",
        started.elapsed()
    );
    assert_eq!(r.jobs[0].handling, Handling::Continued, "{:?}", r.jobs);
    assert_eq!(r.jobs[0].outcome.as_ref().unwrap().status, Status::Paused);
    let next = w.receive_download_job().await.expect("the continuation");
    let job = DownloadJob::from_json(&next.body).unwrap();
    assert_eq!((job.org_id, job.continuation), (w.org.clone(), 1));
}

#[tokio::test]
async fn a_job_for_an_org_another_worker_holds_is_put_back_without_calling_miro() {
    let w = connected_world(50, live_policy()).await;
    // Another worker is downloading the org right now.
    let now = w.rt.deps.clock.now();
    let lease =
        w.rt.deps
            .store
            .take_download_lease(&w.org, "worker-a", now, now + chrono::Duration::minutes(5))
            .await
            .unwrap();
    assert_eq!(lease, DownloadLease::Taken);
    w.dispatch().await;
    let d = w.receive_download_job().await.unwrap();
    let r = w.work(&d, None).await;
    assert_eq!(r.jobs[0].handling, Handling::Deferred, "{:?}", r.jobs);
    assert!(
        r.response.batch_item_failures.is_empty(),
        "acknowledged, not retried"
    );
    assert_eq!(w.control.counters().get("org"), 0, "Miro was not called");
    assert_eq!(w.control.counters().get("members"), 0);
    // The job is back on the queue, delayed until the lease ends.
    let attrs = w
        .harness_sqs
        .get_queue_attributes()
        .queue_url(&w.download_queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let delayed = attrs
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        })
        .cloned();
    assert_eq!(delayed.as_deref(), Some("1"), "{attrs:?}");
    assert!(
        w.receive_download_job().await.is_none(),
        "not visible before the lease ends"
    );
}

#[tokio::test]
async fn two_workers_for_one_org_at_once_download_it_once() {
    let w = world(WorldOptions {
        members: 800,
        latency: Duration::from_millis(5),
        ..Default::default()
    })
    .await;
    w.connect_directly(&w.org, live_policy()).await;
    // The schedule ran twice (a manual re-run): two jobs for the one org.
    assert_eq!(w.dispatch().await.queued, 1);
    assert_eq!(w.dispatch().await.queued, 1);
    let a = w.receive_download_job().await.unwrap();
    let b = w.receive_download_job().await.unwrap();
    let (ra, rb) = tokio::join!(w.work(&a, None), w.work(&b, None));
    let handlings: BTreeSet<String> = [&ra, &rb]
        .iter()
        .map(|r| format!("{:?}", r.jobs[0].handling))
        .collect();
    let finished = [&ra, &rb]
        .iter()
        .filter(|r| r.jobs[0].handling == Handling::Finished)
        .count();
    assert_eq!(finished, 1, "one downloads: {handlings:?}");
    assert!(
        [&ra, &rb].iter().any(|r| matches!(
            r.jobs[0].handling,
            Handling::Deferred | Handling::AlreadyDownloaded
        )),
        "the other backs off: {handlings:?}"
    );
    assert_eq!(
        w.control.counters().get("members"),
        8,
        "the org's 8 pages were listed once"
    );
    assert_eq!(
        count(&ra.jobs, Handling::Returned) + count(&rb.jobs, Handling::Returned),
        0
    );
}

#[tokio::test]
async fn the_reclaim_worker_returns_what_it_cannot_finish_before_its_deadline() {
    let w = connected_world(200, live_policy()).await;
    w.daily_run().await;
    let batch = w.drain_queue().await.remove(0);
    let ids: BTreeSet<String> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 2);

    // SCIM answers 429 with a Retry-After far past the deadline: the first message stops at once, and the
    // others are not started.
    w.control.set_faults(FaultConfig {
        scim_rate_limit_burst: 1,
        rate_limit_retry_after: Some(Duration::from_secs(600)),
        ..FaultConfig::default()
    });
    let left = Duration::from_secs(3);
    assert!(w.rt.deps.client.config().longest_retry_wait() > left);
    let started = Instant::now();
    let resp =
        reclaim_subscription::handle_until(&w.rt, "r", batch.clone(), Some(Instant::now() + left))
            .await;
    // Not a timing target (a loaded machine may run past the deadline by seconds): the point is that the
    // worker gave up at its deadline instead of waiting out the 600 s Retry-After.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the worker waited for the Retry-After: {:?}",
        started.elapsed()
    );
    assert_eq!(
        failed_ids(&resp),
        ids,
        "every unfinished message is returned"
    );
    assert_eq!(
        w.control.counters().get("scim_patch_user"),
        0,
        "nobody half-done"
    );

    // A deadline already reached starts nothing at all.
    let resp = reclaim_subscription::handle_until(&w.rt, "r2", batch, Some(Instant::now())).await;
    assert_eq!(resp.batch_item_failures.len(), ids.len());
}
