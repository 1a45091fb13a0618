//! The reclaim queue as the deployment's event source mapping delivers it: everything queued received as SQS
//! Lambda events of up to ten records, and the reclaim worker (the deployed function's handler) run over them.
//! The SQS calls that play the event source mapping are here once; `fanout.rs` plays it for the download queue.

use std::collections::BTreeSet;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_sdk_sqs::types::Message;

use crate::World;

/// One received SQS message as a Lambda event's record, from the queue `queue_name` names.
pub fn sqs_record(m: &Message, queue_name: &str) -> serde_json::Value {
    serde_json::json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body(),
        "attributes": { "ApproximateReceiveCount": "1" },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue_name}"),
        "awsRegion": "us-east-1"
    })
}

/// Up to `max` of the messages visible on `queue_url` (none when none is visible).
pub async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str, max: i32) -> Vec<Message> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
}

/// Deletes the received message `receipt_handle` names from `queue_url`.
pub async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, receipt_handle: &str) {
    sqs.delete_message()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .expect("delete");
}

/// The message ids a worker handed back (its `batchItemFailures`).
pub fn failed_ids(resp: &SqsBatchResponse) -> BTreeSet<String> {
    resp.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

impl World {
    /// Receives everything on the reclaim queue as SQS Lambda events of up to ten records, the way the event
    /// source mapping would deliver them, and deletes what it received.
    pub async fn drain_queue(&self) -> Vec<serde_json::Value> {
        let mut batches = Vec::new();
        loop {
            let messages = receive(&self.clients.sqs, &self.queue_url, 10).await;
            if messages.is_empty() {
                return batches;
            }
            let records: Vec<serde_json::Value> =
                messages.iter().map(|m| sqs_record(m, "reclaim")).collect();
            for m in &messages {
                delete(
                    &self.clients.sqs,
                    &self.queue_url,
                    m.receipt_handle().unwrap_or_default(),
                )
                .await;
            }
            batches.push(serde_json::json!({ "Records": records }));
        }
    }

    /// The reclaim worker over `batches`, each its own invocation; every message must complete.
    pub async fn run_reclaims(&self, request_id: &str, batches: Vec<serde_json::Value>) {
        for batch in batches {
            let resp = reclaim_subscription::handle(&self.rt, request_id, batch).await;
            assert!(
                resp.batch_item_failures.is_empty(),
                "{:?}",
                resp.batch_item_failures
            );
        }
    }

    /// Everything on the reclaim queue through the reclaim worker ([`World::run_reclaims`]); how many batches
    /// there were.
    pub async fn reclaim_queued(&self, request_id: &str) -> usize {
        let batches = self.drain_queue().await;
        let n = batches.len();
        self.run_reclaims(request_id, batches).await;
        n
    }
}
