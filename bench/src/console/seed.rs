//! The console benchmark's org, written straight through the store port (no download, no Miro): fast enough
//! for 100 000 members on SQLite and on the local AWS API.
//!
//! - members: the sandbox's generator (seed 42: its names, roles, licenses and activity), as a download would
//!   store them; a few members' last activity is moved across the policy's threshold so the latest plan has
//!   exactly the asked number of candidates;
//! - policy: the default with `dry_run: false` and a cap above the candidates (a plan that can be approved);
//! - two plans, streamed as the scheduled run writes them (items a page of members at a time, header last):
//!   yesterday's and today's, so the plan page also shows what changed;
//! - 120 daily snapshots (today's computed from the members, earlier days a gentle trend) for the chart;
//! - reclaim records (done) on yesterday's plan and audit entries: plan creations, reclaims, reactivations,
//!   holds, skips — what the overview counts.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use miro_client::{AdminRole, License, Member, Role, SecretString};
use miro_sam_core::audit::{AuditEntry, AuditEvent};
use miro_sam_core::domain::Subscription;
use miro_sam_core::domain::{AuditEntryId, DownloadRun, OrgId, PlanId, RegisteredOrg, RunId};
use miro_sam_core::hold::HoldSource;
use miro_sam_core::plan::{Candidate, PlanBuilder, PlanHeader};
use miro_sam_core::policy::{Policy, ReclaimCap, Verdict, VersionedPolicy, evaluate};
use miro_sam_core::ports::{SubscriptionStore, TokenBundle, TokenStore};
use miro_sam_core::reclaim::{
    ReclaimOutcome, ReclaimRecord, ReclaimState, ReclaimTransition, SkipReason,
};
use miro_sam_core::snapshot::{OrgSnapshot, SnapshotBuilder};
use miro_sandbox::{Sandbox, SandboxConfig, SandboxMember};
use serde::Serialize;

/// Members per `upsert_members` call and per page of plan items (the planner's own page is 1 000).
const CHUNK: usize = 1_000;

#[derive(Debug, Clone)]
pub struct SeedConfig {
    pub members: usize,
    /// Candidates of the latest plan, exactly.
    pub candidates: usize,
    /// Reclaim records (done) of the previous plan, each with its audit entry.
    pub records: usize,
    /// Audit entries in all (at least the plans', records' and reactivations' own).
    pub audit_entries: usize,
    pub snapshot_days: i64,
}

/// What was written, and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    #[serde(skip)]
    pub org: OrgId,
    pub members: usize,
    pub candidates: u32,
    pub excluded: u32,
    pub previous_candidates: u32,
    pub records: usize,
    pub audit_entries: usize,
    pub snapshots: usize,
    pub seed_s: f64,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The sandbox's members of an org of `n` (seed 42), as Miro's API would return them.
async fn generated_members(n: usize) -> Result<(String, String, Vec<Member>), String> {
    let sandbox = Sandbox::start(SandboxConfig::with_members(n))
        .await
        .map_err(err)?;
    let control = sandbox.control();
    let org = control.org_ids()[0].clone();
    let members = control.members(&org).into_iter().map(to_member).collect();
    sandbox.shutdown().await;
    Ok((org, "Bench Org".into(), members))
}

fn to_member(m: SandboxMember) -> Member {
    Member {
        id: m.id,
        email: m.email,
        active: m.active,
        role: Role::parse(&m.role),
        license: License::parse(&m.license),
        license_assigned_at: m.license_assigned_at,
        last_activity_at: m.last_activity_at,
        admin_roles: m
            .admin_roles
            .into_iter()
            .map(|(kind, name)| AdminRole { kind, name })
            .collect(),
    }
}

/// A policy that reclaims for real, with room for the whole plan under its cap.
fn live_policy(candidates: usize) -> Policy {
    Policy {
        dry_run: false,
        cap: ReclaimCap {
            max_count: Some(candidates as u32 * 2),
            max_percent: None,
        },
        ..Policy::default()
    }
}

/// Moves members across the threshold until exactly `target` are candidates at `now`: surplus candidates
/// become recently active, or members just under the threshold become long inactive. Errors when the org has
/// too few members in scope.
fn tune_candidates(
    subs: &mut [Subscription],
    policy: &Policy,
    target: usize,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let mut candidates = Vec::new();
    let mut below = Vec::new();
    for (i, m) in subs.iter().enumerate() {
        match evaluate(policy, None, m, now) {
            Verdict::Candidate { .. } => candidates.push(i),
            Verdict::BelowThreshold { .. } => below.push(i),
            _ => {}
        }
    }
    // Spread the changes evenly over the member id order.
    let spread = |pool: &[usize], k: usize| -> Vec<usize> {
        (0..k).map(|j| pool[j * pool.len() / k]).collect()
    };
    if candidates.len() > target {
        for i in spread(&candidates, candidates.len() - target) {
            subs[i].last_activity_at = Some(now - Duration::days(3));
            subs[i].content_hash = subs[i].compute_hash();
        }
    } else if candidates.len() < target {
        let missing = target - candidates.len();
        if below.len() < missing {
            return Err(format!(
                "an org of {} members has {} candidates and {} members in scope below the threshold: too few \
                 for {target} candidates; raise --members",
                subs.len(),
                candidates.len(),
                below.len()
            ));
        }
        for i in spread(&below, missing) {
            subs[i].last_activity_at = Some(now - Duration::days(200));
            subs[i].license_assigned_at = Some(now - Duration::days(400));
            subs[i].content_hash = subs[i].compute_hash();
        }
    }
    Ok(())
}

/// Plans `subs` at `at` and stores the plan as the scheduled run does (items a page at a time, header last).
/// Returns the header and the first `keep` candidates (for records and audit entries).
async fn put_streamed_plan(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    policy: &VersionedPolicy,
    subs: &[Subscription],
    purchased: i64,
    at: DateTime<Utc>,
    keep: usize,
) -> Result<(PlanHeader, Vec<Candidate>), String> {
    let plan_id = PlanId::new();
    let mut builder = PlanBuilder::new(plan_id, org, policy, &[], at);
    let mut kept = Vec::new();
    for page in subs.chunks(CHUNK) {
        let (candidates, exclusions) = builder.add(page);
        if !candidates.is_empty() || !exclusions.is_empty() {
            store
                .put_plan_items(plan_id, org, &candidates, &exclusions)
                .await
                .map_err(err)?;
        }
        kept.extend(candidates.into_iter().take(keep.saturating_sub(kept.len())));
    }
    let header = builder.finish(Some(purchased));
    store.put_plan_header(&header).await.map_err(err)?;
    store
        .append_audit(&AuditEntry {
            id: AuditEntryId::for_plan(plan_id),
            org_id: org.clone(),
            at,
            actor: "bench (scheduled run)".into(),
            event: AuditEvent::PlanCreated {
                plan_id,
                policy_version: header.policy_version,
                candidates: header.totals.candidates,
                cap_exceeded: header.cap.exceeded,
                dry_run: header.policy.dry_run,
            },
        })
        .await
        .map_err(err)?;
    Ok((header, kept))
}

/// Today's snapshot from the members, and `days − 1` earlier ones on a gentle trend (a few more seats in use
/// each day back, activity wobbling), oldest first.
fn snapshots(
    org: &OrgId,
    subs: &[Subscription],
    purchased: i64,
    now: DateTime<Utc>,
    days: i64,
) -> Vec<OrgSnapshot> {
    let mut b = SnapshotBuilder::new(org, purchased, now);
    for m in subs {
        b.add(m);
    }
    let today = b.finish();
    (0..days)
        .rev()
        .map(|d| {
            let mut s = today.clone();
            s.computed_at = now - Duration::days(d);
            s.date = s.computed_at.date_naive();
            let more = (d * 3) as u32;
            let wobble = ((d % 7) * 11) as u32;
            s.assigned_paid += more;
            s.members += more;
            let a = &mut s.active_within;
            a.days_30 = a.days_30.saturating_sub(wobble);
            a.days_60 = a.days_60.saturating_sub(wobble / 2);
            s.unused_seats = s.purchased_full_licenses - i64::from(s.assigned_paid);
            s
        })
        .collect()
}

/// Writes the org into `store` and `tokens` at `now`.
pub async fn seed(
    store: &dyn SubscriptionStore,
    tokens: &dyn TokenStore,
    cfg: &SeedConfig,
    now: DateTime<Utc>,
) -> Result<Seeded, String> {
    let started = Instant::now();
    let (org_s, name, members) = generated_members(cfg.members).await?;
    let org = OrgId::parse(&org_s).map_err(err)?;
    store
        .put_org(&RegisteredOrg {
            id: org.clone(),
            name,
            connected_at: now - Duration::days(200),
        })
        .await
        .map_err(err)?;
    // Tokens only for the overview's connection checks: the pages measured never call Miro.
    tokens
        .put_tokens(&TokenBundle {
            org_id: org.clone(),
            access_token: SecretString::from("bench-not-a-miro-token".to_owned()),
            refresh_token: Some(SecretString::from("bench-not-a-refresh-token".to_owned())),
            expires_at: Some(now + Duration::hours(1)),
            team_id: None,
            user_id: None,
            scopes: vec!["organizations:read".into()],
            version: 0,
        })
        .await
        .map_err(err)?;
    tokens
        .put_scim_token(
            &org,
            &SecretString::from("bench-not-a-scim-token".to_owned()),
        )
        .await
        .map_err(err)?;
    let policy = store
        .put_policy(
            &org,
            &live_policy(cfg.candidates),
            "bench",
            now - Duration::days(130),
        )
        .await
        .map_err(err)?;
    store
        .append_audit(&entry(
            &org,
            format!("policy/{org}/v{}", policy.version),
            policy.created_at,
            AuditEvent::PolicyChanged {
                version: policy.version,
            },
        )?)
        .await
        .map_err(err)?;

    let downloaded_at = now - Duration::hours(2);
    let mut subs = members
        .iter()
        .map(|m| {
            let mut s = Subscription::from_member(&org, m, downloaded_at)?;
            s.first_seen_at = now - Duration::days(180);
            Ok(s)
        })
        .collect::<Result<Vec<_>, miro_sam_core::DomainError>>()
        .map_err(err)?;
    drop(members);
    tune_candidates(&mut subs, &policy.policy, cfg.candidates, now)?;
    for chunk in subs.chunks(CHUNK) {
        store.upsert_members(&org, chunk).await.map_err(err)?;
    }
    store
        .put_download_run(&DownloadRun {
            org_id: org.clone(),
            run_id: RunId::new(),
            started_at: downloaded_at - Duration::minutes(15),
            completed_at: downloaded_at,
            members_seen: subs.len() as u64,
        })
        .await
        .map_err(err)?;

    let full_active = subs
        .iter()
        .filter(|m| m.active && m.license == License::Full)
        .count() as i64;
    let purchased = full_active + full_active / 10;
    let series = snapshots(&org, &subs, purchased, now, cfg.snapshot_days);
    for s in &series {
        store.put_snapshot(s).await.map_err(err)?;
    }

    let (previous, reclaimed) = put_streamed_plan(
        store,
        &org,
        &policy,
        &subs,
        purchased,
        now - Duration::days(1),
        cfg.records,
    )
    .await?;
    let (latest, _) = put_streamed_plan(store, &org, &policy, &subs, purchased, now, 0).await?;
    if latest.totals.candidates as usize != cfg.candidates {
        return Err(format!(
            "the latest plan has {} candidates, not {}",
            latest.totals.candidates, cfg.candidates
        ));
    }

    // Yesterday's approved candidates, reclaimed over the last hours, and what the audit log says about them.
    let mut audit = 3; // the policy and the two plans
    for (i, c) in reclaimed.iter().enumerate() {
        let at = now - Duration::hours(20) + Duration::seconds(i as i64 * 7);
        let pending = ReclaimRecord::pending(
            previous.plan_id,
            org.clone(),
            c.member_id.clone(),
            c.email.clone(),
            at,
        );
        store.create_reclaim_record(&pending).await.map_err(err)?;
        let scim_user_id = format!("scim-{}", c.member_id);
        let applying = ReclaimTransition {
            to: ReclaimState::Applying,
            scim_user_id: Some(scim_user_id.clone()),
            outcome: None,
            at,
        };
        store
            .transition_reclaim(
                previous.plan_id,
                &c.member_id,
                ReclaimState::Pending,
                &applying,
            )
            .await
            .map_err(err)?;
        let done = ReclaimTransition {
            to: ReclaimState::Done,
            scim_user_id: None,
            outcome: Some(ReclaimOutcome::Reclaimed {
                scim_user_id: scim_user_id.clone(),
                at,
            }),
            at,
        };
        store
            .transition_reclaim(
                previous.plan_id,
                &c.member_id,
                ReclaimState::Applying,
                &done,
            )
            .await
            .map_err(err)?;
        store
            .append_audit(&AuditEntry {
                id: AuditEntryId::for_reclaim(previous.plan_id, &c.member_id),
                org_id: org.clone(),
                at,
                actor: "bench worker".into(),
                event: AuditEvent::Reclaimed {
                    plan_id: previous.plan_id,
                    member_id: c.member_id.clone(),
                    email: c.email.clone(),
                    license: c.license.clone(),
                    scim_user_id: scim_user_id.clone(),
                },
            })
            .await
            .map_err(err)?;
        audit += 1;
        // One in ten undone: a reactivation, or the admin's own in Miro that a download noticed.
        if i % 10 == 0 {
            let at = at + Duration::hours(1);
            let event = if i % 20 == 0 {
                AuditEvent::Reactivated {
                    member_id: Some(c.member_id.clone()),
                    email: c.email.clone(),
                    scim_user_id,
                    why: "needed for a project".into(),
                }
            } else {
                AuditEvent::HoldPlaced {
                    member_id: c.member_id.clone(),
                    email: c.email.clone(),
                    source: HoldSource::ReactivatedInMiro,
                    reason: "active again in Miro".into(),
                    expires_at: at + Duration::days(90),
                }
            };
            store
                .append_audit(&entry(&org, format!("bench/undo/{i}"), at, event)?)
                .await
                .map_err(err)?;
            audit += 1;
        }
    }
    // The rest of the log: skips spread over the last month.
    let mut n = 0usize;
    while audit < cfg.audit_entries {
        let m = &subs[(n * 7919) % subs.len()];
        let at = now - Duration::days(30) + Duration::minutes(n as i64 * 13);
        store
            .append_audit(&entry(
                &org,
                format!("bench/skip/{n}"),
                at,
                AuditEvent::ReclaimSkipped {
                    plan_id: previous.plan_id,
                    member_id: m.member_id.clone(),
                    email: m.email.clone(),
                    reason: SkipReason::GoneFromMiro,
                },
            )?)
            .await
            .map_err(err)?;
        audit += 1;
        n += 1;
    }

    Ok(Seeded {
        org,
        members: subs.len(),
        candidates: latest.totals.candidates,
        excluded: latest.totals.excluded,
        previous_candidates: previous.totals.candidates,
        records: reclaimed.len(),
        audit_entries: audit,
        snapshots: series.len(),
        seed_s: started.elapsed().as_secs_f64(),
    })
}

fn entry(
    org: &OrgId,
    id: String,
    at: DateTime<Utc>,
    event: AuditEvent,
) -> Result<AuditEntry, String> {
    Ok(AuditEntry {
        id: AuditEntryId::parse(&id).map_err(err)?,
        org_id: org.clone(),
        at,
        actor: "bench".into(),
        event,
    })
}
