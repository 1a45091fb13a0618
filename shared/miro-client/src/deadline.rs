//! Deadline-bounded calls. A Lambda worker is stopped at its deadline, whatever it is doing; one members page with
//! its retries and 429 waits can last minutes. A client given a deadline ([`MiroClient::with_deadline`]) ends every
//! call by then: it does not start an attempt, take a pacing slot or sleep a backoff or a `Retry-After` that would
//! end past it, and it cuts an idempotent request still in flight at the deadline. Each of those returns
//! [`MiroError::DeadlineReached`] at once, which the jobs treat as "checkpoint and continue in the next invocation".
//!
//! A request that may change state and must not be repeated (a refresh-token grant) is never cut once sent: cutting
//! it could lose the rotated tokens Miro has already issued. It is only not started past the deadline.

use std::time::Duration;
use tokio::time::Instant;

use crate::MiroClient;
use crate::error::MiroError;

impl MiroClient {
    /// A clone whose calls all end by `deadline` (see the module docs). Clones share the connection pool, the
    /// pacers and the counters; only this clone (and clones of it) carries the deadline.
    pub fn with_deadline(&self, deadline: std::time::Instant) -> MiroClient {
        MiroClient {
            inner: self.inner.clone(),
            deadline: Some(Instant::from_std(deadline)),
        }
    }

    /// A clone without a deadline.
    pub fn without_deadline(&self) -> MiroClient {
        MiroClient {
            inner: self.inner.clone(),
            deadline: None,
        }
    }

    /// The deadline this clone's calls end by, if any.
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.deadline.map(Instant::into_std)
    }

    /// Time left before the deadline (`None`: no deadline).
    pub(crate) fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether something starting now and lasting `wait` would end past the deadline.
    pub(crate) fn would_pass_deadline(&self, wait: Duration) -> bool {
        self.deadline.is_some_and(|d| Instant::now() + wait > d)
    }

    pub(crate) fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// The error for a call stopped at the deadline. `last`: what the last attempt met, if there was one.
pub(crate) fn deadline_reached(
    endpoint: &str,
    attempts: u32,
    last: Option<&MiroError>,
) -> MiroError {
    MiroError::DeadlineReached {
        endpoint: endpoint.to_owned(),
        attempts,
        last: last.map(|e| format!(" (last: {e})")).unwrap_or_default(),
    }
}
