//! The core's store conformance suite, unchanged, against DynamoDB, Secrets Manager and SQS (moto).

mod common;

use std::sync::Arc;

use miro_sam_core::ports::{ReclaimQueue, SubscriptionStore, TokenStore};

miro_sam_core::store_contract_tests! {
    store: || async { Arc::new(common::fresh_store().await) as Arc<dyn SubscriptionStore> },
    tokens: || async { Arc::new(common::fresh_tokens().await) as Arc<dyn TokenStore> },
    queue: || async { Arc::new(common::fresh_queue().await) as Arc<dyn ReclaimQueue> },
}
