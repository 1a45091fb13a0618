//! Registered orgs: one partition listing them all (orgs are few, and the daily schedule reads them together).

use miro_sam_core::StoreError;
use miro_sam_core::domain::{OrgId, RegisteredOrg};

use super::db::{Db, KeyQuery, SkRange};
use super::item::{doc_item, parse_doc};
use super::keys::{ORGS_PK, org_sk};

pub(crate) async fn put(db: &Db, org: &RegisteredOrg) -> Result<(), StoreError> {
    db.put(doc_item(ORGS_PK, org_sk(&org.id), "org", org)?)
        .await
}

pub(crate) async fn get(db: &Db, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError> {
    db.get(ORGS_PK, org_sk(org))
        .await?
        .map(|i| parse_doc(&i, "org"))
        .transpose()
}

pub(crate) async fn list(db: &Db) -> Result<Vec<RegisteredOrg>, StoreError> {
    let items = db.query(KeyQuery::base(ORGS_PK, SkRange::All)).await?;
    let mut orgs = items
        .iter()
        .map(|i| parse_doc::<RegisteredOrg>(i, "org"))
        .collect::<Result<Vec<_>, _>>()?;
    // Numeric order, which the string order of the sort key is not.
    orgs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(orgs)
}
