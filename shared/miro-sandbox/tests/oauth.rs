//! OAuth: authorize redirect, code exchange (form and query), refresh rotation, expiry,
//! non-expiring mode, numeric ids, consent denial, token info and revoke.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Reply, Started, get, reply, start, token_form};
use miro_sandbox::{Consent, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxConfig};
use serde_json::{Value, json};

const REDIRECT: &str = "http://localhost:8765/callback";

/// Runs the browser step and returns the callback's query parameters.
async fn authorize(c: &reqwest::Client, sb: &Sandbox, state: &str) -> HashMap<String, String> {
    common::authorize(c, sb, REDIRECT, state, None).await
}

/// A token request of `grant_type` by the sandbox's own app: the grant's own parameters follow the client's.
fn grant_params(grant_type: &str, grant: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let client = [
        ("grant_type", grant_type),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
    ];
    client
        .iter()
        .chain(grant)
        .map(|&(k, v)| (k, v.to_string()))
        .collect()
}

fn code_params(code: &str) -> Vec<(&'static str, String)> {
    grant_params(
        "authorization_code",
        &[("code", code), ("redirect_uri", REDIRECT)],
    )
}

fn refresh_params(refresh: &str) -> Vec<(&'static str, String)> {
    grant_params("refresh_token", &[("refresh_token", refresh)])
}

/// What Miro's own SDK does: everything in the query string of a bodyless POST.
async fn token_query(c: &reqwest::Client, sb: &Sandbox, params: &[(&str, String)]) -> Reply {
    let url = format!("{}/v1/oauth/token", sb.base_url());
    reply(c.post(url).query(params).send().await.unwrap()).await
}

async fn org_status(c: &reqwest::Client, sb: &Sandbox, token: &str) -> u16 {
    let org = sb.control().org_ids()[0].clone();
    get(c, &format!("{}/v2/orgs/{org}", sb.base_url()), Some(token))
        .await
        .status
}

/// The code flow's first access and refresh tokens.
async fn signed_in(c: &reqwest::Client, sb: &Sandbox) -> (String, String) {
    let cb = authorize(c, sb, "x").await;
    let r = token_form(c, sb, &code_params(&cb["code"])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let token = |name: &str| v[name].as_str().expect("a token").to_string();
    (token("access_token"), token("refresh_token"))
}

fn assert_oauth_error(r: &Reply, code: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    let v = r.json();
    assert_eq!(v["status"], 400);
    assert_eq!(v["code"], code, "{}", r.text);
    assert_eq!(v["type"], "error");
}

#[tokio::test]
async fn code_flow_form_and_query_with_single_use_codes() {
    let Started { c, sb, .. } = start(SandboxConfig::with_members(5)).await;
    let cb = authorize(&c, &sb, "csrf-123").await;
    assert_eq!(cb["state"], "csrf-123");
    assert_eq!(cb["client_id"], DEFAULT_CLIENT_ID);
    let team_id = cb["team_id"].clone();

    let r = token_form(&c, &sb, &code_params(&cb["code"])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Bare JSON numbers above 2^53, digits exact.
    assert!(
        r.text.contains(&format!("\"team_id\":{team_id}")),
        "{}",
        r.text
    );
    let v = r.json();
    assert_eq!(v["team_id"].as_u64().unwrap().to_string(), team_id);
    assert_ne!(
        (team_id.parse::<f64>().unwrap() as u64).to_string(),
        team_id,
        "a float round trip would corrupt it"
    );
    let admin_id = sb.control().members(&sb.control().org_ids()[0])[0]
        .id
        .clone();
    assert!(r.text.contains(&format!("\"user_id\":{admin_id}")));
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3599);
    assert_eq!(
        v["scope"],
        "organizations:read organizations:teams:read boards:read"
    );
    assert!(v["refresh_token"].is_string());
    assert_eq!(
        org_status(&c, &sb, v["access_token"].as_str().unwrap()).await,
        200
    );

    let reused = token_form(&c, &sb, &code_params(&cb["code"])).await;
    assert_oauth_error(&reused, "invalid_grant");

    let cb = authorize(&c, &sb, "s2").await;
    let r = token_query(&c, &sb, &code_params(&cb["code"])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        org_status(&c, &sb, r.json()["access_token"].as_str().unwrap()).await,
        200
    );

    let cb = authorize(&c, &sb, "s3").await;
    let mut wrong = code_params(&cb["code"]);
    wrong[4].1 = "http://localhost:8765/elsewhere".into();
    assert_oauth_error(&token_form(&c, &sb, &wrong).await, "invalid_grant");

    let cb = authorize(&c, &sb, "s4").await;
    let mut bad_secret = code_params(&cb["code"]);
    bad_secret[2].1 = "wrong".into();
    assert_oauth_error(&token_form(&c, &sb, &bad_secret).await, "invalid_client");
    // A rejected client does not burn the code.
    assert_eq!(
        token_form(&c, &sb, &code_params(&cb["code"])).await.status,
        200
    );

    let cb = authorize(&c, &sb, "s5").await;
    sb.control().advance_clock(Duration::from_secs(11 * 60));
    assert_oauth_error(
        &token_form(&c, &sb, &code_params(&cb["code"])).await,
        "invalid_grant",
    );
    assert_eq!(sb.control().counters().get("authorize"), 5);
    sb.shutdown().await;
}

#[tokio::test]
async fn refresh_rotates_strictly_and_tokens_expire() {
    let Started { c, sb, .. } = start(SandboxConfig::with_members(5)).await;
    let (access1, refresh1) = signed_in(&c, &sb).await;

    sb.control().advance_clock(Duration::from_secs(3600));
    assert_eq!(
        org_status(&c, &sb, &access1).await,
        401,
        "access token expired"
    );

    let r = token_query(&c, &sb, &refresh_params(&refresh1)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = r.json();
    assert!(
        second.get("user_id").is_none(),
        "refresh responses carry no user_id"
    );
    assert!(second["team_id"].is_u64());
    let refresh2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2);
    assert_eq!(
        org_status(&c, &sb, second["access_token"].as_str().unwrap()).await,
        200
    );
    assert_eq!(sb.control().refresh_count(), 1);

    assert_oauth_error(
        &token_form(&c, &sb, &refresh_params(&refresh1)).await,
        "invalid_grant",
    );
    let r = token_form(&c, &sb, &refresh_params(&refresh2)).await;
    assert_eq!(r.status, 200);
    let refresh3 = r.json()["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(sb.control().refresh_count(), 2);

    sb.control()
        .advance_clock(Duration::from_secs(61 * 24 * 3600));
    assert_oauth_error(
        &token_form(&c, &sb, &refresh_params(&refresh3)).await,
        "invalid_grant",
    );
    assert_eq!(sb.control().refresh_count(), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_refresh_ends_the_old_access_token_at_once() {
    // Miro: after a refresh "the old access token and refresh token are no longer valid", expired or not.
    let Started { c, sb, .. } = start(SandboxConfig::with_members(5)).await;
    let (access1, refresh1) = signed_in(&c, &sb).await;
    assert_eq!(org_status(&c, &sb, &access1).await, 200);

    let r = token_form(&c, &sb, &refresh_params(&refresh1)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access2 = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        org_status(&c, &sb, &access1).await,
        401,
        "the old access token died with the refresh"
    );
    assert_eq!(org_status(&c, &sb, &access2).await, 200);
    // Tokens issued outside this refresh chain keep working.
    let other = sb.control().issue_access_token(&sb.control().org_ids()[0]);
    assert_eq!(org_status(&c, &sb, &other).await, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn non_expiring_mode_and_string_ids() {
    let mut config = SandboxConfig::with_members(3);
    config.oauth.expiring_tokens = false;
    config.oauth.numeric_ids = false;
    let Started { c, sb, .. } = start(config).await;
    let cb = authorize(&c, &sb, "x").await;
    let v = token_form(&c, &sb, &code_params(&cb["code"])).await.json();
    assert!(v.get("refresh_token").is_none());
    assert!(v.get("expires_in").is_none());
    assert_eq!(v["team_id"], cb["team_id"].as_str());
    let access = v["access_token"].as_str().unwrap();
    sb.control()
        .advance_clock(Duration::from_secs(400 * 24 * 3600));
    assert_eq!(org_status(&c, &sb, access).await, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn consent_denial_and_authorize_validation() {
    let mut config = SandboxConfig::with_members(3);
    config.oauth.redirect_uris = vec![REDIRECT.to_string()];
    let Started { c, sb, .. } = start(config).await;
    sb.control().set_consent(Consent::Deny);
    let cb = authorize(&c, &sb, "st").await;
    assert_eq!(cb["error"], "access_denied");
    assert_eq!(cb["state"], "st");
    assert!(!cb.contains_key("code"));

    for (client_id, redirect, response_type) in [
        ("wrong", REDIRECT, "code"),
        (DEFAULT_CLIENT_ID, "http://evil.example/cb", "code"),
        (DEFAULT_CLIENT_ID, REDIRECT, "token"),
    ] {
        let r = reply(
            c.get(format!("{}/oauth/authorize", sb.base_url()))
                .query(&[
                    ("response_type", response_type),
                    ("client_id", client_id),
                    ("redirect_uri", redirect),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 400);
    }
    let r = token_form(&c, &sb, &[("grant_type", "password".to_string())]).await;
    assert_eq!(r.status, 400);
    let r = reply(
        c.post(format!("{}/v1/oauth/token", sb.base_url()))
            .json(&json!({"grant_type": "authorization_code"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400, "JSON bodies are not a token request");
    sb.shutdown().await;
}

#[tokio::test]
async fn token_info_and_revoke() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(3)).await;
    let cb = authorize(&c, &sb, "x").await;
    let v = token_form(&c, &sb, &code_params(&cb["code"])).await.json();
    let access = v["access_token"].as_str().unwrap().to_string();
    let refresh = v["refresh_token"].as_str().unwrap().to_string();

    let info_url = format!("{}/v1/oauth-token", sb.base_url());
    let r = get(&c, &info_url, Some(&access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("x-ratelimit-remaining").is_some());
    let info = r.json();
    assert_eq!(info["organization"]["id"], org.as_str());
    assert_eq!(info["organization"]["type"], "organization");
    assert_eq!(info["team"]["id"], cb["team_id"].as_str());
    assert_eq!(info["user"]["id"], info["createdBy"]["id"]);
    assert_eq!(info["scopes"][0], "organizations:read");
    let by_query = get(&c, &format!("{info_url}?access_token={access}"), None).await;
    assert_eq!(by_query.status, 200);
    let bad = get(&c, &info_url, Some("garbage")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["status"], 400);

    let revoke = |token: &str| {
        c.post(format!("{}/v2/oauth/revoke", sb.base_url()))
            .json(&json!({
                "accessToken": token,
                "clientId": DEFAULT_CLIENT_ID,
                "clientSecret": DEFAULT_CLIENT_SECRET,
            }))
            .send()
    };
    assert_eq!(revoke(&access).await.unwrap().status(), 204);
    assert_eq!(org_status(&c, &sb, &access).await, 401);
    let again = reply(revoke(&access).await.unwrap()).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.json()["type"], "error");
    assert_oauth_error(
        &token_form(&c, &sb, &refresh_params(&refresh)).await,
        "invalid_grant",
    );
    let garbage = reply(
        c.post(format!("{}/v2/oauth/revoke", sb.base_url()))
            .body("{")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(garbage.status, 415, "JSON body needs a JSON Content-Type");
    assert!(garbage.json().get("status").is_some_and(Value::is_u64));
    let garbage = reply(
        c.post(format!("{}/v2/oauth/revoke", sb.base_url()))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(garbage.status, 400);
    let counters = ctl.counters();
    assert_eq!(counters.get("token_info"), 3);
    assert_eq!(counters.get("revoke"), 4);
    sb.shutdown().await;
}
