//! Policies and plans: store-only jobs, no Miro calls.

use chrono::{DateTime, Utc};

use super::JobError;
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, OrgId, PlanId};
use crate::error::StoreError;
use crate::plan::{ReclaimPlan, build_plan};
use crate::policy::{Policy, VersionedPolicy};
use crate::ports::SubscriptionStore;

/// The org's latest policy. An org without one gets [`Policy::default`] stored as version 1, so every plan
/// names a stored policy version.
pub async fn current_policy(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    now: DateTime<Utc>,
) -> Result<VersionedPolicy, JobError> {
    if let Some(p) = store.latest_policy(org).await? {
        return Ok(p);
    }
    Ok(store
        .put_policy(org, &Policy::default(), "miro-sam (default policy)", now)
        .await?)
}

/// Stores `policy` as the org's next version and records who changed it.
pub async fn set_policy(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    policy: &Policy,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<VersionedPolicy, JobError> {
    policy.validate()?;
    let v = store.put_policy(org, policy, actor, now).await?;
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::parse(&format!("policy/{org}/v{}", v.version))?,
            org_id: org.clone(),
            at: now,
            actor: actor.to_owned(),
            event: AuditEvent::PolicyChanged { version: v.version },
        },
    )
    .await?;
    Ok(v)
}

/// Plans the org from its stored members and current policy, stores the plan and returns it.
pub async fn plan_org(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ReclaimPlan, JobError> {
    let policy = current_policy(store, org, now).await?;
    let members = store.list_members(org).await?;
    let holds = store.list_holds(org).await?;
    let purchased = store
        .latest_snapshot(org)
        .await?
        .map(|s| s.purchased_full_licenses);
    let plan = build_plan(
        PlanId::new(),
        org,
        purchased,
        &policy,
        &holds,
        &members,
        now,
    );
    store.put_plan(&plan).await?;
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::for_plan(plan.plan_id),
            org_id: org.clone(),
            at: now,
            actor: actor.to_owned(),
            event: AuditEvent::PlanCreated {
                plan_id: plan.plan_id,
                policy_version: plan.policy_version,
                candidates: plan.totals.candidates,
                cap_exceeded: plan.cap.exceeded,
                dry_run: plan.policy.dry_run,
            },
        },
    )
    .await?;
    tracing::info!(
        %org, plan = %plan.plan_id, candidates = plan.totals.candidates, excluded = plan.totals.excluded,
        cap_exceeded = plan.cap.exceeded, "plan stored"
    );
    Ok(plan)
}

/// Appends an entry whose id is derived from its subject; finding it already there means a retry got here first.
pub(crate) async fn append_once(
    store: &dyn SubscriptionStore,
    entry: AuditEntry,
) -> Result<(), StoreError> {
    match store.append_audit(&entry).await {
        Ok(()) => Ok(()),
        Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
