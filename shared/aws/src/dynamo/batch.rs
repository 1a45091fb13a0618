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
    for attempt in 0..attempts {
        if attempt > 0 {
            db.backoff.wait(attempt - 1).await;
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
