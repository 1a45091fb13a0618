//! Deadline-bounded calls: a client given a deadline never waits past it. A 429 whose `Retry-After` ends past the
//! deadline returns `DeadlineReached` at once instead of sleeping; a pacing slot past it is not taken; a clone
//! without the deadline keeps the old behaviour. Nothing here sleeps: the sandbox's faults make the waits.

mod common;

use common::*;
use miro_client::{MiroClient, MiroConfig, MiroError};
use miro_sandbox::{FaultConfig, Sandbox};
use std::time::{Duration, Instant};

fn patient_client(base_url: &str) -> MiroClient {
    let mut config = MiroConfig::for_base_url(base_url).unwrap();
    // Retries enough to wait out any 429, and waits bounded only by the client's own cap.
    config.retry.max_attempts = 6;
    config.retry.max_delay = Duration::from_secs(30);
    MiroClient::new(config).unwrap()
}

/// A sandbox whose next request is a 429 asking to retry after `retry_after`, and its first org.
async fn throttled_once(retry_after: Duration) -> (Sandbox, String) {
    let sandbox = start(sandbox_config(10)).await;
    let org = first_org(&sandbox);
    sandbox.control().set_faults(FaultConfig {
        rate_limit_burst: 1,
        rate_limit_retry_after: Some(retry_after),
        ..FaultConfig::default()
    });
    (sandbox, org)
}

#[tokio::test]
async fn a_429_whose_wait_ends_past_the_deadline_returns_at_once() {
    let (sandbox, org) = throttled_once(Duration::from_secs(600)).await;
    let client =
        patient_client(&sandbox.base_url()).with_deadline(Instant::now() + Duration::from_secs(20));
    let started = Instant::now();
    let err = first_page(&client, &sandbox, &org).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "returned after {:?} instead of at once",
        started.elapsed()
    );
    match &err {
        MiroError::DeadlineReached { attempts, last, .. } => {
            assert_eq!(*attempts, 1, "{err}");
            assert!(last.contains("429"), "the error says what it met: {err}");
        }
        other => panic!("expected DeadlineReached, got {other:?}"),
    }
    assert!(err.is_deadline() && err.is_transient(), "{err}");
    assert!(err.to_string().contains("next invocation"), "{err}");
    assert_eq!(
        sandbox.control().counters().rate_limited,
        1,
        "one request, no retry"
    );
}

#[tokio::test]
async fn a_deadline_already_passed_sends_nothing() {
    let sandbox = start(sandbox_config(10)).await;
    let org = first_org(&sandbox);
    let client = patient_client(&sandbox.base_url()).with_deadline(Instant::now());
    let err = org_info(&client, &sandbox, &org).await.unwrap_err();
    assert!(
        matches!(err, MiroError::DeadlineReached { attempts: 0, .. }),
        "{err:?}"
    );
    assert_eq!(client.stats().requests, 0, "nothing was sent");
}

#[tokio::test]
async fn within_the_deadline_a_call_retries_as_usual_and_clones_keep_or_drop_it() {
    // A short Retry-After fits in the deadline: the call waits it and succeeds.
    let (sandbox, org) = throttled_once(Duration::from_secs(1)).await;
    let base = patient_client(&sandbox.base_url());
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = base.with_deadline(deadline);
    assert_eq!(client.deadline(), Some(deadline));
    assert_eq!(
        client.clone().deadline(),
        Some(deadline),
        "a clone keeps it"
    );
    assert_eq!(client.without_deadline().deadline(), None);
    assert_eq!(base.deadline(), None, "the original has none");
    let page = first_page(&client, &sandbox, &org)
        .await
        .expect("the wait fits before the deadline");
    assert!(!page.members.is_empty());
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn a_slow_answer_is_cut_at_the_deadline() {
    let sandbox = start(sandbox_config(10)).await;
    let org = first_org(&sandbox);
    sandbox.control().set_faults(FaultConfig {
        timeout_rate: 1.0,
        timeout_delay: Duration::from_secs(20),
        ..FaultConfig::default()
    });
    let client = patient_client(&sandbox.base_url())
        .with_deadline(Instant::now() + Duration::from_millis(300));
    let started = Instant::now();
    let err = org_info(&client, &sandbox, &org).await.unwrap_err();
    assert!(
        matches!(err, MiroError::DeadlineReached { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut at the deadline, not at the 30 s request timeout: {:?}",
        started.elapsed()
    );
}
