//! Plans as items: in the plan's partition, a header item (`HEADER`, the JSON `PlanHeader`) and one item per
//! candidate (`CAND#…`) and per exclusion (`EXCL#…`), each a small JSON document, far below the 400 KB item
//! limit whatever the size of the plan. A reclaim message reads the header and its own candidate: two GetItems.
//!
//! Writing: the previous header goes first (a replaced plan is then invisible rather than mixed), then the items
//! the new version no longer has, then the items (BatchWriteItem, 25 a call), then the header, then the org's
//! index entry. Every reader starts from the header (or from the index entry, which points at a written header),
//! so nobody sees part of a plan; a writer that dies half-way leaves items without a header, which no one
//! reads and the next write of that plan removes.

use std::collections::HashSet;

use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId, PlanId};
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader, ReclaimPlan};
use serde::de::DeserializeOwned;

use super::batch::{delete_request, put_request, write_all};
use super::db::{Db, KeyQuery, SkRange};
use super::item::{DOC, Item, doc_item, get_s, get_time, key, n, s};
use super::keys::{
    PLAN_CANDIDATE_PREFIX, PLAN_CHUNK_PREFIX, PLAN_EXCLUSION_PREFIX, PLAN_HEADER_SK,
    PLAN_INDEX_PREFIX, org_pk, plan_index_sk, plan_item_range, plan_item_sk, plan_pk,
    sortable_time,
};
use crate::error::corrupt;
use crate::table::{PK, SK};

const ORG_ID: &str = "org_id";
const CREATED_AT: &str = "created_at";
const PLAN_ID: &str = "plan_id";
/// Item counts, written from the lists themselves, so a look at the table tells how big a plan is.
const CANDIDATES: &str = "candidates";
const EXCLUSIONS: &str = "exclusions";

pub(crate) async fn put(db: &Db, plan: &ReclaimPlan) -> Result<(), StoreError> {
    let pk = plan_pk(plan.plan_id);
    let what = format!("items of plan {}", plan.plan_id);
    let previous = db.get(pk.clone(), PLAN_HEADER_SK).await?;
    if previous.is_some() {
        db.delete(pk.clone(), PLAN_HEADER_SK).await?;
    }

    let mut items = Vec::with_capacity(plan.candidates.len() + plan.exclusions.len());
    for c in &plan.candidates {
        let sk = plan_item_sk(PLAN_CANDIDATE_PREFIX, &c.member_id);
        items.push(doc_item(pk.clone(), sk, "plan candidate", c)?);
    }
    for e in &plan.exclusions {
        let sk = plan_item_sk(PLAN_EXCLUSION_PREFIX, &e.member_id);
        items.push(doc_item(pk.clone(), sk, "plan exclusion", e)?);
    }
    let keep: HashSet<String> = items
        .iter()
        .map(|i| get_s(i, SK, "plan item").map(str::to_owned))
        .collect::<Result<_, _>>()?;
    delete_stale_items(db, plan.plan_id, &keep).await?;
    let puts = items
        .into_iter()
        .map(put_request)
        .collect::<Result<Vec<_>, _>>()?;
    write_all(db, puts, &what).await?;

    let mut header = doc_item(pk, PLAN_HEADER_SK, "plan header", &plan.header())?;
    header.insert(ORG_ID.to_owned(), s(plan.org_id.as_str()));
    header.insert(CREATED_AT.to_owned(), s(sortable_time(plan.created_at)));
    header.insert(CANDIDATES.to_owned(), n(plan.candidates.len()));
    header.insert(EXCLUSIONS.to_owned(), n(plan.exclusions.len()));
    db.put(header).await?;

    // The index entry comes after the header, so whoever finds it can read the plan.
    let mut index = key(
        org_pk(&plan.org_id),
        plan_index_sk(plan.created_at, plan.plan_id),
    );
    index.insert(PLAN_ID.to_owned(), s(plan.plan_id.to_string()));
    db.put(index).await?;

    if let Some(old) = previous {
        let (old_org, old_at) = (
            get_s(&old, ORG_ID, "plan header")?,
            get_time(&old, CREATED_AT, "plan header")?,
        );
        if old_org != plan.org_id.as_str() || old_at != plan.created_at {
            let old_org = OrgId::parse(old_org).map_err(|e| corrupt("plan header", e))?;
            db.delete(org_pk(&old_org), plan_index_sk(old_at, plan.plan_id))
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
