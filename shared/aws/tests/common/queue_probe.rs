//! What an SQS queue delivers, read the way the worker's event source reads it, for the queue contract.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use miro_sam_core::contract::QueueProbe;
use miro_sam_core::ports::ReclaimRequest;

/// Receives and deletes until the queue answers empty. moto forgets a FIFO deduplication id once its message is
/// deleted (AWS keeps it five minutes), so the contract drains only after all its sends.
pub struct SqsProbe {
    pub client: Client,
    pub url: String,
}

/// Receive calls before giving up on a queue that never empties (10 messages each).
const MAX_RECEIVES: usize = 50;

#[async_trait]
impl QueueProbe for SqsProbe {
    async fn drain(&self) -> Vec<ReclaimRequest> {
        let mut all = Vec::new();
        for _ in 0..MAX_RECEIVES {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive from the test queue");
            let msgs = out.messages.unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in &msgs {
                self.client
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(m.receipt_handle().expect("a received message has a handle"))
                    .send()
                    .await
                    .expect("delete from the test queue");
                all.push(
                    ReclaimRequest::from_json(m.body().unwrap_or_default())
                        .expect("the queue holds versioned reclaim requests"),
                );
            }
        }
        all
    }
}
