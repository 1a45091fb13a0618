//! Rate limits. Windows run on real time (not the sandbox clock) so tests can use tiny windows.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::HeaderValue;
use axum::response::Response;

use crate::config::{RestLimits, ScimLimits};

/// Miro's Level-3 cost: every org endpoint the sandbox serves.
pub(crate) const LEVEL3_CREDITS: u64 = 500;
/// Level 1; charged for token info so callers cannot treat it as free.
pub(crate) const LEVEL1_CREDITS: u64 = 50;

/// A fixed window that starts at the first call made after the previous one ended.
struct Window {
    start: Instant,
    used: u64,
}

impl Window {
    fn fresh(now: Instant) -> Window {
        Window {
            start: now,
            used: 0,
        }
    }

    fn roll(&mut self, length: Duration, now: Instant) {
        if now.duration_since(self.start) >= length {
            *self = Window::fresh(now);
        }
    }
}

/// What the `X-RateLimit-*` headers of one REST response say.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateSnapshot {
    pub limit: u64,
    pub remaining: u64,
    /// UNIX seconds, rounded up: waiting until then is always enough.
    pub reset_epoch: u64,
}

impl RateSnapshot {
    pub fn apply(&self, response: &mut Response) {
        let headers = response.headers_mut();
        headers.insert("X-RateLimit-Limit", HeaderValue::from(self.limit));
        headers.insert("X-RateLimit-Remaining", HeaderValue::from(self.remaining));
        headers.insert("X-RateLimit-Reset", HeaderValue::from(self.reset_epoch));
    }

    pub fn on(self, mut response: Response) -> Response {
        self.apply(&mut response);
        response
    }
}

fn epoch_secs_ceil(at: Instant) -> u64 {
    let wall = SystemTime::now() + at.saturating_duration_since(Instant::now());
    let since = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    since.as_secs() + u64::from(since.subsec_nanos() > 0)
}

/// Credit budgets per (user, app). The sandbox hosts one app, so the key is the user id:
/// all access tokens of one user share a budget, as on Miro.
pub(crate) struct RestBudgets {
    limits: RestLimits,
    windows: HashMap<String, Window>,
}

impl RestBudgets {
    pub fn new(limits: RestLimits) -> Self {
        RestBudgets {
            limits,
            windows: HashMap::new(),
        }
    }

    /// Charges `cost` if it fits; a refused call is not charged.
    pub fn charge(&mut self, user_id: &str, cost: u64) -> Result<RateSnapshot, RateSnapshot> {
        let limit = self.limits.credits_per_window;
        let length = self.limits.window;
        let now = Instant::now();
        let window = self
            .windows
            .entry(user_id.to_string())
            .or_insert_with(|| Window::fresh(now));
        window.roll(length, now);
        let fits = window.used + cost <= limit;
        if fits {
            window.used += cost;
        }
        let snapshot = RateSnapshot {
            limit,
            remaining: limit.saturating_sub(window.used),
            reset_epoch: epoch_secs_ceil(window.start + length),
        };
        if fits { Ok(snapshot) } else { Err(snapshot) }
    }

    /// Headers for responses not tied to a user (no or bad token, injected faults).
    pub fn unattributed(&self) -> RateSnapshot {
        RateSnapshot {
            limit: self.limits.credits_per_window,
            remaining: self.limits.credits_per_window,
            reset_epoch: epoch_secs_ceil(Instant::now() + self.limits.window),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ScimEndpoint {
    ListUsers,
    GetUser,
    PatchUser,
    DeleteUser,
    Other,
}

/// Request counts per SCIM token per endpoint per window.
pub(crate) struct ScimBudgets {
    limits: ScimLimits,
    windows: HashMap<(String, ScimEndpoint), Window>,
}

impl ScimBudgets {
    pub fn new(limits: ScimLimits) -> Self {
        ScimBudgets {
            limits,
            windows: HashMap::new(),
        }
    }

    pub fn allow(&mut self, token: &str, endpoint: ScimEndpoint) -> bool {
        let max = u64::from(match endpoint {
            ScimEndpoint::ListUsers => self.limits.list_users,
            ScimEndpoint::GetUser => self.limits.get_user,
            ScimEndpoint::PatchUser => self.limits.patch_user,
            ScimEndpoint::DeleteUser => self.limits.delete_user,
            ScimEndpoint::Other => self.limits.other,
        });
        let length = self.limits.window;
        let now = Instant::now();
        let window = self
            .windows
            .entry((token.to_string(), endpoint))
            .or_insert_with(|| Window::fresh(now));
        window.roll(length, now);
        if window.used < max {
            window.used += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_without_charging_and_resets() {
        let mut budgets = RestBudgets::new(RestLimits {
            credits_per_window: 1000,
            window: Duration::from_millis(50),
        });
        assert_eq!(budgets.charge("u", 500).unwrap().remaining, 500);
        assert_eq!(budgets.charge("u", 500).unwrap().remaining, 0);
        let refused = budgets.charge("u", 500).unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert!(budgets.charge("other", 500).is_ok(), "budgets are per user");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(budgets.charge("u", 500).unwrap().remaining, 500);
    }

    #[test]
    fn scim_counts_per_endpoint() {
        let mut budgets = ScimBudgets::new(ScimLimits {
            patch_user: 2,
            ..ScimLimits::default()
        });
        assert!(budgets.allow("t", ScimEndpoint::PatchUser));
        assert!(budgets.allow("t", ScimEndpoint::PatchUser));
        assert!(!budgets.allow("t", ScimEndpoint::PatchUser));
        assert!(budgets.allow("t", ScimEndpoint::GetUser));
    }
}
