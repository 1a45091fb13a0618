//! What runs after an org's daily plan, wherever it runs (`miro-sam sync`, the demo, the download Lambda): the
//! notice day ([`super::run_notice_day`]) and then the admins' digest ([`super::notice_digest`]) by email and to a
//! chat webhook. One function so the CLI and the Lambda cannot drift apart.
//!
//! A digest that cannot be delivered is reported, not an error: the notices of the day went out (or did not) on
//! their own records, and failing the day over a chat message would only make the caller retry the notices.
//!
//! The digest goes out at most once per org per day, like a notice per cycle: it is claimed first with an audit
//! entry whose id is the org's and the day's (`digest/{org}/{day}`), and a re-run or redelivered day finds the
//! claim and sends nothing. A claimed digest that then fails is not retried that day (the failure is reported);
//! admins would rather miss one digest than get several.

use std::sync::Arc;

use super::digest::{NoticeDigest, notice_digest};
use super::error::NoticeError;
use super::message::NoticeContext;
use super::run::{
    KeepLinks, NOTICE_ACTOR, NoticeDay, NoticeDaySummary, NoticeDeps, run_notice_day,
};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, Email, OrgId, PlanId};
use crate::error::StoreError;
use crate::ports::{OrgStore, Webhook};

/// Where the admins' digest goes. Both empty: no digest.
#[derive(Clone, Default)]
pub struct DigestChannels {
    /// Admin addresses the digest is emailed to.
    pub email_to: Vec<Email>,
    /// A Slack or Microsoft Teams incoming webhook.
    pub webhook: Option<Arc<dyn Webhook>>,
}

/// What the deployment says about notices besides each org's policy.
#[derive(Clone)]
pub struct NoticeSettings {
    /// Whom members should ask, when the org's policy does not say (e.g. "the IT service desk, it@example.com").
    pub contact: String,
    pub keep_links: Arc<dyn KeepLinks>,
    pub digest: DigestChannels,
}

/// What the notices of one org did today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNoticeReport {
    pub summary: NoticeDaySummary,
    pub digest: NoticeDigest,
    /// Whether this run sent the day's digest (false: nothing to say, no channel, or already sent today).
    pub digest_sent: bool,
    /// Each digest channel that failed, and why (the digest is not retried until the next day).
    pub digest_failures: Vec<String>,
}

/// The context the org's messages are written with: its name as stored when it was connected, whom to ask (the
/// org's policy's `notice_contact`, else the deployment's `contact`) and the policy's own wording, from the org's
/// latest policy (the one the day's plan is judged under).
pub async fn notice_context(
    store: &dyn OrgStore,
    org: &OrgId,
    contact: &str,
) -> Result<NoticeContext, NoticeError> {
    let org_name = store
        .get_org(org)
        .await?
        .map(|o| o.name)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| org.to_string());
    let policy = store.latest_policy(org).await?.map(|v| v.policy);
    let contact = policy
        .as_ref()
        .and_then(|p| p.notice_contact.clone())
        .unwrap_or_else(|| contact.to_owned());
    Ok(NoticeContext::new(org_name, contact).with_template(policy.and_then(|p| p.notice_template)))
}

/// Runs the org's notice day on `plan_id` (made today), then sends the digest when there is something to say.
pub async fn notices_after_plan(
    deps: &NoticeDeps,
    org: &OrgId,
    plan_id: PlanId,
    settings: &NoticeSettings,
) -> Result<OrgNoticeReport, NoticeError> {
    let context = notice_context(deps.store.as_ref(), org, &settings.contact).await?;
    let summary = run_notice_day(
        deps,
        &NoticeDay {
            org,
            plan_id,
            context: &context,
            keep_links: settings.keep_links.as_ref(),
        },
    )
    .await?;
    let now = deps.clock.now();
    let digest = notice_digest(deps.notices.as_ref(), org, now).await?;
    let channels = settings.digest.names();
    let mut digest_failures = Vec::new();
    let digest_sent = !digest.is_empty()
        && !channels.is_empty()
        && claim_digest(deps, org, &digest.line(&context.org_name), channels, now).await?;
    if digest_sent {
        for to in &settings.digest.email_to {
            let email = digest.email(&context.org_name, to, now.date_naive());
            if let Err(e) = deps.mailer.send(&email).await {
                digest_failures.push(format!("digest email to {to}: {e}"));
            }
        }
        if let Some(hook) = &settings.digest.webhook
            && let Err(e) = hook.post(&digest.line(&context.org_name)).await
        {
            digest_failures.push(format!("digest to the chat webhook: {e}"));
        }
    }
    for failure in &digest_failures {
        tracing::warn!(org = %org, "{failure}");
    }
    Ok(OrgNoticeReport {
        summary,
        digest,
        digest_sent,
        digest_failures,
    })
}

impl DigestChannels {
    /// Where the digest goes, in words for the audit entry (addresses, and "chat webhook", never its URL).
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.email_to.iter().map(ToString::to_string).collect();
        if self.webhook.is_some() {
            names.push("chat webhook".into());
        }
        names
    }
}

/// Claims the org's digest of today: true when this run wrote the claim (and so sends), false when an earlier run
/// of the day did.
async fn claim_digest(
    deps: &NoticeDeps,
    org: &OrgId,
    line: &str,
    channels: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, NoticeError> {
    let day = now.date_naive();
    let entry = AuditEntry {
        id: AuditEntryId::parse(&format!("digest/{org}/{day}"))?,
        org_id: org.clone(),
        at: now,
        actor: NOTICE_ACTOR.to_owned(),
        event: AuditEvent::DigestSent {
            day,
            line: line.to_owned(),
            channels,
        },
    };
    match deps.store.append_audit(&entry).await {
        Ok(()) => Ok(true),
        Err(StoreError::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
