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
    /// The admin who approved this reclaim; `None` when the policy approves automatically (and in messages of
    /// builds before it was carried). The member's timeline names them beside the worker that acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
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
            approved_by: None,
        }
    }

    /// The same request, approved by `admin` (when one approved it).
    pub fn approved_by(mut self, admin: Option<&str>) -> Self {
        self.approved_by = admin.map(str::to_owned);
        self
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

/// The undo message format this build writes.
pub const REACTIVATE_REQUEST_SCHEMA_VERSION: u32 = 1;

/// "Reactivate this member": an undo asked for in the console, which holds no SCIM token. The reclaim worker
/// carries it out with [`crate::jobs::reactivate`] (hold first, then SCIM), so a redelivered request is
/// harmless: the second finds the member active and only renews the hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactivateRequest {
    /// Always `"reactivate"`: tells the message from a [`ReclaimRequest`], which has no `kind`.
    pub kind: ReactivateKind,
    pub schema_version: u32,
    /// Unique per request: the dedup key, so one click is one undo however often it is delivered.
    pub request_id: uuid::Uuid,
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub email: Email,
    /// Who asked (the admin's email) and why: the undo's audit entry and hold carry them.
    pub requested_by: String,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReactivateKind {
    Reactivate,
}

impl ReactivateRequest {
    pub fn new(
        org_id: OrgId,
        member_id: MemberId,
        email: Email,
        requested_by: String,
        why: String,
    ) -> Self {
        ReactivateRequest {
            kind: ReactivateKind::Reactivate,
            schema_version: REACTIVATE_REQUEST_SCHEMA_VERSION,
            request_id: uuid::Uuid::new_v4(),
            org_id,
            member_id,
            email,
            requested_by,
            why,
        }
    }

    pub fn dedup_key(&self) -> String {
        format!("reactivate:{}", self.request_id)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a reactivate request always serializes")
    }
}

/// Any message the reclaim worker takes from its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkMessage {
    Reclaim(ReclaimRequest),
    Reactivate(ReactivateRequest),
}

impl WorkMessage {
    /// Reads a queue message body: a reactivate request carries `"kind": "reactivate"`; a body without `kind`
    /// is a reclaim request (the format every earlier build wrote). Unknown kinds and newer versions are refused
    /// with what to do, never guessed.
    pub fn from_json(s: &str) -> Result<Self, DomainError> {
        let invalid = |detail: String| DomainError::Invalid {
            what: "queue message",
            detail,
        };
        let v: serde_json::Value = serde_json::from_str(s).map_err(|e| invalid(e.to_string()))?;
        match v.get("kind") {
            None => ReclaimRequest::from_json(s).map(WorkMessage::Reclaim),
            Some(serde_json::Value::String(k)) if k == "reactivate" => {
                let r: ReactivateRequest =
                    serde_json::from_value(v).map_err(|e| invalid(e.to_string()))?;
                if r.schema_version != REACTIVATE_REQUEST_SCHEMA_VERSION {
                    return Err(invalid(format!(
                        "reactivate request schema_version {} is not understood by this build (it reads \
                         {REACTIVATE_REQUEST_SCHEMA_VERSION}); upgrade the worker",
                        r.schema_version
                    )));
                }
                Ok(WorkMessage::Reactivate(r))
            }
            Some(k) => Err(invalid(format!(
                "message kind {k} is not understood by this build; upgrade the worker"
            ))),
        }
    }

    pub fn org_id(&self) -> &OrgId {
        match self {
            WorkMessage::Reclaim(r) => &r.org_id,
            WorkMessage::Reactivate(r) => &r.org_id,
        }
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

    /// Queues one undo for the worker.
    async fn enqueue_reactivation(&self, request: &ReactivateRequest) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, MemberId, OrgId, PlanId};

    fn ids() -> (OrgId, MemberId, Email) {
        (
            OrgId::parse("3074457345821141000").unwrap(),
            MemberId::parse("3458764517517819000").unwrap(),
            Email::parse("jane@example.com").unwrap(),
        )
    }

    #[test]
    fn a_body_without_kind_is_a_reclaim_as_every_earlier_build_wrote_it() {
        let (org, member, email) = ids();
        let r = ReclaimRequest::new(PlanId::new(), org, member, email, "idle".into());
        assert_eq!(
            WorkMessage::from_json(&r.to_json()).unwrap(),
            WorkMessage::Reclaim(r)
        );
    }

    #[test]
    fn the_approver_travels_with_the_request_and_older_requests_still_parse() {
        let (org, member, email) = ids();
        let r = ReclaimRequest::new(PlanId::new(), org, member, email, "idle".into());
        let approved = r.clone().approved_by(Some("admin@example.com"));
        let back = ReclaimRequest::from_json(&approved.to_json()).unwrap();
        assert_eq!(back.approved_by.as_deref(), Some("admin@example.com"));
        // A request queued by an earlier build carries no approver, and still parses.
        let old = r.to_json();
        assert!(!old.contains("approved_by"), "{old}");
        assert_eq!(ReclaimRequest::from_json(&old).unwrap().approved_by, None);
    }

    #[test]
    fn a_reactivate_request_round_trips_and_is_told_apart() {
        let (org, member, email) = ids();
        let r = ReactivateRequest::new(
            org,
            member,
            email,
            "admin@example.com".into(),
            "back".into(),
        );
        assert!(r.to_json().contains(r#""kind":"reactivate""#));
        assert_eq!(
            WorkMessage::from_json(&r.to_json()).unwrap(),
            WorkMessage::Reactivate(r.clone())
        );
        assert_ne!(
            r.dedup_key(),
            ReactivateRequest::new(
                r.org_id.clone(),
                r.member_id.clone(),
                r.email.clone(),
                "admin@example.com".into(),
                "back".into()
            )
            .dedup_key(),
            "two clicks are two requests"
        );
    }

    #[test]
    fn unknown_kinds_and_newer_versions_are_refused_with_what_to_do() {
        let (org, member, email) = ids();
        let mut v = serde_json::to_value(ReactivateRequest::new(
            org,
            member,
            email,
            "a".into(),
            "b".into(),
        ))
        .unwrap();
        v["schema_version"] = 2.into();
        let e = WorkMessage::from_json(&v.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("upgrade the worker"), "{e}");
        v["kind"] = "delete".into();
        let e = WorkMessage::from_json(&v.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not understood"), "{e}");
        assert!(WorkMessage::from_json("not json").is_err());
    }
}
