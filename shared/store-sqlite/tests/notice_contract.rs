//! The core's notice store contract against SQLite (`:memory:`, one fresh database per test).

use std::sync::Arc;

use miro_sam_core::ports::NoticeStore;
use miro_sam_sqlite::SqliteStore;

miro_sam_core::notice_store_contract_tests! {
    notices: || async {
        Arc::new(SqliteStore::in_memory().expect("in-memory SQLite opens")) as Arc<dyn NoticeStore>
    },
}
