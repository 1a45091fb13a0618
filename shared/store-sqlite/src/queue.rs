//! A `ReclaimQueue` that appends to a table; the CLI drains it in-process with [`SqliteStore::queued_requests`]
//! and [`SqliteStore::complete_request`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::ports::{
    EnqueueReport, ReactivateRequest, ReclaimQueue, ReclaimRequest, WorkMessage,
};
use rusqlite::{TransactionBehavior, params};

use crate::SqliteStore;
use crate::codec::{backend, parse_ts, parsed, ts};

/// A request waiting to be executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRequest {
    pub dedup_key: String,
    pub message: WorkMessage,
    pub enqueued_at: DateTime<Utc>,
}

impl QueuedRequest {
    /// The reclaim this is, if it is one (not an undo).
    pub fn reclaim(&self) -> Option<&ReclaimRequest> {
        match &self.message {
            WorkMessage::Reclaim(r) => Some(r),
            WorkMessage::Reactivate(_) => None,
        }
    }
}

#[async_trait]
impl ReclaimQueue for SqliteStore {
    async fn enqueue(&self, batch: &[ReclaimRequest]) -> Result<EnqueueReport, StoreError> {
        let rows: Vec<(String, String, String)> = batch
            .iter()
            .map(|r| (r.dedup_key(), r.org_id.to_string(), r.to_json()))
            .collect();
        self.insert_messages(rows).await
    }

    async fn enqueue_reactivation(&self, request: &ReactivateRequest) -> Result<(), StoreError> {
        let row = (
            request.dedup_key(),
            request.org_id.to_string(),
            request.to_json(),
        );
        self.insert_messages(vec![row]).await.map(|_| ())
    }
}

impl SqliteStore {
    /// Appends (dedup key, org, body) rows; a key seen before is not queued again.
    async fn insert_messages(
        &self,
        rows: Vec<(String, String, String)>,
    ) -> Result<EnqueueReport, StoreError> {
        let now = ts(Utc::now());
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            let mut report = EnqueueReport::default();
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO reclaim_queue (dedup_key, org_id, body, enqueued_at) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (dedup_key) DO NOTHING",
                    )
                    .map_err(backend)?;
                for (key, org, body) in &rows {
                    match stmt.execute(params![key, org, body, now]).map_err(backend)? {
                        0 => report.already_queued += 1,
                        _ => report.enqueued += 1,
                    }
                }
            }
            tx.commit().map_err(backend)?;
            Ok(report)
        })
        .await
    }

    /// Requests not yet completed, oldest first, at most `limit`.
    pub async fn queued_requests(&self, limit: usize) -> Result<Vec<QueuedRequest>, StoreError> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let rows: Vec<(String, String, String)> = self
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT dedup_key, body, enqueued_at FROM reclaim_queue WHERE done_at IS NULL \
                         ORDER BY rowid LIMIT ?1",
                    )
                    .map_err(backend)?;
                stmt.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(backend)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(backend)
            })
            .await?;
        rows.into_iter()
            .map(|(key, body, at)| {
                Ok(QueuedRequest {
                    message: parsed("queued message", WorkMessage::from_json(&body))?,
                    enqueued_at: parse_ts("queued reclaim request", &at)?,
                    dedup_key: key,
                })
            })
            .collect()
    }

    /// Marks a request executed (whatever its outcome: the reclaim record holds that). The key stays, so the
    /// same request is never queued again.
    pub async fn complete_request(&self, dedup_key: &str) -> Result<bool, StoreError> {
        let (key, now) = (dedup_key.to_owned(), ts(Utc::now()));
        self.call(move |c| {
            let n = c
                .execute(
                    "UPDATE reclaim_queue SET done_at = ?2 WHERE dedup_key = ?1 AND done_at IS NULL",
                    params![key, now],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }
}
