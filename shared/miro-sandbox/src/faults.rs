//! Latency and injected faults, applied to API requests before authentication — the way a
//! gateway in front of Miro fails, independently of who is calling.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::Value;

use crate::http::{oauth_error, rest_error, scim_error};
use crate::state::{Shared, State};

/// Which error dialect an endpoint speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// REST v2 and token info: REST error body and `X-RateLimit-*` headers.
    Rest,
    /// Token and revoke endpoints: REST-like body, no rate-limit headers.
    OAuth,
    Scim,
}

enum Fault {
    Error(StatusCode),
    Timeout(Duration),
    RateLimited,
}

/// Counts down `expire_tokens_after_requests`; at zero every access token issued so far expires now.
fn expire_tokens_when_due(state: &mut State) {
    let Some(left) = state.faults.expire_tokens_after_requests else {
        return;
    };
    if left > 0 {
        state.faults.expire_tokens_after_requests = Some(left - 1);
        return;
    }
    state.faults.expire_tokens_after_requests = None;
    let now = state.now();
    for t in state.access_tokens.values_mut() {
        t.expires_at = Some(now);
    }
    state.counters.faults_injected += 1;
}

fn decide(state: &mut State, dialect: Dialect) -> Option<Fault> {
    expire_tokens_when_due(state);
    if dialect == Dialect::Scim && state.faults.scim_rate_limit_burst > 0 {
        state.faults.scim_rate_limit_burst -= 1;
        return Some(Fault::RateLimited);
    }
    if state.faults.rate_limit_burst > 0 {
        state.faults.rate_limit_burst -= 1;
        return Some(Fault::RateLimited);
    }
    let (error_rate, timeout_rate) = (state.faults.error_rate, state.faults.timeout_rate);
    if error_rate <= 0.0 && timeout_rate <= 0.0 {
        return None;
    }
    let roll: f64 = state.fault_rng.random();
    if roll < error_rate {
        let status = [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
        ][state.fault_rng.random_range(0..3)];
        Some(Fault::Error(status))
    } else if roll < error_rate + timeout_rate {
        Some(Fault::Timeout(state.faults.timeout_delay))
    } else {
        None
    }
}

/// Sleeps the configured latency, then maybe answers in place of the handler.
/// `None` means: go on and answer normally (possibly late).
pub(crate) async fn gate(shared: &Shared, dialect: Dialect) -> Option<Response> {
    let (latency, redirect) = {
        let state = shared.lock();
        (state.latency, state.faults.redirect_to_https)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if redirect {
        shared.lock().counters.faults_injected += 1;
        let location = shared.base_url.replacen("http://", "https://", 1);
        let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("{location}/")) {
            response.headers_mut().insert(LOCATION, v);
        }
        return Some(response);
    }
    let (fault, snapshot, retry_after, reset_in) = {
        let mut state = shared.lock();
        let fault = decide(&mut state, dialect);
        match fault {
            Some(Fault::RateLimited) => {
                state.counters.rate_limited += 1;
                state.counters.faults_injected += 1;
            }
            Some(_) => state.counters.faults_injected += 1,
            None => {}
        }
        (
            fault,
            state.rest_budgets.unattributed(),
            state.faults.rate_limit_retry_after,
            state.faults.rate_limit_reset_in_secs,
        )
    };
    let mut response = match fault? {
        Fault::Timeout(delay) => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Fault::Error(status) => error_response(dialect, status),
        Fault::RateLimited => too_many_requests(dialect),
    };
    let limited = response.status() == StatusCode::TOO_MANY_REQUESTS;
    let mut snapshot = snapshot;
    if limited {
        snapshot.remaining = 0;
        if let Some(secs) = reset_in {
            snapshot.reset_epoch = epoch_from_now(secs);
        }
        if let Some(wait) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait.as_secs()));
        }
    }
    // REST always carries credit headers; SCIM only when a test asks for them on a 429.
    if dialect == Dialect::Rest || (limited && dialect == Dialect::Scim && reset_in.is_some()) {
        snapshot.apply(&mut response);
    }
    Some(response)
}

/// UNIX seconds `secs` from now (negative: in the past).
fn epoch_from_now(secs: i64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    now.saturating_add_signed(secs)
}

fn error_response(dialect: Dialect, status: StatusCode) -> Response {
    let (code, message) = match status {
        StatusCode::BAD_GATEWAY => ("badGateway", "Bad gateway"),
        StatusCode::SERVICE_UNAVAILABLE => {
            ("serviceUnavailable", "Service temporarily unavailable")
        }
        _ => ("internalError", "Unexpected error occurred"),
    };
    match dialect {
        Dialect::Rest => rest_error(status, code, message, Value::Null),
        Dialect::OAuth => oauth_error(status, code, message),
        Dialect::Scim => scim_error(status, None, message),
    }
}

/// Miro's documented 429 bodies.
pub(crate) fn too_many_requests(dialect: Dialect) -> Response {
    match dialect {
        Dialect::Rest => rest_error(
            StatusCode::TOO_MANY_REQUESTS,
            "tooManyRequests",
            "Request rate limit exceed",
            Value::Null,
        ),
        Dialect::OAuth => oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "tooManyRequests",
            "Request rate limit exceed",
        ),
        Dialect::Scim => scim_error(
            StatusCode::TOO_MANY_REQUESTS,
            Some("tooManyRequests"),
            "The user has sent too many requests in a given amount of time",
        ),
    }
}

/// With `scim_credit_headers`, stamps REST-style "budget spent for an hour" headers on every SCIM answer.
pub(crate) async fn scim_credit_headers(
    axum::extract::State(shared): axum::extract::State<std::sync::Arc<Shared>>,
    mut response: Response,
) -> Response {
    if shared.lock().faults.scim_credit_headers {
        let headers = response.headers_mut();
        headers.insert("X-RateLimit-Limit", HeaderValue::from(100_000u64));
        headers.insert("X-RateLimit-Remaining", HeaderValue::from(0u64));
        headers.insert("X-RateLimit-Reset", HeaderValue::from(epoch_from_now(3600)));
    }
    response
}
