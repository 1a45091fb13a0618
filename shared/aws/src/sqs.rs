//! The SQS adapter of [`ReclaimQueue`]. Messages are the versioned JSON of [`ReclaimRequest`]; each carries its
//! (plan, member) deduplication key as the `dedup_key` message attribute, and on a FIFO queue also as
//! `MessageDeduplicationId`, with the org as `MessageGroupId` (one org's reclaims then run one at a time, which
//! also keeps them inside the org's SCIM rate limits).
//!
//! Sends go in batches of 10. Entries SQS reports as failed are sent again under bounded backoff unless SQS
//! blames the sender (a malformed entry does not get better by resending); whatever is still unsent is an error
//! that says how many. The worker re-checks every request and records each (plan, member) once, so a request
//! sent twice after a partial failure is harmless, while one silently lost would be a seat never reclaimed.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use futures::StreamExt;
use miro_sam_core::StoreError;
use miro_sam_core::ports::{EnqueueReport, ReclaimQueue, ReclaimRequest};

use crate::error::{backend, is_transient};
use crate::retry::Backoff;

/// SQS's limit per `SendMessageBatch` call.
pub const MAX_BATCH: usize = 10;

/// Message attribute carrying [`ReclaimRequest::dedup_key`].
pub const DEDUP_KEY_ATTRIBUTE: &str = "dedup_key";

/// Batches in flight at once.
const CONCURRENCY: usize = 4;

#[derive(Clone)]
pub struct SqsReclaimQueue {
    client: Client,
    queue_url: Arc<str>,
    fifo: bool,
    backoff: Backoff,
}

impl std::fmt::Debug for SqsReclaimQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsReclaimQueue")
            .field("queue_url", &self.queue_url)
            .field("fifo", &self.fifo)
            .finish_non_exhaustive()
    }
}

struct Unsent {
    count: usize,
    cause: String,
}

impl SqsReclaimQueue {
    /// A queue whose URL ends in `.fifo` is treated as FIFO.
    pub fn new(client: Client, queue_url: &str) -> Self {
        SqsReclaimQueue {
            client,
            fifo: queue_url.ends_with(".fifo"),
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

    pub fn is_fifo(&self) -> bool {
        self.fifo
    }

    fn entry(
        &self,
        id: usize,
        r: &ReclaimRequest,
    ) -> Result<SendMessageBatchRequestEntry, StoreError> {
        let key = r.dedup_key();
        let attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(key.clone())
            .build()
            .map_err(|e| {
                StoreError::Backend(format!("cannot build the dedup_key attribute: {e}"))
            })?;
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(id.to_string())
            .message_body(r.to_json())
            .message_attributes(DEDUP_KEY_ATTRIBUTE, attr);
        if self.fifo {
            entry = entry
                .message_deduplication_id(key)
                .message_group_id(r.org_id.as_str());
        }
        entry
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build an SQS batch entry: {e}")))
    }

    async fn send_chunk(
        &self,
        entries: Vec<SendMessageBatchRequestEntry>,
    ) -> Result<usize, Unsent> {
        let attempts = self.backoff.max_attempts.max(1);
        let mut pending = entries;
        let mut sent = 0;
        let mut cause = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                self.backoff.wait(attempt - 1).await;
            }
            let res = self
                .client
                .send_message_batch()
                .queue_url(self.queue_url.as_ref())
                .set_entries(Some(pending.clone()))
                .send()
                .await;
            let out = match res {
                Ok(out) => out,
                Err(e) if is_throttled(&e) || is_transient(&e) => {
                    cause = format!(
                        "the batch call kept failing, last: {}",
                        DisplayErrorContext(&e)
                    );
                    continue;
                }
                Err(e) => {
                    return Err(Unsent {
                        count: pending.len(),
                        cause: backend(
                            "SQS",
                            "SendMessageBatch",
                            &format!("queue {}", self.queue_url),
                            &e,
                        )
                        .to_string(),
                    });
                }
            };
            sent += out.successful().len();
            let mut retry: HashSet<&str> = HashSet::new();
            for f in out.failed() {
                if f.sender_fault() {
                    return Err(Unsent {
                        count: pending.len() - out.successful().len(),
                        cause: format!(
                            "SQS refused an entry as malformed ({}: {})",
                            f.code(),
                            f.message().unwrap_or("no message")
                        ),
                    });
                }
                cause = format!(
                    "entries kept failing, last: {}: {}",
                    f.code(),
                    f.message().unwrap_or("no message")
                );
                retry.insert(f.id());
            }
            let answered: HashSet<&str> = out
                .successful()
                .iter()
                .map(|s| s.id())
                .chain(out.failed().iter().map(|f| f.id()))
                .collect();
            // An entry SQS neither accepted nor rejected was not sent either.
            let next: Vec<SendMessageBatchRequestEntry> = pending
                .iter()
                .filter(|e| retry.contains(e.id()) || !answered.contains(e.id()))
                .cloned()
                .collect();
            if next.is_empty() {
                return Ok(sent);
            }
            tracing::debug!(queue = %self.queue_url, failed = next.len(), attempt, "resending failed entries");
            pending = next;
        }
        Err(Unsent {
            count: pending.len(),
            cause: format!("{cause} (after {attempts} attempts)"),
        })
    }
}

#[async_trait]
impl ReclaimQueue for SqsReclaimQueue {
    async fn enqueue(&self, batch: &[ReclaimRequest]) -> Result<EnqueueReport, StoreError> {
        // A key repeated within one call is sent once; a standard queue would otherwise deliver it twice.
        let mut seen = HashSet::new();
        let unique: Vec<&ReclaimRequest> = batch
            .iter()
            .filter(|r| seen.insert(r.dedup_key()))
            .collect();
        let repeated = batch.len() - unique.len();

        let mut chunks = Vec::new();
        for chunk in unique.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| self.entry(i, r))
                .collect::<Result<Vec<_>, _>>()?;
            chunks.push(entries);
        }
        let mut results = futures::stream::iter(chunks)
            .map(|entries| self.send_chunk(entries))
            .buffer_unordered(CONCURRENCY);
        let mut sent = 0;
        let mut unsent = 0;
        let mut causes: Vec<String> = Vec::new();
        while let Some(r) = results.next().await {
            match r {
                Ok(n) => sent += n,
                Err(u) => {
                    unsent += u.count;
                    if !causes.contains(&u.cause) {
                        causes.push(u.cause);
                    }
                }
            }
        }
        if unsent > 0 {
            return Err(StoreError::Backend(format!(
                "SQS SendMessageBatch to queue {}: {unsent} of {} reclaim requests were not sent ({}); {sent} were \
                 sent. Enqueue the plan again: requests already queued are harmless duplicates",
                self.queue_url,
                unique.len(),
                causes.join("; ")
            )));
        }
        Ok(EnqueueReport {
            enqueued: sent,
            already_queued: repeated,
        })
    }
}

/// The modelled throttling errors, also when they carry no error code (as the mocks build them).
fn is_throttled(e: &SdkError<SendMessageBatchError, HttpResponse>) -> bool {
    matches!(
        e.as_service_error(),
        Some(SendMessageBatchError::RequestThrottled(_) | SendMessageBatchError::KmsThrottled(_))
    )
}
