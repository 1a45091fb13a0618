//! Which id lengths an org's stored members have: one item per org (`ORG#{org}` / `MEMBER_ID_LENGTHS`).
//!
//! Why: member sort keys are text (`MEMBER#{id}`), whose order is numeric order only among ids of one length, so
//! a page in numeric order reads one id length at a time. The text range of a length also holds every longer id
//! (`MEMBER#3` … `MEMBER#9` holds all of Miro's 19-digit ids), so a pass over a length no member has reads the
//! whole org and keeps nothing: without this item a page from the start of an org read it 18 times, and a page
//! at its end once more. With it, a page reads only the lengths that exist: one Query for Miro's ids.
//!
//! Kept exact by two rules: an upsert adds its members' lengths (`ADD`, a set union) BEFORE it writes them, so
//! every member written has its length in the set; and `complete` is set only by [`backfill`], which reads the
//! keys of every member already stored (those written by builds before this item existed) and adds theirs.
//! Lengths are never removed (members are never deleted), so a length once seen stays true, and a process may
//! remember the lengths it has seen to skip the write when a batch brings none new.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;

use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, get_s};
use super::keys::{MEMBER_ID_LENGTHS_SK, MEMBER_PREFIX, org_pk};
use crate::error::corrupt;
use crate::table::SK;

const LENGTHS: &str = "lengths";
const COMPLETE: &str = "complete";

fn parse_lengths(item: &Item) -> Result<BTreeSet<usize>, StoreError> {
    match item.get(LENGTHS) {
        None => Ok(BTreeSet::new()),
        Some(AttributeValue::Ns(ns)) => ns
            .iter()
            .map(|n| {
                n.parse().map_err(|e| {
                    corrupt("member id lengths", format!("{LENGTHS} holds {n:?}: {e}"))
                })
            })
            .collect(),
        Some(_) => Err(corrupt(
            "member id lengths",
            format!("{LENGTHS} is not a number set"),
        )),
    }
}

/// Adds `lengths` to the org's set, unless this process saw them all stored already. Called before the members
/// are written.
pub(crate) async fn record(
    db: &Db,
    org: &OrgId,
    lengths: &BTreeSet<usize>,
) -> Result<(), StoreError> {
    if lengths.is_empty() || db.known_id_lengths(org).is_superset(lengths) {
        return Ok(());
    }
    let out = db
        .update_item(org_pk(org), MEMBER_ID_LENGTHS_SK)
        .update_expression("ADD #lengths :lengths")
        .expression_attribute_names("#lengths", LENGTHS)
        .expression_attribute_values(
            ":lengths",
            AttributeValue::Ns(lengths.iter().map(usize::to_string).collect()),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(|e| db.err("UpdateItem (member id lengths)", &e))?;
    let stored = parse_lengths(&out.attributes.unwrap_or_default())?;
    db.remember_id_lengths(org, &stored);
    Ok(())
}

/// The id lengths of the org's stored members (strongly consistent). The first call on an org whose set is not
/// known complete fills it in from the stored members' keys ([`backfill`]).
pub(crate) async fn read(db: &Db, org: &OrgId) -> Result<BTreeSet<usize>, StoreError> {
    let item = db.get(org_pk(org), MEMBER_ID_LENGTHS_SK).await?;
    let complete = item
        .as_ref()
        .is_some_and(|i| matches!(i.get(COMPLETE), Some(AttributeValue::Bool(true))));
    let stored = item
        .as_ref()
        .map(parse_lengths)
        .transpose()?
        .unwrap_or_default();
    if complete {
        db.remember_id_lengths(org, &stored);
        return Ok(stored);
    }
    let mut all = backfill(db, org).await?;
    all.extend(stored);
    Ok(all)
}

/// Reads every stored member's key once (an org stored by builds before this item, or a new org), adds their
/// lengths and marks the set complete. If the write is refused (a role that may only read), the lengths found
/// still answer this call.
async fn backfill(db: &Db, org: &OrgId) -> Result<BTreeSet<usize>, StoreError> {
    let mut q = KeyQuery::base(org_pk(org), SkRange::BeginsWith(MEMBER_PREFIX.to_owned()));
    q.projection = Some("sk");
    let lengths: BTreeSet<usize> = db
        .query(q)
        .await?
        .iter()
        .map(|i| get_s(i, SK, "member").map(|sk| sk.len() - MEMBER_PREFIX.len()))
        .collect::<Result<_, _>>()?;
    let mut req = db
        .update_item(org_pk(org), MEMBER_ID_LENGTHS_SK)
        .expression_attribute_names("#complete", COMPLETE)
        .expression_attribute_values(":complete", AttributeValue::Bool(true));
    req = if lengths.is_empty() {
        req.update_expression("SET #complete = :complete")
    } else {
        req.update_expression("SET #complete = :complete ADD #lengths :lengths")
            .expression_attribute_names("#lengths", LENGTHS)
            .expression_attribute_values(
                ":lengths",
                AttributeValue::Ns(lengths.iter().map(usize::to_string).collect()),
            )
    };
    if let Err(e) = req.send().await {
        tracing::warn!(
            org = %org,
            error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e),
            "could not record the org's member id lengths; each page reads every member's key until it is"
        );
    } else {
        db.remember_id_lengths(org, &lengths);
    }
    Ok(lengths)
}
