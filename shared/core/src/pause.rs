//! The kill switch of one org. Why it is its own record and not a policy field: pausing must work at once and
//! must not be undone by a reconnect or a policy edit; the reclaim worker reads it right before every SCIM call,
//! so queued messages and plans already approved stop too.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::OrgId;

/// An org's kill switch: while set, nothing is sent to SCIM for the org, whatever a plan or a queued message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPause {
    pub org_id: OrgId,
    pub reason: String,
    pub paused_by: String,
    pub paused_at: DateTime<Utc>,
}

impl fmt::Display for OrgPause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "paused by {} at {}: {}",
            self.paused_by,
            self.paused_at.format("%Y-%m-%d %H:%M UTC"),
            self.reason
        )
    }
}
