//! OAuth 2.0 authorization-code flow, refresh, revoke and token info.

use chrono::{DateTime, Utc};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

use crate::MiroClient;
use crate::config::OAuthApp;
use crate::error::{Api, MiroError};
use crate::http::{Body, Call, Retry};
use crate::model::{RawTokenResponse, TokenInfo};

/// What the token endpoint granted. Both kinds of Miro token are covered: expiring ones (1 h access token plus a
/// 60-day refresh token that is replaced on every refresh) and non-expiring ones (no refresh token, no expiry).
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<Duration>,
    /// `expires_in` counted from when the answer arrived.
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
}

const TOKEN_ENDPOINT: &str = "POST /v1/oauth/token";

impl MiroClient {
    /// The browser URL that asks an admin to install the app. Miro takes no `scope` parameter: scopes are set in
    /// the app's settings.
    pub fn authorize_url(&self, app: &OAuthApp, state: &str, team_id: Option<&str>) -> Url {
        let mut url = self
            .inner
            .config
            .oauth_base_url
            .join("oauth/authorize")
            .expect("a relative path joins onto a base URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &app.client_id)
                .append_pair("redirect_uri", &app.redirect_uri)
                .append_pair("state", state);
            if let Some(team) = team_id {
                q.append_pair("team_id", team);
            }
        }
        url
    }

    /// Exchanges the one-time code from the redirect for tokens.
    pub async fn exchange_code(
        &self,
        app: &OAuthApp,
        code: &SecretString,
    ) -> Result<TokenGrant, MiroError> {
        self.token_request(
            "authorization code",
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("client_id", app.client_id.clone()),
                (
                    "client_secret",
                    app.client_secret.expose_secret().to_owned(),
                ),
                ("code", code.expose_secret().to_owned()),
                ("redirect_uri", app.redirect_uri.clone()),
            ],
        )
        .await
    }

    /// Trades a refresh token for a new access token AND a new refresh token; store both, the old refresh
    /// token must be considered spent.
    pub async fn refresh(
        &self,
        app: &OAuthApp,
        refresh_token: &SecretString,
    ) -> Result<TokenGrant, MiroError> {
        self.token_request(
            "refresh token",
            vec![
                ("grant_type", "refresh_token".to_owned()),
                ("client_id", app.client_id.clone()),
                (
                    "client_secret",
                    app.client_secret.expose_secret().to_owned(),
                ),
                ("refresh_token", refresh_token.expose_secret().to_owned()),
            ],
        )
        .await
    }

    async fn token_request(
        &self,
        grant: &'static str,
        form: Vec<(&'static str, String)>,
    ) -> Result<TokenGrant, MiroError> {
        let call = Call {
            api: Api::OAuth,
            endpoint: TOKEN_ENDPOINT,
            method: Method::POST,
            url: self.api_url("v1/oauth/token"),
            bearer: None,
            body: Body::Form(form),
            pacer: None,
            // A code or refresh token works once: never resend what Miro may already have used.
            retry: Retry::OnlyUnprocessed,
            quote_body: false,
        };
        let answer = self.execute(call).await.map_err(|e| match e {
            MiroError::BadRequest {
                status,
                code,
                message,
                ..
            } => MiroError::OAuthRejected {
                grant,
                status,
                code,
                message,
            },
            MiroError::Unauthorized { code, .. } => MiroError::OAuthRejected {
                grant,
                status: 401,
                code,
                message: "client credentials or grant refused".to_owned(),
            },
            other => other,
        })?;
        let raw: RawTokenResponse = answer.json()?;
        let expires_in = raw.expires_in.map(Duration::from_secs);
        Ok(TokenGrant {
            access_token: SecretString::from(raw.access_token),
            refresh_token: raw
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(SecretString::from),
            // A broken or hostile endpoint may send an absurd lifetime: then no expiry is known, never a panic.
            expires_at: expires_in
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .and_then(|d| Utc::now().checked_add_signed(d)),
            expires_in,
            scopes: raw
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            team_id: raw.team_id,
            user_id: raw.user_id,
        })
    }

    /// Revokes an access token (and with it its refresh token). Success is Miro's 204 (or a 200). Miro documents
    /// every failure as 404, so a 404 is [`MiroError::RevokeRefused`]: the token is not known to be revoked.
    pub async fn revoke(
        &self,
        app: &OAuthApp,
        access_token: &SecretString,
    ) -> Result<(), MiroError> {
        let call = Call {
            api: Api::OAuth,
            endpoint: "POST /v2/oauth/revoke",
            method: Method::POST,
            url: self.api_url("v2/oauth/revoke"),
            bearer: None,
            body: Body::Json(serde_json::json!({
                "accessToken": access_token.expose_secret(),
                "clientId": app.client_id,
                "clientSecret": app.client_secret.expose_secret(),
            })),
            pacer: None,
            retry: Retry::Idempotent,
            quote_body: true,
        };
        match self.execute(call).await {
            Ok(_) => Ok(()),
            Err(MiroError::NotFound { message, .. }) => Err(MiroError::RevokeRefused { message }),
            Err(e) => Err(e),
        }
    }

    /// Which organization, team and user a token belongs to, and its scopes: the way to learn the org id.
    pub async fn token_info(&self, access_token: &SecretString) -> Result<TokenInfo, MiroError> {
        const ENDPOINT: &str = "GET /v1/oauth-token";
        let call = Call {
            api: Api::OAuth,
            endpoint: ENDPOINT,
            method: Method::GET,
            url: self.api_url("v1/oauth-token"),
            bearer: Some(access_token),
            body: Body::None,
            pacer: None,
            retry: Retry::Idempotent,
            quote_body: true,
        };
        let answer = self.execute(call).await.map_err(|e| match e {
            // Miro documents 400 "Invalid token provided" here.
            MiroError::BadRequest { endpoint, code, .. } => {
                MiroError::Unauthorized { endpoint, code }
            }
            other => other,
        })?;
        answer.json()
    }

    pub(crate) fn api_url(&self, path: &str) -> Url {
        self.inner
            .config
            .api_base_url
            .join(path)
            .expect("a relative path joins onto a base URL")
    }
}
