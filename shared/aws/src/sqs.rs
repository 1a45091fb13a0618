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
use miro_sam_core::ports::{EnqueueReport, ReactivateRequest, ReclaimQueue, ReclaimRequest};

use crate::error::{backend, is_transient};
use crate::retry::Backoff;

pub mod download_jobs;
pub use download_jobs::SqsDownloadQueue;

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

pub(crate) struct Unsent {
    /// Entries of the chunk that did go out before the chunk gave up.
    pub(crate) sent: usize,
    pub(crate) count: usize,
    pub(crate) cause: String,
}

/// What the chunks of one send came to: how many messages went out, how many did not, and each distinct reason.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) sent: usize,
    pub(crate) unsent: usize,
    causes: Vec<String>,
}

impl Tally {
    pub(crate) fn add(&mut self, chunk: Result<usize, Unsent>) {
        match chunk {
            Ok(n) => self.sent += n,
            Err(u) => {
                self.sent += u.sent;
                self.unsent += u.count;
                if !self.causes.contains(&u.cause) {
                    self.causes.push(u.cause);
                }
            }
        }
    }

    /// The distinct reasons the unsent messages were not sent.
    pub(crate) fn causes(&self) -> String {
        self.causes.join("; ")
    }
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
        self.entry_of(id, r.dedup_key(), r.to_json(), r.org_id.as_str())
    }

    /// One message: its body, its dedup key (attribute, and FIFO deduplication id) and, on FIFO, its org as
    /// the group, so one org's reclaims and undos run one at a time.
    fn entry_of(
        &self,
        id: usize,
        key: String,
        body: String,
        group: &str,
    ) -> Result<SendMessageBatchRequestEntry, StoreError> {
        let attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(key.clone())
            .build()
            .map_err(|e| {
                StoreError::Backend(format!("cannot build the dedup_key attribute: {e}"))
            })?;
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(id.to_string())
            .message_body(body)
            .message_attributes(DEDUP_KEY_ATTRIBUTE, attr);
        if self.fifo {
            entry = entry.message_deduplication_id(key).message_group_id(group);
        }
        entry
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build an SQS batch entry: {e}")))
    }

    async fn send_chunk(
        &self,
        entries: Vec<SendMessageBatchRequestEntry>,
    ) -> Result<usize, Unsent> {
        send_chunk(&self.client, &self.queue_url, &self.backoff, entries).await
    }
}

/// Sends one batch (at most [`MAX_BATCH`] entries), resending failed entries under `backoff`.
pub(crate) async fn send_chunk(
    client: &Client,
    queue_url: &str,
    backoff: &Backoff,
    entries: Vec<SendMessageBatchRequestEntry>,
) -> Result<usize, Unsent> {
    {
        let attempts = backoff.max_attempts.max(1);
        let mut pending = entries;
        let mut sent = 0;
        let mut cause = String::new();
        // Our loop around backon's delays: a retry resends only the entries SQS failed or did not answer.
        for (attempt, wait) in backoff.waits().enumerate() {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let res = client
                .send_message_batch()
                .queue_url(queue_url)
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
                        sent,
                        count: pending.len(),
                        cause: backend(
                            "SQS",
                            "SendMessageBatch",
                            &format!("queue {}", queue_url),
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
                        sent,
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
            tracing::debug!(queue = %queue_url, failed = next.len(), attempt, "resending failed entries");
            pending = next;
        }
        Err(Unsent {
            sent,
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
        let mut tally = Tally::default();
        while let Some(r) = results.next().await {
            tally.add(r);
        }
        let Tally { sent, unsent, .. } = tally;
        if unsent > 0 {
            return Err(StoreError::Backend(format!(
                "SQS SendMessageBatch to queue {}: {unsent} of {} reclaim requests were not sent ({}); {sent} were \
                 sent. Enqueue the plan again: requests already queued are harmless duplicates",
                self.queue_url,
                unique.len(),
                tally.causes()
            )));
        }
        Ok(EnqueueReport {
            enqueued: sent,
            already_queued: repeated,
        })
    }

    async fn enqueue_reactivation(&self, request: &ReactivateRequest) -> Result<(), StoreError> {
        let entry = self.entry_of(
            0,
            request.dedup_key(),
            request.to_json(),
            request.org_id.as_str(),
        )?;
        self.send_chunk(vec![entry]).await.map(|_| ()).map_err(|u| {
            StoreError::Backend(format!(
                "SQS SendMessageBatch to queue {}: the undo of member {} was not sent ({}); ask for it again",
                self.queue_url, request.member_id, u.cause
            ))
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

#[cfg(test)]
mod tests {
    //! SQS behaviour moto never shows (failed batch entries, throttling), played by `aws-smithy-mocks`.

    use std::sync::{Arc, Mutex};

    use aws_sdk_sqs::config::retry::RetryConfig;
    use aws_sdk_sqs::operation::send_message_batch::{
        SendMessageBatchInput, SendMessageBatchOutput,
    };
    use aws_sdk_sqs::types::error::RequestThrottled;
    use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use miro_sam_core::contract::fixtures::reclaim_requests;
    use miro_sam_core::domain::PlanId;

    use super::*;

    const STANDARD: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/reclaim";
    const FIFO: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/reclaim.fifo";

    fn queue(url: &str, mode: RuleMode, rules: &[&Rule], attempts: u32) -> SqsReclaimQueue {
        let client: Client = mock_client!(aws_sdk_sqs, mode, rules, |c| c
            .retry_config(RetryConfig::disabled()));
        SqsReclaimQueue::new(client, url).with_backoff(Backoff::fast(attempts))
    }

    fn requests(n: u64) -> Vec<ReclaimRequest> {
        reclaim_requests(PlanId::new(), n)
    }

    fn ok(id: &str) -> SendMessageBatchResultEntry {
        SendMessageBatchResultEntry::builder()
            .id(id)
            .message_id(format!("m-{id}"))
            .md5_of_message_body("0")
            .build()
            .unwrap()
    }

    fn failed(id: &str, sender_fault: bool) -> BatchResultErrorEntry {
        BatchResultErrorEntry::builder()
            .id(id)
            .sender_fault(sender_fault)
            .code(if sender_fault {
                "InvalidParameterValue"
            } else {
                "InternalError"
            })
            .message("entry failed")
            .build()
            .unwrap()
    }

    /// Accepts every entry of the request except those `fail` picks.
    fn answer(
        req: &SendMessageBatchInput,
        fail: impl Fn(&str) -> Option<bool>,
    ) -> SendMessageBatchOutput {
        let mut out = SendMessageBatchOutput::builder();
        let (mut okays, mut fails) = (Vec::new(), Vec::new());
        for e in req.entries() {
            match fail(e.id()) {
                Some(sender_fault) => fails.push(failed(e.id(), sender_fault)),
                None => okays.push(ok(e.id())),
            }
        }
        out = out.set_successful(Some(okays)).set_failed(Some(fails));
        out.build().unwrap()
    }

    #[tokio::test]
    async fn a_failed_entry_is_sent_again_not_lost() {
        let first = mock!(Client::send_message_batch)
            .then_compute_output(|req| answer(req, |id| (id == "3").then_some(false)));
        let resent: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = resent.clone();
        let second = mock!(Client::send_message_batch).then_compute_output(move |req| {
            log.lock()
                .unwrap()
                .extend(req.entries().iter().map(|e| e.message_body().to_owned()));
            answer(req, |_| None)
        });
        let batch = requests(10);
        let q = queue(STANDARD, RuleMode::Sequential, &[&first, &second], 5);

        let report = q.enqueue(&batch).await.expect("sent in the end");
        assert_eq!(report.enqueued, 10);
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
        assert_eq!(
            *resent.lock().unwrap(),
            vec![batch[3].to_json()],
            "only the failed entry is resent"
        );
    }

    #[tokio::test]
    async fn an_entry_that_keeps_failing_is_an_error_naming_how_many_were_not_sent() {
        let rule = mock!(Client::send_message_batch)
            .then_compute_output(|req| answer(req, |id| (id == "0").then_some(false)));
        let q = queue(STANDARD, RuleMode::MatchAny, &[&rule], 3);

        let err = q.enqueue(&requests(25)).await.unwrap_err().to_string();
        // Entry "0" of each of the three batches never goes through.
        assert!(
            err.contains("3 of 25 reclaim requests were not sent"),
            "{err}"
        );
        assert!(err.contains("22 were sent"), "{err}");
        assert!(
            err.contains("InternalError") && err.contains("after 3 attempts"),
            "{err}"
        );
        assert_eq!(rule.num_calls(), 3 + 3 + 3);
    }

    #[tokio::test]
    async fn a_malformed_entry_is_not_resent() {
        let rule = mock!(Client::send_message_batch)
            .then_compute_output(|req| answer(req, |id| (id == "1").then_some(true)));
        let q = queue(STANDARD, RuleMode::MatchAny, &[&rule], 5);

        let err = q.enqueue(&requests(2)).await.unwrap_err().to_string();
        assert_eq!(rule.num_calls(), 1);
        assert!(
            err.contains("1 of 2 reclaim requests were not sent") && err.contains("malformed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_throttled_batch_call_is_retried() {
        let rule = mock!(Client::send_message_batch)
            .sequence()
            .error(|| {
                SendMessageBatchError::RequestThrottled(
                    RequestThrottled::builder().message("slow").build(),
                )
            })
            .output(|| {
                SendMessageBatchOutput::builder()
                    .set_successful(Some((0..4).map(|i| ok(&i.to_string())).collect()))
                    .set_failed(Some(vec![]))
                    .build()
                    .unwrap()
            })
            .build();
        let q = queue(STANDARD, RuleMode::Sequential, &[&rule], 5);

        assert_eq!(q.enqueue(&requests(4)).await.unwrap().enqueued, 4);
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn fifo_entries_carry_the_dedup_key_and_the_org_as_group() {
        let rule = mock!(Client::send_message_batch)
            .match_requests(|req| {
                req.entries().iter().all(|e| {
                    let r = ReclaimRequest::from_json(e.message_body()).unwrap();
                    e.message_deduplication_id() == Some(r.dedup_key().as_str())
                        && e.message_group_id() == Some(r.org_id.as_str())
                        && e.message_attributes().unwrap()[DEDUP_KEY_ATTRIBUTE].string_value()
                            == Some(r.dedup_key().as_str())
                })
            })
            .then_compute_output(|req| answer(req, |_| None));
        let q = queue(FIFO, RuleMode::MatchAny, &[&rule], 2);
        assert!(q.is_fifo());
        assert_eq!(q.enqueue(&requests(12)).await.unwrap().enqueued, 12);
        assert_eq!(rule.num_calls(), 2);

        // A standard queue gets the attribute but no FIFO fields.
        let standard_rule = mock!(Client::send_message_batch)
            .match_requests(|req| {
                req.entries().iter().all(|e| {
                    e.message_deduplication_id().is_none() && e.message_group_id().is_none()
                })
            })
            .then_compute_output(|req| answer(req, |_| None));
        let q = queue(STANDARD, RuleMode::MatchAny, &[&standard_rule], 2);
        assert_eq!(q.enqueue(&requests(3)).await.unwrap().enqueued, 3);
        assert_eq!(standard_rule.num_calls(), 1);
    }
}
