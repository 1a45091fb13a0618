//! Waits after a 429 (item 7): the larger of what Miro asks and the backoff, a reset in the past is not "wait 0",
//! SCIM without headers waits a whole SCIM window, and REST credit headers never hold back SCIM calls.
//! The computed wait is read from the error of a client allowed one attempt, so nothing sleeps.

mod common;

use common::*;
use miro_client::{MiroClient, MiroConfig, MiroError};
use miro_sandbox::{FaultConfig, Sandbox};
use std::time::{Duration, Instant};

const BACKOFF: Duration = Duration::from_secs(3);
const SCIM_WINDOW: Duration = Duration::from_secs(30);

/// One attempt only, a fixed 3 s backoff for it, Miro's 30 s SCIM window.
fn one_shot_client(sandbox: &Sandbox) -> MiroClient {
    let mut config = MiroConfig::for_base_url(&sandbox.base_url()).unwrap();
    config.retry.max_attempts = 1;
    config.retry.base_delay = BACKOFF;
    config.retry.max_delay = Duration::from_secs(10);
    config.scim_limits.window = SCIM_WINDOW;
    MiroClient::new(config).unwrap()
}

fn wait_of(err: MiroError) -> Duration {
    match err {
        MiroError::RateLimited {
            retry_after: Some(w),
            ..
        } => w,
        other => panic!("expected RateLimited with a wait, got {other:?}"),
    }
}

/// The wait a one-shot client reads from one injected 429 with these headers: on a members page (REST) or a
/// SCIM users list.
async fn wait_after_429(
    scim: bool,
    retry_after: Option<Duration>,
    reset_in_secs: Option<i64>,
) -> Duration {
    let sandbox = start(sandbox_config(10)).await;
    let org = first_org(&sandbox);
    let headers = FaultConfig {
        rate_limit_retry_after: retry_after,
        rate_limit_reset_in_secs: reset_in_secs,
        ..FaultConfig::default()
    };
    sandbox.control().set_faults(if scim {
        FaultConfig {
            scim_rate_limit_burst: 1,
            ..headers
        }
    } else {
        FaultConfig {
            rate_limit_burst: 1,
            ..headers
        }
    });
    let client = one_shot_client(&sandbox);
    let err = if scim {
        let token = scim_token(&sandbox, &org);
        client.scim_list_users(&token, 1, 10).await.unwrap_err()
    } else {
        first_page(&client, &sandbox, &org).await.unwrap_err()
    };
    wait_of(err)
}

async fn rest_wait(retry_after: Option<Duration>, reset_in_secs: Option<i64>) -> Duration {
    wait_after_429(false, retry_after, reset_in_secs).await
}

async fn scim_wait(retry_after: Option<Duration>, reset_in_secs: Option<i64>) -> Duration {
    wait_after_429(true, retry_after, reset_in_secs).await
}

#[tokio::test]
async fn a_short_retry_after_does_not_cut_the_backoff() {
    let wait = rest_wait(Some(Duration::from_secs(1)), None).await;
    assert_eq!(wait, BACKOFF);
}

#[tokio::test]
async fn a_long_retry_after_is_honoured() {
    let wait = rest_wait(Some(Duration::from_secs(8)), None).await;
    assert_eq!(wait, Duration::from_secs(8));
}

#[tokio::test]
async fn a_rest_reset_in_the_past_is_not_wait_zero() {
    let wait = rest_wait(None, Some(-120)).await;
    assert_eq!(wait, BACKOFF);
}

#[tokio::test]
async fn a_rest_reset_ahead_is_waited_for() {
    let wait = rest_wait(None, Some(9)).await;
    // Epoch seconds: the sandbox rounds, the client counts from its own "now".
    assert!(
        wait > Duration::from_secs(7) && wait <= Duration::from_secs(9),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_scim_429_without_headers_waits_one_scim_window() {
    let wait = scim_wait(None, None).await;
    assert_eq!(wait, SCIM_WINDOW);
}

#[tokio::test]
async fn a_scim_429_ignores_rest_credit_headers_but_honours_retry_after() {
    // An hour-away X-RateLimit-Reset describes REST credits: SCIM waits its window, not an hour (nor a cap).
    let wait = scim_wait(None, Some(3600)).await;
    assert_eq!(wait, SCIM_WINDOW);
    let wait = scim_wait(Some(Duration::from_secs(35)), Some(3600)).await;
    assert_eq!(wait, Duration::from_secs(35));
}

#[tokio::test]
async fn rest_credit_headers_on_scim_answers_do_not_hold_back_scim_calls() {
    // Every SCIM answer says "REST budget spent for an hour". With a REST window of an hour, a client that let
    // those headers steer SCIM would park the second call for the hour.
    let cfg = sandbox_config(10);
    let sandbox = start(cfg.clone()).await;
    let org = first_org(&sandbox);
    sandbox.control().set_faults(FaultConfig {
        scim_credit_headers: true,
        ..FaultConfig::default()
    });
    let mut config = MiroConfig::for_base_url(&sandbox.base_url()).unwrap();
    config.rest_limits.window = Duration::from_secs(3600);
    let client = MiroClient::new(config).unwrap();
    let scim = scim_token(&sandbox, &org);
    let calls = async {
        for _ in 0..3 {
            client.scim_list_users(&scim, 1, 10).await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(10), calls)
        .await
        .expect("SCIM calls were held back by REST credit headers");
    assert_eq!(sandbox.control().counters().get("scim_list_users"), 3);
}

#[tokio::test]
async fn a_scim_429_is_retried_after_the_window_and_then_succeeds() {
    let mut cfg = sandbox_config(10);
    cfg.scim_limits.window = Duration::from_millis(300);
    let (sandbox, org, client) = org_of(&cfg).await;
    sandbox.control().set_faults(FaultConfig {
        scim_rate_limit_burst: 1,
        ..FaultConfig::default()
    });
    let started = Instant::now();
    let page = client
        .scim_list_users(&scim_token(&sandbox, &org), 1, 10)
        .await
        .unwrap();
    assert!(!page.users.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "retried before the window was over: {:?}",
        started.elapsed()
    );
    assert_eq!(client.stats().rate_limited, 1);
    assert_eq!(sandbox.control().counters().get("scim_list_users"), 2);
}
