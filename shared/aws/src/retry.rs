//! Bounded, capped, jittered backoff for the retries the SDK cannot do for us: items DynamoDB left unprocessed,
//! SQS batch entries that failed, and whole batch calls throttled beyond the SDK's own retries.
//!
//! The delays come from backon's `ExponentialBuilder`, the same as the Miro client's (shared/miro-client/src/
//! http.rs). The loops around them stay ours: what is retried is not the call but what it left undone (only the
//! unprocessed items, only the failed entries), which a retry-the-closure API cannot express.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Retry `n` (0-based) waits between half and all of `min(cap, base · 2ⁿ)`. Keeping half of the exponential
/// step guarantees real spacing; randomising the other half spreads concurrent Lambdas apart so they do not
/// retry in lockstep against the same partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// At most about 16 s of waiting in all (9 retries, 50 ms doubling to 5 s): long enough to ride out a
    /// throttling burst, short enough for a Lambda invocation to still report the failure itself.
    fn default() -> Self {
        Backoff {
            max_attempts: 10,
            base: Duration::from_millis(50),
            cap: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// Fast retries for tests that exercise the retry paths.
    pub fn fast(max_attempts: u32) -> Self {
        Backoff {
            max_attempts,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
        }
    }

    /// The wait before each attempt: zero before the first, then one delay per retry, `max_attempts` (at least
    /// one) in all, so a loop over it is the whole retry budget.
    ///
    /// backon's jitter adds a random share below 100 % of the step to it, so it is given half the base and half
    /// the cap: each wait then lies in [step/2, step) of the documented step (backon computes in `f32`, so the
    /// cap is enforced once more on the result).
    pub fn waits(&self) -> impl Iterator<Item = Duration> + use<> {
        let cap = self.cap;
        let base = self.base.min(cap);
        let retries = usize::try_from(self.max_attempts.max(1) - 1).unwrap_or(usize::MAX);
        let delays = ExponentialBuilder::new()
            .with_jitter()
            .with_factor(2.0)
            .with_min_delay(base / 2)
            .with_max_delay(cap / 2)
            .with_max_times(retries)
            .build()
            .map(move |d| d.min(cap));
        std::iter::once(Duration::ZERO).chain(delays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// backon doubles in `f32`: a step may be off by a few nanoseconds.
    const ROUNDING: Duration = Duration::from_micros(1);

    #[test]
    fn waits_grow_stay_capped_and_jitter() {
        let b = Backoff {
            max_attempts: 20,
            base: ms(100),
            cap: Duration::from_secs(2),
        };
        for _ in 0..100 {
            let w: Vec<Duration> = b.waits().collect();
            assert_eq!(w.len(), 20, "one wait per attempt");
            assert_eq!(w[0], Duration::ZERO, "the first attempt does not wait");
            // Retry n waits within [step/2, step], step = min(cap, base · 2ⁿ).
            for (n, d) in w.iter().skip(1).enumerate() {
                let step = (ms(100) * 2u32.pow(n.min(10) as u32)).min(Duration::from_secs(2));
                assert!(
                    *d + ROUNDING >= step / 2 && *d <= step + ROUNDING,
                    "retry {n}: {d:?} not in [{:?}, {step:?}]",
                    step / 2
                );
            }
        }
        let distinct: std::collections::HashSet<Duration> =
            (0..50).map(|_| b.waits().nth(5).unwrap()).collect();
        assert!(distinct.len() > 1, "jitter varies the delay");
    }

    #[test]
    fn the_attempt_budget_is_kept_even_when_zero() {
        assert_eq!(Backoff::fast(5).waits().count(), 5);
        assert_eq!(Backoff::fast(1).waits().count(), 1);
        assert_eq!(
            Backoff::fast(0).waits().count(),
            1,
            "zero attempts still sends once"
        );
    }

    #[test]
    fn a_base_above_the_cap_waits_at_most_the_cap() {
        let b = Backoff {
            max_attempts: 4,
            base: Duration::from_secs(10),
            cap: Duration::from_secs(1),
        };
        for d in b.waits().skip(1) {
            assert!(d >= ms(500) && d <= Duration::from_secs(1), "{d:?}");
        }
    }

    #[test]
    fn the_default_waits_between_8_and_16_s_in_all() {
        // Steps 50, 100, … 3 200 ms, then the 5 s cap twice: 16.35 s, of which each wait is at least half.
        for _ in 0..20 {
            let total: Duration = Backoff::default().waits().sum();
            assert!(total + ROUNDING >= ms(8_175), "{total:?}");
            assert!(total <= ms(16_350) + ROUNDING, "{total:?}");
        }
    }
}
