//! The core's store conformance suite against SQLite (`:memory:`, one fresh database per test).

use std::sync::Arc;

use async_trait::async_trait;
use miro_sam_core::contract::{QueueProbe, QueueUnderTest};
use miro_sam_core::ports::{Clock, OAuthStates, ReclaimRequest, SubscriptionStore, TokenStore};
use miro_sam_sqlite::SqliteStore;

fn fresh() -> SqliteStore {
    SqliteStore::in_memory().expect("in-memory SQLite opens")
}

/// Reads the queue table the way the CLI's executor does: waiting requests, each marked done once read.
struct Drain(Arc<SqliteStore>);

#[async_trait]
impl QueueProbe for Drain {
    async fn drain(&self) -> Vec<ReclaimRequest> {
        let queued = self
            .0
            .queued_requests(usize::MAX)
            .await
            .expect("read the queue");
        for q in &queued {
            self.0
                .complete_request(&q.dedup_key)
                .await
                .expect("complete a request");
        }
        queued.iter().filter_map(|q| q.reclaim().cloned()).collect()
    }
}

fn fresh_queue() -> QueueUnderTest {
    let store = Arc::new(fresh());
    QueueUnderTest {
        queue: store.clone(),
        probe: Arc::new(Drain(store)),
    }
}

miro_sam_core::store_contract_tests! {
    store: || async { Arc::new(fresh()) as Arc<dyn SubscriptionStore> },
    tokens: || async { Arc::new(fresh()) as Arc<dyn TokenStore> },
    queue: || async { fresh_queue() },
    oauth_states: |clock: Arc<dyn Clock>| async move {
        Arc::new(fresh().with_clock(clock)) as Arc<dyn OAuthStates>
    },
}
