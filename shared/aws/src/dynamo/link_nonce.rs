//! Connect links work once: `/oauth/start` consumes a link's nonce with a conditional PutItem before it sends the
//! admin to Miro, so of two requests carrying the same link (a forwarded e-mail, a second click) exactly one
//! starts a connection.
//!
//! Item: pk `LINK#{sha256(nonce)}`, sk `USED`, with `used_at`, `expires_at` (the link's own expiry) and `ttl`
//! at that expiry: after it the link is refused as expired anyway, so DynamoDB may sweep the item. The nonce is
//! stored hashed: the table needs no readable copy of a part of a link.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use sha2::{Digest, Sha256};

use super::item::{get_time, key, n, s};
use super::keys::sortable_time;
use super::oauth_state::OAuthStateStore;
use crate::table::{PK, TTL};

const LINK_PREFIX: &str = "LINK#";
const LINK_USED_SK: &str = "USED";
const USED_AT: &str = "used_at";
const EXPIRES_AT: &str = "expires_at";

/// What consuming a link's nonce found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkUse {
    /// This request is the link's one use.
    First,
    /// The link was used before (at `used_at`, when the table still says).
    AlreadyUsed { used_at: Option<DateTime<Utc>> },
}

fn link_pk(nonce: &str) -> String {
    format!(
        "{LINK_PREFIX}{}",
        hex::encode(Sha256::digest(nonce.as_bytes()))
    )
}

impl OAuthStateStore {
    /// Marks the link with `nonce` (expiring at `link_expires_at`) as used; only the first caller gets
    /// [`LinkUse::First`].
    pub async fn use_link(
        &self,
        nonce: &str,
        link_expires_at: DateTime<Utc>,
    ) -> Result<LinkUse, StoreError> {
        if nonce.trim().is_empty() {
            return Err(StoreError::Backend(
                "refusing to record a connect link without a nonce".into(),
            ));
        }
        let mut item = key(link_pk(nonce), LINK_USED_SK);
        item.insert(USED_AT.to_owned(), s(sortable_time(self.clock.now())));
        item.insert(EXPIRES_AT.to_owned(), s(sortable_time(link_expires_at)));
        // Rounded up, so the sweeper never deletes the item while the link could still verify.
        let ttl =
            link_expires_at.timestamp() + i64::from(link_expires_at.timestamp_subsec_nanos() > 0);
        item.insert(TTL.to_owned(), n(ttl));
        self.db.count_item_write();
        let res = self
            .db
            .client
            .put_item()
            .table_name(self.db.table.as_ref())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            // Returns the earlier use on refusal, so the page can say when.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(LinkUse::First),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let used_at = c
                        .item()
                        .and_then(|old| get_time(old, USED_AT, "connect link use").ok());
                    Ok(LinkUse::AlreadyUsed { used_at })
                }
                _ => Err(self.db.err("PutItem (use connect link)", &e)),
            },
        }
    }
}
