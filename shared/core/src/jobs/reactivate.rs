//! Undo: reactivate a member through SCIM, recording who asked and why.

use serde::{Deserialize, Serialize};

use super::hold::{HoldRequest, place_hold};
use super::plan::append_once;
use super::{Deps, JobError, usable_access_token};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, Email, MemberId, OrgId};
use crate::hold::{Hold, HoldSource};
use crate::timeline::{MemberChange, MemberEvent};

/// Whom to reactivate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Email(Email),
    Id(MemberId),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactivateResult {
    pub org_id: OrgId,
    pub email: Email,
    pub member_id: Option<MemberId>,
    pub scim_user_id: String,
    /// The user was already active: nothing was sent and nothing recorded.
    pub already_active: bool,
    /// The audit entry written, if anything was done.
    pub audit_id: Option<AuditEntryId>,
    /// The hold that keeps the next plans from taking the seat again.
    pub hold: Hold,
}

/// Reactivates the member (SCIM `active: true`). `actor` and `why` are mandatory: an undo is a decision
/// someone must be able to trace.
pub async fn reactivate(
    deps: &Deps,
    org: &OrgId,
    who: &MemberRef,
    actor: &str,
    why: &str,
) -> Result<ReactivateResult, JobError> {
    if actor.trim().is_empty() || why.trim().is_empty() {
        return Err(JobError::InvalidRequest(
            "reactivation needs who is asking and why; both end up in the audit log".into(),
        ));
    }
    let (email, member_id) = match who {
        MemberRef::Email(e) => match deps.store.find_member_by_email(org, e).await? {
            Some(m) => (e.clone(), m.member_id),
            None => {
                // Not downloaded yet: ask Miro, because the hold is keyed by member id.
                let token = usable_access_token(deps, org).await?;
                let found = deps
                    .client
                    .members_by_email(&token, org.as_str(), &[e.as_str()])
                    .await?;
                let m = found
                    .into_iter()
                    .find(|m| m.email.trim().eq_ignore_ascii_case(e.as_str()))
                    .ok_or_else(|| JobError::MemberNotFound {
                        org: org.clone(),
                        what: format!("with email {e}"),
                    })?;
                (e.clone(), MemberId::parse(&m.id)?)
            }
        },
        MemberRef::Id(id) => match deps.store.get_member(org, id).await? {
            Some(m) => (m.email, id.clone()),
            None => {
                let token = usable_access_token(deps, org).await?;
                let m = match deps.client.member(&token, org.as_str(), id.as_str()).await {
                    Ok(m) => m,
                    Err(e) if e.is_not_found() => {
                        return Err(JobError::MemberNotFound {
                            org: org.clone(),
                            what: format!("with id {id}"),
                        });
                    }
                    Err(e) => return Err(e.into()),
                };
                (Email::parse(&m.email)?, id.clone())
            }
        },
    };

    let scim_token = deps.tokens.get_scim_token(org).await?;
    let user = deps
        .client
        .scim_find_user_by_email(&scim_token, email.as_str())
        .await?
        .ok_or_else(|| JobError::MemberNotFound {
            org: org.clone(),
            what: format!("with email {email}"),
        })?;
    let hold_request = HoldRequest {
        org,
        member_id: &member_id,
        email: &email,
        source: HoldSource::Reactivated,
        reason: why,
        created_by: actor,
    };
    if user.active {
        // Already active (an admin reactivated them in Miro): the hold is what is still missing.
        let hold = place_hold(deps.store.as_ref(), hold_request, deps.clock.now()).await?;
        return Ok(ReactivateResult {
            org_id: org.clone(),
            email,
            member_id: Some(member_id),
            scim_user_id: user.id,
            already_active: true,
            audit_id: None,
            hold,
        });
    }
    // The hold goes first: if the SCIM call then fails, a hold without a reactivation is harmless, whereas a
    // reactivation without a hold would be undone by the next plan.
    let hold = place_hold(deps.store.as_ref(), hold_request, deps.clock.now()).await?;
    deps.client
        .scim_set_active(&scim_token, &user.id, true)
        .await?;
    let id = AuditEntryId::unique("reactivate");
    append_once(
        deps.store.as_ref(),
        AuditEntry {
            id: id.clone(),
            org_id: org.clone(),
            at: deps.clock.now(),
            actor: actor.trim().to_owned(),
            event: AuditEvent::Reactivated {
                member_id: Some(member_id.clone()),
                email: email.clone(),
                scim_user_id: user.id.clone(),
                why: why.trim().to_owned(),
            },
        },
    )
    .await?;
    deps.store
        .append_member_events(&[MemberEvent {
            org_id: org.clone(),
            member_id: member_id.clone(),
            at: deps.clock.now(),
            change: MemberChange::Reactivated {
                by: actor.trim().to_owned(),
                why: why.trim().to_owned(),
            },
        }])
        .await?;
    tracing::info!(%org, email = %email, scim_user = %user.id, "reactivated");
    Ok(ReactivateResult {
        org_id: org.clone(),
        email,
        member_id: Some(member_id),
        scim_user_id: user.id,
        already_active: false,
        audit_id: Some(id),
        hold,
    })
}
