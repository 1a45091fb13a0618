//! Pacing and retries: a long download meets no 429, and the faults Miro can throw are survived.

mod common;

use common::*;
use miro_client::MiroClient;
use miro_sandbox::{FaultConfig, Sandbox};
use std::time::{Duration, Instant};

/// A sandbox of `members` allowing 20 members pages (10 000 credits) per 300 ms window, and a client that
/// believes in `believed_credits` per window.
async fn believing(members: usize, believed_credits: u64) -> (Sandbox, String, MiroClient) {
    let mut cfg = sandbox_config(members);
    cfg.rest_limits.credits_per_window = 10_000;
    cfg.rest_limits.window = Duration::from_millis(300);
    let sandbox = start(cfg.clone()).await;
    let org = first_org(&sandbox);
    cfg.rest_limits.credits_per_window = believed_credits;
    let client = client(&sandbox, &cfg);
    (sandbox, org, client)
}

#[tokio::test]
async fn a_paced_download_of_20000_members_receives_no_429() {
    // 200 pages at 500 credits against 20 000 credits per 200 ms: 40 pages a window, so at least 5 windows.
    let mut cfg = sandbox_config(20_000);
    cfg.rest_limits.credits_per_window = 20_000;
    cfg.rest_limits.window = Duration::from_millis(200);
    let (sandbox, org, client) = org_of(&cfg).await;
    let started = Instant::now();
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    let elapsed = started.elapsed();

    assert_eq!(members.len(), 20_000);
    let counters = sandbox.control().counters();
    assert_eq!(
        counters.rate_limited, 0,
        "the sandbox sent 429s: {counters:?}"
    );
    assert_eq!(client.stats().rate_limited, 0);
    assert_eq!(
        counters.by_endpoint.get("members"),
        Some(&200),
        "no retries were needed"
    );
    // Pacing must actually hold back: 200 pages cannot fit in fewer than 4 full windows.
    assert!(
        elapsed >= Duration::from_millis(800),
        "finished in {elapsed:?}: not paced"
    );
}

#[tokio::test]
async fn the_remaining_budget_header_paces_a_client_with_a_wrong_budget() {
    // The client believes in a budget 100x larger than the sandbox's 20 pages per window. X-RateLimit-Remaining
    // tells it the truth, so a sequential download still meets no 429: it waits for each reset instead.
    let (sandbox, org, client) = believing(6_000, 1_000_000).await;
    let started = Instant::now();
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    assert_eq!(members.len(), 6_000);
    assert_eq!(sandbox.control().counters().rate_limited, 0);
    // 60 pages at 20 per window span at least three windows.
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_concurrent_burst_over_the_limit_gets_429s_which_are_honoured() {
    // The control for the pacing tests: the sandbox's limit is real. 40 requests at once, against 20 per window,
    // from a client that believes the budget is huge.
    let (sandbox, org, client) = believing(200, 100_000_000).await;
    let token = access_token(&sandbox, &org);
    let filter = miro_client::MemberFilter::default();
    let calls = (0..40).map(|_| client.members_page(&token, &org, &filter, None));
    let pages = futures::future::join_all(calls).await;
    assert!(
        pages
            .iter()
            .all(|p| matches!(p, Ok(p) if p.members.len() == 100)),
        "every call succeeds in the end"
    );
    let sent = sandbox.control().counters().rate_limited;
    assert!(
        sent > 0,
        "40 simultaneous calls against 20 per window must meet the limit"
    );
    assert_eq!(
        client.stats().rate_limited,
        sent,
        "every 429 the sandbox sent was seen and honoured"
    );
}

#[tokio::test]
async fn a_429_burst_is_honoured_and_the_download_completes() {
    let (sandbox, org, client) = faulted(500, |f| f.rate_limit_burst = 3).await;
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    assert_eq!(members.len(), 500);
    assert_eq!(client.stats().rate_limited, 3);
    assert_eq!(sandbox.control().counters().rate_limited, 3);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_page_arrives() {
    let (sandbox, org, client) = org_of(&sandbox_config(2_000)).await;
    sandbox.control().set_faults(FaultConfig {
        error_rate: 0.3,
        fault_seed: 7,
        ..FaultConfig::default()
    });
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    let truth = member_ids(&sandbox, &org);
    assert_eq!(members.into_iter().map(|m| m.id).collect::<Vec<_>>(), truth);
    assert!(
        client.stats().retries > 0,
        "30% errors over 20 pages must cause retries"
    );
    assert!(sandbox.control().counters().faults_injected > 0);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let cfg = sandbox_config(300);
    let sandbox = start(cfg.clone()).await;
    let org = first_org(&sandbox);
    sandbox.control().set_faults(FaultConfig {
        timeout_rate: 0.5,
        timeout_delay: Duration::from_secs(3),
        fault_seed: 3,
        ..FaultConfig::default()
    });
    let mut client_cfg = miro_client::MiroConfig::for_base_url(&sandbox.base_url()).unwrap();
    client_cfg.request_timeout = Duration::from_millis(300);
    client_cfg.retry.base_delay = Duration::from_millis(5);
    client_cfg.retry.max_delay = Duration::from_millis(50);
    client_cfg.retry.max_attempts = 12;
    let client = miro_client::MiroClient::new(client_cfg).unwrap();
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    assert_eq!(members.len(), 300);
    assert!(client.stats().retries > 0);
}

#[tokio::test]
async fn persistent_server_errors_end_in_a_transient_error_not_a_hang() {
    let (sandbox, org, client) = faulted(100, |f| f.error_rate = 1.0).await;
    let err = download_org(&client, &sandbox, &org).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        matches!(err, miro_client::MiroError::Server { attempts: 8, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_malformed_page_is_a_decode_error_that_names_the_endpoint() {
    let (sandbox, org, client) = faulted(300, |f| f.malformed_members_page_once = true).await;
    let err = download_org(&client, &sandbox, &org).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, miro_client::MiroError::Decode { .. }),
        "{err:?}"
    );
    assert!(text.contains("/v2/orgs/{org}/members"), "{text}");
    // The fault fires once: the next download is whole.
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    assert_eq!(members.len(), 300);
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_an_endless_loop() {
    let (sandbox, org, client) = faulted(500, |f| f.repeat_cursor = true).await;
    let err = download_org(&client, &sandbox, &org).await.unwrap_err();
    assert!(
        matches!(err, miro_client::MiroError::RepeatedCursor { .. }),
        "{err:?}"
    );
    assert!(sandbox.control().counters().by_endpoint["members"] <= 3);
}
