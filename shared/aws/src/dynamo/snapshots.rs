//! Daily snapshots, keyed by date in the org's partition: a date range is one key-range query.

use chrono::NaiveDate;
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::snapshot::OrgSnapshot;

use super::db::{Db, KeyQuery, SkRange};
use super::item::{doc_item, parse_doc};
use super::keys::{SNAPSHOT_PREFIX, org_pk, snapshot_sk};

pub(crate) async fn put(db: &Db, snapshot: &OrgSnapshot) -> Result<(), StoreError> {
    db.put(doc_item(
        org_pk(&snapshot.org_id),
        snapshot_sk(snapshot.date),
        "snapshot",
        snapshot,
    )?)
    .await
}

pub(crate) async fn get(
    db: &Db,
    org: &OrgId,
    date: NaiveDate,
) -> Result<Option<OrgSnapshot>, StoreError> {
    db.get(org_pk(org), snapshot_sk(date))
        .await?
        .map(|i| parse_doc(&i, "snapshot"))
        .transpose()
}

pub(crate) async fn list(
    db: &Db,
    org: &OrgId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<OrgSnapshot>, StoreError> {
    if from > to {
        return Ok(Vec::new());
    }
    let items = db
        .query(KeyQuery::base(
            org_pk(org),
            SkRange::Between(snapshot_sk(from), snapshot_sk(to)),
        ))
        .await?;
    items.iter().map(|i| parse_doc(i, "snapshot")).collect()
}

pub(crate) async fn latest(db: &Db, org: &OrgId) -> Result<Option<OrgSnapshot>, StoreError> {
    let items = db
        .query(KeyQuery::base(org_pk(org), SkRange::BeginsWith(SNAPSHOT_PREFIX.to_owned())).last())
        .await?;
    items.first().map(|i| parse_doc(i, "snapshot")).transpose()
}
