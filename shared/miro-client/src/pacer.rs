//! Client-side pacing. Miro's budgets are fixed windows per user and app; spending them evenly at a little under
//! the budget means a long download never meets a 429, instead of bursting into the limit and backing off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Hands out send slots at most one per `interval`, and holds every slot back while Miro has told us to wait.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Duration,
    state: Mutex<PacerState>,
}

#[derive(Debug)]
struct PacerState {
    next_slot: Instant,
    blocked_until: Option<Instant>,
}

impl Pacer {
    /// A pacer that spends `per_window × utilization` calls per `window`.
    pub(crate) fn new(per_window: f64, window: Duration, utilization: f64) -> Self {
        let calls = (per_window * utilization.clamp(0.01, 1.0)).max(1.0);
        Self {
            interval: window.div_f64(calls),
            state: Mutex::new(PacerState {
                next_slot: Instant::now(),
                blocked_until: None,
            }),
        }
    }

    /// Waits for this caller's slot. Slots are reserved under the lock and waited for outside it, so
    /// concurrent callers queue up fairly instead of stampeding when a wait ends.
    pub(crate) async fn acquire(&self) {
        if let Some(slot) = self.reserve(None) {
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Like [`Self::acquire`], but only for a slot no later than `deadline`: a slot past it is not reserved (so
    /// it is not taken from other callers) and the call returns `false` at once.
    pub(crate) async fn acquire_by(&self, deadline: Instant) -> bool {
        match self.reserve(Some(deadline)) {
            Some(slot) => {
                tokio::time::sleep_until(slot).await;
                true
            }
            None => false,
        }
    }

    /// Reserves the next free slot, after any block, and answers it; `None` (nothing reserved) when it would be
    /// later than `deadline`.
    fn reserve(&self, deadline: Option<Instant>) -> Option<Instant> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut slot = st.next_slot.max(now);
        if let Some(b) = st.blocked_until {
            if b > now {
                slot = slot.max(b);
            } else {
                st.blocked_until = None;
            }
        }
        if deadline.is_some_and(|d| slot > d) {
            return None;
        }
        st.next_slot = slot + self.interval;
        Some(slot)
    }

    /// Miro said the budget is spent until `until` (a 429, or `X-RateLimit-Remaining` below one call).
    pub(crate) fn block_until(&self, until: Instant) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.blocked_until = Some(st.blocked_until.map_or(until, |b| b.max(until)));
    }
}

/// Pacers by key (an org for REST, a token fingerprint and endpoint class for SCIM), created on first use.
#[derive(Debug, Default)]
pub(crate) struct PacerMap {
    pacers: Mutex<HashMap<String, Arc<Pacer>>>,
}

impl PacerMap {
    pub(crate) fn get_or_create(&self, key: &str, make: impl FnOnce() -> Pacer) -> Arc<Pacer> {
        let mut map = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_owned())
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_interval() {
        // 10 calls per second at full utilisation: one slot every 100 ms.
        let p = Pacer::new(10.0, Duration::from_secs(1), 1.0);
        let start = Instant::now();
        for _ in 0..5 {
            p.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_past_the_deadline_is_refused_at_once_and_not_reserved() {
        let p = Pacer::new(1.0, Duration::from_secs(10), 1.0);
        let start = Instant::now();
        assert!(
            p.acquire_by(start + Duration::from_secs(1)).await,
            "the first slot is now"
        );
        assert!(
            !p.acquire_by(start + Duration::from_secs(1)).await,
            "the next is 10 s away"
        );
        assert_eq!(start.elapsed(), Duration::ZERO, "refused without waiting");
        assert!(
            p.acquire_by(start + Duration::from_secs(10)).await,
            "the refused slot was not used up"
        );
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_block_holds_back_the_next_slot() {
        let p = Pacer::new(1000.0, Duration::from_secs(1), 1.0);
        let start = Instant::now();
        p.block_until(Instant::now() + Duration::from_secs(2));
        p.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
