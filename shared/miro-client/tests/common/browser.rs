//! Plays the admin's browser: opens the authorize URL and reads where Miro redirects.

use miro_client::{MiroClient, OAuthApp};
use url::Url;

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
