//! Latency and injected faults, applied to API requests before authentication — the way a
//! gateway in front of Miro fails, independently of who is calling.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
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

fn decide(state: &mut State) -> Option<Fault> {
    expire_tokens_when_due(state);
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
    let latency = shared.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (fault, snapshot) = {
        let mut state = shared.lock();
        let fault = decide(&mut state);
        match fault {
            Some(Fault::RateLimited) => {
                state.counters.rate_limited += 1;
                state.counters.faults_injected += 1;
            }
            Some(_) => state.counters.faults_injected += 1,
            None => {}
        }
        (fault, state.rest_budgets.unattributed())
    };
    let mut response = match fault? {
        Fault::Timeout(delay) => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Fault::Error(status) => error_response(dialect, status),
        Fault::RateLimited => too_many_requests(dialect),
    };
    if dialect == Dialect::Rest {
        let mut snapshot = snapshot;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            snapshot.remaining = 0;
        }
        snapshot.apply(&mut response);
    }
    Some(response)
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
