//! The core's store conformance suite against SQLite (`:memory:`, one fresh database per test).

use std::sync::Arc;

use miro_sam_core::ports::{ReclaimQueue, SubscriptionStore, TokenStore};
use miro_sam_sqlite::SqliteStore;

fn fresh() -> SqliteStore {
    SqliteStore::in_memory().expect("in-memory SQLite opens")
}

miro_sam_core::store_contract_tests! {
    store: || async { Arc::new(fresh()) as Arc<dyn SubscriptionStore> },
    tokens: || async { Arc::new(fresh()) as Arc<dyn TokenStore> },
    queue: || async { Arc::new(fresh()) as Arc<dyn ReclaimQueue> },
}
