//! The membership as miro-sam last downloaded it: members, the record of each complete download (and the
//! checkpoint of one in progress), daily snapshots, and each member's timeline.
//!
//! Download runs live here, not with the org's settings, because the member reads depend on them: a member not
//! marked removed was, by definition, in the last complete download's listing (see [`MemberStore::get_member`]).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{DownloadCheckpoint, DownloadRun, Email, MemberId, OrgId, Subscription};
use crate::error::StoreError;
use crate::snapshot::OrgSnapshot;
use crate::timeline::MemberEvent;

/// Members, download runs and checkpoints, snapshots and timelines. `crate::contract` (feature
/// `contract-tests`) checks every guarantee below.
#[async_trait]
pub trait MemberStore: Send + Sync {
    // --- Members ----------------------------------------------------------------------------------------------

    /// Inserts or replaces these members, all or nothing. Callers pass only new and changed members (by content
    /// hash), so a day on which nothing changed costs no member writes. Every member's `org_id` must be `org`.
    async fn upsert_members(&self, org: &OrgId, members: &[Subscription])
    -> Result<(), StoreError>;

    /// A member as stored, with `last_seen_at` reported as the later of the stored value and the org's last
    /// complete download ([`Self::put_download_run`]) unless the member is marked removed: every member not
    /// removed was, by definition, in that download's complete listing.
    async fn get_member(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Subscription>, StoreError>;

    /// Same `last_seen_at` rule as [`Self::get_member`]. If several members share the address, the lowest id.
    async fn find_member_by_email(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<Subscription>, StoreError>;

    /// Every member of the org, removed ones included, ordered by member id (numeric order), with the
    /// `last_seen_at` rule of [`Self::get_member`].
    async fn list_members(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError>;

    /// Up to `limit` members of the org (removed ones included) whose ids lie in `(after, upto]` in numeric id
    /// order, ordered by member id, with the `last_seen_at` rule of [`Self::get_member`]. `None` leaves that end
    /// open. To read a whole range, call again with the last id returned as `after` until fewer than `limit`
    /// come back. Why: the download compares each Miro page with the stored members of the same id range, and
    /// the snapshot counts every member, without holding a whole org in memory. Adapters answer from an index
    /// in that order, so a page costs the same at the end of a large org as at its start.
    async fn list_members_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        upto: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// Up to `limit` members of the org (removed ones included) whose email starts with `prefix` (emails are
    /// stored folded, so pass a folded prefix; "" matches everyone), ordered by (email, member id), strictly after
    /// `after` = (email, member id) when given. Same `last_seen_at` rule as [`Self::get_member`]. Every page
    /// costs the same wherever it starts, whatever the size of the org (adapters answer from an index in the
    /// page's order): the console's goal is a page in well under 200 ms for a 100 000-member org.
    async fn search_members(
        &self,
        org: &OrgId,
        prefix: &str,
        after: Option<(&Email, &MemberId)>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// Sets `removed_at = at` on the listed members that are not already removed (an earlier removal time is
    /// kept). Unknown ids are ignored. Returns how many were newly marked.
    async fn mark_removed(
        &self,
        org: &OrgId,
        members: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    // --- Download runs and checkpoints ------------------------------------------------------------------------

    /// Records a complete download of the org, replacing the previous record.
    async fn put_download_run(&self, run: &DownloadRun) -> Result<(), StoreError>;
    async fn last_download_run(&self, org: &OrgId) -> Result<Option<DownloadRun>, StoreError>;

    /// One checkpoint per org; a put replaces it.
    async fn put_checkpoint(&self, checkpoint: &DownloadCheckpoint) -> Result<(), StoreError>;
    async fn get_checkpoint(&self, org: &OrgId) -> Result<Option<DownloadCheckpoint>, StoreError>;
    /// Removing an absent checkpoint is not an error.
    async fn clear_checkpoint(&self, org: &OrgId) -> Result<(), StoreError>;

    // --- Daily snapshots --------------------------------------------------------------------------------------

    /// Keyed by (org, date): a second put for the same day replaces the first.
    async fn put_snapshot(&self, snapshot: &OrgSnapshot) -> Result<(), StoreError>;
    async fn get_snapshot(
        &self,
        org: &OrgId,
        date: NaiveDate,
    ) -> Result<Option<OrgSnapshot>, StoreError>;
    /// Days `from..=to`, ascending.
    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<OrgSnapshot>, StoreError>;
    /// The snapshot with the latest date.
    async fn latest_snapshot(&self, org: &OrgId) -> Result<Option<OrgSnapshot>, StoreError>;

    // --- Member timelines -------------------------------------------------------------------------------------

    /// Appends the events to their members' timelines. An event whose (org, member, [`MemberEvent::key`]) is
    /// already stored is left as it is, so a re-run of the same day adds nothing. Events are kept at least
    /// [`crate::timeline::TIMELINE_RETENTION_DAYS`] days.
    async fn append_member_events(&self, events: &[MemberEvent]) -> Result<(), StoreError>;

    /// Up to `limit` events of the member, newest first (by [`MemberEvent::key`] descending), strictly before
    /// the key `before` when given.
    async fn list_member_events(
        &self,
        org: &OrgId,
        member: &MemberId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MemberEvent>, StoreError>;
}
