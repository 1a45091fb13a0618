//! The per-org token version item (`ORG#{org}` / `TOKENS`): the compare-and-set point of the Secrets Manager
//! token store, and the refresh lease that keeps concurrent workers from spending the same refresh token twice.
//! The tokens themselves never touch the table.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;

use super::db::Db;
use super::item::{Item, get_n, key, n};
use super::keys::{TOKENS_SK, org_pk};
use crate::error::is_conditional_check_failed;
use crate::table::PK;

const VERSION: &str = "version";
/// Epoch milliseconds until which one worker holds the right to refresh.
const LEASE_UNTIL: &str = "lease_until_ms";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenState {
    pub version: u64,
    pub lease_until_ms: Option<i64>,
}

fn read_state(item: &Item) -> Result<TokenState, StoreError> {
    let what = "token version item";
    Ok(TokenState {
        version: get_n(item, VERSION, what)?,
        lease_until_ms: item
            .contains_key(LEASE_UNTIL)
            .then(|| get_n(item, LEASE_UNTIL, what))
            .transpose()?,
    })
}

pub(crate) async fn read(db: &Db, org: &OrgId) -> Result<Option<TokenState>, StoreError> {
    db.get(org_pk(org), TOKENS_SK)
        .await?
        .map(|i| read_state(&i))
        .transpose()
}

/// Unconditional next version (connect / reconnect); drops any lease.
pub(crate) async fn bump(db: &Db, org: &OrgId) -> Result<u64, StoreError> {
    let out = db
        .update_item(org_pk(org), TOKENS_SK)
        .update_expression("ADD #v :one REMOVE #lease")
        .expression_attribute_names("#v", VERSION)
        .expression_attribute_names("#lease", LEASE_UNTIL)
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|e| db.err("UpdateItem (token version)", &e))?;
    get_n(
        &out.attributes.unwrap_or_default(),
        VERSION,
        "token version item",
    )
}

/// `expected` → `expected + 1` if the stored version is still `expected`; `None` if it is not (or there is no
/// item). Drops any lease: the refresh it protected is done.
pub(crate) async fn compare_and_bump(
    db: &Db,
    org: &OrgId,
    expected: u64,
) -> Result<Option<u64>, StoreError> {
    let next = expected + 1;
    let bumped = update_if(
        db,
        org,
        "SET #v = :next REMOVE #lease",
        "#v = :expected",
        &[("#v", VERSION), ("#lease", LEASE_UNTIL)],
        &[(":next", n(next)), (":expected", n(expected))],
        "UpdateItem (token compare-and-set)",
    )
    .await?;
    Ok(bumped.then_some(next))
}

/// Creates the item for a bundle that exists without one (written by hand, or by an older build).
/// `false` if someone else created it first.
pub(crate) async fn adopt(db: &Db, org: &OrgId, version: u64) -> Result<bool, StoreError> {
    let mut item = key(org_pk(org), TOKENS_SK);
    item.insert(VERSION.to_owned(), n(version));
    db.put_if_absent(item).await
}

/// Takes the refresh lease of `version` until `until_ms`, if nobody holds an unexpired one and the version is
/// still `version`. `false` when another worker holds it or the tokens moved on.
pub(crate) async fn try_lease(
    db: &Db,
    org: &OrgId,
    version: u64,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool, StoreError> {
    update_if(
        db,
        org,
        "SET #lease = :until",
        "attribute_exists(#pk) AND #v = :v AND (attribute_not_exists(#lease) OR #lease <= :now)",
        &[("#pk", PK), ("#v", VERSION), ("#lease", LEASE_UNTIL)],
        &[
            (":v", n(version)),
            (":now", n(now_ms)),
            (":until", n(until_ms)),
        ],
        "UpdateItem (token refresh lease)",
    )
    .await
}

/// Removes the lease of `version` that ends at `until_ms` (the caller's own); anything else stays as it is.
pub(crate) async fn release_lease(
    db: &Db,
    org: &OrgId,
    version: u64,
    until_ms: i64,
) -> Result<(), StoreError> {
    // Not applied: the lease was not ours (it ended and someone else took it, or the tokens moved on).
    update_if(
        db,
        org,
        "REMOVE #lease",
        "#v = :v AND #lease = :until",
        &[("#v", VERSION), ("#lease", LEASE_UNTIL)],
        &[(":v", n(version)), (":until", n(until_ms))],
        "UpdateItem (release token refresh lease)",
    )
    .await?;
    Ok(())
}

/// One conditional UpdateItem of the org's token item: `true` if applied, `false` if `condition` did not hold
/// (or there is no item); any other failure is an error named `what`.
async fn update_if(
    db: &Db,
    org: &OrgId,
    update: &str,
    condition: &str,
    names: &[(&str, &str)],
    values: &[(&str, AttributeValue)],
    what: &str,
) -> Result<bool, StoreError> {
    let mut req = db
        .update_item(org_pk(org), TOKENS_SK)
        .update_expression(update)
        .condition_expression(condition);
    for (k, v) in names {
        req = req.expression_attribute_names(*k, *v);
    }
    for (k, v) in values {
        req = req.expression_attribute_values(*k, v.clone());
    }
    match req.send().await {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_check_failed(&e) => Ok(false),
        Err(e) => Err(db.err(what, &e)),
    }
}
