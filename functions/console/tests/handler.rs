//! The console function's handler, driven with API Gateway HTTP API (payload v2) events from `events/` against
//! the Miro sandbox and the local AWS API (moto): the table, the reclaim queue and the session-key secret.

use console_function::{ConsoleSettings, build, handle};
use lambda_http::Body;
use miro_sam_core::ports::{OAuthStates, StateTake};
use miro_sam_lambda::env;
use miro_sam_tests::{World, body_text, unique, world_of};

const ORIGIN: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";

fn event(fixture: &str) -> lambda_http::Request {
    lambda_http::request::from_str(fixture).expect("a valid API Gateway v2 event")
}

/// A secret in the local AWS API; returns its name.
async fn secret(w: &World, value: &str) -> String {
    let name = unique("miro-sam/console-session-key");
    w.clients
        .secrets
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("secret");
    name
}

fn settings(key_name: &str) -> ConsoleSettings {
    ConsoleSettings::from_lookup(|k| match k {
        _ if k == env::CONSOLE_SESSION_KEY_NAME => Some(key_name.to_owned()),
        _ if k == env::CONSOLE_PUBLIC_URL => Some(ORIGIN.to_owned()),
        _ => None,
    })
    .expect("console settings")
}

#[tokio::test]
async fn the_sign_in_page_and_the_way_to_miro() {
    let w = world_of(5).await;
    // What the template's GenerateSecretString makes: 64 letters and digits.
    let key = secret(
        &w,
        "Q3vT9kLw2XpZ4cHd7FjB6mGs1EaVq3yN8rT2kLw9XpZ4cHd7FjB6mGs1EaVq3yN8",
    )
    .await;
    let app = build(&w.rt, &settings(&key))
        .await
        .expect("the console builds");

    // No session: the sign-in page, with the security headers.
    let page = handle(app.clone(), event(include_str!("../events/overview.json"))).await;
    let text = body_text(&page);
    assert_eq!(page.status(), 401, "{text}");
    assert!(
        matches!(page.body(), Body::Text(_)),
        "HTML goes back as text"
    );
    assert!(text.contains("Sign in with Miro"), "{text}");
    assert!(text.contains("href=\"/console/login\""), "{text}");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");

    // Sign in: a single-use state in the table, a Secure cookie for this browser, and off to Miro with the
    // console's redirect URI.
    let login = handle(app, event(include_str!("../events/sign-in.json"))).await;
    assert_eq!(login.status(), 303, "{}", body_text(&login));
    let location = url::Url::parse(login.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location
            .as_str()
            .starts_with(&format!("{}/oauth/authorize", w.sandbox.base_url())),
        "{location}"
    );
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["redirect_uri"], format!("{ORIGIN}/console/auth/callback"));
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let states = &w.rt.adapters.oauth_states;
    assert!(
        matches!(
            states.take_state(&q["state"]).await.unwrap(),
            StateTake::Valid(_)
        ),
        "the state was stored in the table"
    );
}

#[tokio::test]
async fn a_session_key_too_short_stops_the_cold_start_with_the_fix() {
    let w = world_of(1).await;
    let key = secret(&w, "c2hvcnQta2V5").await;
    let err = build(&w.rt, &settings(&key)).await.map(|_| ()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&key) && text.contains("at least 32"),
        "{text}"
    );
    assert!(
        !text.contains("c2hvcnQta2V5"),
        "the value stays out: {text}"
    );
    let missing = build(&w.rt, &settings("miro-sam/no-such-secret"))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        missing.to_string().contains("put-secret-value"),
        "{missing}"
    );
}
