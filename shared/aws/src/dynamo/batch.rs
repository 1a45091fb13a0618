//! `BatchWriteItem` in chunks of 25, with the items DynamoDB leaves unprocessed (and throttled calls) retried
//! under bounded, jittered backoff. Whatever still is not written ends as an error that says how much and which.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use futures::StreamExt;
use miro_sam_core::StoreError;

use super::db::{Counters, Db};
use super::item::{Item, describe_key};
use crate::error::is_transient;

/// DynamoDB's limit per `BatchWriteItem` call.
pub(crate) const MAX_BATCH: usize = 25;

/// Chunks in flight at once. On-demand tables absorb this easily; more mostly buys throttling.
const CONCURRENCY: usize = 4;

/// How many keys an error message lists before saying "and N more".
const KEYS_IN_ERRORS: usize = 5;

pub(crate) fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot build a PutRequest: {e}")))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

pub(crate) fn delete_request(key: Item) -> Result<WriteRequest, StoreError> {
    let del = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot build a DeleteRequest: {e}")))?;
    Ok(WriteRequest::builder().delete_request(del).build())
}

struct ChunkFailure {
    unwritten: Vec<WriteRequest>,
    cause: String,
}

/// Writes every request. Requests must not repeat a key (DynamoDB refuses a batch that does). Chunks are
/// independent: a chunk that fails does not stop the others, and the error counts everything not written.
pub(crate) async fn write_all(
    db: &Db,
    requests: Vec<WriteRequest>,
    what: &str,
) -> Result<(), StoreError> {
    if requests.is_empty() {
        return Ok(());
    }
    let total = requests.len();
    let chunks: Vec<Vec<WriteRequest>> = requests
        .chunks(MAX_BATCH)
        .map(<[WriteRequest]>::to_vec)
        .collect();
    let mut results = futures::stream::iter(chunks)
        .map(|chunk| write_chunk(db, chunk))
        .buffer_unordered(CONCURRENCY);

    let mut unwritten: Vec<WriteRequest> = Vec::new();
    let mut causes: Vec<String> = Vec::new();
    while let Some(result) = results.next().await {
        if let Err(f) = result {
            unwritten.extend(f.unwritten);
            if !causes.contains(&f.cause) {
                causes.push(f.cause);
            }
        }
    }
    if unwritten.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = unwritten
        .iter()
        .take(KEYS_IN_ERRORS)
        .map(request_key)
        .collect();
    let more = unwritten.len().saturating_sub(KEYS_IN_ERRORS);
    Err(StoreError::Backend(format!(
        "DynamoDB BatchWriteItem on table {}: {} of {total} {what} were not written ({}); first keys: {}{}. \
         The others were written; running the same write again completes it",
        db.table,
        unwritten.len(),
        causes.join("; "),
        keys.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
    )))
}

async fn write_chunk(db: &Db, chunk: Vec<WriteRequest>) -> Result<(), ChunkFailure> {
    let attempts = db.backoff.max_attempts.max(1);
    let mut pending = chunk;
    let mut last_cause = String::new();
    // Our loop around backon's delays: a retry sends only what the last answer left unprocessed.
    for (attempt, wait) in db.backoff.waits().enumerate() {
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Counters::add(&db.counters.batch_calls, 1);
        let sent = db
            .client
            .batch_write_item()
            .request_items(db.table.as_ref(), pending.clone())
            .send()
            .await;
        match sent {
            Ok(out) => {
                let left = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(db.table.as_ref()))
                    .unwrap_or_default();
                Counters::add(
                    &db.counters.batch_items,
                    (pending.len().saturating_sub(left.len())) as u64,
                );
                if left.is_empty() {
                    return Ok(());
                }
                tracing::debug!(table = %db.table, unprocessed = left.len(), attempt, "retrying unprocessed items");
                Counters::add(&db.counters.unprocessed_retries, 1);
                last_cause = format!("still unprocessed after {attempts} attempts");
                pending = left;
            }
            Err(e) if is_throttled(&e) || is_transient(&e) => {
                tracing::debug!(table = %db.table, attempt, error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "batch write throttled; retrying");
                Counters::add(&db.counters.transient_retries, 1);
                last_cause = format!(
                    "throttled or failing for {attempts} attempts, last: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                );
            }
            Err(e) => {
                return Err(ChunkFailure {
                    unwritten: pending,
                    cause: db.err("BatchWriteItem", &e).to_string(),
                });
            }
        }
    }
    Err(ChunkFailure {
        unwritten: pending,
        cause: last_cause,
    })
}

/// The modelled throttling errors, also when they carry no error code (as the mocks build them).
fn is_throttled(
    e: &SdkError<BatchWriteItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    matches!(
        e.as_service_error(),
        Some(
            BatchWriteItemError::ProvisionedThroughputExceededException(_)
                | BatchWriteItemError::RequestLimitExceeded(_)
                | BatchWriteItemError::ThrottlingException(_)
                | BatchWriteItemError::InternalServerError(_)
        )
    )
}

fn request_key(r: &WriteRequest) -> String {
    if let Some(p) = r.put_request() {
        return describe_key(p.item());
    }
    if let Some(d) = r.delete_request() {
        return format!("delete {}", describe_key(d.key()));
    }
    "?".to_owned()
}

#[cfg(test)]
mod tests {
    //! DynamoDB behaviour moto never shows (unprocessed items, throttling), played by `aws-smithy-mocks`.

    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::operation::batch_write_item::{
        BatchWriteItemError, BatchWriteItemOutput,
    };
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::{
        ProvisionedThroughputExceededException, ResourceNotFoundException,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use miro_sam_core::contract::fixtures::{org, subscription};
    use miro_sam_core::ports::MemberStore;

    use super::*;
    use crate::DynamoStore;
    use crate::dynamo::item::{key, s};
    use crate::retry::Backoff;

    const TABLE: &str = "miro-sam-unit";

    /// The SDK's own retries are off, so every retry seen here is ours.
    fn db(mode: RuleMode, rules: &[&Rule], attempts: u32) -> Db {
        let client: Client = mock_client!(aws_sdk_dynamodb, mode, rules, |c| c
            .retry_config(RetryConfig::disabled()));
        let mut db = Db::new(client, TABLE);
        db.backoff = Backoff::fast(attempts);
        db
    }

    fn puts(n: usize) -> Vec<WriteRequest> {
        (0..n)
            .map(|i| {
                let mut item = key("ORG#1", format!("MEMBER#{i}"));
                item.insert("doc".into(), s("{}"));
                put_request(item).unwrap()
            })
            .collect()
    }

    fn pending(
        req: &aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput,
    ) -> Vec<WriteRequest> {
        req.request_items()
            .and_then(|m| m.get(TABLE))
            .cloned()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn unprocessed_items_are_sent_again_until_written() {
        let first = mock!(Client::batch_write_item).then_compute_output(|req| {
            let sent = pending(req);
            assert_eq!(sent.len(), 25);
            BatchWriteItemOutput::builder()
                .unprocessed_items(TABLE, sent[20..].to_vec())
                .build()
        });
        let second = mock!(Client::batch_write_item)
            .match_requests(|req| pending(req).len() == 5)
            .then_output(|| BatchWriteItemOutput::builder().build());
        let db = db(RuleMode::Sequential, &[&first, &second], 5);

        write_all(&db, puts(25), "members")
            .await
            .expect("all written in the end");
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
        let stats = db.stats();
        assert_eq!(
            (
                stats.batch_calls,
                stats.batch_items,
                stats.unprocessed_retries
            ),
            (2, 25, 1)
        );
    }

    #[tokio::test]
    async fn a_throttled_batch_is_retried() {
        let rule = mock!(Client::batch_write_item)
            .sequence()
            .error(|| {
                BatchWriteItemError::ProvisionedThroughputExceededException(
                    ProvisionedThroughputExceededException::builder()
                        .message("slow down")
                        .build(),
                )
            })
            .times(2)
            .output(|| BatchWriteItemOutput::builder().build())
            .build();
        let db = db(RuleMode::Sequential, &[&rule], 5);

        write_all(&db, puts(3), "members")
            .await
            .expect("written after the throttling passed");
        assert_eq!(rule.num_calls(), 3);
        assert_eq!(db.stats().transient_retries, 2);
    }

    #[tokio::test]
    async fn writes_go_in_chunks_of_25() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let rule = mock!(Client::batch_write_item).then_compute_output(move |req| {
            seen.lock().unwrap().push(pending(req).len());
            BatchWriteItemOutput::builder().build()
        });
        let db = db(RuleMode::MatchAny, &[&rule], 5);

        write_all(&db, puts(60), "members").await.unwrap();
        let mut sizes = sizes.lock().unwrap().clone();
        sizes.sort();
        assert_eq!(sizes, [10, 25, 25]);
    }

    #[tokio::test]
    async fn items_still_unprocessed_after_the_last_attempt_are_an_error_saying_which() {
        let rule = mock!(Client::batch_write_item).then_compute_output(|req| {
            // DynamoDB keeps refusing the last two items of every chunk.
            let sent = pending(req);
            BatchWriteItemOutput::builder()
                .unprocessed_items(TABLE, sent[sent.len() - 2..].to_vec())
                .build()
        });
        let db = db(RuleMode::MatchAny, &[&rule], 4);

        let err = write_all(&db, puts(30), "members")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("4 of 30 members were not written"), "{err}");
        assert!(err.contains("still unprocessed after 4 attempts"), "{err}");
        assert!(err.contains("ORG#1/MEMBER#"), "names the keys: {err}");
        assert!(err.contains(TABLE), "{err}");
        // Two chunks, four attempts each.
        assert_eq!(rule.num_calls(), 8);
    }

    #[tokio::test]
    async fn a_permanent_error_is_not_retried() {
        let rule = mock!(Client::batch_write_item).then_error(|| {
            BatchWriteItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Requested resource not found")
                    .build(),
            )
        });
        let db = db(RuleMode::MatchAny, &[&rule], 5);

        let err = write_all(&db, puts(3), "members")
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(rule.num_calls(), 1);
        assert!(
            err.contains("3 of 3 members were not written") && err.contains("BatchWriteItem"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_store_upserts_through_the_retrying_batch_writer() {
        let calls = Arc::new(Mutex::new(0));
        let count = calls.clone();
        // The first call of every chunk loses its last item; the retry of it succeeds.
        let rule = mock!(Client::batch_write_item).then_compute_output(move |req| {
            *count.lock().unwrap() += 1;
            let sent = pending(req);
            let out = BatchWriteItemOutput::builder();
            if sent.len() > 1 {
                out.unprocessed_items(TABLE, vec![sent[0].clone()]).build()
            } else {
                out.build()
            }
        });
        // The upsert first records the members' id lengths (one UpdateItem).
        let lengths =
            mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        let client: Client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&rule, &lengths],
            |c| c.retry_config(RetryConfig::disabled())
        );
        let store = DynamoStore::new(client, TABLE).with_backoff(Backoff::fast(5));
        let o = org();
        let members: Vec<_> = (1..=50).map(|n| subscription(&o, n, 10)).collect();

        store.upsert_members(&o, &members).await.expect("upserted");
        assert_eq!(*calls.lock().unwrap(), 4, "two chunks, each sent twice");
        assert_eq!(lengths.num_calls(), 1);
        assert_eq!(store.write_stats().batch_items, 50);
    }
}
