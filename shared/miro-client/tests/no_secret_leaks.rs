//! Tokens must never reach logs, error texts or Debug output. This file is its own test binary so it can own the
//! global log subscriber and capture everything every crate logs, at TRACE.

mod common;

use common::browser::{app, consent, param};
use common::*;
use miro_client::{ExposeSecret, MiroError, SecretString};
use miro_sandbox::FaultConfig;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_full_run_logs_no_token_and_no_error_or_debug_shows_one() {
    let capture = Capture::default();
    let sink = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();

    let cfg = sandbox_config(400);
    let (sandbox, org, client) = org_of(&cfg).await;
    let app = app(&cfg);
    let mut secrets: Vec<String> = vec![cfg.oauth.client_secret.clone()];
    let mut shown: Vec<String> = Vec::new();

    let q = consent(&client, &app, "state-1").await;
    let code = param(&q, "code").unwrap().to_owned();
    secrets.push(code.clone());
    let code = SecretString::from(code);
    let grant = client.exchange_code(&app, &code).await.unwrap();
    secrets.push(grant.access_token.expose_secret().to_owned());
    secrets.push(
        grant
            .refresh_token
            .as_ref()
            .unwrap()
            .expose_secret()
            .to_owned(),
    );
    shown.push(format!("{grant:?} {client:?} {app:?}"));

    // Faults make the client log its retries; the download must still not print a token.
    sandbox.control().set_faults(FaultConfig {
        error_rate: 0.2,
        rate_limit_burst: 2,
        fault_seed: 11,
        ..FaultConfig::default()
    });
    let members = download(&client, &grant.access_token, &org).await.unwrap();
    assert_eq!(members.len(), 400);
    sandbox.control().set_faults(FaultConfig::default());

    let refreshed = client
        .refresh(&app, grant.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    secrets.push(refreshed.access_token.expose_secret().to_owned());
    secrets.push(
        refreshed
            .refresh_token
            .as_ref()
            .unwrap()
            .expose_secret()
            .to_owned(),
    );
    shown.push(format!("{refreshed:?}"));

    let scim = scim_token(&sandbox, &org);
    secrets.push(scim.expose_secret().to_owned());
    let target = members
        .iter()
        .find(|m| m.active && m.role == miro_client::Role::InternalUser && m.admin_roles.is_empty())
        .unwrap();
    let user = client
        .scim_find_user_by_email(&scim, &target.email)
        .await
        .unwrap()
        .unwrap();
    client
        .scim_set_active(&scim, &user.id, false)
        .await
        .unwrap();
    client.scim_set_active(&scim, &user.id, true).await.unwrap();

    // Errors of every kind, each formatted both ways. The refresh already ended the first access token, so
    // revoking it is refused.
    client.revoke(&app, &refreshed.access_token).await.unwrap();
    let errors: Vec<MiroError> = vec![
        client.revoke(&app, &grant.access_token).await.unwrap_err(),
        client.exchange_code(&app, &code).await.unwrap_err(),
        client
            .refresh(&app, grant.refresh_token.as_ref().unwrap())
            .await
            .unwrap_err(),
        client
            .organization(&grant.access_token, &org)
            .await
            .unwrap_err(),
        client
            .scim_get_user(&refreshed.access_token, &user.id)
            .await
            .unwrap_err(),
        client
            .token_info(&SecretString::from(scim.expose_secret().to_owned()))
            .await
            .unwrap_err(),
    ];
    for e in &errors {
        shown.push(format!("{e} {e:?}"));
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("Miro call"),
        "the capture saw the client's logs"
    );
    assert!(
        logs.contains("retrying Miro call"),
        "the capture saw the retries"
    );
    for secret in &secrets {
        assert!(secret.len() >= 8, "a real secret: {secret:?}");
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
        for text in &shown {
            assert!(
                !text.contains(secret.as_str()),
                "a secret appears in: {text}"
            );
        }
    }
}
