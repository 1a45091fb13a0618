//! Where notice records live: one per member of an org, each change a compare-and-set on its version. One of the
//! concerns [`super::SubscriptionStore`] is made of; an adapter or a test that needs only notices implements this.

use async_trait::async_trait;

use crate::domain::{MemberId, OrgId};
use crate::error::StoreError;
use crate::notices::NoticeRecord;

#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Writes the member's record, atomically:
    /// - `expected_version: None`: only if the member has no record ([`StoreError::AlreadyExists`] otherwise);
    ///   `record.version` must be 1.
    /// - `Some(v)`: only if the stored record's version is `v` ([`StoreError::Conflict`] otherwise,
    ///   [`StoreError::NotFound`] if there is none); `record.version` must be `v + 1`.
    ///
    /// Of two writers expecting the same version, exactly one succeeds: that is how a notice is claimed once.
    async fn put_notice(
        &self,
        record: &NoticeRecord,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError>;

    /// The member's record (the current or last cycle). Strongly consistent: a claim is decided on it.
    async fn get_notice(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<NoticeRecord>, StoreError>;

    /// Up to `limit` records of the org whose member id is above `after` (all when `None`), in numeric member id
    /// order ([`MemberId`]'s `Ord`), ended cycles included. Fewer than `limit` means the end. Why this order: the
    /// daily notice run walks the records beside the plan's candidates and exclusions, which page the same way,
    /// so it holds a page of each, never the org.
    async fn list_notices_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<NoticeRecord>, StoreError>;
}

/// Checks the version rule of [`NoticeStore::put_notice`] before an adapter writes, so every adapter refuses a
/// malformed write the same way.
pub fn check_notice_version(
    record: &NoticeRecord,
    expected_version: Option<u64>,
) -> Result<(), StoreError> {
    let want = expected_version.map_or(1, |v| v + 1);
    if record.version != want {
        return Err(StoreError::Backend(format!(
            "notice record of member {} has version {}, but a write expecting {:?} must carry version {want}; \
             build it with NoticeRecord::next",
            record.member_id, record.version, expected_version
        )));
    }
    Ok(())
}
