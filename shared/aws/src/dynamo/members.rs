//! Members: one item per (org, member) in the org's partition, indexed by exact email in GSI1 and in (email, id)
//! order in GSI2 (the console's search by email prefix). Both index keys sit on the member item itself, so an
//! upsert writes one item and an email change moves the index entries with it.
//!
//! `removed_at` lives in its own attribute beside the JSON document and is the authoritative value: marking a
//! member removed is then one conditional UpdateItem, without reading or rewriting the document. The same update
//! records in `seen_until` the org's last complete download at that moment: a removed member was last seen by
//! the run before their removal, and no later run counts for them.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use miro_sam_core::StoreError;
use miro_sam_core::domain::{DownloadRun, Email, MemberId, OrgId, Subscription};

use super::batch::{put_request, write_all};
use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, doc_item, get_s, opt_time, parse_doc, s};
use super::keys::{
    MEMBER_PREFIX, member_email_gsi_pk, member_search_gsi_pk, member_search_gsi_sk, member_sk,
    org_pk, prefix_successor, sortable_time,
};
use super::{member_id_lengths, runs};
use crate::error::is_conditional_check_failed;
use crate::table::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};

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
    item.insert(GSI2_PK.to_owned(), s(member_search_gsi_pk(&m.org_id)));
    item.insert(
        GSI2_SK.to_owned(),
        s(member_search_gsi_sk(&m.email, &m.member_id)),
    );
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
    let lengths: BTreeSet<usize> = members.iter().map(|m| m.member_id.as_str().len()).collect();
    member_id_lengths::record(db, org, &lengths).await?;
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

/// Up to `limit` members whose email starts with `prefix`, in (email, id) order, strictly after `after`: one key
/// range of GSI2, `{prefix}` up to the prefix's successor, starting at the cursor's key (inclusive; the cursor's
/// own member is skipped). Through the index, which trails writes by a moment on real DynamoDB: a search may show
/// a member's previous email for that moment, never another org's member.
pub(crate) async fn search(
    db: &Db,
    org: &OrgId,
    prefix: &str,
    after: Option<(&Email, &MemberId)>,
    limit: usize,
) -> Result<Vec<Subscription>, StoreError> {
    // No address holds whitespace, and a space ends the email in the index key: such a prefix matches nobody.
    if limit == 0 || prefix.chars().any(char::is_whitespace) {
        return Ok(Vec::new());
    }
    let cursor = after.map(|(e, m)| member_search_gsi_sk(e, m));
    let from = match &cursor {
        Some(c) if c.as_str() > prefix => Some(c.clone()),
        _ if prefix.is_empty() => None,
        _ => Some(prefix.to_owned()),
    };
    let Some(range) = SkRange::bounded(from, prefix_successor(prefix)) else {
        return Ok(Vec::new());
    };
    let q = KeyQuery::index(GSI2, member_search_gsi_pk(org), range);
    // Dropped: the cursor's own item, and the one key the inclusive upper end can hold without the prefix. A key
    // starts with a whitespace-free prefix exactly when its email does.
    let keep = |i: &Item| -> Result<Option<Item>, StoreError> {
        let sk = get_s(i, GSI2_SK, "member")?;
        let shown = cursor.as_deref() != Some(sk) && sk.starts_with(prefix);
        Ok(shown.then(|| i.clone()))
    };
    let (items, last_run) =
        futures::try_join!(db.query_matching(q, limit, keep), runs::last(db, org))?;
    items.iter().map(|i| read(i, last_run.as_ref())).collect()
}

/// Items one Query asks for; the page's `limit` caps it further.
const QUERY_PAGE: usize = 1000;

/// Members with ids in `(after, upto]` in numeric order, at most `limit`.
///
/// Sort keys are text (`MEMBER#<id>`), and text order is numeric order only among ids of one length (no leading
/// zeros). So the range is read one id length at a time, shortest first, each length a `BETWEEN` of two ids of
/// that length, and only the lengths the org's members have (`member_id_lengths.rs`): the text range of a length
/// also holds every longer id, which is skipped here, so a length no member has would read the whole org for
/// nothing. Miro's ids all have 19 digits: one Query per page, nothing skipped.
pub(crate) async fn page(
    db: &Db,
    org: &OrgId,
    after: Option<&MemberId>,
    upto: Option<&MemberId>,
    limit: usize,
) -> Result<Vec<Subscription>, StoreError> {
    let (last_run, lengths) =
        futures::try_join!(runs::last(db, org), member_id_lengths::read(db, org))?;
    let lo_len = after.map_or(1, |a| a.as_str().len());
    let hi_len = upto.map_or(usize::MAX, |u| u.as_str().len());
    if lo_len > hi_len {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for &len in lengths.range(lo_len..=hi_len) {
        if out.len() >= limit {
            break;
        }
        let lower = match after {
            Some(a) if a.as_str().len() == len => a.as_str().to_owned(),
            _ => "0".repeat(len),
        };
        let upper = match upto {
            Some(u) if u.as_str().len() == len => u.as_str().to_owned(),
            _ => "9".repeat(len),
        };
        if lower > upper {
            continue;
        }
        let (lower_sk, upper_sk) = (
            format!("{MEMBER_PREFIX}{lower}"),
            format!("{MEMBER_PREFIX}{upper}"),
        );
        // Pages by hand, not with the SDK's paginator: each Query asks only for what the caller's page still
        // lacks, and the loop ends as soon as that page is full.
        let mut start: Option<Item> = None;
        loop {
            let want = (limit - out.len()).clamp(1, QUERY_PAGE);
            let res = db
                .client
                .query()
                .table_name(db.table.as_ref())
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :a AND :b")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(org_pk(org)))
                .expression_attribute_values(":a", s(lower_sk.clone()))
                .expression_attribute_values(":b", s(upper_sk.clone()))
                .consistent_read(true)
                .limit(i32::try_from(want).unwrap_or(1000))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| db.err("Query (members range)", &e))?;
            for i in res.items.unwrap_or_default() {
                let id = get_s(&i, MEMBER_ID, "member")?;
                // A longer id sharing the prefix, or the excluded lower bound itself.
                if id.len() != len || after.is_some_and(|a| a.as_str() == id) {
                    continue;
                }
                if out.len() < limit {
                    out.push(read(&i, last_run.as_ref())?);
                }
            }
            match res.last_evaluated_key {
                Some(k) if !k.is_empty() && out.len() < limit => start = Some(k),
                _ => break,
            }
        }
    }
    Ok(out)
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
    let mut req = db
        .update_item(org_pk(org), member_sk(&member))
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
