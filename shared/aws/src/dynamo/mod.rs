//! The DynamoDB adapter of [`SubscriptionStore`]: one table, single-table design (see `TABLE.md`). Each resource
//! has its file of item reads and writes (`members`, `plans`, ...); `member_store`, `plan_store`, `audit_store`
//! and `org_store` implement the four store traits over them.
//!
//! [`SubscriptionStore`]: miro_sam_core::ports::SubscriptionStore

mod audit;
mod audit_store;
pub(crate) mod batch;
pub(crate) mod db;
mod download_lease;
mod holds;
pub(crate) mod item;
pub(crate) mod keys;
mod link_nonce;
mod member_id_lengths;
mod member_store;
mod members;
mod notices;
mod oauth_state;
mod org_store;
mod orgs;
mod plan_store;
mod plans;
mod policies;
mod reclaims;
mod runs;
mod snapshots;
mod timeline;
pub(crate) mod token_state;

use aws_sdk_dynamodb::Client;

pub use db::{ReadStats, WriteStats};
pub use link_nonce::LinkUse;
pub use oauth_state::{OAUTH_STATE_TTL, OAuthStateStore, StateTake, TakenState};

use crate::retry::Backoff;
use db::Db;

/// [`SubscriptionStore`](miro_sam_core::ports::SubscriptionStore) (all four store traits) on one DynamoDB
/// table. Cheap to clone; clones share the client and the counters.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    db: Db,
}

impl DynamoStore {
    /// A store on `table`, which must exist with the layout of [`crate::table::create_table`].
    pub fn new(client: Client, table: &str) -> Self {
        DynamoStore {
            db: Db::new(client, table),
        }
    }

    /// Replaces the retry schedule of batch writes (unprocessed items, throttling).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.db.backoff = backoff;
        self
    }

    pub fn table_name(&self) -> &str {
        &self.db.table
    }

    /// What this store (and its clones) wrote so far.
    pub fn write_stats(&self) -> WriteStats {
        self.db.stats()
    }

    /// What this store (and its clones) read so far.
    pub fn read_stats(&self) -> ReadStats {
        self.db.read_stats()
    }
}
