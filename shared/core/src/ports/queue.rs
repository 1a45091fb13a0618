//! Handing reclaims to whatever executes them (SQS + a worker in the cloud, a table + the CLI locally).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{Email, MemberId, OrgId, PlanId};
use crate::error::{DomainError, StoreError};

/// The message format this build writes. Readers refuse newer versions instead of guessing.
pub const RECLAIM_REQUEST_SCHEMA_VERSION: u32 = 1;

/// "Reclaim this member under this plan." Executing it runs [`crate::jobs::reclaim_member`], which re-checks
/// everything, so a stale or duplicated request is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimRequest {
    pub schema_version: u32,
    pub plan_id: PlanId,
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub email: Email,
    /// The candidate's reason, for people reading the queue.
    pub reason: String,
}

impl ReclaimRequest {
    pub fn new(
        plan_id: PlanId,
        org_id: OrgId,
        member_id: MemberId,
        email: Email,
        reason: String,
    ) -> Self {
        ReclaimRequest {
            schema_version: RECLAIM_REQUEST_SCHEMA_VERSION,
            plan_id,
            org_id,
            member_id,
            email,
            reason,
        }
    }

    /// One request per (plan, member): queues drop a second one with the same key.
    pub fn dedup_key(&self) -> String {
        format!("{}:{}", self.plan_id, self.member_id)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a reclaim request always serializes")
    }

    pub fn from_json(s: &str) -> Result<Self, DomainError> {
        let r: ReclaimRequest = serde_json::from_str(s).map_err(|e| DomainError::Invalid {
            what: "reclaim request",
            detail: e.to_string(),
        })?;
        if r.schema_version != RECLAIM_REQUEST_SCHEMA_VERSION {
            return Err(DomainError::Invalid {
                what: "reclaim request",
                detail: format!(
                    "schema_version {} is not understood by this build (it reads {RECLAIM_REQUEST_SCHEMA_VERSION}); \
                     upgrade the worker",
                    r.schema_version
                ),
            });
        }
        Ok(r)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnqueueReport {
    pub enqueued: usize,
    /// Requests dropped because their dedup key was already queued. Queues that cannot tell report 0.
    pub already_queued: usize,
}

#[async_trait]
pub trait ReclaimQueue: Send + Sync {
    async fn enqueue(&self, batch: &[ReclaimRequest]) -> Result<EnqueueReport, StoreError>;
}
