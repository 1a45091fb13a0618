//! Reclaim records: one per (plan, member) in the plan's partition, listed per org through GSI1 and per (state,
//! org) through GSI2, both in (created_at, plan, member) order. A transition moves the record's GSI2 partition key
//! to its new state in the same UpdateItem.
//!
//! The record's fields are plain attributes rather than a JSON document so that a transition is ONE conditional
//! UpdateItem (`state = :from`): atomic, no read-modify-write window, and exactly one of several racing workers
//! wins.

use aws_sdk_dynamodb::types::ReturnValue;
use miro_sam_core::StoreError;
use miro_sam_core::domain::{Email, MemberId, OrgId, PlanId};
use miro_sam_core::reclaim::{
    ReclaimOutcome, ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor,
};

use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, get_s, get_time, key, opt_s, s, to_json};
use super::keys::{
    plan_pk, reclaim_sk, reclaims_by_state_gsi_pk, reclaims_by_state_gsi_sk,
    reclaims_by_state_org_prefix, reclaims_gsi_pk, reclaims_gsi_sk, sortable_time,
};
use crate::error::{corrupt, is_conditional_check_failed};
use crate::table::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK};

const PLAN_ID: &str = "plan_id";
const ORG_ID: &str = "org_id";
const MEMBER_ID: &str = "member_id";
const EMAIL: &str = "email";
const STATE: &str = "state";
const SCIM_USER_ID: &str = "scim_user_id";
const OUTCOME: &str = "outcome";
const CREATED_AT: &str = "created_at";
const UPDATED_AT: &str = "updated_at";

fn item(r: &ReclaimRecord) -> Result<Item, StoreError> {
    let mut item = key(plan_pk(r.plan_id), reclaim_sk(&r.member_id));
    item.insert(GSI1_PK.to_owned(), s(reclaims_gsi_pk(&r.org_id)));
    item.insert(
        GSI1_SK.to_owned(),
        s(reclaims_gsi_sk(r.created_at, r.plan_id, &r.member_id)),
    );
    item.insert(GSI2_PK.to_owned(), s(reclaims_by_state_gsi_pk(r.state)));
    item.insert(
        GSI2_SK.to_owned(),
        s(reclaims_by_state_gsi_sk(
            &r.org_id,
            r.created_at,
            r.plan_id,
            &r.member_id,
        )),
    );
    item.insert(PLAN_ID.to_owned(), s(r.plan_id.to_string()));
    item.insert(ORG_ID.to_owned(), s(r.org_id.as_str()));
    item.insert(MEMBER_ID.to_owned(), s(r.member_id.as_str()));
    item.insert(EMAIL.to_owned(), s(r.email.as_str()));
    item.insert(STATE.to_owned(), s(r.state.as_str()));
    if let Some(id) = &r.scim_user_id {
        item.insert(SCIM_USER_ID.to_owned(), s(id.clone()));
    }
    if let Some(o) = &r.outcome {
        item.insert(OUTCOME.to_owned(), s(to_json("reclaim outcome", o)?));
    }
    item.insert(CREATED_AT.to_owned(), s(sortable_time(r.created_at)));
    item.insert(UPDATED_AT.to_owned(), s(sortable_time(r.updated_at)));
    Ok(item)
}

fn read(item: &Item) -> Result<ReclaimRecord, StoreError> {
    let what = "reclaim record";
    let bad = |e: miro_sam_core::DomainError| corrupt(what, e);
    let state = get_s(item, STATE, what)?;
    Ok(ReclaimRecord {
        plan_id: PlanId::parse(get_s(item, PLAN_ID, what)?).map_err(bad)?,
        org_id: OrgId::parse(get_s(item, ORG_ID, what)?).map_err(bad)?,
        member_id: MemberId::parse(get_s(item, MEMBER_ID, what)?).map_err(bad)?,
        email: Email::parse(get_s(item, EMAIL, what)?).map_err(bad)?,
        state: ReclaimState::parse(state)
            .ok_or_else(|| corrupt(what, format!("unknown state {state:?}")))?,
        scim_user_id: opt_s(item, SCIM_USER_ID, what)?.map(str::to_owned),
        outcome: opt_s(item, OUTCOME, what)?
            .map(serde_json::from_str::<ReclaimOutcome>)
            .transpose()
            .map_err(|e| corrupt(what, e))?,
        created_at: get_time(item, CREATED_AT, what)?,
        updated_at: get_time(item, UPDATED_AT, what)?,
    })
}

pub(crate) async fn create(
    db: &Db,
    record: &ReclaimRecord,
) -> Result<(ReclaimRecord, bool), StoreError> {
    if db.put_if_absent(item(record)?).await? {
        return Ok((record.clone(), true));
    }
    match get(db, record.plan_id, &record.member_id).await? {
        Some(existing) => Ok((existing, false)),
        // Records are never deleted, so the conditional put cannot fail for an absent one.
        None => Err(StoreError::Backend(format!(
            "reclaim record {}/{} was reported as existing but cannot be read back",
            record.plan_id, record.member_id
        ))),
    }
}

pub(crate) async fn get(
    db: &Db,
    plan: PlanId,
    member: &MemberId,
) -> Result<Option<ReclaimRecord>, StoreError> {
    db.get(plan_pk(plan), reclaim_sk(member))
        .await?
        .map(|i| read(&i))
        .transpose()
}

pub(crate) async fn transition(
    db: &Db,
    plan: PlanId,
    member: &MemberId,
    from: ReclaimState,
    t: &ReclaimTransition,
) -> Result<ReclaimRecord, StoreError> {
    // The state index follows the state. A record from before that index has no GSI2 sort key and stays out of
    // it (an item is in an index only with both of its keys).
    let mut set = vec!["#state = :to", "#updated = :at", "#by_state = :by_state"];
    let mut req = db
        .client
        .update_item()
        .table_name(db.table.as_ref())
        .set_key(Some(key(plan_pk(plan), reclaim_sk(member))))
        .condition_expression("attribute_exists(#pk) AND #state = :from")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#state", STATE)
        .expression_attribute_names("#updated", UPDATED_AT)
        .expression_attribute_values(":from", s(from.as_str()))
        .expression_attribute_values(":to", s(t.to.as_str()))
        .expression_attribute_values(":at", s(sortable_time(t.at)))
        .expression_attribute_names("#by_state", GSI2_PK)
        .expression_attribute_values(":by_state", s(reclaims_by_state_gsi_pk(t.to)))
        .return_values(ReturnValue::AllNew);
    if let Some(id) = &t.scim_user_id {
        set.push("#scim = :scim");
        req = req
            .expression_attribute_names("#scim", SCIM_USER_ID)
            .expression_attribute_values(":scim", s(id.clone()));
    }
    if let Some(o) = &t.outcome {
        set.push("#outcome = :outcome");
        req = req
            .expression_attribute_names("#outcome", OUTCOME)
            .expression_attribute_values(":outcome", s(to_json("reclaim outcome", o)?));
    }
    db.count_item_write();
    match req
        .update_expression(format!("SET {}", set.join(", ")))
        .send()
        .await
    {
        Ok(out) => read(&out.attributes.unwrap_or_default()),
        Err(e) if is_conditional_check_failed(&e) => match get(db, plan, member).await? {
            None => Err(StoreError::NotFound {
                what: format!("reclaim record of member {member} in plan {plan}"),
            }),
            Some(current) => Err(StoreError::Conflict {
                what: format!(
                    "reclaim record of member {member} in plan {plan} (expected state {from}, found {})",
                    current.state
                ),
            }),
        },
        Err(e) => Err(db.err("UpdateItem (reclaim transition)", &e)),
    }
}

/// Read through the GSI, which trails writes by a moment on real DynamoDB; listings are for reports, and
/// every decision about one record reads it from the base table.
pub(crate) async fn list(db: &Db, org: &OrgId) -> Result<Vec<ReclaimRecord>, StoreError> {
    let items = db
        .query(KeyQuery::index(GSI1, reclaims_gsi_pk(org), SkRange::All))
        .await?;
    let mut records = items.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| {
        (a.created_at, a.plan_id, &a.member_id).cmp(&(b.created_at, b.plan_id, &b.member_id))
    });
    Ok(records)
}

/// Up to `limit` of the org's records (of `state` when given), newest first, strictly before `before`: a key
/// range of GSI1 (all states) or GSI2 (one state) from the cursor's key (inclusive; the cursor's own record is
/// skipped) down. Through the indexes, which trail writes by a moment on real DynamoDB.
pub(crate) async fn list_page(
    db: &Db,
    org: &OrgId,
    state: Option<ReclaimState>,
    before: Option<&RecordCursor>,
    limit: usize,
) -> Result<Vec<ReclaimRecord>, StoreError> {
    let q = match state {
        None => {
            let to = before.map(|c| reclaims_gsi_sk(c.created_at, c.plan_id, &c.member_id));
            KeyQuery::index(
                GSI1,
                reclaims_gsi_pk(org),
                SkRange::bounded(None, to).unwrap_or(SkRange::All),
            )
        }
        Some(st) => {
            let prefix = reclaims_by_state_org_prefix(org);
            let to = match before {
                Some(c) => reclaims_by_state_gsi_sk(org, c.created_at, c.plan_id, &c.member_id),
                // `$` follows `#`: above every key of the org.
                None => format!("{}$", prefix.trim_end_matches('#')),
            };
            KeyQuery::index(
                GSI2,
                reclaims_by_state_gsi_pk(st),
                SkRange::Between(prefix, to),
            )
        }
    }
    .descending();
    let keep = |i: &Item| -> Result<Option<ReclaimRecord>, StoreError> {
        let r = read(i)?;
        let shown = before.is_none_or(|c| RecordCursor::of(&r) != *c)
            && state.is_none_or(|st| r.state == st)
            && &r.org_id == org;
        Ok(shown.then_some(r))
    };
    db.query_matching(q, limit, keep).await
}
