//! Orgs we manage and the bookkeeping of their downloads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{MemberId, OrgId, RunId};

/// An org someone connected to miro-sam. Its reclaim policy is stored separately, versioned
/// (see [`crate::ports::OrgStore::put_policy`]), so every plan can name the exact policy it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredOrg {
    pub id: OrgId,
    pub name: String,
    pub connected_at: DateTime<Utc>,
}

/// The last COMPLETE download of an org. Every member not marked removed was seen by it, which is how stores
/// report `last_seen_at` without rewriting every member every day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadRun {
    pub org_id: OrgId,
    pub run_id: RunId,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub members_seen: u64,
}

/// Where an interrupted member listing stopped, so a later run can continue from `cursor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadCheckpoint {
    pub org_id: OrgId,
    pub run_id: RunId,
    /// Miro's cursor for the next page; `None` before the first page.
    pub cursor: Option<String>,
    pub pages_done: u64,
    pub updated_at: DateTime<Utc>,
    /// What the run learned before it stopped, so the resumed run can finish the job (counts, removals).
    #[serde(default)]
    pub progress: DownloadProgress,
}

/// The part of a download's state that must survive between invocations.
///
/// Miro pages the member list by member id (the cursor is the last id received), so the pages done cover every
/// id up to `last_member_id`. Stored members in that range that the pages did not contain are `missing`: they
/// are marked removed when the run completes. If a page ever breaks the id order, `ordered` turns false and the
/// run marks nobody removed (the safe direction: a removed member is never reclaimed, a kept one is re-checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadProgress {
    pub started_at: Option<DateTime<Utc>>,
    pub last_member_id: Option<MemberId>,
    pub ordered: bool,
    pub missing: Vec<MemberId>,
    pub members_seen: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Default for DownloadProgress {
    fn default() -> Self {
        DownloadProgress {
            started_at: None,
            last_member_id: None,
            ordered: true,
            missing: Vec::new(),
            members_seen: 0,
            new: 0,
            changed: 0,
            unchanged: 0,
            rejected: 0,
        }
    }
}
