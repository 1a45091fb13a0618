//! Set-up the notice tests of the SQLite store, the AWS adapters and the mailer share (issue 14): written once here.
//! An org of idle members on a fixed Monday morning, a policy that reclaims after the notice, a mailer that
//! records what it is handed, and the daily run's two steps (plan, then the day's notices).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use miro_client::Member;
use miro_sam_core::domain::{OrgId, PlanId, Subscription};
use miro_sam_core::jobs::{plan_org_streamed, set_policy};
use miro_sam_core::notices::{
    KeepLinks, NoticeContext, NoticeDay, NoticeDaySummary, NoticeDeps, NoticeError, run_notice_day,
};
use miro_sam_core::policy::{Policy, ReclaimCap};
use miro_sam_core::ports::{
    Clock, MailError, Mailer, NoticeStore, OutgoingEmail, SentEmail, SubscriptionStore,
};

/// The org of the notice tests (never connected: its name in a message is its id).
pub const ORG: &str = "3074457345821141000";

pub fn org() -> OrgId {
    OrgId::parse(ORG).expect("the notice org's id")
}

/// Monday 2 March 2026, 06:00 UTC: the first morning of every simulated notice cycle (a week's notice makes
/// the reclaim date Monday 9 March).
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0)
        .single()
        .expect("a valid time")
}

/// Member `n`'s id: the core's fixture, so the notice tests and the contract agree on who is who.
pub use miro_sam_core::contract::fixtures::member_id;

/// Miro member `n` (`user{n}@example.com`): an internal user on a full license assigned 400 days before they
/// were last active.
pub fn member(n: u64, last_active: DateTime<Utc>) -> Member {
    Member {
        license_assigned_at: Some(last_active - Duration::days(400)),
        last_activity_at: Some(last_active),
        ..miro_sam_core::contract::fixtures::miro_member(n, 0)
    }
}

/// A policy that reclaims (not a dry run) up to `max_count` members, the notice settings as the defaults.
pub fn reclaiming_policy(max_count: u32) -> Policy {
    Policy {
        dry_run: false,
        cap: ReclaimCap {
            max_count: Some(max_count),
            max_percent: None,
        },
        ..Policy::default()
    }
}

/// Stores `members` as the org's members seen at `at`, and `policy` as set by the admin at `at`.
pub async fn seed_org(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    members: &[Member],
    policy: &Policy,
    at: DateTime<Utc>,
) {
    let subscriptions: Vec<Subscription> = members
        .iter()
        .map(|m| Subscription::from_member(org, m, at).expect("a member the store takes"))
        .collect();
    store
        .upsert_members(org, &subscriptions)
        .await
        .expect("members stored");
    set_policy(store, org, policy, "admin@example.com", at)
        .await
        .expect("policy stored");
}

/// The notice run's dependencies over one store of both ports.
pub fn notice_deps<S>(store: Arc<S>, mailer: Arc<dyn Mailer>, clock: Arc<dyn Clock>) -> NoticeDeps
where
    S: SubscriptionStore + NoticeStore + 'static,
{
    NoticeDeps {
        store: store.clone(),
        notices: store,
        mailer,
        clock,
    }
}

/// The daily run's plan of the org at `now`: its id.
pub async fn plan_the_day(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    now: DateTime<Utc>,
) -> PlanId {
    plan_org_streamed(store, org, "daily run", now)
        .await
        .expect("the day's plan")
        .plan_id
}

/// The day's notices on `plan_id`, for the org "Acme" whose members ask it@example.com.
pub async fn run_day(
    deps: &NoticeDeps,
    org: &OrgId,
    plan_id: PlanId,
    keep_links: &dyn KeepLinks,
) -> Result<NoticeDaySummary, NoticeError> {
    let context = NoticeContext::new("Acme", "it@example.com");
    let day = NoticeDay {
        org,
        plan_id,
        context: &context,
        keep_links,
    };
    run_notice_day(deps, &day).await
}

/// A mailer that hands every message to a list; addresses in `refuse` get that error instead.
#[derive(Default)]
pub struct Outbox {
    sent: Mutex<Vec<OutgoingEmail>>,
    refuse: Mutex<HashMap<String, MailError>>,
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError> {
        if let Some(e) = self.refuse.lock().unwrap().get(email.to.as_str()) {
            return Err(e.clone());
        }
        self.sent.lock().unwrap().push(email.clone());
        Ok(SentEmail::default())
    }
}

impl Outbox {
    /// The messages sent since the last call.
    pub fn take(&self) -> Vec<OutgoingEmail> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }

    /// How many messages were sent and not yet taken.
    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    /// From now on, a message to `address` fails with `error`.
    pub fn refuse(&self, address: &str, error: MailError) {
        self.refuse.lock().unwrap().insert(address.into(), error);
    }

    /// From now on, every message goes out.
    pub fn accept_all(&self) {
        self.refuse.lock().unwrap().clear();
    }
}
