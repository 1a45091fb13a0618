//! Placing a hold after an undo, with its audit entry. One function for both ways an undo happens: through
//! miro-sam (`reactivate`) and in Miro (noticed by the download).

use chrono::{DateTime, Duration, Utc};

use super::JobError;
use super::plan::{append_once, current_policy};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, Email, MemberId, OrgId};
use crate::hold::{Hold, HoldSource};
use crate::ports::SubscriptionStore;

/// Who the hold is for and why.
pub struct HoldRequest<'a> {
    pub org: &'a OrgId,
    pub member_id: &'a MemberId,
    pub email: &'a Email,
    pub source: HoldSource,
    pub reason: &'a str,
    pub created_by: &'a str,
}

/// Holds the member for the org's current `reactivation_hold_days` from `now`, replacing any earlier hold.
pub async fn place_hold(
    store: &dyn SubscriptionStore,
    req: HoldRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Hold, JobError> {
    let policy = current_policy(store, req.org, now).await?;
    let hold = Hold {
        org_id: req.org.clone(),
        member_id: req.member_id.clone(),
        email: req.email.clone(),
        source: req.source,
        reason: req.reason.trim().to_owned(),
        created_by: req.created_by.trim().to_owned(),
        created_at: now,
        expires_at: now + Duration::days(i64::from(policy.policy.reactivation_hold_days)),
    };
    store.put_hold(&hold).await?;
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::unique("hold"),
            org_id: req.org.clone(),
            at: now,
            actor: hold.created_by.clone(),
            event: AuditEvent::HoldPlaced {
                member_id: hold.member_id.clone(),
                email: hold.email.clone(),
                source: hold.source,
                reason: hold.reason.clone(),
                expires_at: hold.expires_at,
            },
        },
    )
    .await?;
    tracing::info!(org = %req.org, member = %hold.member_id, until = %hold.expires_at, source = hold.source.as_str(), "hold placed");
    Ok(hold)
}

/// Removes the member's hold (a person decided the member may be planned again). Returns whether there was one.
pub async fn remove_hold(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    member: &MemberId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<bool, JobError> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(JobError::InvalidRequest(
            "removing a hold needs who is asking; it ends up in the audit log".into(),
        ));
    }
    let Some(hold) = store.get_hold(org, member).await? else {
        return Ok(false);
    };
    if !store.delete_hold(org, member).await? {
        return Ok(false);
    }
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::unique("unhold"),
            org_id: org.clone(),
            at: now,
            actor: actor.to_owned(),
            event: AuditEvent::HoldRemoved {
                member_id: member.clone(),
                email: hold.email,
            },
        },
    )
    .await?;
    Ok(true)
}
