//! HTTP failures become errors that say what to do.

mod common;

use common::*;
use miro_client::{MiroError, SecretString};

#[tokio::test]
async fn a_revoked_token_asks_to_reconnect_the_org() {
    let cfg = sandbox_config(10);
    let sandbox = start(cfg.clone()).await;
    let org = first_org(&sandbox);
    let token = access_token(&sandbox, &org);
    sandbox.control().revoke_all_tokens(&org);
    let err = client(&sandbox, &cfg)
        .organization(&token, &org)
        .await
        .unwrap_err();
    assert!(matches!(err, MiroError::Unauthorized { .. }), "{err:?}");
    assert!(err.needs_reconnect());
    assert!(err.to_string().contains("Reconnect the org"), "{err}");
}

#[tokio::test]
async fn a_garbage_token_is_unauthorized_on_rest_and_token_info() {
    let cfg = sandbox_config(10);
    // The sandbox serves until the end of the test.
    let (_sandbox, org, client) = org_of(&cfg).await;
    let bogus = SecretString::from("not-a-token".to_owned());
    assert!(matches!(
        client
            .members_page(&bogus, &org, &Default::default(), None)
            .await,
        Err(MiroError::Unauthorized { .. })
    ));
    assert!(matches!(
        client.token_info(&bogus).await,
        Err(MiroError::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn a_developer_team_install_explains_the_known_issue() {
    let mut cfg = sandbox_config(10);
    cfg.orgs[0].developer_team = true;
    let (sandbox, org, client) = org_of(&cfg).await;
    let err = org_info(&client, &sandbox, &org).await.unwrap_err();
    assert!(matches!(err, MiroError::OrgForbidden { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("developer team")
            && text.contains("organizations:read")
            && text.contains("Company Admin"),
        "{text}"
    );
}

#[tokio::test]
async fn a_token_without_organizations_read_is_forbidden() {
    let cfg = sandbox_config(10);
    let sandbox = start(cfg.clone()).await;
    let org = first_org(&sandbox);
    let token = SecretString::from(
        sandbox
            .control()
            .issue_access_token_with_scopes(&org, &["boards:read"]),
    );
    let err = client(&sandbox, &cfg)
        .members_page(&token, &org, &Default::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, MiroError::OrgForbidden { .. }), "{err:?}");
    assert!(err.needs_reconnect());
}

#[tokio::test]
async fn an_oauth_token_on_scim_is_a_scim_token_error() {
    let cfg = sandbox_config(10);
    let sandbox = start(cfg.clone()).await;
    let org = first_org(&sandbox);
    let err = client(&sandbox, &cfg)
        .scim_find_user_by_email(&access_token(&sandbox, &org), "a@b.example")
        .await
        .unwrap_err();
    assert!(matches!(err, MiroError::ScimUnauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("SCIM provisioning"), "{err}");
}

#[tokio::test]
async fn an_unreachable_host_is_a_network_error_after_retries() {
    // Port 9 on loopback: nothing listens, connections are refused at once.
    let mut config = miro_client::MiroConfig::for_base_url("http://127.0.0.1:9").unwrap();
    config.retry.max_attempts = 2;
    config.retry.base_delay = std::time::Duration::from_millis(1);
    let client = miro_client::MiroClient::new(config).unwrap();
    let err = client
        .organization(&SecretString::from("t".to_owned()), "1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MiroError::Network { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[test]
fn a_bad_base_url_is_a_configuration_error() {
    assert!(matches!(
        miro_client::MiroConfig::for_base_url("ftp://x"),
        Err(MiroError::Config(_))
    ));
    assert!(matches!(
        miro_client::MiroConfig::for_base_url("not a url"),
        Err(MiroError::Config(_))
    ));
}
