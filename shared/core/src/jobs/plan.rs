//! Policies and plans: store-only jobs, no Miro calls.

use chrono::{DateTime, Utc};

use super::JobError;
use super::plan_diff::CandidatePages;
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::MemberId;
use crate::domain::{AuditEntryId, OrgId, PlanId};
use crate::error::StoreError;
use crate::plan::{PLAN_PAGE, PlanBuilder, PlanHeader, ReclaimPlan};
use crate::policy::{Policy, VersionedPolicy};
use crate::ports::SubscriptionStore;
use crate::timeline::{MemberChange, MemberEvent};

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

/// Plans the org and returns the whole stored plan: [`plan_org_streamed`], then the plan read back. For the
/// CLI and tests, which show or check every candidate; the scheduled run uses [`plan_org_streamed`].
pub async fn plan_org(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ReclaimPlan, JobError> {
    let header = plan_org_streamed(store, org, actor, now).await?;
    store
        .get_plan(header.plan_id)
        .await?
        .ok_or(JobError::PlanNotFound {
            plan_id: header.plan_id,
        })
}

/// Plans the org from its stored members and current policy, a page of members at a time: each page's
/// candidates and exclusions are stored as items as soon as they are judged, the header last (until then the
/// plan does not exist for readers). Memory holds one page, whatever the size of the org. Members who became
/// candidates since the previous plan get a "planned" event on their timeline.
pub async fn plan_org_streamed(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<PlanHeader, JobError> {
    let policy = current_policy(store, org, now).await?;
    let holds = store.list_holds(org).await?;
    let purchased = store
        .latest_snapshot(org)
        .await?
        .map(|s| s.purchased_full_licenses);
    let previous = store.latest_plan_header(org).await?;
    let plan_id = PlanId::new();
    let mut builder = PlanBuilder::new(plan_id, org, &policy, &holds, now);
    let mut after: Option<MemberId> = None;
    loop {
        let page = store
            .list_members_page(org, after.as_ref(), None, MEMBER_PAGE)
            .await?;
        after = page.last().map(|m| m.member_id.clone());
        let (candidates, exclusions) = builder.add(&page);
        if !candidates.is_empty() || !exclusions.is_empty() {
            store
                .put_plan_items(plan_id, org, &candidates, &exclusions)
                .await?;
        }
        if page.len() < MEMBER_PAGE {
            break;
        }
    }
    let plan = builder.finish(purchased);
    store.put_plan_header(&plan).await?;
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
    record_newly_planned(store, &plan, previous.as_ref()).await?;
    tracing::info!(
        %org, plan = %plan.plan_id, candidates = plan.totals.candidates, excluded = plan.totals.excluded,
        cap_exceeded = plan.cap.exceeded, "plan stored"
    );
    Ok(plan)
}

/// Members read per store call while planning.
const MEMBER_PAGE: usize = 1_000;

/// A "planned" timeline event for each candidate of `plan` that was not a candidate of `previous`: the day a
/// member became a candidate, not every day they stay one. Both plans are read a page at a time in member id
/// order and merged.
async fn record_newly_planned(
    store: &dyn SubscriptionStore,
    plan: &PlanHeader,
    previous: Option<&PlanHeader>,
) -> Result<(), JobError> {
    let mut earlier = previous.map(|p| CandidatePages::new(p.plan_id));
    let mut after: Option<MemberId> = None;
    loop {
        let page = store
            .list_plan_candidates(plan.plan_id, after.as_ref(), PLAN_PAGE)
            .await?;
        after = page.last().map(|c| c.member_id.clone());
        let mut events = Vec::new();
        for c in &page {
            let known = match earlier.as_mut() {
                Some(e) => e.contains(store, &c.member_id).await?,
                None => false,
            };
            if !known {
                events.push(MemberEvent {
                    org_id: plan.org_id.clone(),
                    member_id: c.member_id.clone(),
                    at: plan.created_at,
                    change: MemberChange::Planned {
                        plan_id: plan.plan_id,
                        reason: c.reason.clone(),
                    },
                });
            }
        }
        if !events.is_empty() {
            store.append_member_events(&events).await?;
        }
        if page.len() < PLAN_PAGE {
            return Ok(());
        }
    }
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
