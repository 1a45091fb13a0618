//! OAuth `state` values between the start of a code flow and its callback (connecting an org at `/oauth/start`,
//! signing in to the console): stored for ten minutes, usable once; the core's `OAuthStates` port. The same
//! store consumes connect links at `/oauth/start` (`use_link`, in `link_nonce.rs`).
//!
//! The callback takes a state with a conditional DeleteItem, so of two requests carrying the same state (a
//! replayed redirect, a double click) exactly one gets it. DynamoDB's TTL sweeper deletes expired items only
//! eventually (often hours late), so expiry is checked against the stored time on every take as well.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Duration, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::ports::{Clock, OAuthStates, SystemClock};
pub use miro_sam_core::ports::{OAUTH_STATE_TTL, StateTake, TakenState};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::db::Db;
use super::item::{Item, get_s, get_time, key, n, s};
use super::keys::{OAUTH_STATE_SK, oauth_state_pk, sortable_time};
use crate::error::is_conditional_check_failed;
use crate::table::{PK, TTL};

const DATA: &str = "data";
const CREATED_AT: &str = "created_at";
const EXPIRES_AT: &str = "expires_at";

/// The OAuth state items of the table.
#[derive(Clone)]
pub struct OAuthStateStore {
    // Shared with `link_nonce`, the other half of what `/oauth/start` writes.
    pub(super) db: Db,
    pub(super) clock: Arc<dyn Clock>,
    ttl: Duration,
}

impl std::fmt::Debug for OAuthStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthStateStore")
            .field("table", &self.db.table)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl OAuthStateStore {
    pub fn new(client: Client, table: &str) -> Self {
        OAuthStateStore {
            db: Db::new(client, table),
            clock: Arc::new(SystemClock),
            ttl: OAUTH_STATE_TTL,
        }
    }

    /// Another notion of "now", for tests of expiry.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A fresh state value: 256 random bits, hex.
    pub fn generate_state() -> String {
        hex::encode(rand::rng().random::<[u8; 32]>())
    }

    /// Stores `state` with `data` for [`OAUTH_STATE_TTL`] and returns when it expires.
    /// [`StoreError::AlreadyExists`] if the same state is already stored (it must be random; see
    /// [`Self::generate_state`]).
    pub async fn put(&self, state: &str, data: &str) -> Result<DateTime<Utc>, StoreError> {
        if state.trim().is_empty() {
            return Err(StoreError::Backend(
                "refusing to store an empty OAuth state".into(),
            ));
        }
        let now = self.clock.now();
        let expires_at = now + self.ttl;
        let mut item = key(oauth_state_pk(&hash(state)), OAUTH_STATE_SK);
        item.insert(DATA.to_owned(), s(data));
        item.insert(CREATED_AT.to_owned(), s(sortable_time(now)));
        item.insert(EXPIRES_AT.to_owned(), s(sortable_time(expires_at)));
        // Rounded up, so the sweeper never deletes an item before the readers' own check would refuse it.
        let ttl_secs = expires_at.timestamp() + i64::from(expires_at.timestamp_subsec_nanos() > 0);
        item.insert(TTL.to_owned(), n(ttl_secs));
        if self.db.put_if_absent(item).await? {
            Ok(expires_at)
        } else {
            Err(StoreError::AlreadyExists {
                what: "this OAuth state".into(),
            })
        }
    }

    /// Takes `state` out of the table: only the first caller gets it.
    pub async fn take(&self, state: &str) -> Result<StateTake, StoreError> {
        self.db.count_item_write();
        let res = self
            .db
            .client
            .delete_item()
            .table_name(self.db.table.as_ref())
            .set_key(Some(key(oauth_state_pk(&hash(state)), OAUTH_STATE_SK)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old: Item = match res {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) if is_conditional_check_failed(&e) => return Ok(StateTake::Unknown),
            Err(e) => return Err(self.db.err("DeleteItem (take OAuth state)", &e)),
        };
        let what = "OAuth state";
        let expires_at = get_time(&old, EXPIRES_AT, what)?;
        if self.clock.now() >= expires_at {
            return Ok(StateTake::Expired {
                expired_at: expires_at,
            });
        }
        Ok(StateTake::Valid(TakenState {
            data: get_s(&old, DATA, what)?.to_owned(),
            created_at: get_time(&old, CREATED_AT, what)?,
            expires_at,
        }))
    }
}

/// The core's port: what connecting an org and signing in to the console use.
#[async_trait]
impl OAuthStates for OAuthStateStore {
    async fn issue_state(&self, data: &str) -> Result<String, StoreError> {
        let state = Self::generate_state();
        self.put(&state, data).await?;
        Ok(state)
    }

    async fn take_state(&self, state: &str) -> Result<StateTake, StoreError> {
        self.take(state).await
    }
}

/// States are stored hashed: a nonce needs no readable copy in the table.
fn hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}
