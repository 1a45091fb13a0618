//! An undo asked for where the SCIM token is not: the console queues a [`ReactivateRequest`] and the reclaim
//! worker, which holds the token, carries it out with [`super::reactivate`].

use chrono::{DateTime, Utc};

use super::JobError;
use super::plan::append_once;
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, MemberId, OrgId};
use crate::ports::{ReactivateRequest, ReclaimQueue, SubscriptionStore};

/// Queues the reactivation of a stored member and audits the request. `actor` and `why` are mandatory, as for
/// [`super::reactivate`].
pub async fn request_reactivation(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    org: &OrgId,
    member: &MemberId,
    actor: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<ReactivateRequest, JobError> {
    let (actor, why) = (actor.trim(), why.trim());
    if actor.is_empty() || why.is_empty() {
        return Err(JobError::InvalidRequest(
            "reactivation needs who is asking and why; both end up in the audit log".into(),
        ));
    }
    let m = store
        .get_member(org, member)
        .await?
        .ok_or_else(|| JobError::MemberNotFound {
            org: org.clone(),
            what: format!("with id {member}"),
        })?;
    let request = ReactivateRequest::new(
        org.clone(),
        member.clone(),
        m.email.clone(),
        actor.to_owned(),
        why.to_owned(),
    );
    queue.enqueue_reactivation(&request).await?;
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::parse(&format!("undo/{}", request.request_id))?,
            org_id: org.clone(),
            at: now,
            actor: actor.to_owned(),
            event: AuditEvent::ReactivateRequested {
                member_id: member.clone(),
                email: m.email,
                why: why.to_owned(),
            },
        },
    )
    .await?;
    Ok(request)
}
