//! The per-org download lease: one item `ORG#{org}` / `DOWNLOAD#LEASE` with the holder and until when (epoch
//! milliseconds). Taking it is one conditional put (free, expired, or already the holder's), so of two workers
//! only one downloads an org; releasing is a delete conditioned on the holder.

use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::DownloadLease;

use super::db::Db;
use super::item::{get_n, get_s, key, n, s};
use super::keys::org_pk;
use crate::error::is_conditional_check_failed;
use crate::table::PK;

/// In the org's partition, next to the download's checkpoint (`DOWNLOAD#CHECKPOINT`) and last run.
pub(crate) const DOWNLOAD_LEASE_SK: &str = "DOWNLOAD#LEASE";
const HOLDER: &str = "holder";
const UNTIL: &str = "until_ms";

pub(crate) async fn take(
    db: &Db,
    org: &OrgId,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<DownloadLease, StoreError> {
    let mut item = key(org_pk(org), DOWNLOAD_LEASE_SK);
    item.insert(HOLDER.to_owned(), s(holder));
    item.insert(UNTIL.to_owned(), n(until.timestamp_millis()));
    db.count_item_write();
    let res = db
        .client
        .put_item()
        .table_name(db.table.as_ref())
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk) OR #until <= :now OR #holder = :holder")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#until", UNTIL)
        .expression_attribute_names("#holder", HOLDER)
        .expression_attribute_values(":now", n(now.timestamp_millis()))
        .expression_attribute_values(":holder", s(holder))
        .return_values_on_condition_check_failure(
            aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
        )
        .send()
        .await;
    let err = match res {
        Ok(_) => return Ok(DownloadLease::Taken),
        Err(e) if is_conditional_check_failed(&e) => e,
        Err(e) => return Err(db.err("PutItem (download lease)", &e)),
    };
    // The holder's item, from the failed condition when the service returns it, else read.
    let old = err.as_service_error().and_then(|s| match s {
        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
            c.item.clone()
        }
        _ => None,
    });
    let old = match old {
        Some(i) => Some(i),
        None => db.get(org_pk(org), DOWNLOAD_LEASE_SK).await?,
    };
    let Some(old) = old else {
        // Released between the put and the read: ask again.
        return Box::pin(take(db, org, holder, now, until)).await;
    };
    let what = "download lease";
    let until_ms: i64 = get_n(&old, UNTIL, what)?;
    Ok(DownloadLease::Held {
        holder: get_s(&old, HOLDER, what)?.to_owned(),
        until: DateTime::from_timestamp_millis(until_ms).ok_or_else(|| StoreError::Corrupt {
            what: what.into(),
            detail: format!("org {org}: {UNTIL} {until_ms} is not a time"),
        })?,
    })
}

pub(crate) async fn release(db: &Db, org: &OrgId, holder: &str) -> Result<bool, StoreError> {
    db.count_item_write();
    let res = db
        .client
        .delete_item()
        .table_name(db.table.as_ref())
        .set_key(Some(key(org_pk(org), DOWNLOAD_LEASE_SK)))
        .condition_expression("#holder = :holder")
        .expression_attribute_names("#holder", HOLDER)
        .expression_attribute_values(":holder", s(holder))
        .send()
        .await;
    match res {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_check_failed(&e) => Ok(false),
        Err(e) => Err(db.err("DeleteItem (download lease)", &e)),
    }
}
