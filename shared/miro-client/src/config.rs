//! Where Miro lives and how fast we may talk to it. Every value is configuration so the same client talks to
//! Miro, the sandbox or a proxy, and so the limits can follow Miro when it changes them.

use secrecy::SecretString;
use std::time::Duration;
use url::Url;

use crate::error::MiroError;

/// The real Miro's browser host (the OAuth consent page). These three are the one place Miro's addresses are
/// written: the CLI's flags and the Lambdas' settings default to them too.
pub const DEFAULT_OAUTH_BASE_URL: &str = "https://miro.com";
/// The real Miro's API host: token endpoints and REST v2.
pub const DEFAULT_API_BASE_URL: &str = "https://api.miro.com";
/// The real Miro's SCIM 2.0 base URL.
pub const DEFAULT_SCIM_BASE_URL: &str = "https://miro.com/api/v1/scim";

/// Base URLs, timeouts, rate budgets and retry policy.
#[derive(Debug, Clone)]
pub struct MiroConfig {
    /// Host of the browser authorize page (`{oauth}/oauth/authorize`).
    pub oauth_base_url: Url,
    /// Host of the token endpoints and REST v2 (`{api}/v1/oauth/token`, `{api}/v2/orgs/...`).
    pub api_base_url: Url,
    /// SCIM 2.0 base (`{scim}/Users`).
    pub scim_base_url: Url,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub rest_limits: RestLimits,
    pub scim_limits: ScimLimits,
    pub retry: RetryPolicy,
}

/// Miro's REST credit model: a budget of credits per window, per user and app.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestLimits {
    pub credits_per_window: u64,
    pub window: Duration,
    /// Credits one Level-3 call costs (all org endpoints we use are Level 3).
    pub level3_cost: u64,
    /// Fraction of the budget we plan to spend. Below 1.0 so clock skew and network jitter cannot push a call
    /// into a window that is already full.
    pub utilization: f64,
}

impl Default for RestLimits {
    fn default() -> Self {
        Self {
            credits_per_window: 100_000,
            window: Duration::from_secs(60),
            level3_cost: 500,
            utilization: 0.95,
        }
    }
}

/// SCIM budgets: requests per endpoint per window (30 s at Miro).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScimLimits {
    pub window: Duration,
    pub list_users: u32,
    pub get_user: u32,
    pub patch_user: u32,
    pub other: u32,
    pub utilization: f64,
}

impl Default for ScimLimits {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(30),
            list_users: 200,
            get_user: 200,
            patch_user: 100,
            other: 200,
            utilization: 0.95,
        }
    }
}

/// Retries for 429, 5xx, timeouts and connection failures: capped exponential backoff with jitter (backon's, see
/// `retry_delays` in http.rs): the first retry waits `base_delay`, later ones between half and all of the doubled
/// step, never less than `base_delay` nor more than `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl MiroConfig {
    /// The real Miro.
    pub fn production() -> Self {
        Self::with_urls(
            DEFAULT_OAUTH_BASE_URL,
            DEFAULT_API_BASE_URL,
            DEFAULT_SCIM_BASE_URL,
        )
        .expect("static URLs parse")
    }

    /// Everything on one host, as the sandbox serves it: authorize, token and REST at `base`, SCIM at
    /// `base/api/v1/scim`.
    pub fn for_base_url(base: &str) -> Result<Self, MiroError> {
        let base = base.trim_end_matches('/');
        Self::with_urls(base, base, &format!("{base}/api/v1/scim"))
    }

    /// The longest the client waits between two attempts of one call: its backoff cap, or after a 429 what the
    /// server asked for, bounded by four times that cap (at least 4 s) but never below SCIM's window. Whoever
    /// must outlast a call with all its retries (the token refresh lease) computes with this.
    pub fn longest_retry_wait(&self) -> Duration {
        (self.retry.max_delay.max(Duration::from_secs(1)) * 4).max(self.scim_limits.window)
    }

    pub fn with_urls(oauth: &str, api: &str, scim: &str) -> Result<Self, MiroError> {
        Ok(Self {
            oauth_base_url: parse_base(oauth)?,
            api_base_url: parse_base(api)?,
            scim_base_url: parse_base(scim)?,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            rest_limits: RestLimits::default(),
            scim_limits: ScimLimits::default(),
            retry: RetryPolicy::default(),
        })
    }
}

/// Base URLs are joined with relative paths, so they must end with exactly one `/`.
fn parse_base(s: &str) -> Result<Url, MiroError> {
    let with_slash = format!("{}/", s.trim_end_matches('/'));
    let url = Url::parse(&with_slash)
        .map_err(|e| MiroError::Config(format!("base URL {s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(MiroError::Config(format!(
            "base URL {s:?} must be http or https"
        )));
    }
    Ok(url)
}

/// The Miro app's OAuth credentials, from the app settings page.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: SecretString,
    /// Must equal the redirect URI configured in the app settings.
    pub redirect_uri: String,
}
