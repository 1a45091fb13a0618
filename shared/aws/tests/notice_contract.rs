//! The core's notice store contract, unchanged, against DynamoDB (moto), one fresh table per test.

mod common;

use std::sync::Arc;

use miro_sam_core::ports::NoticeStore;

miro_sam_core::notice_store_contract_tests! {
    notices: || async { Arc::new(common::fresh_store().await) as Arc<dyn NoticeStore> },
}
