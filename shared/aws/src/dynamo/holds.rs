//! The kill switch and holds, in the org's partition: `PAUSE` (one item while the org is paused) and
//! `HOLD#{member}` (one item per held member). Both are read with strongly consistent reads, because the reclaim
//! worker reads them right before it sends anything to SCIM.

use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::hold::Hold;
use miro_sam_core::pause::OrgPause;

use super::db::{Db, KeyQuery, SkRange};
use super::item::{doc_item, parse_doc};
use super::keys::{HOLD_PREFIX, PAUSE_SK, hold_sk, org_pk};

pub(crate) async fn put_pause(db: &Db, pause: &OrgPause) -> Result<(), StoreError> {
    db.put(doc_item(
        org_pk(&pause.org_id),
        PAUSE_SK,
        "org pause",
        pause,
    )?)
    .await
}

pub(crate) async fn get_pause(db: &Db, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
    db.get(org_pk(org), PAUSE_SK)
        .await?
        .map(|i| parse_doc(&i, "org pause"))
        .transpose()
}

pub(crate) async fn clear_pause(db: &Db, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
    let was = get_pause(db, org).await?;
    if was.is_some() {
        db.delete(org_pk(org), PAUSE_SK).await?;
    }
    Ok(was)
}

pub(crate) async fn put_hold(db: &Db, hold: &Hold) -> Result<(), StoreError> {
    db.put(doc_item(
        org_pk(&hold.org_id),
        hold_sk(&hold.member_id),
        "hold",
        hold,
    )?)
    .await
}

pub(crate) async fn get_hold(
    db: &Db,
    org: &OrgId,
    member: &MemberId,
) -> Result<Option<Hold>, StoreError> {
    db.get(org_pk(org), hold_sk(member))
        .await?
        .map(|i| parse_doc(&i, "hold"))
        .transpose()
}

pub(crate) async fn list_holds(db: &Db, org: &OrgId) -> Result<Vec<Hold>, StoreError> {
    let items = db
        .query(KeyQuery::base(
            org_pk(org),
            SkRange::BeginsWith(HOLD_PREFIX.to_owned()),
        ))
        .await?;
    let mut holds = items
        .iter()
        .map(|i| parse_doc(i, "hold"))
        .collect::<Result<Vec<Hold>, _>>()?;
    // Keys sort as text; the contract orders by numeric member id.
    holds.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    Ok(holds)
}

pub(crate) async fn delete_hold(
    db: &Db,
    org: &OrgId,
    member: &MemberId,
) -> Result<bool, StoreError> {
    let existed = db.get(org_pk(org), hold_sk(member)).await?.is_some();
    if existed {
        db.delete(org_pk(org), hold_sk(member)).await?;
    }
    Ok(existed)
}
