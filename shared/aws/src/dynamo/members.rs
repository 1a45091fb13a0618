//! Members: one item per (org, member) in the org's partition, indexed by email in the GSI.
//!
//! `removed_at` lives in its own attribute beside the JSON document and is the authoritative value: marking a
//! member removed is then one conditional UpdateItem, without reading or rewriting the document. The same update
//! records in `seen_until` the org's last complete download at that moment: a removed member was last seen by
//! the run before their removal, and no later run counts for them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use miro_sam_core::StoreError;
use miro_sam_core::domain::{DownloadRun, Email, MemberId, OrgId, Subscription};

use super::batch::{put_request, write_all};
use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, doc_item, get_s, opt_time, parse_doc, s};
use super::keys::{MEMBER_PREFIX, member_email_gsi_pk, member_sk, org_pk, sortable_time};
use super::runs;
use crate::error::is_conditional_check_failed;
use crate::table::{GSI1, GSI1_PK, GSI1_SK, PK};

const REMOVED_AT: &str = "removed_at";
const SEEN_UNTIL: &str = "seen_until";
const MEMBER_ID: &str = "member_id";

/// Parallel UpdateItems for `mark_removed`; removals are few per day, this only matters after a mass exit.
const MARK_CONCURRENCY: usize = 16;

fn item(m: &Subscription) -> Result<Item, StoreError> {
    let mut item = doc_item(org_pk(&m.org_id), member_sk(&m.member_id), "member", m)?;
    item.insert(
        GSI1_PK.to_owned(),
        s(member_email_gsi_pk(&m.org_id, &m.email)),
    );
    item.insert(GSI1_SK.to_owned(), s(member_sk(&m.member_id)));
    item.insert(MEMBER_ID.to_owned(), s(m.member_id.as_str()));
    if let Some(at) = m.removed_at {
        item.insert(REMOVED_AT.to_owned(), s(sortable_time(at)));
    }
    Ok(item)
}

/// The stored member with the store's reporting rules applied: `removed_at` from its own attribute, and
/// `last_seen_at` at least the last complete download — the org's current one while the member is present, the
/// one recorded at removal once removed.
fn read(item: &Item, last_run: Option<&DownloadRun>) -> Result<Subscription, StoreError> {
    let mut m: Subscription = parse_doc(item, "member")?;
    m.removed_at = opt_time(item, REMOVED_AT, "member")?;
    let seen_by_run = match m.removed_at {
        None => last_run.map(|r| r.completed_at),
        Some(_) => opt_time(item, SEEN_UNTIL, "member")?,
    };
    if let Some(t) = seen_by_run
        && t > m.last_seen_at
    {
        m.last_seen_at = t;
    }
    Ok(m)
}

pub(crate) async fn upsert(
    db: &Db,
    org: &OrgId,
    members: &[Subscription],
) -> Result<(), StoreError> {
    // Checked before anything is written, so a wrong call writes nothing.
    if let Some(stray) = members.iter().find(|m| &m.org_id != org) {
        return Err(StoreError::Backend(format!(
            "upsert_members for org {org} was given member {} of org {}; nothing was written",
            stray.member_id, stray.org_id
        )));
    }
    // DynamoDB refuses a batch naming one key twice; the last version of a member wins, as in a loop of puts.
    let mut seen: HashSet<&MemberId> = HashSet::with_capacity(members.len());
    let mut requests = Vec::with_capacity(members.len());
    for m in members.iter().rev() {
        if seen.insert(&m.member_id) {
            requests.push(put_request(item(m)?)?);
        }
    }
    write_all(db, requests, "members").await
}

pub(crate) async fn get(
    db: &Db,
    org: &OrgId,
    member: &MemberId,
) -> Result<Option<Subscription>, StoreError> {
    let (found, last_run) =
        futures::try_join!(db.get(org_pk(org), member_sk(member)), runs::last(db, org))?;
    found.map(|i| read(&i, last_run.as_ref())).transpose()
}

/// The GSI answers fast but may lag a write; each hit is re-read from the base table and kept only if it still
/// has this email, so a stale index entry can never return the wrong person.
pub(crate) async fn find_by_email(
    db: &Db,
    org: &OrgId,
    email: &Email,
) -> Result<Option<Subscription>, StoreError> {
    let hits = db
        .query(KeyQuery::index(
            GSI1,
            member_email_gsi_pk(org, email),
            SkRange::All,
        ))
        .await?;
    let mut ids: Vec<MemberId> = hits
        .iter()
        .filter_map(|i| get_s(i, MEMBER_ID, "member").ok())
        .filter_map(|id| MemberId::parse(id).ok())
        .collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        if let Some(m) = get(db, org, &id).await?
            && &m.email == email
        {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

pub(crate) async fn list(db: &Db, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
    let (items, last_run) = futures::try_join!(
        db.query(KeyQuery::base(
            org_pk(org),
            SkRange::BeginsWith(MEMBER_PREFIX.to_owned())
        )),
        runs::last(db, org)
    )?;
    let mut members = items
        .iter()
        .map(|i| read(i, last_run.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    Ok(members)
}

pub(crate) async fn mark_removed(
    db: &Db,
    org: &OrgId,
    members: &[MemberId],
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut ids: Vec<MemberId> = members.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(0);
    }
    // The download that marks members removed records its own run afterwards, so this is the run before.
    let seen_until = runs::last(db, org)
        .await?
        .map(|r| r.completed_at)
        .filter(|t| *t <= at)
        .map(sortable_time);
    let at = sortable_time(at);
    let mut results = futures::stream::iter(ids)
        .map(|id| mark_one(db, org, id, at.clone(), seen_until.clone()))
        .buffer_unordered(MARK_CONCURRENCY);
    let mut marked = 0;
    while let Some(r) = results.next().await {
        if r? {
            marked += 1;
        }
    }
    Ok(marked)
}

/// `false` when the member is unknown or already removed: the condition keeps an earlier removal time.
async fn mark_one(
    db: &Db,
    org: &OrgId,
    member: MemberId,
    at: String,
    seen_until: Option<String>,
) -> Result<bool, StoreError> {
    db.count_item_write();
    let mut req = db
        .client
        .update_item()
        .table_name(db.table.as_ref())
        .set_key(Some(super::item::key(org_pk(org), member_sk(&member))))
        .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#removed)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#removed", REMOVED_AT)
        .expression_attribute_values(":at", s(at));
    req = match seen_until {
        Some(t) => req
            .update_expression("SET #removed = :at, #seen = :seen")
            .expression_attribute_names("#seen", SEEN_UNTIL)
            .expression_attribute_values(":seen", s(t)),
        None => req
            .update_expression("SET #removed = :at REMOVE #seen")
            .expression_attribute_names("#seen", SEEN_UNTIL),
    };
    match req.send().await {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_check_failed(&e) => Ok(false),
        Err(e) => Err(db.err("UpdateItem (mark removed)", &e)),
    }
}
