//! A sandboxed Miro wired to the AWS adapters as the jobs' dependencies.

use std::sync::Arc;

use chrono::{Duration, Utc};
use miro_client::{MiroClient, MiroConfig, OAuthApp, SecretString};
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::Deps;
use miro_sam_core::ports::{SubscriptionStore, SystemClock, TokenBundle, TokenStore};
use miro_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxConfig, SandboxControl,
};

pub fn client_for(sandbox: &Sandbox) -> MiroClient {
    let mut cfg = MiroConfig::for_base_url(&sandbox.base_url()).expect("sandbox URL");
    cfg.rest_limits.credits_per_window = 1_000_000_000;
    cfg.scim_limits.list_users = 1_000_000;
    cfg.scim_limits.get_user = 1_000_000;
    cfg.scim_limits.patch_user = 1_000_000;
    cfg.scim_limits.other = 1_000_000;
    cfg.retry.max_attempts = 2;
    cfg.retry.base_delay = std::time::Duration::from_millis(1);
    cfg.retry.max_delay = std::time::Duration::from_millis(5);
    MiroClient::new(cfg).expect("client")
}

pub fn oauth_app() -> OAuthApp {
    OAuthApp {
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: SecretString::from(DEFAULT_CLIENT_SECRET),
        redirect_uri: "http://127.0.0.1:9/callback".into(),
    }
}

pub struct World {
    pub sandbox: Sandbox,
    pub control: SandboxControl,
    pub org: OrgId,
    pub deps: Deps,
}

/// A sandbox with `members` members, and job dependencies on the given adapters, with a long-lived token stored.
pub async fn world(
    members: usize,
    store: Arc<dyn SubscriptionStore>,
    tokens: Arc<dyn TokenStore>,
) -> World {
    let sandbox = Sandbox::start(SandboxConfig::unlimited(members))
        .await
        .expect("sandbox starts");
    let control = sandbox.control();
    let org_s = control.org_ids()[0].clone();
    let org = OrgId::parse(&org_s).expect("sandbox org id");
    tokens
        .put_tokens(&TokenBundle {
            org_id: org.clone(),
            access_token: SecretString::from(control.issue_access_token(&org_s)),
            refresh_token: None,
            expires_at: Some(Utc::now() + Duration::minutes(55)),
            team_id: None,
            user_id: None,
            scopes: vec!["organizations:read".into()],
            version: 0,
        })
        .await
        .expect("tokens stored");
    let deps = Deps {
        store,
        tokens,
        client: client_for(&sandbox),
        clock: Arc::new(SystemClock),
        oauth_app: Some(oauth_app()),
    };
    World {
        sandbox,
        control,
        org,
        deps,
    }
}

/// Plays the admin's browser through the consent screen and exchanges the code: a real expiring token with a
/// refresh token, as `/oauth/callback` would store it.
pub async fn connect_with_refresh_token(client: &MiroClient, org: &OrgId) -> TokenBundle {
    let url = client.authorize_url(&oauth_app(), "csrf-state", None);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let answer = browser
        .get(url.as_str())
        .send()
        .await
        .expect("authorize answers");
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("a code")
        .1
        .into_owned();
    let grant = client
        .exchange_code(&oauth_app(), &SecretString::from(code))
        .await
        .expect("code exchange");
    assert!(
        grant.refresh_token.is_some(),
        "the sandbox issues expiring tokens by default"
    );
    TokenBundle {
        org_id: org.clone(),
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        expires_at: grant.expires_at,
        team_id: grant.team_id,
        user_id: grant.user_id,
        scopes: grant.scopes,
        version: 0,
    }
}
