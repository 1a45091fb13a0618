//! The SQS adapter of [`DownloadQueue`]: one standard queue of versioned [`DownloadJob`] JSON messages, one per
//! org. Standard, not FIFO, because a job is put back with a per-message delay (`DelaySeconds`, which FIFO queues
//! do not have) while another worker holds the org's lease; duplicates are harmless, since the lease and the
//! idempotent download absorb them. Sends go in batches of 10 with the reclaim queue's retry of failed entries.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use miro_sam_core::StoreError;
use miro_sam_core::ports::{DownloadJob, DownloadQueue};

use super::{MAX_BATCH, Tally, send_chunk};
use crate::retry::Backoff;

/// SQS's longest per-message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Clone)]
pub struct SqsDownloadQueue {
    client: Client,
    queue_url: Arc<str>,
    backoff: Backoff,
}

impl std::fmt::Debug for SqsDownloadQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsDownloadQueue")
            .field("queue_url", &self.queue_url)
            .finish_non_exhaustive()
    }
}

impl SqsDownloadQueue {
    pub fn new(client: Client, queue_url: &str) -> Self {
        SqsDownloadQueue {
            client,
            queue_url: Arc::from(queue_url),
            backoff: Backoff::default(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl DownloadQueue for SqsDownloadQueue {
    async fn send(&self, jobs: &[DownloadJob], delay: Duration) -> Result<usize, StoreError> {
        let delay_s = delay.min(MAX_DELAY).as_secs() as i32;
        let mut tally = Tally::default();
        for chunk in jobs.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, j)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(j.to_json())
                        .delay_seconds(delay_s)
                        .build()
                        .map_err(|e| {
                            StoreError::Backend(format!("cannot build an SQS batch entry: {e}"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            tally.add(send_chunk(&self.client, &self.queue_url, &self.backoff, entries).await);
        }
        let Tally { sent, unsent, .. } = tally;
        if unsent > 0 {
            return Err(StoreError::Backend(format!(
                "SQS SendMessageBatch to queue {}: {unsent} of {} download jobs were not sent ({}); {sent} were \
                 sent. Run the dispatcher again: a job sent twice is harmless (the org's lease lets one run)",
                self.queue_url,
                jobs.len(),
                tally.causes()
            )));
        }
        Ok(sent)
    }
}
