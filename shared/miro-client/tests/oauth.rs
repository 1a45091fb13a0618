//! The OAuth 2.0 code flow against the sandbox: authorize, exchange, token info, refresh, revoke.

mod common;

use common::browser::{app, code, consent, param};
use common::*;
use miro_client::{ExposeSecret, MiroError, OAuthApp, SecretString};
use miro_sandbox::Consent;
use std::time::Duration;

#[tokio::test]
async fn the_code_flow_yields_an_expiring_token_that_refreshes_and_revokes() {
    let cfg = sandbox_config(20);
    let (_sandbox, org, client) = org_of(&cfg).await;
    let app = app(&cfg);

    let url = client.authorize_url(&app, "st-123", Some("42"));
    let pairs: Vec<_> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(
        pairs,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "state",
            "team_id"
        ],
        "no scope parameter"
    );

    let q = consent(&client, &app, "st-123").await;
    assert_eq!(param(&q, "state"), Some("st-123"));
    let code = SecretString::from(param(&q, "code").expect("a code").to_owned());

    let grant = client.exchange_code(&app, &code).await.unwrap();
    assert!(
        grant.refresh_token.is_some(),
        "expiring tokens come with a refresh token"
    );
    assert_eq!(grant.expires_in, Some(Duration::from_secs(3599)));
    let team_id = grant.team_id.clone().expect("team id");
    assert!(
        team_id.len() >= 19 && team_id.parse::<u64>().unwrap() > (1u64 << 53),
        "all digits kept: {team_id}"
    );

    // The code works once.
    let again = client.exchange_code(&app, &code).await.unwrap_err();
    assert!(
        matches!(again, MiroError::OAuthRejected { .. }),
        "{again:?}"
    );
    assert!(again.needs_reconnect());

    let info = client.token_info(&grant.access_token).await.unwrap();
    assert_eq!(info.organization.id, org);
    assert!(info.has_scope("organizations:read"));
    assert_eq!(info.team.id, team_id);

    let old_refresh = grant.refresh_token.clone().unwrap();
    let refreshed = client.refresh(&app, &old_refresh).await.unwrap();
    assert_ne!(
        refreshed.access_token.expose_secret(),
        grant.access_token.expose_secret()
    );
    assert_ne!(
        refreshed.refresh_token.as_ref().unwrap().expose_secret(),
        old_refresh.expose_secret(),
        "each refresh returns a new refresh token"
    );
    let reused = client.refresh(&app, &old_refresh).await.unwrap_err();
    assert!(
        matches!(reused, MiroError::OAuthRejected { .. }),
        "{reused:?}"
    );

    client.revoke(&app, &refreshed.access_token).await.unwrap();
    let after = client
        .token_info(&refreshed.access_token)
        .await
        .unwrap_err();
    assert!(matches!(after, MiroError::Unauthorized { .. }), "{after:?}");
    // Miro documents every revoke failure as 404: a second revoke is refused, never reported as revoked.
    let again = client
        .revoke(&app, &refreshed.access_token)
        .await
        .unwrap_err();
    assert!(
        matches!(again, MiroError::RevokeRefused { .. }),
        "{again:?}"
    );
    let text = again.to_string();
    assert!(text.contains("NOT confirmed revoked"), "{text}");
    assert!(text.contains("uninstall the app"), "{text}");
    assert!(!again.is_transient());
}

#[tokio::test]
async fn an_access_token_expires_after_its_hour() {
    let cfg = sandbox_config(5);
    let (sandbox, org, client) = org_of(&cfg).await;
    let app = app(&cfg);
    let code = code(&client, &app, "s").await;
    let grant = client.exchange_code(&app, &code).await.unwrap();
    client
        .organization(&grant.access_token, &org)
        .await
        .unwrap();
    sandbox.control().advance_clock(Duration::from_secs(3601));
    let err = client
        .organization(&grant.access_token, &org)
        .await
        .unwrap_err();
    assert!(matches!(err, MiroError::Unauthorized { .. }), "{err:?}");
    // The refresh token still works and gives a usable token.
    let fresh = client
        .refresh(&app, grant.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    client
        .organization(&fresh.access_token, &org)
        .await
        .unwrap();
}

#[tokio::test]
async fn non_expiring_tokens_have_no_refresh_token() {
    let mut cfg = sandbox_config(5);
    cfg.oauth.expiring_tokens = false;
    let (sandbox, org, client) = org_of(&cfg).await;
    let app = app(&cfg);
    let code = code(&client, &app, "s").await;
    let grant = client.exchange_code(&app, &code).await.unwrap();
    assert!(grant.refresh_token.is_none());
    assert!(grant.expires_at.is_none());
    sandbox
        .control()
        .advance_clock(Duration::from_secs(90 * 24 * 3600));
    client
        .organization(&grant.access_token, &org)
        .await
        .unwrap();
}

#[tokio::test]
async fn denied_consent_comes_back_as_an_error_redirect() {
    let cfg = sandbox_config(5);
    let sandbox = start(cfg.clone()).await;
    sandbox.control().set_consent(Consent::Deny);
    let client = client(&sandbox, &cfg);
    let q = consent(&client, &app(&cfg), "s-9").await;
    assert_eq!(param(&q, "error"), Some("access_denied"));
    assert_eq!(param(&q, "state"), Some("s-9"));
    assert_eq!(param(&q, "code"), None);
}

#[tokio::test]
async fn a_wrong_client_secret_is_rejected() {
    let cfg = sandbox_config(5);
    let sandbox = start(cfg.clone()).await;
    let client = client(&sandbox, &cfg);
    let good = app(&cfg);
    let code = code(&client, &good, "s").await;
    let bad = OAuthApp {
        client_secret: SecretString::from("wrong".to_owned()),
        ..good
    };
    let err = client.exchange_code(&bad, &code).await.unwrap_err();
    assert!(matches!(err, MiroError::OAuthRejected { .. }), "{err:?}");
}
