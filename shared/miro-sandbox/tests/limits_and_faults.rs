//! REST credit budget (429, headers, recovery) and injected faults.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Started, client, control_post, get, rest_get, start};
use miro_sandbox::{FaultConfig, OrgSpec, Sandbox, SandboxConfig};
use serde_json::json;

#[tokio::test]
async fn credit_budget_429s_with_headers_and_recovers_after_the_window() {
    let c = client();
    let mut config = SandboxConfig::with_members(10);
    config.rest_limits.credits_per_window = 1500;
    config.rest_limits.window = Duration::from_millis(300);
    config.orgs.push(OrgSpec {
        id: "3074457345821142000".into(),
        members: 2,
        ..OrgSpec::default()
    });
    let sb = Sandbox::start(config).await.unwrap();
    let ctl = sb.control();
    let orgs = ctl.org_ids();
    let token = ctl.issue_access_token(&orgs[0]);
    let url = format!("{}/v2/orgs/{}/members?limit=5", sb.base_url(), orgs[0]);

    for expected_remaining in [1000, 500, 0] {
        let r = get(&c, &url, Some(&token)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header_u64("x-ratelimit-limit"), 1500);
        assert_eq!(r.header_u64("x-ratelimit-remaining"), expected_remaining);
    }
    let r = get(&c, &url, Some(&token)).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.json(),
        json!({"status":429,"code":"tooManyRequests","message":"Request rate limit exceed","context":null,"type":"error"})
    );
    assert!(r.header("retry-after").is_none());
    let reset = r.header_u64("x-ratelimit-reset");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(
        reset >= now.as_secs() && reset <= now.as_secs() + 2,
        "reset {reset}"
    );

    // The budget belongs to the user, not the token; another org's user has its own.
    let second_token = ctl.issue_access_token(&orgs[0]);
    assert_eq!(get(&c, &url, Some(&second_token)).await.status, 429);
    let other = ctl.issue_access_token(&orgs[1]);
    let other_url = format!("{}/v2/orgs/{}", sb.base_url(), orgs[1]);
    assert_eq!(get(&c, &other_url, Some(&other)).await.status, 200);

    // Waiting until X-RateLimit-Reset is always enough.
    let wait = Duration::from_secs(reset)
        .saturating_sub(SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
    tokio::time::sleep(wait).await;
    let r = get(&c, &url, Some(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header_u64("x-ratelimit-remaining"), 1000);

    let counters = ctl.counters();
    assert_eq!(counters.rate_limited, 2);
    assert_eq!(counters.get("members"), 6, "429s are counted too");
    sb.shutdown().await;
}

#[tokio::test]
async fn burst_errors_and_timeouts_are_injected() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(10)).await;
    let token = ctl.issue_access_token(&org);
    let scim = ctl.scim_token(&org);
    let url = format!("{}/v2/orgs/{org}", sb.base_url());

    ctl.set_faults(FaultConfig {
        rate_limit_burst: 2,
        ..FaultConfig::default()
    });
    let r = get(&c, &url, Some(&token)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["code"], "tooManyRequests");
    assert!(r.header("x-ratelimit-reset").is_some());
    let r = get(&c, &format!("{}/Users", sb.scim_base_url()), Some(&scim)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["status"], "429");
    assert_eq!(get(&c, &url, Some(&token)).await.status, 200);

    ctl.set_faults(FaultConfig {
        error_rate: 1.0,
        fault_seed: 3,
        ..FaultConfig::default()
    });
    for _ in 0..5 {
        let r = get(&c, &url, Some(&token)).await;
        assert!([500, 502, 503].contains(&r.status));
        let v = r.json();
        assert_eq!(v["status"].as_u64(), Some(r.status as u64));
        assert_eq!(v["type"], "error");
    }
    let r = get(&c, &format!("{}/Users", sb.scim_base_url()), Some(&scim)).await;
    assert!(r.status >= 500);
    assert_eq!(r.json()["status"], r.status.to_string());
    // The control plane is never faulted.
    let r = get(&c, &format!("{}/_sandbox/counters", sb.base_url()), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["faults_injected"], 8);

    ctl.set_faults(FaultConfig {
        timeout_rate: 1.0,
        timeout_delay: Duration::from_millis(200),
        ..FaultConfig::default()
    });
    let started = Instant::now();
    assert_eq!(get(&c, &url, Some(&token)).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    ctl.set_faults(FaultConfig::default());
    ctl.set_latency(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(get(&c, &url, Some(&token)).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(100));
    let counters = ctl.counters();
    assert_eq!(counters.rate_limited, 2);
    assert_eq!(counters.faults_injected, 9);
    sb.shutdown().await;
}

#[tokio::test]
async fn malformed_page_once_and_cursor_loop() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(30)).await;
    let token = ctl.issue_access_token(&org);
    let url = format!("{}/v2/orgs/{org}/members?limit=10", sb.base_url());

    ctl.set_faults(FaultConfig {
        malformed_members_page_once: true,
        ..FaultConfig::default()
    });
    let r = get(&c, &url, Some(&token)).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
    let first = get(&c, &url, Some(&token)).await.json();
    let cursor = first["cursor"].as_str().unwrap().to_string();

    ctl.set_faults(FaultConfig {
        repeat_cursor: true,
        ..FaultConfig::default()
    });
    let again = get(&c, &url, Some(&token)).await.json();
    assert_eq!(again["cursor"], cursor, "first page still advances");
    let looped = get(&c, &format!("{url}&cursor={cursor}"), Some(&token))
        .await
        .json();
    assert_eq!(looped["cursor"], cursor.as_str());
    sb.shutdown().await;
}

#[tokio::test]
async fn control_plane_over_http() {
    let c = client();
    let sb = Sandbox::start(SandboxConfig::with_members(10))
        .await
        .unwrap();
    let base = sb.base_url();
    let tokens = get(&c, &format!("{base}/_sandbox/tokens"), None)
        .await
        .json();
    let org = tokens["orgs"][0]["org_id"].as_str().unwrap().to_string();
    let access = tokens["orgs"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let org_status = rest_get(&c, &sb, &format!("/v2/orgs/{org}"), &access)
        .await
        .status;
    assert_eq!(org_status, 200);

    let r = control_post(&c, &sb, "faults", json!({"rate_limit_burst": 1})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let org_status = rest_get(&c, &sb, &format!("/v2/orgs/{org}"), &access)
        .await
        .status;
    assert_eq!(org_status, 429);
    let r = c
        .post(format!("{base}/_sandbox/faults"))
        .body("nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let r = control_post(&c, &sb, "advance-clock", json!({"seconds": 7200})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let org_status = rest_get(&c, &sb, &format!("/v2/orgs/{org}"), &access)
        .await
        .status;
    assert_eq!(org_status, 401);

    let counters = get(&c, &format!("{base}/_sandbox/counters"), None)
        .await
        .json();
    assert_eq!(counters["by_endpoint"]["org"], 3);
    assert_eq!(counters["by_endpoint"]["scim_delete_user"], 0);
    let log = get(&c, &format!("{base}/_sandbox/scim-log"), None)
        .await
        .json();
    assert_eq!(log, json!([]));
    sb.shutdown().await;
}
