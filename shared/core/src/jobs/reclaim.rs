//! Reclaim one candidate of a stored plan: re-check against Miro of the moment, deactivate through SCIM, record
//! the outcome once.
//!
//! Order of writes, and why:
//! 1. the record is created `Pending` (once per plan and member);
//! 2. `Applying` (with the SCIM user id) is written BEFORE the SCIM PATCH, as evidence that we are sending it;
//! 3. the outcome goes to the audit log under an id derived from (plan, member), so a retry cannot write a second
//!    one, and the first entry written is the truth;
//! 4. only then the record moves to its terminal state.
//!
//! A crash anywhere is finished by running the job again: after 4 it returns the recorded outcome with no Miro
//! call; after 3 it completes the transition from the audit entry; after the PATCH but before 3 it finds the
//! member deactivated while the record says `Applying`, and records the reclaim without a second PATCH.

use crate::domain::ScimUserExt;
use chrono::{DateTime, Utc};
use miro_client::{MiroError, ScimUser};
use serde::{Deserialize, Serialize};

use super::plan::current_policy;
use super::{Deps, JobError, usable_access_token};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, Email, MemberId, OrgId, PlanId, Subscription};
use crate::error::StoreError;
use crate::notices;
use crate::plan::{Candidate, PlanHeader};
use crate::ports::{NoticeStore, SubscriptionStore};
use crate::reclaim::{
    ReclaimOutcome, ReclaimRecord, ReclaimState, ReclaimTransition, SkipReason, recheck,
};
use crate::timeline::{MemberChange, MemberEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReclaimOptions {
    /// Execute even though the plan's policy is dry-run (demos against the sandbox). The cap cannot be overridden.
    pub override_dry_run: bool,
    /// Recorded in the audit log.
    pub actor: String,
    /// The admin who approved the reclaim (from the queued request), for the member's timeline.
    pub approved_by: Option<String>,
}

impl Default for ReclaimOptions {
    fn default() -> Self {
        ReclaimOptions {
            override_dry_run: false,
            actor: "miro-sam reclaim".into(),
            approved_by: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimResult {
    pub plan_id: PlanId,
    pub member_id: MemberId,
    pub email: Email,
    pub outcome: ReclaimOutcome,
    /// True when the outcome was already recorded and this call made no Miro request.
    pub replayed: bool,
}

/// Reclaims `member` under `plan_id`. Errors for which [`JobError::is_retryable`] holds leave the record
/// unfinished, so running the job again continues where it stopped.
///
/// A reclaim (new or replayed) ends the member's notice cycle as reclaimed. Replays too: a crash between the
/// record's terminal state and the cycle's end is finished by the redelivered message.
pub async fn reclaim_member(
    deps: &Deps,
    plan_id: PlanId,
    member: &MemberId,
    opts: &ReclaimOptions,
) -> Result<ReclaimResult, JobError> {
    // The plan's header and this member's candidate item, never the whole plan: a message costs the same in a
    // plan of ten candidates as in one of a million.
    let plan = deps
        .store
        .get_plan_header(plan_id)
        .await?
        .ok_or(JobError::PlanNotFound { plan_id })?;
    let result = reclaim_once(deps, &plan, member, opts).await?;
    if matches!(result.outcome, ReclaimOutcome::Reclaimed { .. }) {
        end_notice_cycle(deps, &plan.org_id, &result).await;
    }
    Ok(result)
}

/// Marks the member's notice cycle reclaimed (only a due cycle moves; any other state is left alone). The seat is
/// free whatever happens here, so a failure is logged, not returned: the reclaim is done, and the next notice run
/// ends an open cycle anyway once the member is no longer a candidate.
async fn end_notice_cycle(deps: &Deps, org: &OrgId, result: &ReclaimResult) {
    let store: &dyn NoticeStore = deps.store.as_ref();
    if let Err(e) = notices::mark_reclaimed(
        store,
        org,
        &result.member_id,
        result.plan_id,
        deps.clock.now(),
    )
    .await
    {
        tracing::warn!(org = %org, plan = %result.plan_id, member = %result.member_id, error = %e, "reclaimed, but the notice cycle could not be marked reclaimed; the next notice run ends it");
    }
}

async fn reclaim_once(
    deps: &Deps,
    plan: &PlanHeader,
    member: &MemberId,
    opts: &ReclaimOptions,
) -> Result<ReclaimResult, JobError> {
    let store = deps.store.as_ref();
    let plan_id = plan.plan_id;
    let candidate = store
        .get_plan_candidate(plan_id, member)
        .await?
        .ok_or_else(|| JobError::NotACandidate {
            plan_id,
            member_id: member.clone(),
        })?;
    let candidate = &candidate;

    if let Some(rec) = store.get_reclaim_record(plan_id, member).await?
        && rec.state.is_terminal()
    {
        return Ok(replay(rec));
    }
    plan.check_executable(opts.override_dry_run)?;

    let now = deps.clock.now();
    let pending = ReclaimRecord::pending(
        plan_id,
        plan.org_id.clone(),
        member.clone(),
        candidate.email.clone(),
        now,
    );
    let (rec, _) = store.create_reclaim_record(&pending).await?;
    if rec.state.is_terminal() {
        return Ok(replay(rec));
    }
    let step = Step {
        deps,
        plan_id,
        candidate,
        opts,
    };

    // A previous attempt may have recorded its outcome and crashed before the transition.
    if let Some(entry) = store
        .get_audit(&AuditEntryId::for_reclaim(plan_id, member))
        .await?
        && let Some(outcome) = entry.reclaim_outcome()
    {
        return step.transition(rec, outcome).await;
    }

    // An approval covers its own plan only: a reclaim not yet started whose plan a newer one replaced is not
    // carried out (the new plan re-decides, under the current data). One started (`Applying`) is finished.
    if rec.state == ReclaimState::Pending
        && let Some(latest) = store.latest_plan_header(&plan.org_id).await?
        && latest.plan_id != plan_id
    {
        let reason = SkipReason::PlanSuperseded {
            by_plan: latest.plan_id,
        };
        return step.finish(rec, skipped(reason), now).await;
    }

    let org = &plan.org_id;
    let policy = current_policy(store, org, now).await?;
    let hold = store.get_hold(org, member).await?;
    let token = usable_access_token(deps, org).await?;
    let scim_token = deps.tokens.get_scim_token(org).await?;

    let miro_member = match deps
        .client
        .member(&token, org.as_str(), member.as_str())
        .await
    {
        Ok(m) => m,
        Err(e) if e.is_not_found() => {
            return step
                .finish(rec, skipped(SkipReason::GoneFromMiro), now)
                .await;
        }
        Err(e) => return Err(e.into()),
    };
    let current = Subscription::from_member(org, &miro_member, now)?;
    if !current.active {
        return step.finish_deactivated(rec, now).await;
    }
    if let Err(reason) = recheck(candidate, &current, &policy, hold.as_ref(), now) {
        return step.finish(rec, skipped(reason), now).await;
    }
    // The member must have been told, and the reclaim date come, under the current policy (notices off: passes).
    // Asked here too, not only at approval: a queued message may be delivered after a keep, a bounce, a change
    // of policy, or have been sent without an approval (a forced reclaim).
    if policy.policy.notices_enabled() {
        let notice = store.get_notice(org, member).await?;
        if let Err(block) = notices::reclaim_gate(&policy.policy, notice.as_ref()) {
            let reason = SkipReason::NoticePending { wait: block.into() };
            return step.finish(rec, skipped(reason), now).await;
        }
    }

    let Some(scim_user) = deps
        .client
        .scim_find_user_by_email(&scim_token, current.email.as_str())
        .await?
    else {
        return step
            .finish(rec, skipped(SkipReason::ScimUserNotFound), now)
            .await;
    };
    if let Err(reason) = same_person_and_not_admin(&current, &scim_user) {
        return step.finish(rec, skipped(reason), now).await;
    }
    if !scim_user.active {
        return step.finish_deactivated(rec, now).await;
    }
    // The kill switch and the dry-run switch, read from the store as they are NOW, right before the PATCH: a
    // pause or a dry-run policy set after the plan was made (or after this message was queued) stops it.
    if let Err(reason) = kill_switch(store, org, opts.override_dry_run).await? {
        return step.finish(rec, skipped(reason), now).await;
    }

    let rec = match rec.state {
        ReclaimState::Applying => rec,
        _ => {
            let t = ReclaimTransition {
                to: ReclaimState::Applying,
                scim_user_id: Some(scim_user.id.clone()),
                outcome: None,
                at: now,
            };
            match store
                .transition_reclaim(plan_id, member, rec.state, &t)
                .await
            {
                Ok(r) => r,
                Err(StoreError::Conflict { .. }) => return step.lost_race_for(member).await,
                Err(e) => return Err(e.into()),
            }
        }
    };

    tracing::info!(org = %org, plan = %plan_id, member = %member, scim_user = %scim_user.id, "deactivating");
    match deps
        .client
        .scim_set_active(&scim_token, &scim_user.id, false)
        .await
    {
        Ok(_) => {
            let outcome = ReclaimOutcome::Reclaimed {
                scim_user_id: scim_user.id,
                at: deps.clock.now(),
            };
            step.finish(rec, outcome, now).await
        }
        // Miro answered and refused this user, or accepted the PATCH but the read-back still shows them active:
        // retrying will not change that, and a person should look.
        Err(
            e @ (MiroError::BadRequest { .. }
            | MiroError::Conflict { .. }
            | MiroError::NotFound { .. }
            | MiroError::ScimNotApplied { .. }),
        ) => {
            let outcome = ReclaimOutcome::Failed {
                error: e.to_string(),
            };
            step.finish(rec, outcome, now).await
        }
        // Anything else (busy, unreachable, token to fix, an answer we could not read) may or may not have
        // deactivated the user: leave the record `Applying`, so the next attempt looks at Miro and decides.
        Err(e) => Err(e.into()),
    }
}

/// The SCIM user found by email must be the member that was re-checked, and must not be an admin by any signal
/// SCIM gives (REST `adminRoles` is optional, so REST saying "no admin roles" proves nothing).
fn same_person_and_not_admin(current: &Subscription, user: &ScimUser) -> Result<(), SkipReason> {
    // ASCII-only case folding: full Unicode folding maps look-alikes (a Kelvin sign for `k`) onto other people.
    if !user
        .user_name
        .trim()
        .eq_ignore_ascii_case(current.email.as_str())
    {
        return Err(SkipReason::ScimEmailMismatch {
            scim_user_name: user.user_name.clone(),
            email: current.email.clone(),
        });
    }
    if user.id != current.member_id.as_str() {
        return Err(SkipReason::ScimUserMismatch {
            scim_user_id: user.id.clone(),
            member_id: current.member_id.clone(),
        });
    }
    if user.is_company_admin() {
        return Err(SkipReason::ScimCompanyAdmin {
            scim_user_id: user.id.clone(),
        });
    }
    let names = user.admin_role_names();
    if !names.is_empty() {
        return Err(SkipReason::ScimAdminRoles {
            scim_user_id: user.id.clone(),
            names,
        });
    }
    Ok(())
}

/// `Ok(Err(reason))` when the org is paused now, or its current policy is a dry run (unless overridden).
async fn kill_switch(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    override_dry_run: bool,
) -> Result<Result<(), SkipReason>, JobError> {
    if let Some(p) = store.get_pause(org).await? {
        return Ok(Err(SkipReason::OrgPaused {
            reason: p.reason,
            paused_by: p.paused_by,
            paused_at: p.paused_at,
        }));
    }
    if let Some(p) = store.latest_policy(org).await?
        && p.policy.dry_run
        && !override_dry_run
    {
        return Ok(Err(SkipReason::DryRunNow {
            policy_version: p.version,
        }));
    }
    Ok(Ok(()))
}

fn skipped(reason: SkipReason) -> ReclaimOutcome {
    ReclaimOutcome::Skipped { reason }
}

fn replay(rec: ReclaimRecord) -> ReclaimResult {
    let outcome = rec
        .outcome
        .clone()
        .unwrap_or_else(|| ReclaimOutcome::Failed {
            error: format!("record is {} but carries no outcome", rec.state),
        });
    ReclaimResult {
        plan_id: rec.plan_id,
        member_id: rec.member_id,
        email: rec.email,
        outcome,
        replayed: true,
    }
}

struct Step<'a> {
    deps: &'a Deps,
    plan_id: PlanId,
    candidate: &'a Candidate,
    opts: &'a ReclaimOptions,
}

impl Step<'_> {
    /// Miro shows the member deactivated. If our record says we were sending the deactivation, it was ours.
    async fn finish_deactivated(
        &self,
        rec: ReclaimRecord,
        now: DateTime<Utc>,
    ) -> Result<ReclaimResult, JobError> {
        let outcome = match (&rec.state, &rec.scim_user_id) {
            (ReclaimState::Applying, Some(id)) => ReclaimOutcome::Reclaimed {
                scim_user_id: id.clone(),
                at: rec.updated_at,
            },
            _ => skipped(SkipReason::AlreadyDeactivated),
        };
        self.finish(rec, outcome, now).await
    }

    /// Writes the audit entry (the first one written wins) and then the terminal state.
    async fn finish(
        &self,
        rec: ReclaimRecord,
        outcome: ReclaimOutcome,
        now: DateTime<Utc>,
    ) -> Result<ReclaimResult, JobError> {
        let store = self.deps.store.as_ref();
        // The entry carries the moment we acted, so the outcome read back from it equals the one returned now.
        let at = match &outcome {
            ReclaimOutcome::Reclaimed { at, .. } => *at,
            _ => now,
        };
        let entry = AuditEntry {
            id: AuditEntryId::for_reclaim(rec.plan_id, &rec.member_id),
            org_id: rec.org_id.clone(),
            at,
            actor: self.opts.actor.clone(),
            event: self.event(&rec, &outcome),
        };
        let outcome = match store.append_audit(&entry).await {
            Ok(()) => outcome,
            Err(StoreError::AlreadyExists { .. }) => store
                .get_audit(&entry.id)
                .await?
                .and_then(|e| e.reclaim_outcome())
                .unwrap_or(outcome),
            Err(e) => return Err(e.into()),
        };
        // The member's timeline shows the reclaim; keyed by its time, so a replay writes the same event again.
        if let ReclaimOutcome::Reclaimed { at, .. } = &outcome {
            store
                .append_member_events(&[MemberEvent {
                    org_id: rec.org_id.clone(),
                    member_id: rec.member_id.clone(),
                    at: *at,
                    change: MemberChange::Reclaimed {
                        plan_id: rec.plan_id,
                        by: self.opts.actor.clone(),
                        approved_by: self.opts.approved_by.clone(),
                    },
                }])
                .await?;
        }
        self.transition(rec, outcome).await
    }

    async fn transition(
        &self,
        rec: ReclaimRecord,
        outcome: ReclaimOutcome,
    ) -> Result<ReclaimResult, JobError> {
        let to = outcome.state();
        if !rec.state.can_become(to) {
            return Err(JobError::InvalidRequest(format!(
                "reclaim record of member {} in plan {} cannot go from {} to {to}",
                rec.member_id, rec.plan_id, rec.state
            )));
        }
        let t = ReclaimTransition {
            to,
            scim_user_id: match &outcome {
                ReclaimOutcome::Reclaimed { scim_user_id, .. } => Some(scim_user_id.clone()),
                _ => None,
            },
            outcome: Some(outcome.clone()),
            at: self.deps.clock.now(),
        };
        match self
            .deps
            .store
            .transition_reclaim(rec.plan_id, &rec.member_id, rec.state, &t)
            .await
        {
            Ok(r) => {
                tracing::info!(plan = %r.plan_id, member = %r.member_id, %outcome, "reclaim finished");
                Ok(ReclaimResult {
                    plan_id: r.plan_id,
                    member_id: r.member_id,
                    email: r.email,
                    outcome,
                    replayed: false,
                })
            }
            Err(StoreError::Conflict { .. }) => self.lost_race_for(&rec.member_id).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Someone else moved the record. If they finished it, their outcome stands; otherwise they are still busy.
    async fn lost_race_for(&self, member: &MemberId) -> Result<ReclaimResult, JobError> {
        match self
            .deps
            .store
            .get_reclaim_record(self.plan_id, member)
            .await?
        {
            Some(r) if r.state.is_terminal() => Ok(replay(r)),
            _ => Err(JobError::Busy {
                plan_id: self.plan_id,
                member_id: member.clone(),
            }),
        }
    }

    fn event(&self, rec: &ReclaimRecord, outcome: &ReclaimOutcome) -> AuditEvent {
        let (plan_id, member_id, email) = (rec.plan_id, rec.member_id.clone(), rec.email.clone());
        match outcome {
            ReclaimOutcome::Reclaimed { scim_user_id, .. } => AuditEvent::Reclaimed {
                plan_id,
                member_id: member_id.clone(),
                email,
                license: self.candidate.license.clone(),
                scim_user_id: scim_user_id.clone(),
            },
            ReclaimOutcome::Skipped { reason } => AuditEvent::ReclaimSkipped {
                plan_id,
                member_id,
                email,
                reason: reason.clone(),
            },
            ReclaimOutcome::Failed { error } => AuditEvent::ReclaimFailed {
                plan_id,
                member_id,
                email,
                error: error.clone(),
            },
        }
    }
}
