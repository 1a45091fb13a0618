//! Plans as items: in the plan's partition, a header item (`HEADER`, the JSON `PlanHeader`) and one item per
//! candidate (`CAND#…`) and per exclusion (`EXCL#…`), each a small JSON document, far below the 400 KB item
//! limit whatever the size of the plan. A reclaim message reads the header and its own candidate: two GetItems.
//!
//! Writing: the previous header goes first (a replaced plan is then invisible rather than mixed), then the items
//! the new version no longer has, then the items (BatchWriteItem, 25 a call), then the header, then the org's
//! index entry. A streamed plan (`put_items` any number of times, then `put_header`) takes the same steps for a
//! plan that has no header yet. Every reader starts from the header (or from the index entry, which points at a
//! written header), so nobody sees part of a plan; a writer that dies half-way leaves items without a header,
//! which no one reads and the next write of that plan removes.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId, PlanId};
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader, ReclaimPlan};
use serde::de::DeserializeOwned;

use super::batch::{delete_request, put_request, write_all};
use super::db::{Db, KeyQuery, SkRange};
use super::item::{DOC, Item, doc_item, get_s, get_time, key, n, s};
use super::keys::{
    PLAN_CANDIDATE_PREFIX, PLAN_CHUNK_PREFIX, PLAN_EXCLUSION_PREFIX, PLAN_HEADER_SK,
    PLAN_INDEX_PREFIX, org_pk, plan_index_range, plan_index_sk, plan_item_range, plan_item_sk,
    plan_pk, sortable_time,
};
use crate::error::corrupt;
use crate::table::{PK, SK};

const ORG_ID: &str = "org_id";
const CREATED_AT: &str = "created_at";
const PLAN_ID: &str = "plan_id";
/// Item counts (the header's totals, which are the lengths of the lists), so a look at the table tells how big a
/// plan is.
const CANDIDATES: &str = "candidates";
const EXCLUSIONS: &str = "exclusions";

pub(crate) async fn put(db: &Db, plan: &ReclaimPlan) -> Result<(), StoreError> {
    let pk = plan_pk(plan.plan_id);
    let previous = db.get(pk.clone(), PLAN_HEADER_SK).await?;
    if previous.is_some() {
        db.delete(pk, PLAN_HEADER_SK).await?;
    }
    let items = item_requests(plan.plan_id, &plan.candidates, &plan.exclusions)?;
    let keep: HashSet<String> = items.keys().cloned().collect();
    delete_stale_items(db, plan.plan_id, &keep).await?;
    write_items(db, plan.plan_id, items).await?;
    write_header(db, &plan.header(), previous).await
}

/// Items of a plan being streamed ([`put_header`] comes last). Refused once the plan has its header: readers
/// would then see items come and go under a written plan. Costs one GetItem of the header per call.
pub(crate) async fn put_items(
    db: &Db,
    plan: PlanId,
    org: &OrgId,
    candidates: &[Candidate],
    exclusions: &[Exclusion],
) -> Result<(), StoreError> {
    if candidates.is_empty() && exclusions.is_empty() {
        return Ok(());
    }
    if db.get(plan_pk(plan), PLAN_HEADER_SK).await?.is_some() {
        return Err(StoreError::AlreadyExists {
            what: format!(
                "plan {plan} of org {org} (its header is written, so its items are fixed; write a new plan's \
                 items before its header, or replace the whole plan with put_plan)"
            ),
        });
    }
    write_items(db, plan, item_requests(plan, candidates, exclusions)?).await
}

/// Makes a streamed plan visible: its header, then the org's index entry.
pub(crate) async fn put_header(db: &Db, header: &PlanHeader) -> Result<(), StoreError> {
    let previous = db.get(plan_pk(header.plan_id), PLAN_HEADER_SK).await?;
    write_header(db, header, previous).await
}

/// The plan's items by sort key; a member listed twice keeps its last item, as a loop of puts would (a batch
/// may not name a key twice).
fn item_requests(
    plan: PlanId,
    candidates: &[Candidate],
    exclusions: &[Exclusion],
) -> Result<BTreeMap<String, Item>, StoreError> {
    let pk = plan_pk(plan);
    let mut items = BTreeMap::new();
    for c in candidates {
        let sk = plan_item_sk(PLAN_CANDIDATE_PREFIX, &c.member_id);
        items.insert(sk.clone(), doc_item(pk.clone(), sk, "plan candidate", c)?);
    }
    for e in exclusions {
        let sk = plan_item_sk(PLAN_EXCLUSION_PREFIX, &e.member_id);
        items.insert(sk.clone(), doc_item(pk.clone(), sk, "plan exclusion", e)?);
    }
    Ok(items)
}

/// BatchWriteItem, 25 a call.
async fn write_items(
    db: &Db,
    plan: PlanId,
    items: BTreeMap<String, Item>,
) -> Result<(), StoreError> {
    let puts = items
        .into_values()
        .map(put_request)
        .collect::<Result<Vec<_>, _>>()?;
    write_all(db, puts, &format!("items of plan {}", plan)).await
}

/// The header, then the org's index entry (so whoever finds the entry can read the plan), then the removal of
/// the entry `previous` (the header this one replaces) left under another org or time.
async fn write_header(
    db: &Db,
    header: &PlanHeader,
    previous: Option<Item>,
) -> Result<(), StoreError> {
    let pk = plan_pk(header.plan_id);
    let mut item = doc_item(pk, PLAN_HEADER_SK, "plan header", header)?;
    item.insert(ORG_ID.to_owned(), s(header.org_id.as_str()));
    item.insert(CREATED_AT.to_owned(), s(sortable_time(header.created_at)));
    item.insert(CANDIDATES.to_owned(), n(header.totals.candidates));
    item.insert(EXCLUSIONS.to_owned(), n(header.totals.excluded));
    db.put(item).await?;

    let mut index = key(
        org_pk(&header.org_id),
        plan_index_sk(header.created_at, header.plan_id),
    );
    index.insert(PLAN_ID.to_owned(), s(header.plan_id.to_string()));
    db.put(index).await?;

    if let Some(old) = previous {
        let (old_org, old_at) = (
            get_s(&old, ORG_ID, "plan header")?,
            get_time(&old, CREATED_AT, "plan header")?,
        );
        if old_org != header.org_id.as_str() || old_at != header.created_at {
            let old_org = OrgId::parse(old_org).map_err(|e| corrupt("plan header", e))?;
            db.delete(org_pk(&old_org), plan_index_sk(old_at, header.plan_id))
                .await?;
        }
    }
    Ok(())
}

/// Deletes the plan's candidate and exclusion items not in `keep` (what an earlier version or an interrupted
/// write left), and the JSON chunks of the format before plans-as-items. Reads keys only.
async fn delete_stale_items(
    db: &Db,
    plan: PlanId,
    keep: &HashSet<String>,
) -> Result<(), StoreError> {
    let mut deletes = Vec::new();
    for prefix in [
        PLAN_CANDIDATE_PREFIX,
        PLAN_EXCLUSION_PREFIX,
        PLAN_CHUNK_PREFIX,
    ] {
        let mut q = KeyQuery::base(plan_pk(plan), SkRange::BeginsWith(prefix.to_owned()));
        q.projection = Some("pk, sk");
        for item in db.query(q).await? {
            let sk = get_s(&item, SK, "plan item")?;
            if !keep.contains(sk) {
                deletes.push(delete_request(key(get_s(&item, PK, "plan item")?, sk))?);
            }
        }
    }
    write_all(db, deletes, &format!("stale items of plan {plan}")).await
}

fn parse_plan_item<T: DeserializeOwned>(db: &Db, item: &Item, what: &str) -> Result<T, StoreError> {
    db.count_plan_read(item);
    let json = get_s(item, DOC, what)?;
    serde_json::from_str(json).map_err(|e| corrupt(what, e))
}

pub(crate) async fn header(db: &Db, plan: PlanId) -> Result<Option<PlanHeader>, StoreError> {
    let Some(item) = db.get(plan_pk(plan), PLAN_HEADER_SK).await? else {
        return Ok(None);
    };
    if !item.contains_key(DOC) {
        return Err(corrupt(
            format!("plan {plan}"),
            "the plan was stored by an earlier miro-sam as JSON chunks, which this version no longer reads; \
             plan the org again (`miro-sam plan`, or the next scheduled run does it)",
        ));
    }
    parse_plan_item(db, &item, "plan header").map(Some)
}

pub(crate) async fn latest_header(db: &Db, org: &OrgId) -> Result<Option<PlanHeader>, StoreError> {
    let items = db
        .query(
            KeyQuery::base(
                org_pk(org),
                SkRange::BeginsWith(PLAN_INDEX_PREFIX.to_owned()),
            )
            .last(),
        )
        .await?;
    let Some(index) = items.first() else {
        return Ok(None);
    };
    let id = get_s(index, PLAN_ID, "plan index entry")?;
    let id = PlanId::parse(id).map_err(|e| corrupt("plan index entry", e))?;
    header(db, id).await
}

/// Concurrent header reads of one page of plan history.
const HEADER_READS: usize = 8;

/// Up to `limit` of the org's headers, newest first, created strictly before `before`: a page of the org's index
/// entries (one Query, newest first), then each entry's header (GetItem, strongly consistent, 8 at a time, in
/// order). An entry whose header is missing (its plan is being rewritten) or names another time (an entry a
/// crashed rewrite left) is passed over, and the next entries are read in its place.
pub(crate) async fn list_headers(
    db: &Db,
    org: &OrgId,
    before: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<PlanHeader>, StoreError> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let (from, to) = plan_index_range(before);
    let q = KeyQuery::base(org_pk(org), SkRange::Between(from, to)).descending();
    // Pages by hand, not with the SDK's paginator: each Query asks only for the headers still missing (entries
    // passed over are replaced), and the loop ends once the caller's page is full.
    let mut start = None;
    loop {
        let page = db
            .query_page(&q, start.take(), Some(limit - out.len()))
            .await?;
        let entries = page
            .items
            .iter()
            .map(|i| {
                let id = get_s(i, PLAN_ID, "plan index entry")?;
                let id = PlanId::parse(id).map_err(|e| corrupt("plan index entry", e))?;
                let sk = get_s(i, SK, "plan index entry")?.to_owned();
                Ok((id, sk))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let headers: Vec<(Option<PlanHeader>, String)> = futures::stream::iter(entries)
            .map(|(id, sk)| async move { Ok::<_, StoreError>((header(db, id).await?, sk)) })
            .buffered(HEADER_READS)
            .try_collect()
            .await?;
        for (h, sk) in headers {
            if let Some(h) = h
                && h.org_id == *org
                && plan_index_sk(h.created_at, h.plan_id) == sk
            {
                out.push(h);
            }
        }
        match page.next {
            Some(next) if out.len() < limit => start = Some(next),
            _ => return Ok(out),
        }
    }
}

pub(crate) async fn candidate(
    db: &Db,
    plan: PlanId,
    member: &MemberId,
) -> Result<Option<Candidate>, StoreError> {
    db.get(plan_pk(plan), plan_item_sk(PLAN_CANDIDATE_PREFIX, member))
        .await?
        .map(|i| parse_plan_item(db, &i, "plan candidate"))
        .transpose()
}

pub(crate) async fn candidates(
    db: &Db,
    plan: PlanId,
    after: Option<&MemberId>,
    limit: usize,
) -> Result<Vec<Candidate>, StoreError> {
    page(
        db,
        plan,
        PLAN_CANDIDATE_PREFIX,
        after,
        limit,
        "plan candidate",
    )
    .await
}

pub(crate) async fn exclusions(
    db: &Db,
    plan: PlanId,
    after: Option<&MemberId>,
    limit: usize,
) -> Result<Vec<Exclusion>, StoreError> {
    page(
        db,
        plan,
        PLAN_EXCLUSION_PREFIX,
        after,
        limit,
        "plan exclusion",
    )
    .await
}

async fn page<T: DeserializeOwned>(
    db: &Db,
    plan: PlanId,
    prefix: &str,
    after: Option<&MemberId>,
    limit: usize,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let (from, to) = plan_item_range(prefix, after);
    let mut q = KeyQuery::base(plan_pk(plan), SkRange::Between(from, to));
    q.limit = Some(limit);
    db.query(q)
        .await?
        .iter()
        .map(|i| parse_plan_item(db, i, what))
        .collect()
}
