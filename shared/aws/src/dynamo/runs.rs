//! Download bookkeeping: the org's last complete download and its one checkpoint, both replaced on write.

use miro_sam_core::StoreError;
use miro_sam_core::domain::{DownloadCheckpoint, DownloadRun, OrgId};

use super::db::Db;
use super::item::{doc_item, parse_doc};
use super::keys::{CHECKPOINT_SK, LAST_DOWNLOAD_SK, org_pk};

pub(crate) async fn put(db: &Db, run: &DownloadRun) -> Result<(), StoreError> {
    db.put(doc_item(
        org_pk(&run.org_id),
        LAST_DOWNLOAD_SK,
        "download run",
        run,
    )?)
    .await
}

pub(crate) async fn last(db: &Db, org: &OrgId) -> Result<Option<DownloadRun>, StoreError> {
    db.get(org_pk(org), LAST_DOWNLOAD_SK)
        .await?
        .map(|i| parse_doc(&i, "download run"))
        .transpose()
}

pub(crate) async fn put_checkpoint(
    db: &Db,
    checkpoint: &DownloadCheckpoint,
) -> Result<(), StoreError> {
    db.put(doc_item(
        org_pk(&checkpoint.org_id),
        CHECKPOINT_SK,
        "download checkpoint",
        checkpoint,
    )?)
    .await
}

pub(crate) async fn get_checkpoint(
    db: &Db,
    org: &OrgId,
) -> Result<Option<DownloadCheckpoint>, StoreError> {
    db.get(org_pk(org), CHECKPOINT_SK)
        .await?
        .map(|i| parse_doc(&i, "download checkpoint"))
        .transpose()
}

pub(crate) async fn clear_checkpoint(db: &Db, org: &OrgId) -> Result<(), StoreError> {
    db.delete(org_pk(org), CHECKPOINT_SK).await
}
