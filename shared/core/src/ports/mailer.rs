//! Sending an email: the notice channel. Adapters: SMTP (`miro-sam-notify`, for one machine) and Amazon SES v2
//! (`miro-sam-aws`). The core decides what to say and when; an adapter only delivers and reports, in the terms
//! the notice lifecycle needs, whether the message went out.

use async_trait::async_trait;

use crate::domain::Email;

/// One message to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Names the notice this message is (org/member/cycle and which message); adapters pass it on as a header
    /// or tag where they can, so a message can be traced back to its record.
    pub reference: String,
}

/// What the channel accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SentEmail {
    /// The channel's id of the message (SES message id, SMTP queue id), when it gives one.
    pub message_id: Option<String>,
}

/// Why a message did not (certainly) go out. The split is what the lifecycle acts on: only [`MailError::Unknown`]
/// leaves it unsure whether the person was told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The recipient's address was refused: the person cannot be told this way. Not worth retrying.
    #[error("the address was refused: {detail}")]
    Rejected { detail: String },
    /// The channel is not set up to send (sender identity not verified, bad credentials, no such host). Nothing
    /// was sent; a person must fix the configuration, then the next run sends.
    #[error("the mail channel cannot send: {detail}")]
    Misconfigured { detail: String },
    /// The channel asked to slow down. Nothing was sent; try later.
    #[error("the mail channel is throttling: {detail}")]
    Throttled { detail: String },
    /// Nothing was sent (the server could not be reached, or answered with a temporary failure); try later.
    #[error("the message was not sent: {detail}")]
    NotSent { detail: String },
    /// The connection ended after the message was handed over and before the channel confirmed it: it may have
    /// gone out. Never sent again.
    #[error("it is unknown whether the message went out: {detail}")]
    Unknown { detail: String },
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError>;
}
