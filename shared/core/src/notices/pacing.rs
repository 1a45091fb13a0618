//! Sending at the channel's pace: a [`Mailer`] that spaces its sends (SES accounts have a send rate, 1 per second
//! in the SES sandbox; SMTP relays throttle too) and retries a send the channel refused as throttled. Why here and
//! not in each adapter: the pace and the retry are the same whatever the channel, and a throttled send is known
//! not to have gone out, so retrying it can never tell anyone twice. Nothing else is retried: `NotSent` waits
//! for the next run, `Unknown` is never resent.

use std::time::Duration;

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::DomainError;
use crate::ports::{MailError, Mailer, OutgoingEmail, SentEmail};

/// Sends per second unless configured otherwise: SES's rate for a new (sandbox) account.
pub const DEFAULT_SEND_RATE: f64 = 1.0;
/// Retries of a throttled send before the run gives up on the channel for now.
pub const THROTTLE_RETRIES: u32 = 3;

/// `inner`, at most `rate` sends per second, a throttled send retried after a doubling pause (`first_backoff`, then
/// twice that, …, [`THROTTLE_RETRIES`] times). No jitter: the pace already spaces the sends of this process.
pub struct PacedMailer<M> {
    inner: M,
    gap: Duration,
    next_slot: Mutex<Option<Instant>>,
    retries: u32,
    first_backoff: Duration,
}

impl<M: Mailer> PacedMailer<M> {
    /// `rate` sends per second (e.g. 14 for an SES account allowed 14): above 0, at most 1000.
    pub fn new(inner: M, rate: f64) -> Result<Self, DomainError> {
        if !rate.is_finite() || rate <= 0.0 || rate > 1000.0 {
            return Err(DomainError::Invalid {
                what: "send rate",
                detail: format!(
                    "{rate} sends per second; give a number above 0 and at most 1000 (SES shows the account's \
                     rate under Account dashboard > Sending limits)"
                ),
            });
        }
        Ok(PacedMailer {
            inner,
            gap: Duration::from_secs_f64(1.0 / rate),
            next_slot: Mutex::new(None),
            retries: THROTTLE_RETRIES,
            first_backoff: Duration::from_secs(1),
        })
    }

    /// Waits for this send's slot: slots are `gap` apart, handed out in call order.
    async fn wait_for_slot(&self) {
        let at = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.gap);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[async_trait]
impl<M: Mailer> Mailer for PacedMailer<M> {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError> {
        // The pauses come from backon (as the Miro client's and the AWS adapters' do); the loop stays ours because
        // only a throttled send is retried, and each attempt waits for its slot first.
        let mut pauses = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(self.first_backoff)
            .with_max_delay(self.first_backoff * 2u32.saturating_pow(self.retries))
            .with_max_times(usize::try_from(self.retries).unwrap_or(usize::MAX))
            .build();
        let mut attempt = 0u32;
        loop {
            self.wait_for_slot().await;
            match self.inner.send(email).await {
                Err(MailError::Throttled { detail }) => {
                    let Some(pause) = pauses.next() else {
                        return Err(MailError::Throttled { detail });
                    };
                    tracing::info!(reference = %email.reference, attempt, ?pause, %detail, "throttled; retrying");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::domain::Email;

    /// Answers `Throttled` the first `throttle` times, then `then`; counts the calls and when they came.
    struct Script {
        throttle: u32,
        then: Result<SentEmail, MailError>,
        calls: AtomicU32,
        at: std::sync::Mutex<Vec<Instant>>,
    }

    impl Script {
        fn new(throttle: u32, then: Result<SentEmail, MailError>) -> Arc<Self> {
            Arc::new(Script {
                throttle,
                then,
                calls: AtomicU32::new(0),
                at: std::sync::Mutex::new(Vec::new()),
            })
        }
    }

    #[async_trait]
    impl Mailer for Arc<Script> {
        async fn send(&self, _: &OutgoingEmail) -> Result<SentEmail, MailError> {
            self.at.lock().unwrap().push(Instant::now());
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n < self.throttle {
                return Err(MailError::Throttled {
                    detail: "rate exceeded".into(),
                });
            }
            self.then.clone()
        }
    }

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            to: Email::parse("ada@example.com").unwrap(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            reference: "r".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sends_are_spaced_by_the_rate() {
        let script = Script::new(0, Ok(SentEmail::default()));
        let mailer = PacedMailer::new(script.clone(), 2.0).unwrap();
        let start = Instant::now();
        for _ in 0..5 {
            mailer.send(&email()).await.unwrap();
        }
        let at = script.at.lock().unwrap().clone();
        let offsets: Vec<u128> = at.iter().map(|t| (*t - start).as_millis()).collect();
        assert_eq!(offsets, [0, 500, 1000, 1500, 2000], "2 per second");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_send_is_retried_and_others_are_not() {
        let script = Script::new(2, Ok(SentEmail::default()));
        let mailer = PacedMailer::new(script.clone(), DEFAULT_SEND_RATE).unwrap();
        mailer
            .send(&email())
            .await
            .expect("sent on the third attempt");
        assert_eq!(script.calls.load(Ordering::SeqCst), 3);

        let always = Script::new(u32::MAX, Ok(SentEmail::default()));
        let mailer = PacedMailer::new(always.clone(), DEFAULT_SEND_RATE).unwrap();
        let start = Instant::now();
        let err = mailer.send(&email()).await.unwrap_err();
        assert!(matches!(err, MailError::Throttled { .. }), "{err}");
        assert_eq!(always.calls.load(Ordering::SeqCst), THROTTLE_RETRIES + 1);
        let at = always.at.lock().unwrap().clone();
        let offsets: Vec<u128> = at.iter().map(|t| (*t - start).as_millis()).collect();
        assert_eq!(offsets, [0, 1000, 3000, 7000], "pauses of 1 s, 2 s and 4 s");

        let refused = Script::new(
            0,
            Err(MailError::Unknown {
                detail: "cut off".into(),
            }),
        );
        let mailer = PacedMailer::new(refused.clone(), DEFAULT_SEND_RATE).unwrap();
        assert!(mailer.send(&email()).await.is_err());
        assert_eq!(
            refused.calls.load(Ordering::SeqCst),
            1,
            "an unknown outcome is never resent"
        );
    }

    #[test]
    fn the_rate_is_checked() {
        let script = Script::new(0, Ok(SentEmail::default()));
        for bad in [0.0, -1.0, f64::NAN, 5000.0] {
            let e = PacedMailer::new(script.clone(), bad)
                .err()
                .expect("refused");
            assert!(e.to_string().contains("above 0 and at most 1000"), "{e}");
        }
    }
}
