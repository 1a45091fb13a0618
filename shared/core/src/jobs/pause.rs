//! The kill switch: pause an org (nothing more is sent to SCIM for it) and resume it. Store-only, no Miro call,
//! so it works while Miro or the queue is down.

use chrono::{DateTime, Utc};

use super::JobError;
use super::plan::append_once;
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, OrgId};
use crate::pause::OrgPause;
use crate::plan::PlanRefusal;
use crate::ports::{OrgStore, SubscriptionStore};

/// Turns the org's kill switch on. Pausing a paused org replaces the reason (and is audited again).
pub async fn pause_org(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<OrgPause, JobError> {
    let (reason, actor) = (reason.trim(), actor.trim());
    if actor.is_empty() {
        return Err(JobError::InvalidRequest(
            "pausing needs who is asking; it ends up in the audit log".into(),
        ));
    }
    if store.get_org(org).await?.is_none() {
        return Err(JobError::InvalidRequest(format!(
            "org {org} is not connected to miro-sam; nothing to pause"
        )));
    }
    let pause = OrgPause {
        org_id: org.clone(),
        reason: if reason.is_empty() {
            "no reason given".to_owned()
        } else {
            reason.to_owned()
        },
        paused_by: actor.to_owned(),
        paused_at: now,
    };
    store.put_pause(&pause).await?;
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::unique("pause"),
            org_id: org.clone(),
            at: now,
            actor: actor.to_owned(),
            event: AuditEvent::OrgPaused {
                reason: pause.reason.clone(),
            },
        },
    )
    .await?;
    tracing::info!(%org, by = actor, reason = %pause.reason, "org paused: no reclaim will be sent");
    Ok(pause)
}

/// Turns the kill switch off. Returns the pause that was lifted, `None` if the org was not paused (nothing is
/// audited then). Reclaims that ended `skipped` while paused stay skipped: plan again to act on them.
pub async fn resume_org(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<OrgPause>, JobError> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(JobError::InvalidRequest(
            "resuming needs who is asking; it ends up in the audit log".into(),
        ));
    }
    let Some(was) = store.clear_pause(org).await? else {
        return Ok(None);
    };
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::unique("resume"),
            org_id: org.clone(),
            at: now,
            actor: actor.to_owned(),
            event: AuditEvent::OrgResumed {
                paused_by: was.paused_by.clone(),
                paused_at: was.paused_at,
                reason: was.reason.clone(),
            },
        },
    )
    .await?;
    tracing::info!(%org, by = actor, "org resumed");
    Ok(Some(was))
}

/// Refuses when the org is paused, reading the CURRENT state (not anything a plan froze).
pub async fn check_not_paused(store: &dyn OrgStore, org: &OrgId) -> Result<(), JobError> {
    match store.get_pause(org).await? {
        None => Ok(()),
        Some(p) => Err(PlanRefusal::OrgPaused {
            org_id: org.clone(),
            pause: p.to_string(),
        }
        .into()),
    }
}
