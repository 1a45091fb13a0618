//! The one client for Miro: OAuth 2.0, REST v2 organization endpoints and SCIM 2.0.
//!
//! Facts about Miro's API, with their sources, are in `docs/miro-api.md`. The client paces itself to Miro's rate
//! limits ([`RestLimits`], [`ScimLimits`]), retries what is safe to retry, and reports failures as [`MiroError`]s
//! that tell the operator what to do. Tokens are [`secrecy::SecretString`]s and never appear in errors or logs.
//!
//! What counts as success is strict, because a reclaim recorded as done must be done:
//! - A SCIM PATCH is answered 200 with the resource or 204 with nothing (RFC 7644 §3.5.2); either way the user is
//!   read back, and a state that did not change is [`MiroError::ScimNotApplied`].
//! - Any 3xx is [`MiroError::Redirected`], never an answer (redirects are not followed, so a token never leaves).
//! - A revoke answered 404 is [`MiroError::RevokeRefused`]: the token is not known to be revoked.
//! - A members page with no data ends the listing, whatever cursor it names.
//!
//! After a 429 the client waits the larger of the backoff and what Miro asked: `Retry-After`, or for REST the
//! `X-RateLimit-Reset` time when it lies ahead. SCIM without `Retry-After` waits one whole SCIM window. REST credit
//! headers pace REST calls only, never SCIM ones. SCIM filters are percent-encoded with `%20` for spaces.
//!
//! A client given a deadline ([`MiroClient::with_deadline`]) ends every call, with its retries and waits, by then,
//! and answers [`MiroError::DeadlineReached`] instead of waiting past it (`deadline.rs`).

mod config;
mod deadline;
mod error;
mod http;
mod model;
mod oauth;
mod pacer;
mod redirect;
mod rest;
mod scim;
mod wire;

pub use config::{
    DEFAULT_API_BASE_URL, DEFAULT_OAUTH_BASE_URL, DEFAULT_SCIM_BASE_URL, MiroConfig, OAuthApp,
    RestLimits, RetryPolicy, ScimLimits,
};
pub use error::{Api, MiroError};
pub use model::{
    AdminRole, Entity, License, Member, MemberFilter, MembersPage, Organization, Role, ScimRole,
    ScimServiceInfo, ScimUser, ScimUsersPage, TokenInfo, UndecodableMember,
};
pub use oauth::TokenGrant;
pub use redirect::{RedirectError, RedirectQuery};
pub use secrecy::{ExposeSecret, SecretString};
pub use wire::parse_datetime;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pacer::PacerMap;

/// Cheap to clone: clones share the connection pool, the pacers and the counters.
#[derive(Clone)]
pub struct MiroClient {
    inner: Arc<Inner>,
    /// When every call of this clone must have ended ([`MiroClient::with_deadline`]); `None`: no deadline.
    deadline: Option<tokio::time::Instant>,
}

struct Inner {
    http: reqwest::Client,
    config: MiroConfig,
    rest_pacers: PacerMap,
    scim_pacers: PacerMap,
    stats: Stats,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
}

/// Counters for metrics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    pub retries: u64,
}

impl std::fmt::Debug for MiroClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiroClient")
            .field("api_base_url", &self.inner.config.api_base_url.as_str())
            .field("scim_base_url", &self.inner.config.scim_base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl MiroClient {
    pub fn new(config: MiroConfig) -> Result<Self, MiroError> {
        // One TLS stack for the whole product: rustls with ring. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // The authorize redirect is for browsers; API calls must not follow redirects with a bearer token.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("miro-sam/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MiroError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                rest_pacers: PacerMap::default(),
                scim_pacers: PacerMap::default(),
                stats: Stats::default(),
            }),
            deadline: None,
        })
    }

    pub fn config(&self) -> &MiroConfig {
        &self.inner.config
    }

    pub fn stats(&self) -> ClientStats {
        let s = &self.inner.stats;
        ClientStats {
            requests: s.requests.load(Ordering::Relaxed),
            rate_limited: s.rate_limited.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
        }
    }
}
