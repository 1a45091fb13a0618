//! Any 3xx is an error, never success: Miro redirects plain http to https, and a client that took the redirect
//! as an answer would report a revoke or a deactivation that never happened.

mod common;

use common::*;
use miro_client::{MemberFilter, MiroError, OAuthApp, SecretString};
use miro_sandbox::FaultConfig;

fn assert_redirected(err: &MiroError, sandbox_base: &str) {
    match err {
        MiroError::Redirected {
            status, location, ..
        } => {
            assert_eq!(*status, 301);
            let https = sandbox_base.replacen("http://", "https://", 1);
            assert_eq!(location, &format!(" to {https}"));
        }
        other => panic!("expected Redirected, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(err.to_string().contains("base URL"), "{err}");
}

#[tokio::test]
async fn a_redirect_is_an_error_on_rest_scim_and_oauth() {
    let (sandbox, org, client) = org_of(&sandbox_config(10)).await;
    let token = access_token(&sandbox, &org);
    let scim = scim_token(&sandbox, &org);
    let target = sandbox.control().members(&org)[1].id.clone();
    sandbox.control().set_faults(FaultConfig {
        redirect_to_https: true,
        ..FaultConfig::default()
    });
    let base = sandbox.base_url();

    let err = client
        .members_page(&token, &org, &MemberFilter::default(), None)
        .await
        .unwrap_err();
    assert_redirected(&err, &base);
    let err = client
        .scim_set_active(&scim, &target, false)
        .await
        .unwrap_err();
    assert_redirected(&err, &base);
    let app = OAuthApp {
        client_id: miro_sandbox::DEFAULT_CLIENT_ID.to_owned(),
        client_secret: SecretString::from(miro_sandbox::DEFAULT_CLIENT_SECRET),
        redirect_uri: "http://localhost/cb".to_owned(),
    };
    let err = client.revoke(&app, &token).await.unwrap_err();
    assert_redirected(&err, &base);
    assert!(
        sandbox.control().scim_log().is_empty(),
        "nothing was changed behind the redirect"
    );
    // One request each: a redirect is not retried.
    assert_eq!(client.stats().requests, 3);
}
