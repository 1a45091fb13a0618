//! The notice channels outside AWS: the core's [`Mailer`] over SMTP, with `lettre` (TLS through rustls and ring,
//! the operating system's certificate roots; no OpenSSL), [`OutboxMailer`] (the same messages as `.eml` files in
//! a folder, for trying notices out and for the demo), and [`ChatWebhook`], the admins' digest on a Slack or
//! Microsoft Teams incoming webhook.
//!
//! The server is a URL, `smtp://host:25` (plain, for a relay on the same host or a test server),
//! `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465` (TLS from the start),
//! kept as a [`SecretString`] because it may carry a password; no error or log line repeats it.
//!
//! How SMTP failures map onto [`MailError`], which decides whether the member counts as told:
//! - could not connect → `NotSent` (nothing went out; the next run sends);
//! - a 4xx reply → `NotSent`, `421` → `Throttled` (the server is shedding load);
//! - a 5xx reply to authentication (`530`, `534`, `535`, `538`) or a TLS failure → `Misconfigured`;
//! - any other 5xx reply → `Rejected` (the address or the message was refused: not sent again);
//! - the connection broke or timed out mid-conversation → `Unknown`: it may have broken after the message was
//!   handed over, so the member may have been told, and it is never sent again.

mod outbox;
mod webhook;

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use miro_sam_core::ports::{MailError, Mailer, OutgoingEmail, SentEmail};
use secrecy::{ExposeSecret, SecretString};

pub use outbox::{OutboxError, OutboxMailer};
pub use webhook::{ChatWebhook, WebhookConfigError};

/// How long one SMTP conversation may take before it counts as cut off.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an SMTP mailer cannot be built. Never quotes the URL (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpConfigError {
    #[error(
        "the SMTP URL is not valid ({0}); expected smtp://host:port, smtp://user:pass@host:587?tls=required \
         or smtps://user:pass@host:465"
    )]
    BadUrl(String),
    #[error(
        "the sender {0:?} is not a mailbox; expected an address, e.g. \"miro-sam <it@example.com>\" or it@example.com"
    )]
    BadSender(String),
}

/// The core's [`Mailer`] over SMTP. Cheap to clone.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer sending through the server at `url`, from `from`.
    pub fn new(url: &SecretString, from: &str, timeout: Duration) -> Result<Self, SmtpConfigError> {
        let from = parse_sender(from)?;
        let raw = url.expose_secret();
        let parsed = url::Url::parse(raw).map_err(|e| SmtpConfigError::BadUrl(e.to_string()))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(SmtpConfigError::BadUrl(format!(
                "the scheme is {:?}",
                parsed.scheme()
            )));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(SmtpConfigError::BadUrl("it names no host".into()));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(raw)
            // lettre's message may quote parts of the URL: say only what kind of problem it is.
            .map_err(|e| SmtpConfigError::BadUrl(kind_only(&e)))?
            .timeout(Some(timeout))
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError> {
        let message = build_message(&self.from, email)?;
        match self.transport.send(message).await {
            Ok(response) => Ok(SentEmail {
                message_id: response.message().next().map(str::to_owned),
            }),
            Err(e) => {
                let err = classify(&e);
                tracing::warn!(reference = %email.reference, error = %err, "SMTP send failed");
                Err(err)
            }
        }
    }
}

/// The message as it goes out, by SMTP or into the outbox: from `from`, multipart text and HTML.
fn build_message(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, MailError> {
    let to: Mailbox = email.to.as_str().parse().map_err(|_| MailError::Rejected {
        detail: format!("{} cannot be written as an SMTP recipient", email.to),
    })?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        // Derived from the notice, so the same notice always carries the same id (a receiving server can
        // tell a duplicate, and the message can be traced back to its record).
        .message_id(Some(message_id(&email.reference)))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| MailError::Misconfigured {
            detail: format!("cannot build the message: {e}"),
        })
}

/// The sender as a mailbox, for both mailers.
fn parse_sender(from: &str) -> Result<Mailbox, SmtpConfigError> {
    from.trim()
        .parse()
        .map_err(|_| SmtpConfigError::BadSender(from.to_owned()))
}

/// `<{reference}@miro-sam>` with every character a message id may not hold replaced by `.`.
fn message_id(reference: &str) -> String {
    let local: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<{local}@miro-sam>")
}

fn classify(e: &lettre::transport::smtp::Error) -> MailError {
    let detail = e.to_string();
    if let Some(code) = e.status() {
        let code = code.to_string();
        if e.is_transient() {
            return if code == "421" {
                MailError::Throttled { detail }
            } else {
                MailError::NotSent { detail }
            };
        }
        return if matches!(code.as_str(), "530" | "534" | "535" | "538") {
            MailError::Misconfigured { detail }
        } else {
            MailError::Rejected { detail }
        };
    }
    if e.is_tls() || e.is_client() {
        return MailError::Misconfigured { detail };
    }
    // lettre tells a failure to connect only by its message ("Connection error: ...").
    if detail.starts_with("Connection error") {
        return MailError::NotSent { detail };
    }
    MailError::Unknown { detail }
}

/// The kind of a lettre error without its details (which may quote a URL).
fn kind_only(e: &lettre::transport::smtp::Error) -> String {
    let s = e.to_string();
    s.split(':').next().unwrap_or("error").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_never_quote_the_url() {
        let secret = SecretString::from("smtp://user:hunter2@");
        let e = SmtpMailer::new(&secret, "it@example.com", DEFAULT_SMTP_TIMEOUT).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = SmtpMailer::new(
            &SecretString::from("http://user:hunter2@mail.example.com"),
            "it@example.com",
            DEFAULT_SMTP_TIMEOUT,
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"http\""), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = SmtpMailer::new(
            &SecretString::from("smtp://127.0.0.1:25"),
            "not a mailbox",
            DEFAULT_SMTP_TIMEOUT,
        )
        .unwrap_err();
        assert!(matches!(e, SmtpConfigError::BadSender(_)), "{e}");
        let m = SmtpMailer::new(
            &SecretString::from("smtps://user:hunter2@mail.example.com:465"),
            "miro-sam <it@example.com>",
            DEFAULT_SMTP_TIMEOUT,
        )
        .unwrap();
        assert!(!format!("{m:?}").contains("hunter2"));
    }

    #[test]
    fn message_ids_are_derived_from_the_reference() {
        assert_eq!(
            message_id("1/42/3/reminder-2"),
            "<1/42/3/reminder-2@miro-sam>"
        );
        assert_eq!(message_id("a b<c>"), "<a.b.c.@miro-sam>");
    }
}
