//! The one place requests are sent: pacing, retries with capped jittered backoff, honouring 429s, and turning
//! HTTP failures into [`MiroError`]s. Every API module builds a [`Call`] and hands it here.

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

use crate::MiroClient;
use crate::config::RetryPolicy;
use crate::deadline::deadline_reached;
use crate::error::{Api, MiroError, code_suffix, excerpt};
use crate::pacer::Pacer;

/// Whether a failed attempt may be sent again. A refresh token or an authorization code works once, so a
/// request that may have reached Miro must not be repeated blindly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads and state-setting writes (PATCH active=false twice is the same as once).
    Idempotent,
    /// Only when Miro surely did not process it: 429 or a connection that never opened.
    OnlyUnprocessed,
}

pub(crate) enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(&'static str, String)>),
}

pub(crate) struct Call<'a> {
    pub api: Api,
    /// A label without ids or secrets, e.g. `GET /v2/orgs/{org}/members`.
    pub endpoint: &'static str,
    pub method: Method,
    pub url: url::Url,
    pub bearer: Option<&'a SecretString>,
    pub body: Body,
    pub pacer: Option<Arc<Pacer>>,
    pub retry: Retry,
    /// Whether error texts may quote the response body (never for the token endpoint).
    pub quote_body: bool,
}

/// A response that passed the status checks.
pub(crate) struct Answer {
    endpoint: &'static str,
    quote_body: bool,
    body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, MiroError> {
        serde_json::from_slice(&self.body).map_err(|e| MiroError::Decode {
            endpoint: self.endpoint.to_owned(),
            // serde's message quotes mistyped values, which from the token endpoint could be a secret.
            detail: if self.quote_body {
                e.to_string()
            } else {
                format!(
                    "{:?} error at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                )
            },
            excerpt: if self.quote_body {
                excerpt(&String::from_utf8_lossy(&self.body))
            } else {
                "(not shown: this endpoint returns secrets)".to_owned()
            },
        })
    }
}

enum Attempt {
    Done(Answer),
    /// Try again after the given wait; the error is what we report if no attempts are left.
    Again(Duration, MiroError),
    Fail(MiroError),
}

impl MiroClient {
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<Answer, MiroError> {
        let policy = self.inner.config.retry;
        // The loop is ours around backon's delays: a 429's wait can be longer than the backoff (Retry-After,
        // X-RateLimit-Reset), it is served through the shared pacer, and the deadline can cut it short.
        let mut backoffs = retry_delays(&policy);
        let mut attempt = 1;
        let mut last: Option<MiroError> = None;
        loop {
            // With a deadline (deadline.rs) nothing starts that cannot end by it: not the pacing slot, not the
            // attempt.
            if self.past_deadline() {
                return Err(deadline_reached(call.endpoint, attempt - 1, last.as_ref()));
            }
            if let Some(p) = &call.pacer {
                match self.deadline {
                    Some(d) if !p.acquire_by(d).await => {
                        return Err(deadline_reached(call.endpoint, attempt - 1, last.as_ref()));
                    }
                    Some(_) => {}
                    None => p.acquire().await,
                }
            }
            // One delay per attempt, the last one's included (a 429 error reports it as the wait), so the iterator
            // outlasts the loop and the fallback is never taken.
            let backoff = backoffs.next().unwrap_or(policy.max_delay);
            match self.attempt(&call, attempt, backoff).await {
                Attempt::Done(a) => return Ok(a),
                Attempt::Fail(e) => return Err(e),
                Attempt::Again(wait, e) => {
                    if attempt >= policy.max_attempts {
                        return Err(e);
                    }
                    if self.would_pass_deadline(wait) {
                        if let Some(p) = &call.pacer {
                            // Other callers of this budget still wait what Miro asked.
                            p.block_until(Instant::now() + wait);
                        }
                        tracing::info!(endpoint = call.endpoint, attempt, wait_ms = wait.as_millis() as u64, error = %e,
                            "not waiting to retry past the deadline");
                        return Err(deadline_reached(call.endpoint, attempt, Some(&e)));
                    }
                    self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(endpoint = call.endpoint, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying Miro call");
                    if let Some(p) = &call.pacer {
                        // Later callers wait too, so one 429 does not turn into many.
                        p.block_until(Instant::now() + wait);
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                    last = Some(e);
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(&self, call: &Call<'_>, attempt: u32, backoff: Duration) -> Attempt {
        let mut req = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone());
        if let Some(token) = call.bearer {
            req = req.bearer_auth(token.expose_secret());
        }
        req = match &call.body {
            Body::None => req,
            Body::Json(v) => req.json(v),
            Body::Form(f) => req.form(f),
        };
        if call.api == Api::Scim {
            req = req.header(
                reqwest::header::ACCEPT,
                "application/scim+json, application/json",
            );
        }
        // An idempotent request still in flight at the deadline is cut; one that must not be repeated is not (a
        // refresh grant Miro already answered would lose the rotated tokens), see deadline.rs.
        let cut_at = match (call.retry, self.time_left()) {
            (Retry::Idempotent, Some(left)) if left < self.inner.config.request_timeout => {
                req = req.timeout(left);
                true
            }
            _ => false,
        };
        self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if cut_at && e.is_timeout() && self.past_deadline() => {
                return Attempt::Fail(deadline_reached(call.endpoint, attempt, None));
            }
            Err(e) => return self.transport_failure(call, e, attempt, backoff),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) if cut_at && e.is_timeout() && self.past_deadline() => {
                return Attempt::Fail(deadline_reached(call.endpoint, attempt, None));
            }
            Err(e) => return self.transport_failure(call, e, attempt, backoff),
        };
        tracing::debug!(
            endpoint = call.endpoint,
            status = status.as_u16(),
            attempt,
            "Miro call"
        );

        if status == StatusCode::TOO_MANY_REQUESTS {
            self.inner
                .stats
                .rate_limited
                .fetch_add(1, Ordering::Relaxed);
            let scim_window = self.inner.config.scim_limits.window;
            let wait = wait_after_429(call.api, &headers, backoff, scim_window, SystemTime::now());
            // Bounded, so a hostile or broken header cannot park a worker for hours; never below SCIM's window,
            // which is what waiting "until the next window" needs.
            let cap = self.inner.config.longest_retry_wait();
            let wait = wait.min(cap);
            return Attempt::Again(
                wait,
                MiroError::RateLimited {
                    endpoint: call.endpoint.to_owned(),
                    attempts: attempt,
                    retry_after: Some(wait),
                },
            );
        }
        // Credit headers describe the REST budget; SCIM counts requests per endpoint and must not be held back
        // by them (a proxy or Miro itself may stamp them on every answer).
        if call.api == Api::Rest
            && let (Some(p), Some(until)) = (&call.pacer, budget_exhausted_until(&headers, self))
        {
            p.block_until(until);
        }
        if status.is_server_error() {
            let err = MiroError::Server {
                endpoint: call.endpoint.to_owned(),
                status: status.as_u16(),
                message: error_fields(&body).1,
                attempts: attempt,
            };
            return match call.retry {
                Retry::Idempotent => Attempt::Again(backoff, err),
                Retry::OnlyUnprocessed => Attempt::Fail(err),
            };
        }
        if status.is_redirection() {
            // Never success: the body is not the answer, and following it would send the token elsewhere.
            return Attempt::Fail(MiroError::Redirected {
                endpoint: call.endpoint.to_owned(),
                status: status.as_u16(),
                location: redirect_origin(&headers),
            });
        }
        if status.is_success() {
            return Attempt::Done(Answer {
                endpoint: call.endpoint,
                quote_body: call.quote_body,
                body,
            });
        }
        Attempt::Fail(status_error(call, status, &body))
    }

    fn transport_failure(
        &self,
        call: &Call<'_>,
        e: reqwest::Error,
        attempt: u32,
        backoff: Duration,
    ) -> Attempt {
        // reqwest errors print the URL; ours carry no secrets, but drop it anyway so no query string leaks.
        let e = e.without_url();
        let never_sent = e.is_connect();
        let err = if e.is_timeout() {
            MiroError::Timeout {
                endpoint: call.endpoint.to_owned(),
                attempts: attempt,
            }
        } else {
            MiroError::Network {
                endpoint: call.endpoint.to_owned(),
                detail: error_chain(&e),
                attempts: attempt,
            }
        };
        if call.retry == Retry::Idempotent || never_sent {
            Attempt::Again(backoff, err)
        } else {
            Attempt::Fail(err)
        }
    }
}

/// The backoff after each attempt of one call, `max_attempts` (at least one) of them: attempt `n` (from 1) waits
/// between half and all of `step = min(max, base·2ⁿ⁻¹)`, never less than `base`. So the first retry waits exactly
/// `base` and later ones spread concurrent callers apart, always within [base, step] (the same shape as
/// shared/aws/src/retry.rs). backon's jitter adds a random share below 100 % of its step, hence half the base
/// and half the cap; it computes in `f32`, hence the cap enforced once more.
fn retry_delays(policy: &RetryPolicy) -> impl Iterator<Item = Duration> + use<> {
    let (base, max) = (policy.base_delay, policy.max_delay);
    ExponentialBuilder::new()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(base / 2)
        .with_max_delay(max / 2)
        .with_max_times(usize::try_from(policy.max_attempts.max(1)).unwrap_or(usize::MAX))
        .build()
        .map(move |d| d.min(max).max(base))
}

/// How long to wait after a 429: never less than the backoff, and longer when the server asks for more.
/// REST: `Retry-After` (seconds), else until `X-RateLimit-Reset` (epoch seconds); a reset already in the past
/// says nothing (a skewed clock or a stale header), so the backoff applies. SCIM: `Retry-After` only, since the
/// credit headers describe REST's budget; without it, one whole SCIM window, the only wait sure to reach the
/// next window when its phase is unknown.
fn wait_after_429(
    api: Api,
    headers: &HeaderMap,
    backoff: Duration,
    scim_window: Duration,
    now: SystemTime,
) -> Duration {
    let retry_after = header_u64(headers, RETRY_AFTER.as_str()).map(Duration::from_secs);
    let server = match api {
        Api::Scim => Some(retry_after.unwrap_or(scim_window)),
        Api::Rest | Api::OAuth => retry_after.or_else(|| {
            header_u64(headers, "x-ratelimit-reset")
                .map(|reset| until_epoch_from(reset, now))
                .filter(|d| !d.is_zero())
        }),
    };
    server.map_or(backoff, |s| s.max(backoff))
}

/// `scheme://host[:port]` of a redirect's `Location`, for the error message; never its path or query.
fn redirect_origin(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok())
        .map(|u| format!(" to {}", u.origin().ascii_serialization()))
        .unwrap_or_default()
}

/// When `X-RateLimit-Remaining` says not even one more Level-3 call fits, the instant the window resets.
fn budget_exhausted_until(headers: &HeaderMap, client: &MiroClient) -> Option<Instant> {
    let remaining = header_u64(headers, "x-ratelimit-remaining")?;
    if remaining >= client.inner.config.rest_limits.level3_cost {
        return None;
    }
    let reset = header_u64(headers, "x-ratelimit-reset")?;
    let window = client.inner.config.rest_limits.window;
    Some(Instant::now() + until_epoch(reset).min(window))
}

fn until_epoch(epoch_secs: u64) -> Duration {
    until_epoch_from(epoch_secs, SystemTime::now())
}

fn until_epoch_from(epoch_secs: u64, now: SystemTime) -> Duration {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_secs(epoch_secs).saturating_sub(now)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `(code, message)` from any of Miro's error shapes: REST `{status, code, message}`, SCIM `{status, scimType,
/// detail}`, OAuth `{error, error_description}`.
pub(crate) fn error_fields(body: &[u8]) -> (Option<String>, String) {
    let v: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return (None, "no readable error body".to_owned()),
    };
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let code = text("code")
        .or_else(|| text("scimType"))
        .or_else(|| text("error"));
    let message = text("message")
        .or_else(|| text("detail"))
        .or_else(|| text("error_description"))
        .unwrap_or_else(|| "no message".to_owned());
    (code, excerpt(&message))
}

fn status_error(call: &Call<'_>, status: StatusCode, body: &[u8]) -> MiroError {
    let endpoint = call.endpoint.to_owned();
    let (code, message) = error_fields(body);
    let code_s = code_suffix(code.as_deref());
    match (call.api, status.as_u16()) {
        (Api::Scim, 401) => MiroError::ScimUnauthorized { endpoint },
        (Api::Scim, 403) => MiroError::ScimDisabled {
            endpoint,
            detail: message,
        },
        (_, 401) => MiroError::Unauthorized {
            endpoint,
            code: code_s,
        },
        (Api::Rest, 403) => MiroError::OrgForbidden {
            endpoint,
            code: code_s,
            message,
        },
        (_, 404) => MiroError::NotFound { endpoint, message },
        (_, 409) => MiroError::Conflict { endpoint, message },
        (_, s @ 400..=499) => MiroError::BadRequest {
            endpoint,
            status: s,
            code: code_s,
            message,
        },
        (_, s) => MiroError::Unexpected {
            endpoint,
            status: s,
            message,
        },
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_attempts: u32, base_ms: u64, max_ms: u64) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(base_ms),
            max_delay: Duration::from_millis(max_ms),
        }
    }

    /// backon doubles in `f32`: a step may be off by a few nanoseconds.
    const ROUNDING: Duration = Duration::from_micros(1);

    #[test]
    fn backoff_stays_within_its_bounds() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(2));
        for _ in 0..100 {
            let delays: Vec<Duration> = retry_delays(&policy(20, 100, 2_000)).collect();
            assert_eq!(delays.len(), 20, "one backoff per attempt");
            assert_eq!(delays[0], base, "the first retry waits exactly the base");
            for (i, d) in delays.iter().enumerate() {
                let step = (base * 2u32.pow(i.min(10) as u32)).min(max);
                let floor = (step / 2).max(base);
                assert!(
                    *d + ROUNDING >= floor && *d <= step + ROUNDING && *d <= max,
                    "attempt {}: {d:?} not in [{floor:?}, {step:?}]",
                    i + 1
                );
            }
        }
        let distinct: std::collections::HashSet<Duration> = (0..50)
            .map(|_| retry_delays(&policy(6, 100, 2_000)).nth(4).unwrap())
            .collect();
        assert!(distinct.len() > 1, "jitter spreads later retries");
    }

    #[test]
    fn backoff_keeps_odd_policies_sane() {
        assert_eq!(
            retry_delays(&policy(0, 5, 50)).count(),
            1,
            "zero attempts still send once"
        );
        // A cap below the base: every wait is the base, as before.
        assert!(retry_delays(&policy(5, 300, 100)).all(|d| d == Duration::from_millis(300)));
        assert!(retry_delays(&policy(3, 0, 0)).all(|d| d.is_zero()));
        // The defaults: 250 ms first, never past 30 s.
        let d: Vec<Duration> = retry_delays(&RetryPolicy::default()).collect();
        assert_eq!(d.len(), 6);
        assert_eq!(d[0], Duration::from_millis(250));
        assert!(d.iter().all(|d| *d <= Duration::from_secs(30)));
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_429_waits_the_larger_of_the_server_wait_and_the_backoff() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let window = Duration::from_secs(30);
        let backoff = Duration::from_secs(3);
        let ra = |s: u64| headers(&[("retry-after", s.to_string())]);
        let reset = |e: u64| headers(&[("x-ratelimit-reset", e.to_string())]);
        let wait = |api, h: &HeaderMap| wait_after_429(api, h, backoff, window, now);
        assert_eq!(
            wait(Api::Rest, &ra(1)),
            backoff,
            "a short Retry-After does not cut the backoff"
        );
        assert_eq!(wait(Api::Rest, &ra(10)), Duration::from_secs(10));
        assert_eq!(wait(Api::Rest, &reset(1_000_020)), Duration::from_secs(20));
        assert_eq!(
            wait(Api::Rest, &reset(999_000)),
            backoff,
            "a reset in the past is not wait 0"
        );
        assert_eq!(wait(Api::Rest, &reset(1_000_000)), backoff);
        assert_eq!(wait(Api::Rest, &HeaderMap::new()), backoff);
        // SCIM: no headers means one whole window; credit headers are REST's and say nothing here.
        assert_eq!(wait(Api::Scim, &HeaderMap::new()), window);
        assert_eq!(wait(Api::Scim, &reset(1_003_600)), window);
        assert_eq!(wait(Api::Scim, &ra(45)), Duration::from_secs(45));
        assert_eq!(wait(Api::Scim, &ra(1)), backoff);
    }

    #[test]
    fn error_fields_read_every_shape() {
        let rest = br#"{"status":403,"code":"insufficientPermissions","message":"no scope","type":"error"}"#;
        assert_eq!(
            error_fields(rest),
            (Some("insufficientPermissions".into()), "no scope".into())
        );
        let scim = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"403","detail":"SCIM integration is disabled."}"#;
        assert_eq!(error_fields(scim).1, "SCIM integration is disabled.");
        let oauth = br#"{"error":"invalid_grant","error_description":"used"}"#;
        assert_eq!(
            error_fields(oauth),
            (Some("invalid_grant".into()), "used".into())
        );
        assert_eq!(error_fields(b"<html>").0, None);
    }
}
