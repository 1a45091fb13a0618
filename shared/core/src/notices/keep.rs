//! "Keep my license": a member's answer to a notice, and an admin's decision on it when the policy asks for one.
//! A keep ends the cycle with a hold (source `kept`, `keep_days` long), written BEFORE the record says kept: a
//! hold without the record is harmless (the next run ends the cycle as held), a kept record without a hold would
//! let the next plan pick the member again.
//!
//! The keep link and page (signed, single use, GET shows, only POST keeps) are the console's; they call
//! [`keep_seat`] with the cycle the link was issued for.

use chrono::{DateTime, Duration, Utc};

use super::error::NoticeError;
use super::record::{NoticeRecord, NoticeState};
use super::run::{append_once, notice_audit_id};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{MemberId, OrgId};
use crate::error::StoreError;
use crate::hold::{Hold, HoldSource};
use crate::ports::{NoticeStore, SubscriptionStore};
use crate::timeline::{MemberChange, MemberEvent};

/// What a keep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepOutcome {
    /// The member keeps the seat until `hold_until`.
    Kept { hold_until: DateTime<Utc> },
    /// The request waits for an admin (`keep_needs_approval`).
    Requested,
}

/// Which member's cycle: what a keep link is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleRef<'a> {
    pub org: &'a OrgId,
    pub member: &'a MemberId,
    pub cycle: u32,
}

/// Records the member's keep. Safe to repeat: a second keep of the same cycle answers as the first did.
pub async fn keep_seat(
    store: &dyn SubscriptionStore,
    notices: &dyn NoticeStore,
    cycle: CycleRef<'_>,
    now: DateTime<Utc>,
) -> Result<KeepOutcome, NoticeError> {
    for _ in 0..3 {
        let r = open_cycle(notices, &cycle).await?;
        match &r.state {
            NoticeState::Kept { hold_until, .. } => {
                return Ok(KeepOutcome::Kept {
                    hold_until: *hold_until,
                });
            }
            NoticeState::KeepRequested { .. } => return Ok(KeepOutcome::Requested),
            NoticeState::DroppedOut { .. } => {
                return Err(NoticeError::KeepRefused(
                    "your license is no longer set to be freed: there is nothing to keep".into(),
                ));
            }
            NoticeState::Reclaimed { .. } => {
                return Err(NoticeError::KeepRefused(
                    "your license was already freed; ask your Miro administrator to restore your access"
                        .into(),
                ));
            }
            _ => {}
        }
        let policy = store
            .latest_policy(cycle.org)
            .await?
            .ok_or(NoticeError::NoPolicy)?
            .policy;
        let outcome = if policy.keep_needs_approval {
            let next = r.next(NoticeState::KeepRequested { at: now }, now);
            if !cas(notices, &next, r.version).await? {
                continue;
            }
            let event = AuditEvent::KeepRequested {
                member_id: r.member_id.clone(),
                email: r.email.clone(),
                cycle: r.cycle,
            };
            // Per version: a member whose request was declined may ask again, and that is a new entry.
            let what = format!("keep-requested/v{}", next.version);
            audit(store, &r, &what, r.email.as_str(), event, now).await?;
            KeepOutcome::Requested
        } else {
            let hold_until = now + Duration::days(i64::from(policy.keep_days));
            if !finish_keep(store, notices, &r, hold_until, None, now).await? {
                continue;
            }
            KeepOutcome::Kept { hold_until }
        };
        tracing::info!(org = %r.org_id, member = %r.member_id, cycle = r.cycle, ?outcome, "keep recorded");
        return Ok(outcome);
    }
    Err(NoticeError::Contended {
        member_id: cycle.member.clone(),
    })
}

/// An admin grants a waiting keep request: the member keeps the seat for the policy's `keep_days`.
pub async fn approve_keep(
    store: &dyn SubscriptionStore,
    notices: &dyn NoticeStore,
    cycle: CycleRef<'_>,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, NoticeError> {
    let admin = required_actor(admin)?;
    for _ in 0..3 {
        let r = open_cycle(notices, &cycle).await?;
        if let NoticeState::Kept { hold_until, .. } = r.state {
            return Ok(hold_until);
        }
        if !matches!(r.state, NoticeState::KeepRequested { .. }) {
            return Err(NoticeError::KeepRefused(format!(
                "member {} has no keep request waiting (their notice is {})",
                r.member_id,
                r.state.kind()
            )));
        }
        let policy = store
            .latest_policy(cycle.org)
            .await?
            .ok_or(NoticeError::NoPolicy)?
            .policy;
        let hold_until = now + Duration::days(i64::from(policy.keep_days));
        if finish_keep(store, notices, &r, hold_until, Some(admin), now).await? {
            return Ok(hold_until);
        }
    }
    Err(NoticeError::Contended {
        member_id: cycle.member.clone(),
    })
}

/// An admin declines a waiting keep request: the cycle goes on as notified, and the seat may be reclaimed from
/// the reclaim date (the daily run marks it due then, or at once if the date has passed).
pub async fn decline_keep(
    store: &dyn SubscriptionStore,
    notices: &dyn NoticeStore,
    cycle: CycleRef<'_>,
    admin: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), NoticeError> {
    let admin = required_actor(admin)?;
    let why = why.trim();
    if why.is_empty() {
        return Err(NoticeError::KeepRefused(
            "declining a keep request needs a reason; the member's admins will read it in the audit log"
                .into(),
        ));
    }
    let r = open_cycle(notices, &cycle).await?;
    if !matches!(r.state, NoticeState::KeepRequested { .. }) {
        return Err(NoticeError::KeepRefused(format!(
            "member {} has no keep request waiting (their notice is {})",
            r.member_id,
            r.state.kind()
        )));
    }
    let next = r.next(NoticeState::Notified, now);
    if !cas(notices, &next, r.version).await? {
        return Err(NoticeError::Contended {
            member_id: r.member_id.clone(),
        });
    }
    let event = AuditEvent::KeepDeclined {
        member_id: r.member_id.clone(),
        email: r.email.clone(),
        cycle: r.cycle,
        why: why.to_owned(),
    };
    audit(
        store,
        &r,
        &format!("keep-declined/v{}", next.version),
        admin,
        event,
        now,
    )
    .await
}

/// Hold first, then the record, then the audit entry and the timeline. `false` if the record moved on.
async fn finish_keep(
    store: &dyn SubscriptionStore,
    notices: &dyn NoticeStore,
    r: &NoticeRecord,
    hold_until: DateTime<Utc>,
    approved_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, NoticeError> {
    let actor = approved_by.map_or_else(|| r.email.to_string(), str::to_owned);
    store
        .put_hold(&Hold {
            org_id: r.org_id.clone(),
            member_id: r.member_id.clone(),
            email: r.email.clone(),
            source: HoldSource::Kept,
            reason: format!("asked to keep the license (notice of {})", r.notified_on),
            created_by: actor.clone(),
            created_at: now,
            expires_at: hold_until,
        })
        .await?;
    let next = r.next(
        NoticeState::Kept {
            at: now,
            hold_until,
        },
        now,
    );
    if !cas(notices, &next, r.version).await? {
        return Ok(false);
    }
    let event = AuditEvent::Kept {
        member_id: r.member_id.clone(),
        email: r.email.clone(),
        cycle: r.cycle,
        hold_until,
        approved_by: approved_by.map(str::to_owned),
    };
    audit(store, r, "kept", &actor, event, now).await?;
    store
        .append_member_events(&[MemberEvent {
            org_id: r.org_id.clone(),
            member_id: r.member_id.clone(),
            at: now,
            change: MemberChange::Kept { until: hold_until },
        }])
        .await?;
    Ok(true)
}

/// The record of exactly this cycle; a link of an earlier cycle keeps nothing.
async fn open_cycle(
    notices: &dyn NoticeStore,
    cycle: &CycleRef<'_>,
) -> Result<NoticeRecord, NoticeError> {
    match notices.get_notice(cycle.org, cycle.member).await? {
        Some(r) if r.cycle == cycle.cycle => Ok(r),
        Some(_) => Err(NoticeError::KeepRefused(
            "this link belongs to an earlier notice; use the link in your latest notice".into(),
        )),
        None => Err(NoticeError::KeepRefused(
            "there is no notice for this link; nothing was changed".into(),
        )),
    }
}

async fn cas(
    notices: &dyn NoticeStore,
    next: &NoticeRecord,
    expected: u64,
) -> Result<bool, NoticeError> {
    match notices.put_notice(next, Some(expected)).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn audit(
    store: &dyn SubscriptionStore,
    r: &NoticeRecord,
    what: &str,
    actor: &str,
    event: AuditEvent,
    now: DateTime<Utc>,
) -> Result<(), NoticeError> {
    append_once(
        store,
        AuditEntry {
            id: notice_audit_id(r, what)?,
            org_id: r.org_id.clone(),
            at: now,
            actor: actor.to_owned(),
            event,
        },
    )
    .await
}

fn required_actor(admin: &str) -> Result<&str, NoticeError> {
    let admin = admin.trim();
    if admin.is_empty() {
        return Err(NoticeError::KeepRefused(
            "deciding a keep request needs who decides; it ends up in the audit log".into(),
        ));
    }
    Ok(admin)
}

/// Ends a due cycle once its seat is reclaimed (the reclaim worker calls this after the SCIM deactivation).
/// Anything but a due cycle is left as it is.
pub async fn mark_reclaimed(
    notices: &dyn NoticeStore,
    org: &OrgId,
    member: &MemberId,
    plan_id: crate::domain::PlanId,
    now: DateTime<Utc>,
) -> Result<bool, NoticeError> {
    let Some(r) = notices.get_notice(org, member).await? else {
        return Ok(false);
    };
    if r.state != NoticeState::Due {
        return Ok(false);
    }
    cas(
        notices,
        &r.next(NoticeState::Reclaimed { plan_id }, now),
        r.version,
    )
    .await
}
