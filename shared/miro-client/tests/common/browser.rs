//! Plays the admin's browser: opens the authorize URL and reads where Miro redirects.

use miro_client::{MiroClient, OAuthApp, SecretString};
use miro_sandbox::SandboxConfig;
use url::Url;

/// The sandbox's own OAuth app, as `cfg` configures it, with a callback nothing listens on.
pub fn app(cfg: &SandboxConfig) -> OAuthApp {
    OAuthApp {
        client_id: cfg.oauth.client_id.clone(),
        client_secret: SecretString::from(cfg.oauth.client_secret.clone()),
        redirect_uri: "http://127.0.0.1:1/oauth/callback".to_owned(),
    }
}

/// The query of the redirect Miro sends the browser to after the consent screen.
pub async fn consent(client: &MiroClient, app: &OAuthApp, state: &str) -> Vec<(String, String)> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser
        .get(client.authorize_url(app, state, None))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302, "authorize redirects");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let url = Url::parse(&location).unwrap();
    assert!(location.starts_with(&app.redirect_uri), "{location}");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The code the consent redirect carries, for the client to exchange.
pub async fn code(client: &MiroClient, app: &OAuthApp, state: &str) -> SecretString {
    let q = consent(client, app, state).await;
    SecretString::from(param(&q, "code").expect("a code").to_owned())
}
