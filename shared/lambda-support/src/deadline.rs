//! The invocation's deadline as the functions use it: Lambda's deadline (epoch milliseconds, from the context)
//! minus the margin kept for a clean stop (writing the checkpoint, queuing the continuation, answering).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When to stop: `deadline_ms` minus `margin`, as an `Instant`. A deadline already past is now.
pub fn stop_by(deadline_ms: u64, margin: Duration) -> Instant {
    stop_by_at(deadline_ms, margin, SystemTime::now())
}

fn stop_by_at(deadline_ms: u64, margin: Duration, now: SystemTime) -> Instant {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + left.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_comes_off_and_a_past_deadline_is_now() {
        let now = SystemTime::now();
        let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let before = Instant::now();
        let d = stop_by_at(now_ms + 900_000, Duration::from_secs(60), now);
        let left = d.saturating_duration_since(before);
        // 900 s minus the 60 s margin, give or take the instants taken around the call.
        let (lo, hi) = (
            Duration::from_millis(839_900),
            Duration::from_millis(840_100),
        );
        assert!(left >= lo && left <= hi, "{left:?}");
        let past = stop_by_at(now_ms.saturating_sub(5_000), Duration::from_secs(60), now);
        assert!(past <= Instant::now());
    }
}
