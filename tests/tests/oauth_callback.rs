//! The OAuth callback function with real API Gateway v2 events: from `/oauth/start` through the sandbox's consent
//! redirect to a stored secret, and every way it must refuse.

use chrono::Duration;
use miro_sam_lambda::connect_link;
use miro_sam_tests::*;

async fn start(w: &World, link: Option<&str>) -> lambda_http::Response<lambda_http::Body> {
    let q: Vec<(&str, &str)> = link.map(|l| vec![("link", l)]).unwrap_or_default();
    oauth_callback::handle(&w.rt, &w.link_key, http_request("GET", "/oauth/start", &q)).await
}

fn fresh_link(w: &World) -> String {
    connect_link::issue(&w.link_key, w.rt.deps.clock.now(), Duration::hours(1))
}

async fn callback(
    w: &World,
    back: &[(String, String)],
) -> lambda_http::Response<lambda_http::Body> {
    let q: Vec<(&str, &str)> = back.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    oauth_callback::handle(
        &w.rt,
        &w.link_key,
        http_request("GET", "/oauth/callback", &q),
    )
    .await
}

/// `/oauth/start` with a good link, then the consent screen; returns the redirect's query.
async fn to_miro_and_back(w: &World) -> Vec<(String, String)> {
    let resp = start(w, Some(&fresh_link(w))).await;
    assert_eq!(resp.status(), 302, "{}", body_text(&resp));
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&w.sandbox.base_url()), "{location}");
    let back = consent(&location).await;
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    pairs(&back)
}

#[tokio::test]
async fn the_whole_flow_stores_the_tokens_and_registers_the_org_in_dry_run() {
    let w = world(WorldOptions {
        members: 20,
        ..Default::default()
    })
    .await;
    let back = to_miro_and_back(&w).await;
    let code = back.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let resp = callback(&w, &back).await;
    let page = body_text(&resp);
    assert_eq!(resp.status(), 200, "{page}");
    assert!(
        page.contains("Acme Corp") && page.contains("SCIM"),
        "{page}"
    );
    assert!(!page.contains(&code), "the page never shows the code");

    let bundle =
        w.rt.deps
            .tokens
            .get_tokens(&w.org)
            .await
            .expect("tokens stored in Secrets Manager");
    assert!(!page.contains(secrecy::ExposeSecret::expose_secret(&bundle.access_token)));
    let org =
        w.rt.deps
            .store
            .get_org(&w.org)
            .await
            .unwrap()
            .expect("org registered");
    assert_eq!(org.name, "Acme Corp");
    let policy =
        w.rt.deps
            .store
            .latest_policy(&w.org)
            .await
            .unwrap()
            .expect("a policy");
    assert!(policy.policy.dry_run, "new orgs start in dry run");
    // The secret is where the operator is told to look.
    let secret = format!(
        "{}/orgs/{}/oauth",
        w.rt.adapters.config.secret_prefix, w.org
    );
    w.clients
        .secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("the named secret exists");
}

#[tokio::test]
async fn a_state_works_once() {
    let w = world(WorldOptions {
        members: 5,
        ..Default::default()
    })
    .await;
    let back = to_miro_and_back(&w).await;
    assert_eq!(callback(&w, &back).await.status(), 200);
    let replay = callback(&w, &back).await;
    assert_eq!(replay.status(), 400);
    assert!(
        body_text(&replay).contains("already used"),
        "{}",
        body_text(&replay)
    );
}

#[tokio::test]
async fn an_unknown_or_missing_state_is_refused_before_miro_is_asked() {
    let w = world(WorldOptions {
        members: 5,
        ..Default::default()
    })
    .await;
    let tokens_before = w.control.counters().get("token");
    let forged = vec![
        ("code".to_owned(), "abc".to_owned()),
        ("state".to_owned(), "made-up".to_owned()),
    ];
    assert_eq!(callback(&w, &forged).await.status(), 400);
    let no_state = vec![("code".to_owned(), "abc".to_owned())];
    assert_eq!(callback(&w, &no_state).await.status(), 400);
    assert_eq!(
        w.control.counters().get("token"),
        tokens_before,
        "no code exchange was attempted"
    );
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let mut w = world(WorldOptions {
        members: 5,
        ..Default::default()
    })
    .await;
    let clock = std::sync::Arc::new(miro_sam_core::ports::FixedClock::new(chrono::Utc::now()));
    w.rt.adapters.oauth_states = w.rt.adapters.oauth_states.clone().with_clock(clock.clone());
    let back = to_miro_and_back(&w).await;
    clock.advance(Duration::minutes(11));
    let resp = callback(&w, &back).await;
    assert_eq!(resp.status(), 400);
    assert!(body_text(&resp).contains("expired"), "{}", body_text(&resp));
    assert!(
        w.rt.deps.tokens.get_tokens(&w.org).await.is_err(),
        "nothing stored"
    );
}

#[tokio::test]
async fn denied_consent_is_explained_and_stores_nothing() {
    let w = world(WorldOptions {
        members: 5,
        ..Default::default()
    })
    .await;
    w.control.set_consent(miro_sandbox::Consent::Deny);
    let back = to_miro_and_back(&w).await;
    let resp = callback(&w, &back).await;
    assert_eq!(resp.status(), 400);
    assert!(
        body_text(&resp).contains("access_denied"),
        "{}",
        body_text(&resp)
    );
    assert!(w.rt.deps.tokens.get_tokens(&w.org).await.is_err());
}

#[tokio::test]
async fn forged_tampered_expired_and_missing_links_are_refused() {
    let w = world(WorldOptions {
        members: 5,
        ..Default::default()
    })
    .await;
    let now = w.rt.deps.clock.now();
    let other_key = secrecy::SecretString::from("not the deployment's key".to_owned());
    let forged = connect_link::issue(&other_key, now, Duration::hours(1));
    let expired = connect_link::issue(&w.link_key, now - Duration::hours(2), Duration::hours(1));
    let mut tampered = fresh_link(&w);
    tampered.replace_range(3..5, "99");
    for (link, why) in [
        (Some(forged.as_str()), "not issued"),
        (Some(expired.as_str()), "expired"),
        (Some(tampered.as_str()), ""),
        (None, "needs a connect link"),
    ] {
        let resp = start(&w, link).await;
        assert_eq!(resp.status(), 403, "{link:?}");
        assert!(body_text(&resp).contains(why), "{}", body_text(&resp));
    }
    assert_eq!(w.control.counters().get("authorize"), 0);
}

#[tokio::test]
async fn an_org_outside_the_allow_list_is_refused() {
    let w = world(WorldOptions {
        members: 5,
        env: vec![(miro_sam_lambda::env::ALLOWED_ORGS, "42".to_owned())],
        ..Default::default()
    })
    .await;
    let back = to_miro_and_back(&w).await;
    let resp = callback(&w, &back).await;
    assert_eq!(resp.status(), 403, "{}", body_text(&resp));
    assert!(body_text(&resp).contains("not one this deployment may manage"));
    assert!(w.rt.deps.tokens.get_tokens(&w.org).await.is_err());
}

#[tokio::test]
async fn only_the_three_routes_exist() {
    let w = world(WorldOptions {
        members: 1,
        ..Default::default()
    })
    .await;
    let h = |m: &str, p: &str| oauth_callback::handle(&w.rt, &w.link_key, http_request(m, p, &[]));
    assert_eq!(h("GET", "/health").await.status(), 200);
    assert_eq!(h("GET", "/admin").await.status(), 404);
    assert_eq!(h("POST", "/oauth/start").await.status(), 405);
    assert_eq!(h("DELETE", "/oauth/callback").await.status(), 405);
}

#[tokio::test]
async fn a_link_from_the_operator_command_opens_the_door() {
    let w = world(WorldOptions {
        members: 3,
        ..Default::default()
    })
    .await;
    let link = connect_link::issue(&w.link_key, w.rt.deps.clock.now(), Duration::minutes(30));
    let url = miro_sam_cli::commands::aws::start_url(
        "https://abc123.execute-api.us-east-1.amazonaws.com/",
        &link,
    )
    .unwrap();
    assert_eq!(url.path(), "/oauth/start");
    let carried = url
        .query_pairs()
        .find(|(k, _)| k == "link")
        .unwrap()
        .1
        .into_owned();
    let resp = start(&w, Some(&carried)).await;
    assert_eq!(resp.status(), 302, "{}", body_text(&resp));
}
