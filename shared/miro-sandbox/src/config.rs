//! Knobs of the sandbox. Defaults mirror Miro's documented limits and behaviour
//! (see docs/miro-api.md), so a default sandbox is "Miro as documented".

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The first org's id unless the caller picks another one.
pub const DEFAULT_ORG_ID: &str = "3074457345821141000";
/// Numeric-looking like real Miro client ids, so clients cannot assume a format.
pub const DEFAULT_CLIENT_ID: &str = "3074457363680401096";
pub const DEFAULT_CLIENT_SECRET: &str = "sbx_secret_Vq3yN8rT2kLw9XpZ4cHd7FjB6mGs1Ea";

#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub seed: u64,
    pub orgs: Vec<OrgSpec>,
    pub oauth: OAuthAppConfig,
    pub rest_limits: RestLimits,
    pub scim_limits: ScimLimits,
    /// Added before every API request (not the control plane or the browser authorize page).
    pub latency: Duration,
    pub faults: FaultConfig,
    /// Where the sandbox clock starts: `None` is now. An instant in the past starts the sandbox then, and the
    /// generated orgs are the orgs as they were on that day (their activity is relative to it), so a test or
    /// the demo can live through days up to today with [`crate::SandboxControl::live_day`]. The clock then
    /// runs at real speed from there, plus whatever it is advanced by.
    pub clock_start: Option<DateTime<Utc>>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 42,
            orgs: vec![OrgSpec::default()],
            oauth: OAuthAppConfig::default(),
            rest_limits: RestLimits::default(),
            scim_limits: ScimLimits::default(),
            latency: Duration::ZERO,
            faults: FaultConfig::default(),
            clock_start: None,
        }
    }
}

impl SandboxConfig {
    /// One org with `n` members (member #1 is the Company Admin who installed the app).
    pub fn with_members(n: usize) -> Self {
        let mut config = SandboxConfig::default();
        config.orgs[0].members = n;
        config
    }

    /// One org with `n` members and rate budgets far above what any test spends, for tests about something
    /// other than rate limits.
    pub fn unlimited(n: usize) -> Self {
        let mut config = Self::with_members(n);
        config.rest_limits.credits_per_window = 1_000_000_000;
        config.scim_limits.list_users = 1_000_000;
        config.scim_limits.get_user = 1_000_000;
        config.scim_limits.patch_user = 1_000_000;
        config.scim_limits.other = 1_000_000;
        config
    }
}

#[derive(Clone, Debug)]
pub struct OrgSpec {
    /// 19-digit numeric string, like Miro's.
    pub id: String,
    pub name: String,
    pub plan: String,
    /// Includes the installing Company Admin. With 0 the admin still exists as the
    /// token's user but is not listed as a member.
    pub members: usize,
    /// `None`: active full licenses at start-up plus ~10% slack.
    pub full_licenses_purchased: Option<i64>,
    /// Org endpoints answer 403, like an app installed in a developer team.
    pub developer_team: bool,
    /// A few members carry license/role strings outside the documented enums.
    pub unknown_enum_values: bool,
}

impl Default for OrgSpec {
    fn default() -> Self {
        OrgSpec {
            id: DEFAULT_ORG_ID.to_string(),
            name: "Acme Corp".to_string(),
            plan: "company".to_string(),
            members: 50,
            full_licenses_purchased: None,
            developer_team: false,
            unknown_enum_values: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OAuthAppConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Empty accepts any redirect URI.
    pub redirect_uris: Vec<String>,
    /// true: access tokens expire and come with a rotating refresh token.
    /// false: Miro's non-expiring mode (no `refresh_token`/`expires_in`).
    pub expiring_tokens: bool,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub scopes: Vec<String>,
    /// Token endpoint prints `team_id`/`user_id` as bare JSON numbers > 2^53, as Miro's docs show.
    pub numeric_ids: bool,
    pub consent: Consent,
    /// true (default): a second authorization by the same user and team is a re-install: the code exchange
    /// issues new tokens and every earlier access and refresh token of that user and team stops working at
    /// once. Miro may do this (UNCONFIRMED), so the default is the stricter choice. false: earlier tokens keep
    /// working beside the new ones.
    pub reinstall_replaces_tokens: bool,
}

impl Default for OAuthAppConfig {
    fn default() -> Self {
        OAuthAppConfig {
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            redirect_uris: Vec::new(),
            expiring_tokens: true,
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(60 * 24 * 3600),
            scopes: vec![
                "organizations:read".to_string(),
                "organizations:teams:read".to_string(),
                "boards:read".to_string(),
            ],
            numeric_ids: true,
            consent: Consent::Approve,
            reinstall_replaces_tokens: true,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Consent {
    #[default]
    Approve,
    Deny,
}

/// Miro's REST credit model: a budget per (user, app) per window; Level 3 costs 500.
#[derive(Clone, Debug)]
pub struct RestLimits {
    pub credits_per_window: u64,
    pub window: Duration,
}

impl Default for RestLimits {
    fn default() -> Self {
        RestLimits {
            credits_per_window: 100_000,
            window: Duration::from_secs(60),
        }
    }
}

/// Requests per SCIM token per endpoint per window (Miro: 30 s windows).
#[derive(Clone, Debug)]
pub struct ScimLimits {
    pub window: Duration,
    pub list_users: u32,
    pub get_user: u32,
    pub patch_user: u32,
    pub delete_user: u32,
    pub other: u32,
}

impl Default for ScimLimits {
    fn default() -> Self {
        ScimLimits {
            window: Duration::from_secs(30),
            list_users: 200,
            get_user: 200,
            patch_user: 100,
            delete_user: 20,
            other: 200,
        }
    }
}

#[derive(Clone, Debug)]
pub struct FaultConfig {
    /// Fraction of API requests answered 500/502/503.
    pub error_rate: f64,
    /// Fraction of API requests answered only after `timeout_delay`.
    pub timeout_rate: f64,
    pub timeout_delay: Duration,
    /// The next N API requests get 429 regardless of budget.
    pub rate_limit_burst: u32,
    /// The next members page is cut short (invalid JSON), once.
    pub malformed_members_page_once: bool,
    /// Members pages echo the request's own cursor, making a cursor loop.
    pub repeat_cursor: bool,
    /// The end of a members listing is not marked by an empty cursor: the last page names its last member as
    /// the cursor, and the page after it has an empty `data` array with that cursor again. A client must stop
    /// on an empty page as well as on an empty cursor.
    pub cursor_past_the_end: bool,
    /// After this many more API requests, every access token issued so far expires at once (a token that dies
    /// mid-run). Refresh tokens keep working.
    pub expire_tokens_after_requests: Option<u32>,
    pub fault_seed: u64,
    /// The next N SCIM requests get 429 regardless of budget (REST is untouched).
    pub scim_rate_limit_burst: u32,
    /// `Retry-After` (whole seconds) on injected 429s, REST and SCIM alike. Miro's use of it is unconfirmed.
    pub rate_limit_retry_after: Option<Duration>,
    /// `X-RateLimit-Reset` of injected 429s, in seconds from now; negative puts the reset in the past (a skewed
    /// clock or a stale header). On SCIM 429s it also adds `X-RateLimit-Limit` and `X-RateLimit-Remaining: 0`.
    pub rate_limit_reset_in_secs: Option<i64>,
    /// Every SCIM answer carries REST-style credit headers saying the budget is spent for an hour. A client must
    /// not let them hold back SCIM calls (they describe REST credits, not SCIM's per-endpoint counts).
    pub scim_credit_headers: bool,
    /// SCIM PATCH answers `204 No Content` instead of 200 with the resource (allowed by RFC 7644 §3.5.2).
    pub scim_patch_no_content: bool,
    /// SCIM PATCH answers 200 with the requested state but changes nothing: only a read-back shows it.
    pub scim_patch_not_applied: bool,
    /// Every SCIM request gets 403 "SCIM integration is disabled." (an admin switched SCIM off).
    pub scim_disabled: bool,
    /// Every API request gets `301 Moved Permanently` to the https address, as Miro answers plain http.
    pub redirect_to_https: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            error_rate: 0.0,
            timeout_rate: 0.0,
            timeout_delay: Duration::from_secs(30),
            rate_limit_burst: 0,
            malformed_members_page_once: false,
            repeat_cursor: false,
            cursor_past_the_end: false,
            expire_tokens_after_requests: None,
            fault_seed: 0,
            scim_rate_limit_burst: 0,
            rate_limit_retry_after: None,
            rate_limit_reset_in_secs: None,
            scim_credit_headers: false,
            scim_patch_no_content: false,
            scim_patch_not_applied: false,
            scim_disabled: false,
            redirect_to_https: false,
        }
    }
}
