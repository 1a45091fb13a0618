//! The console's router, built once per cold start from the function [`Runtime`] every function builds (table,
//! queue, secrets, Miro client, the app's credentials) and the console's own settings.

use std::sync::Arc;

use axum::Router;
use miro_sam_console::{ConsoleConfig, ConsoleDeps};
use miro_sam_lambda::{Runtime, env};
use secrecy::SecretString;

use crate::scim_presence::ConsoleTokens;
use crate::session_key;
use crate::settings::{BASE_PATH, ConsoleSettings};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Queue(#[from] miro_sam_aws::ConfigError),
    #[error(
        "Sign in with Miro needs the Miro app's credentials: set {id} and {secret} (the template sets both)"
    )]
    NoOAuthApp {
        id: &'static str,
        secret: &'static str,
    },
    #[error("{0}")]
    SessionKeySecret(String),
    #[error(transparent)]
    SessionKey(#[from] session_key::SessionKeyError),
    #[error("{0}")]
    KeepLinkKeySecret(String),
}

/// Reads the session key and wires the console over the runtime's adapters. On AWS: `/console`, Secure
/// cookies, Sign in with Miro only (no one-time login links).
pub async fn build(rt: &Runtime, settings: &ConsoleSettings) -> Result<Router, StartError> {
    let deps = deps(rt)?;
    let value = miro_sam_lambda::read_plain_secret(
        &rt.adapters.clients.secrets,
        &settings.session_key_name,
        "the console session key",
    )
    .await
    .map_err(StartError::SessionKeySecret)?;
    let session_key = session_key::decode(&settings.session_key_name, &value)?;
    let keep_link_key = keep_link_key(rt).await?;

    let config = ConsoleConfig {
        base_path: BASE_PATH.to_owned(),
        public_url: settings.public_url.clone(),
        session_key,
        secure_cookies: true,
        admin_emails: settings.admin_emails.clone(),
        price_per_seat_month_minor: settings.price_per_seat_month_minor,
        currency: settings.currency.clone(),
        local_login: false,
        keep_link_key,
    };
    Ok(miro_sam_console::router(config, deps))
}

/// The key that verifies the members' keep links (the download function signs them with it), from the secret
/// [`env::KEEP_LINK_KEY_SECRET_NAME`] names. Unset: the keep page refuses every link (and the notices carry none).
pub async fn keep_link_key(rt: &Runtime) -> Result<Option<SecretString>, StartError> {
    let Some(name) = &rt.settings.notices.keep_link_key_name else {
        tracing::info!(
            "no keep page: {} is not set, so keep links are refused",
            env::KEEP_LINK_KEY_SECRET_NAME
        );
        return Ok(None);
    };
    miro_sam_lambda::read_plain_secret(
        &rt.adapters.clients.secrets,
        name,
        "the keep-link signing key",
    )
    .await
    .map(Some)
    .map_err(StartError::KeepLinkKeySecret)
}

/// The console's ports over the runtime's adapters: the table, the reclaim queue, the table's OAuth states, a
/// token store that sees SCIM tokens as metadata only, the Miro client and the app. Public so a test can serve
/// the deployment's wiring over plain HTTP on loopback with a config of its own.
pub fn deps(rt: &Runtime) -> Result<ConsoleDeps, StartError> {
    let queue = rt.adapters.require_queue()?.clone();
    let oauth_app = rt.deps.oauth_app.clone().ok_or(StartError::NoOAuthApp {
        id: env::OAUTH_CLIENT_ID,
        secret: miro_sam_aws::env::OAUTH_CLIENT_SECRET_NAME,
    })?;
    Ok(ConsoleDeps {
        store: rt.deps.store.clone(),
        tokens: Arc::new(ConsoleTokens::new(
            rt.adapters.tokens.clone(),
            rt.adapters.clients.secrets.clone(),
        )),
        states: Arc::new(rt.adapters.oauth_states.clone()),
        queue: Arc::new(queue),
        client: rt.deps.client.clone(),
        oauth_app: Some(oauth_app),
        clock: rt.deps.clock.clone(),
    })
}
