//! The download fan-out as the deployment runs it: the schedule's event to the dispatcher, then the download queue
//! delivered to workers one message per invocation (the event source mapping's batch size 1), as SQS would: a
//! message a worker returns (`batchItemFailures`) becomes visible again, the others are deleted.

use std::time::Instant;

use aws_lambda_events::event::sqs::SqsEvent;
use download_subscriptions::worker::{Handling, JobResult, WorkerResponse, handle_jobs};
use download_subscriptions::{DownloadResponse, OrgOutcome, summarize};

use miro_sam_core::domain::OrgId;

use crate::World;
use crate::reclaim::{delete, receive, sqs_record};

/// The EventBridge scheduled event the template's rule sends (the function's fixture).
pub fn scheduled_event() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../functions/download-subscriptions/events/scheduled-event.json"
    ))
    .expect("the fixture parses")
}

/// One received message of the download queue, as the event source mapping would hand it to the worker.
pub struct Delivery {
    pub event: serde_json::Value,
    pub receipt_handle: String,
    pub body: String,
}

impl World {
    /// The scheduled run: the dispatcher queues one job per connected org.
    pub async fn dispatch(&self) -> DownloadResponse {
        download_subscriptions::handle(&self.rt, "schedule", scheduled_event(), None)
            .await
            .expect("the dispatcher runs")
    }

    /// A one-org invocation (`{"org_id": ...}`, a manual re-run): downloads, plans and queues `org` in-line.
    pub async fn run_one_org(&self, org: &OrgId) -> DownloadResponse {
        download_subscriptions::handle(
            &self.rt,
            "manual",
            serde_json::json!({ "org_id": org.as_str() }),
            None,
        )
        .await
        .expect("the one-org run")
    }

    /// Receives one visible message of the download queue (`None` when none is visible).
    pub async fn receive_download_job(&self) -> Option<Delivery> {
        let m = receive(&self.harness_sqs, &self.download_queue_url, 1)
            .await
            .pop()?;
        let record = sqs_record(&m, "download");
        Some(Delivery {
            event: serde_json::json!({ "Records": [record] }),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
            body: m.body().unwrap_or_default().to_owned(),
        })
    }

    /// Acknowledges or returns a delivery as SQS does with the worker's answer.
    pub async fn settle(&self, d: &Delivery, r: &WorkerResponse) {
        let sqs = &self.harness_sqs;
        if r.response.batch_item_failures.is_empty() {
            delete(sqs, &self.download_queue_url, &d.receipt_handle).await;
        } else {
            // Visible again at once (the deployment waits the queue's visibility timeout).
            sqs.change_message_visibility()
                .queue_url(&self.download_queue_url)
                .receipt_handle(&d.receipt_handle)
                .visibility_timeout(0)
                .send()
                .await
                .expect("change visibility");
        }
    }

    /// One worker invocation on `d`, with `deadline` if given, then settled.
    pub async fn work(&self, d: &Delivery, deadline: Option<Instant>) -> WorkerResponse {
        let event: SqsEvent = serde_json::from_value(d.event.clone()).expect("an SQS event");
        let r = handle_jobs(&self.rt, "worker", event, deadline).await;
        self.settle(d, &r).await;
        r
    }

    /// Workers take messages until the download queue has none visible (at most `max` invocations); each
    /// invocation's deadline is `deadline()` if given.
    pub async fn work_download_queue(
        &self,
        max: usize,
        deadline: impl Fn() -> Option<Instant>,
    ) -> Vec<JobResult> {
        let mut results = Vec::new();
        for _ in 0..max {
            let Some(d) = self.receive_download_job().await else {
                return results;
            };
            results.extend(self.work(&d, deadline()).await.jobs);
        }
        panic!("the download queue did not drain in {max} invocations: {results:#?}");
    }

    /// The whole daily run: dispatch, then workers until the queue drains. The org outcomes of every job that
    /// ran, summarised, and each job's result.
    pub async fn daily_run(&self) -> (DownloadResponse, Vec<JobResult>) {
        let dispatched = self.dispatch().await;
        let jobs = self.work_download_queue(200, || None).await;
        let outcomes: Vec<OrgOutcome> = jobs.iter().filter_map(|j| j.outcome.clone()).collect();
        let mut r = summarize(outcomes);
        r.queued = dispatched.queued;
        (r, jobs)
    }
}

/// The jobs handled a given way.
pub fn count(jobs: &[JobResult], h: Handling) -> usize {
    jobs.iter().filter(|j| j.handling == h).count()
}
