//! Notices on AWS (issue 12): after an org's daily plan, the same step runs the org's notice day and the admins'
//! digest ([`notices_after_plan`]), through SES at the account's send rate, with keep links signed by the
//! deployment's keep-link key and the digest to the admins' addresses and a chat webhook.
//!
//! - [`wire`]: built once per cold start from [`miro_sam_lambda::NoticeConfig`] and two Secrets Manager secrets.
//!   A setting left unset turns its channel off with one log line; a secret that is named but missing or
//!   unreadable stops the cold start with what to do (a deployment that means to send must not run silent).
//! - [`run`]: one org's notices, bounded by the invocation's deadline. Every send is claimed before it goes out,
//!   so a run cut short loses nothing: the member whose send was refused at the deadline is `send_failed` and the
//!   next run (the job's continuation, or tomorrow) claims it again. Nobody is told twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use miro_sam_aws::SesMailer;
use miro_sam_core::domain::{OrgId, PlanId};
use miro_sam_core::notices::{
    DigestChannels, KeepLinks, NoKeepLinks, NoticeDaySummary, NoticeDeps, NoticeError,
    NoticeSettings, PacedMailer, notices_after_plan,
};
use miro_sam_core::ports::{MailError, Mailer, OutgoingEmail, SentEmail, Webhook};
use miro_sam_lambda::{NoticeRuntime, Runtime, env, read_plain_secret};
use miro_sam_links::SignedKeepLinks;
use miro_sam_notify::ChatWebhook;
use serde::Serialize;

/// How long a post to the chat webhook may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Time one send may need (SES answers in well under a second); with less left the run stops sending.
const SEND_BUDGET: Duration = Duration::from_secs(5);

/// What the notice run did for one org, in the run's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NoticeOutcome {
    /// The day's counts (notified, reminded, due, dropped out, not delivered, send failed, contended) and why
    /// nothing was sent, if so: the core's summary, flattened into this object.
    #[serde(flatten)]
    pub counts: NoticeDaySummary,
    /// The run stopped at the invocation's deadline; the rest is sent by the next run.
    pub stopped_at_deadline: bool,
    /// The run stopped on this error (e.g. the sender is not a verified SES identity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The mail channel cannot send until a person fixes it (the error says what to do).
    pub channel_misconfigured: bool,
    pub digest_failures: Vec<String>,
}

/// Builds the notice wiring from the settings and the secrets they name; `None` when no sender is set. `ses`:
/// the SES v2 mailer from the sender ([`SesMailer::new`]), passed in so tests point it at the local AWS API.
pub async fn wire(
    rt: &Runtime,
    ses: impl FnOnce(miro_sam_core::domain::Email) -> SesMailer,
) -> Result<Option<NoticeRuntime>, String> {
    let config = &rt.settings.notices;
    let Some(from) = config.from.clone() else {
        tracing::info!(
            "notices are off: {} is not set (orgs whose policy has notice_days wait for notices, and so \
             are not reclaimed, until it is)",
            env::NOTICE_FROM
        );
        return Ok(None);
    };
    let mut ses = ses(from.clone());
    match &config.configuration_set {
        // Its event destination publishes the bounces SES learns of after a send; the rule brings them back here.
        Some(name) => ses = ses.with_configuration_set(name),
        None => tracing::info!(
            "late bounces go unrecorded: {} is not set (a notice SES accepted and the recipient's server refused              later counts as told)",
            env::NOTICE_CONFIGURATION_SET
        ),
    }
    let mailer = PacedMailer::new(ses, config.send_rate)
        .map_err(|e| format!("{}: {e}", env::NOTICE_SEND_RATE))?;
    let secrets = &rt.adapters.clients.secrets;

    let keep_links: Arc<dyn KeepLinks> = match (&config.keep_link_key_name, &config.console_url) {
        (Some(name), Some(url)) => {
            let key = read_plain_secret(secrets, name, "the keep-link signing key").await?;
            Arc::new(SignedKeepLinks::new(key, url))
        }
        (Some(_), None) => {
            return Err(format!(
                "{} is set but {} is not: keep links need the console's URL (with its base path, e.g. \
                 https://abc123.execute-api.eu-west-1.amazonaws.com/console); set it, or unset both",
                env::KEEP_LINK_KEY_SECRET_NAME,
                env::CONSOLE_URL
            ));
        }
        (None, _) => {
            tracing::info!(
                "notices carry no keep link: {} is not set; they tell members whom to ask instead",
                env::KEEP_LINK_KEY_SECRET_NAME
            );
            Arc::new(NoKeepLinks)
        }
    };

    let webhook: Option<Arc<dyn Webhook>> = match &config.webhook_secret_name {
        Some(name) => {
            let url = read_plain_secret(secrets, name, "the chat webhook URL").await?;
            let hook = ChatWebhook::new(url, WEBHOOK_TIMEOUT).map_err(|e| {
                format!(
                    "Secrets Manager secret {name:?} ({}) does not hold a usable webhook URL: {e}; put the \
                     incoming webhook's URL in it",
                    env::WEBHOOK_SECRET_NAME
                )
            })?;
            Some(Arc::new(hook))
        }
        None => {
            tracing::info!("no chat digest: {} is not set", env::WEBHOOK_SECRET_NAME);
            None
        }
    };
    if config.digest_to.is_empty() {
        tracing::info!("no digest email: {} is not set", env::DIGEST_TO);
    }
    tracing::info!(from = %from, rate = config.send_rate, "notices on");

    Ok(Some(NoticeRuntime {
        deps: NoticeDeps {
            store: rt.deps.store.clone(),
            notices: rt.deps.store.clone(),
            mailer: Arc::new(mailer),
            clock: rt.deps.clock.clone(),
        },
        settings: NoticeSettings {
            contact: config.contact.clone(),
            keep_links,
            digest: DigestChannels {
                email_to: config.digest_to.clone(),
                webhook,
            },
        },
    }))
}

/// Runs the org's notices on `plan_id` (today's plan), sending only while `deadline` leaves time for a send.
pub async fn run(
    notices: &NoticeRuntime,
    org: &OrgId,
    plan_id: PlanId,
    deadline: Option<Instant>,
) -> NoticeOutcome {
    let mut deps = notices.deps.clone();
    if let Some(stop_by) = deadline {
        deps.mailer = Arc::new(UntilDeadline {
            inner: deps.mailer.clone(),
            stop_by,
        });
    }
    let mut out = NoticeOutcome::default();
    match notices_after_plan(&deps, org, plan_id, &notices.settings).await {
        Ok(report) => {
            out.counts = report.summary;
            out.digest_failures = report.digest_failures;
        }
        Err(NoticeError::Mail(MailError::Throttled { detail }))
            if deadline.is_some_and(|d| Instant::now() + SEND_BUDGET >= d) =>
        {
            tracing::warn!(%detail, "notices stopped at the invocation's deadline; the next run sends the rest");
            out.stopped_at_deadline = true;
            // The member whose send was refused; the counts of the members before it went with the error.
            out.counts.send_failed = 1;
        }
        Err(e) => {
            out.channel_misconfigured =
                matches!(e, NoticeError::Mail(MailError::Misconfigured { .. }));
            if out.channel_misconfigured {
                tracing::error!(error = %e, "notices cannot be sent; a person must fix the mail settings");
            } else {
                tracing::warn!(error = %e, retryable = e.is_retryable(), "notice run failed; the next run tries again");
            }
            out.error = Some(e.to_string());
        }
    }
    out
}

/// Refuses sends once the deadline leaves less than [`SEND_BUDGET`]: as `Throttled`, which the notice run
/// records as not sent (the member is claimed again by the next run) and which stops the run at once.
struct UntilDeadline {
    inner: Arc<dyn Mailer>,
    stop_by: Instant,
}

#[async_trait]
impl Mailer for UntilDeadline {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError> {
        if Instant::now() + SEND_BUDGET >= self.stop_by {
            return Err(MailError::Throttled {
                detail: "not sent: the invocation is close to its deadline; the next run sends it"
                    .into(),
            });
        }
        self.inner.send(email).await
    }
}
