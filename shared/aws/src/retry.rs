//! Bounded, capped, jittered backoff for the retries the SDK cannot do for us: items DynamoDB left unprocessed,
//! SQS batch entries that failed, and whole batch calls throttled beyond the SDK's own retries.

use std::time::Duration;

use rand::Rng;

/// Attempt `n` (0-based) waits between half and all of `min(cap, base · 2ⁿ)`. Keeping half of the exponential
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
    /// About 25 s of waiting in the worst case: long enough to ride out a throttling burst, short enough for a
    /// Lambda invocation to still report the failure itself.
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

    /// The wait before retry number `retry` (0 for the wait after the first attempt).
    pub fn delay(&self, retry: u32) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32.checked_shl(retry.min(30)).unwrap_or(u32::MAX))
            .min(self.cap);
        let half = step / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::rng().random_range(0..=jitter_nanos))
    }

    /// Sleeps before retry number `retry`.
    pub async fn wait(&self, retry: u32) {
        tokio::time::sleep(self.delay(retry)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_capped_and_jitter() {
        let b = Backoff {
            max_attempts: 20,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        for _ in 0..100 {
            let d0 = b.delay(0);
            assert!(
                d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100),
                "{d0:?}"
            );
            let d3 = b.delay(3);
            assert!(
                d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800),
                "{d3:?}"
            );
            let d40 = b.delay(40);
            assert!(
                d40 >= Duration::from_secs(1) && d40 <= Duration::from_secs(2),
                "{d40:?}"
            );
        }
        let distinct: std::collections::HashSet<Duration> = (0..50).map(|_| b.delay(5)).collect();
        assert!(distinct.len() > 1, "jitter varies the delay");
    }
}
