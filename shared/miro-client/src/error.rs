//! One error type for every Miro call. Each message says what happened and what the operator should do.
//! No variant carries a token: endpoints are path templates or paths without query strings, and response
//! excerpts are never taken from the token endpoint.

use std::time::Duration;

/// Which API a call went to; it decides how a 401/403 is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    OAuth,
    Rest,
    Scim,
}

#[derive(Debug, thiserror::Error)]
pub enum MiroError {
    #[error(
        "Miro rejected the access token on {endpoint} (HTTP 401{code}): it expired or was revoked. \
         Reconnect the org."
    )]
    Unauthorized { endpoint: String, code: String },

    #[error(
        "Miro refused {endpoint} (HTTP 403{code}: {message}). The org endpoints need all of: the app's \
         `organizations:read` scope, an app installed in a team of the Enterprise org (apps created in a \
         developer team get this error; see Miro's known issue), and an installing user who is a Company Admin. \
         Fix the app settings, then reconnect the org."
    )]
    OrgForbidden {
        endpoint: String,
        code: String,
        message: String,
    },

    #[error(
        "Miro's SCIM API rejected the SCIM token on {endpoint} (HTTP 401): it is wrong or was regenerated. \
         Generate a new token in Admin Console > Enterprise integrations > SCIM provisioning and store it for this org."
    )]
    ScimUnauthorized { endpoint: String },

    #[error(
        "SCIM is disabled for this org (HTTP 403 on {endpoint}: {detail}). Enable SCIM provisioning in \
         Admin Console > Enterprise integrations (SSO must be on first), then store the SCIM token."
    )]
    ScimDisabled { endpoint: String, detail: String },

    #[error("Miro has no such resource at {endpoint} (HTTP 404: {message})")]
    NotFound { endpoint: String, message: String },

    #[error("Miro refused {endpoint} because of a conflict (HTTP 409: {message})")]
    Conflict { endpoint: String, message: String },

    #[error(
        "Miro's OAuth token endpoint refused the {grant} (HTTP {status}{code}: {message}). An authorization code \
         works once and for 10 minutes, and a refresh token works once: reconnect the org."
    )]
    OAuthRejected {
        grant: &'static str,
        status: u16,
        code: String,
        message: String,
    },

    #[error("Miro refused {endpoint} as a bad request (HTTP {status}{code}: {message})")]
    BadRequest {
        endpoint: String,
        status: u16,
        code: String,
        message: String,
    },

    #[error(
        "Miro kept rate-limiting {endpoint} (HTTP 429) after {attempts} attempts; the run can resume later. \
         If this repeats, lower the configured request budget."
    )]
    RateLimited {
        endpoint: String,
        attempts: u32,
        retry_after: Option<Duration>,
    },

    #[error(
        "Miro failed on {endpoint} (HTTP {status}: {message}) after {attempts} attempts; try again later"
    )]
    Server {
        endpoint: String,
        status: u16,
        message: String,
        attempts: u32,
    },

    #[error(
        "Miro did not answer {endpoint} within the timeout after {attempts} attempts; try again later"
    )]
    Timeout { endpoint: String, attempts: u32 },

    #[error("could not reach Miro for {endpoint} after {attempts} attempts: {detail}")]
    Network {
        endpoint: String,
        detail: String,
        attempts: u32,
    },

    #[error(
        "Miro's answer from {endpoint} could not be read: {detail}; start of the body: {excerpt:?}"
    )]
    Decode {
        endpoint: String,
        detail: String,
        excerpt: String,
    },

    #[error(
        "Miro returned cursor {cursor:?} twice while listing {endpoint}; stopping instead of looping forever. \
         This is a Miro-side paging fault: retry the download later."
    )]
    RepeatedCursor { endpoint: String, cursor: String },

    #[error(
        "Miro accepted {endpoint} for SCIM user {user_id} (set {wanted_state}), but reading the user back \
         shows them still {old_state}: the change did not take effect. Check the user in Miro's admin console; \
         if the change is still wanted, try again later, and if it keeps failing, ask Miro support.",
        wanted_state = active_word(*.wanted),
        old_state = active_word(!*.wanted)
    )]
    ScimNotApplied {
        endpoint: String,
        user_id: String,
        wanted: bool,
    },

    #[error(
        "Miro answered {endpoint} with a redirect (HTTP {status}{location}) instead of an answer. API calls never \
         follow redirects, so a token is never sent elsewhere. Check the configured base URL: it must be Miro's \
         https address (Miro redirects http to https)."
    )]
    Redirected {
        endpoint: String,
        status: u16,
        /// ` to <scheme://host>` when the answer named one; never the path or query.
        location: String,
    },

    #[error(
        "Miro refused to revoke the access token (HTTP 404: {message}), so it is NOT confirmed revoked: Miro may \
         not know it, or the client id and secret are not those of the app that issued it. If the token may still \
         be valid, uninstall the app from that team in Miro to end it."
    )]
    RevokeRefused { message: String },

    #[error("Miro answered {endpoint} with unexpected HTTP {status}: {message}")]
    Unexpected {
        endpoint: String,
        status: u16,
        message: String,
    },

    #[error("Miro client configuration: {0}")]
    Config(String),

    #[error(
        "stopped calling {endpoint} at the caller's deadline after {attempts} attempt(s){last}: the job saves \
         where it is and continues in its next invocation"
    )]
    DeadlineReached {
        endpoint: String,
        /// Attempts sent before the deadline (0: the call never started).
        attempts: u32,
        /// ` (last: …)` with what the last attempt met, when there was one.
        last: String,
    },
}

impl MiroError {
    /// Worth retrying later without anyone changing anything (the client has already retried in-process).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MiroError::RateLimited { .. }
                | MiroError::Server { .. }
                | MiroError::Timeout { .. }
                | MiroError::Network { .. }
                | MiroError::RepeatedCursor { .. }
                | MiroError::DeadlineReached { .. }
        )
    }

    /// A person has to reconnect the org or fix its app or SCIM settings.
    pub fn needs_reconnect(&self) -> bool {
        matches!(
            self,
            MiroError::Unauthorized { .. }
                | MiroError::OrgForbidden { .. }
                | MiroError::ScimUnauthorized { .. }
                | MiroError::ScimDisabled { .. }
                | MiroError::OAuthRejected { .. }
        )
    }

    /// The call stopped at the deadline its client was given ([`crate::MiroClient::with_deadline`]): not a
    /// failure of Miro's, a signal to checkpoint and continue in another invocation.
    pub fn is_deadline(&self) -> bool {
        matches!(self, MiroError::DeadlineReached { .. })
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, MiroError::NotFound { .. })
    }
}

fn active_word(active: bool) -> &'static str {
    if active { "active" } else { "deactivated" }
}

/// Formats an optional error code as ` code` for the messages above.
pub(crate) fn code_suffix(code: Option<&str>) -> String {
    match code {
        Some(c) if !c.is_empty() => format!(" {c}"),
        _ => String::new(),
    }
}

/// A short, single-line start of a response body for error messages.
pub(crate) fn excerpt(body: &str) -> String {
    const MAX: usize = 200;
    let mut s: String = body.chars().take(MAX).collect();
    if body.chars().count() > MAX {
        s.push('…');
    }
    s.replace(['\n', '\r'], " ")
}
