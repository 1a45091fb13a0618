//! Posting a line to a chat channel: the admins' digest on a Slack or Microsoft Teams incoming webhook. The
//! adapter (`miro-sam-notify`'s `ChatWebhook`) holds the webhook URL as a secret: whoever has it can post.

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error(
        "the chat webhook refused the message (HTTP {status}): {detail}; check that the webhook still exists and \
         its URL is the one configured"
    )]
    Refused { status: u16, detail: String },
    #[error("the chat webhook could not be reached: {0}; the next digest tries again")]
    Unreachable(String),
}

#[async_trait]
pub trait Webhook: Send + Sync {
    /// Posts `text` as one message.
    async fn post(&self, text: &str) -> Result<(), WebhookError>;
}
