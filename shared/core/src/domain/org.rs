//! Orgs we manage and the bookkeeping of their downloads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{OrgId, RunId};

/// An org someone connected to miro-sam. Its reclaim policy is stored separately, versioned
/// (see [`crate::ports::SubscriptionStore::put_policy`]), so every plan can name the exact policy it used.
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
}
