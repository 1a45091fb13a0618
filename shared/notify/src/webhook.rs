//! The admins' digest on a chat channel: the core's [`Webhook`] over a Slack or Microsoft Teams incoming webhook,
//! posting `{"text": ...}` (what both accept for a plain message). The URL is a secret (whoever has it can post
//! to the channel): kept as a [`SecretString`], never in an error or a log line.

use std::time::Duration;

use async_trait::async_trait;
use miro_sam_core::ports::{Webhook, WebhookError};
use secrecy::{ExposeSecret, SecretString};

/// The core's [`Webhook`] on an incoming-webhook URL.
#[derive(Clone)]
pub struct ChatWebhook {
    http: reqwest::Client,
    url: SecretString,
}

impl std::fmt::Debug for ChatWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatWebhook").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    #[error(
        "the webhook URL is not valid ({0}); expected the https:// URL Slack or Teams gave for the incoming webhook"
    )]
    BadUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl ChatWebhook {
    /// A webhook at `url`: `https://`, or `http://` on a loopback address (a local relay, the tests).
    pub fn new(url: SecretString, timeout: Duration) -> Result<Self, WebhookConfigError> {
        let parsed = url::Url::parse(url.expose_secret())
            .map_err(|e| WebhookConfigError::BadUrl(e.to_string()))?;
        let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            other => {
                return Err(WebhookConfigError::BadUrl(format!(
                    "the scheme is {other:?}; only https carries the secret URL safely"
                )));
            }
        }
        // One TLS stack for the whole product: rustls with ring. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect would carry the message somewhere the admin did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("miro-sam/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookConfigError::Client(e.to_string()))?;
        Ok(ChatWebhook { http, url })
    }
}

#[async_trait]
impl Webhook for ChatWebhook {
    async fn post(&self, text: &str) -> Result<(), WebhookError> {
        let res = self
            .http
            .post(self.url.expose_secret())
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            // reqwest's error names the URL: keep only what went wrong.
            .map_err(|e| WebhookError::Unreachable(e.without_url().to_string()))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let body = res.text().await.unwrap_or_default();
        Err(WebhookError::Refused {
            status: status.as_u16(),
            detail: body.chars().take(200).collect(),
        })
    }
}
