//! Notice records (issue 12) in the org's partition: `NOTICE#{numeric id}` per member (see `TABLE.md`), the
//! record's JSON in `doc` beside `version` (what every write compares) and `state`. The numeric id (length, then
//! digits) makes key order numeric member id order, so a page of records is one Query range.

use async_trait::async_trait;
use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::notices::NoticeRecord;
use miro_sam_core::ports::{NoticeStore, check_notice_version};

use super::DynamoStore;
use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, doc_item, key, n, parse_doc, s};
use super::keys::{numeric_id, org_pk};
use crate::error::is_conditional_check_failed;
use crate::table::PK;

const WHAT: &str = "notice record";
const NOTICE_PREFIX: &str = "NOTICE#";
const VERSION: &str = "version";
const STATE: &str = "state";

fn notice_sk(member: &MemberId) -> String {
    format!("{NOTICE_PREFIX}{}", numeric_id(member))
}

fn item(r: &NoticeRecord) -> Result<Item, StoreError> {
    let mut item = doc_item(org_pk(&r.org_id), notice_sk(&r.member_id), WHAT, r)?;
    item.insert(VERSION.to_owned(), n(r.version));
    item.insert(STATE.to_owned(), s(r.state.kind()));
    Ok(item)
}

async fn put(db: &Db, r: &NoticeRecord, expected: Option<u64>) -> Result<(), StoreError> {
    check_notice_version(r, expected)?;
    let what = || {
        format!(
            "notice record of member {} in org {}",
            r.member_id, r.org_id
        )
    };
    db.count_item_write();
    let req = db
        .client
        .put_item()
        .table_name(db.table.as_ref())
        .set_item(Some(item(r)?))
        .expression_attribute_names("#pk", PK);
    let req = match expected {
        None => req.condition_expression("attribute_not_exists(#pk)"),
        Some(v) => req
            .condition_expression("attribute_exists(#pk) AND #version = :expected")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":expected", n(v)),
    };
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) if is_conditional_check_failed(&e) => match expected {
            None => Err(StoreError::AlreadyExists { what: what() }),
            // Records are never deleted, so a failed condition on a present record is a lost race.
            Some(_) if get(db, &r.org_id, &r.member_id).await?.is_some() => {
                Err(StoreError::Conflict { what: what() })
            }
            Some(_) => Err(StoreError::NotFound { what: what() }),
        },
        Err(e) => Err(db.err("PutItem (notice record)", &e)),
    }
}

async fn get(db: &Db, org: &OrgId, member: &MemberId) -> Result<Option<NoticeRecord>, StoreError> {
    db.get(org_pk(org), notice_sk(member))
        .await?
        .map(|i| parse_doc(&i, WHAT))
        .transpose()
}

/// Starts strictly after `after` through the Query's exclusive start key (a key that need not exist), and
/// follows DynamoDB's pages until `limit` records are read or the range ends.
async fn page(
    db: &Db,
    org: &OrgId,
    after: Option<&MemberId>,
    limit: usize,
) -> Result<Vec<NoticeRecord>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let q = KeyQuery::base(org_pk(org), SkRange::BeginsWith(NOTICE_PREFIX.to_owned()));
    let mut start = after.map(|m| key(org_pk(org), notice_sk(m)));
    let mut records = Vec::new();
    loop {
        let page = db
            .query_page(&q, start.take(), Some(limit - records.len()))
            .await?;
        for i in &page.items {
            records.push(parse_doc::<NoticeRecord>(i, WHAT)?);
        }
        match page.next {
            Some(next) if records.len() < limit => start = Some(next),
            _ => break,
        }
    }
    Ok(records)
}

#[async_trait]
impl NoticeStore for DynamoStore {
    async fn put_notice(
        &self,
        record: &NoticeRecord,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        put(&self.db, record, expected_version).await
    }

    async fn get_notice(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<NoticeRecord>, StoreError> {
        get(&self.db, org, member).await
    }

    async fn list_notices_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        page(&self.db, org, after, limit).await
    }
}
