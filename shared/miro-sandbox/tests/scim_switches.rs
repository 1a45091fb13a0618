//! SCIM answer switches and faults: 204 PATCH, a PATCH that changes nothing, SCIM disabled, 429 headers.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Started, control_post, get, scim_get, set_active};
use miro_sandbox::{FaultConfig, Sandbox, SandboxConfig};
use serde_json::json;

async fn start() -> (reqwest::Client, Sandbox, String, String) {
    let Started { c, sb, ctl, org } = common::start(SandboxConfig::unlimited(40)).await;
    let scim = ctl.scim_token(&org);
    (c, sb, org, scim)
}

fn plain_user(sb: &Sandbox, org: &str) -> String {
    sb.control()
        .members(org)
        .into_iter()
        .find(|m| m.role == "organization_internal_user" && m.active)
        .expect("a plain active member")
        .id
}

/// A sandbox whose SCIM answers misbehave as `fault` sets, with the SCIM token and a plain user to patch.
async fn patching(
    fault: impl FnOnce(&mut FaultConfig),
) -> (reqwest::Client, Sandbox, String, String) {
    let (c, sb, org, scim) = start().await;
    let id = plain_user(&sb, &org);
    let mut faults = FaultConfig::default();
    fault(&mut faults);
    sb.control().set_faults(faults);
    (c, sb, scim, id)
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn patch_can_answer_204_no_content_and_still_apply() {
    let (c, sb, scim, id) = patching(|f| f.scim_patch_no_content = true).await;
    let r = set_active(&c, &sb, &scim, &id, false).await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty(), "{}", r.text);
    let user = scim_get(&c, &sb, &scim, &id).await;
    assert_eq!(user.json()["active"], false);
    assert_eq!(sb.control().scim_log().len(), 1);
}

#[tokio::test]
async fn patch_can_claim_a_change_it_did_not_make() {
    let (c, sb, scim, id) = patching(|f| f.scim_patch_not_applied = true).await;
    let r = set_active(&c, &sb, &scim, &id, false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["active"], false, "the answer claims the change");
    let user = scim_get(&c, &sb, &scim, &id).await;
    assert_eq!(user.json()["active"], true, "the read-back shows the truth");
    assert!(sb.control().scim_log().is_empty());
}

#[tokio::test]
async fn scim_disabled_answers_403_in_the_scim_error_shape() {
    let (c, sb, _org, scim) = start().await;
    sb.control().set_faults(FaultConfig {
        scim_disabled: true,
        ..FaultConfig::default()
    });
    let r = get(&c, &format!("{}/Users", sb.scim_base_url()), Some(&scim)).await;
    assert_eq!(r.status, 403);
    let body = r.json();
    assert_eq!(
        body["status"], "403",
        "SCIM errors carry the status as a string"
    );
    assert_eq!(body["detail"], "SCIM integration is disabled.");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    // A wrong token is still a 401 first.
    let r = get(&c, &format!("{}/Users", sb.scim_base_url()), Some("nope")).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn scim_429s_can_carry_retry_after_and_rate_headers() {
    let (c, sb, _org, scim) = start().await;
    let users = format!("{}/Users", sb.scim_base_url());
    // Without headers: Miro's documented SCIM 429 body, nothing else.
    sb.control().set_faults(FaultConfig {
        scim_rate_limit_burst: 1,
        ..FaultConfig::default()
    });
    let r = get(&c, &users, Some(&scim)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["status"], "429");
    assert!(r.header("retry-after").is_none());
    assert!(r.header("x-ratelimit-reset").is_none());

    sb.control().set_faults(FaultConfig {
        scim_rate_limit_burst: 1,
        rate_limit_retry_after: Some(Duration::from_secs(7)),
        rate_limit_reset_in_secs: Some(-120),
        ..FaultConfig::default()
    });
    let before = epoch_now();
    let r = get(&c, &users, Some(&scim)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header_u64("retry-after"), 7);
    assert_eq!(r.header_u64("x-ratelimit-remaining"), 0);
    let reset = r.header_u64("x-ratelimit-reset");
    assert!(
        reset < before,
        "the reset is in the past: {reset} vs {before}"
    );
    // The burst is spent and REST was never affected.
    assert_eq!(get(&c, &users, Some(&scim)).await.status, 200);
    assert_eq!(sb.control().counters().rate_limited, 2);
}

#[tokio::test]
async fn scim_answers_can_carry_rest_credit_headers() {
    let (c, sb, _org, scim) = start().await;
    sb.control().set_faults(FaultConfig {
        scim_credit_headers: true,
        ..FaultConfig::default()
    });
    let before = epoch_now();
    let r = get(&c, &format!("{}/Users", sb.scim_base_url()), Some(&scim)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header_u64("x-ratelimit-remaining"), 0);
    assert!(r.header_u64("x-ratelimit-reset") >= before + 3000);
}

#[tokio::test]
async fn the_switches_are_reachable_over_the_http_control_plane() {
    let (c, sb, org, scim) = start().await;
    let id = plain_user(&sb, &org);
    let switches = json!({
        "scim_patch_no_content": true,
        "scim_rate_limit_burst": 1,
        "rate_limit_retry_after_secs": 4,
    });
    let r = control_post(&c, &sb, "faults", switches).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let limited = set_active(&c, &sb, &scim, &id, false).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header_u64("retry-after"), 4);
    assert_eq!(set_active(&c, &sb, &scim, &id, false).await.status, 204);
    let unknown = json!({ "scim_disabled": true, "no_such_switch": true });
    let r = control_post(&c, &sb, "faults", unknown).await;
    assert_eq!(r.status, 400, "unknown switches are refused, not ignored");
}
