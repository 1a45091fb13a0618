//! What the console is told at start-up: [`ConsoleConfig`] (settings) and [`ConsoleDeps`] (the ports).

use std::sync::Arc;

use miro_client::{MiroClient, OAuthApp};
use miro_sam_core::domain::Email;
use miro_sam_core::ports::{Clock, OAuthStates, ReclaimQueue, SubscriptionStore, TokenStore};
use secrecy::{SecretBox, SecretString};
use url::Url;

/// The console's settings.
#[derive(Debug)]
pub struct ConsoleConfig {
    /// Where the router's routes live, e.g. `"/console"` (no trailing slash; `""` serves at the root).
    pub base_path: String,
    /// The origin the browser reaches the console at (e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`,
    /// or `http://127.0.0.1:8080` for `miro-sam serve`): the console is at `{public_url}{base_path}` and Miro
    /// sends the admin back to `{public_url}{base_path}/auth/callback`, which must be a redirect URI of the app.
    pub public_url: Url,
    /// Signs session cookies and derives CSRF tokens (HMAC-SHA256). Changing it signs everyone out.
    pub session_key: SecretBox<[u8; 32]>,
    /// Mark cookies `Secure` (true wherever the console is served over HTTPS).
    pub secure_cookies: bool,
    /// When set, only these Company Admins may sign in (in addition to being an admin of a connected org).
    pub admin_emails: Option<Vec<Email>>,
    /// Price of one paid seat per month in minor units (cents); `None` hides the savings figures.
    pub price_per_seat_month_minor: Option<u64>,
    /// ISO 4217 code of the price, e.g. "USD".
    pub currency: String,
    /// Accept the one-time loopback login links of `miro-sam serve` ([`crate::one_time_login_link`]). Off on
    /// a deployment: there only Sign in with Miro works.
    pub local_login: bool,
    /// Verifies members' "keep my license" links (`miro_sam_links::keep`); the notice run signs them with the same
    /// key. `None`: the keep page is off (notices then tell members whom to ask instead).
    pub keep_link_key: Option<SecretString>,
}

impl ConsoleConfig {
    /// `base_path` without a trailing slash (`"/"` becomes `""`).
    pub(crate) fn base(&self) -> String {
        self.base_path.trim_end_matches('/').to_owned()
    }

    /// The absolute URL of a console path (`path` starts with `/`).
    pub(crate) fn absolute(&self, path: &str) -> String {
        format!(
            "{}{}{}",
            self.public_url.as_str().trim_end_matches('/'),
            self.base(),
            path
        )
    }

    /// The OAuth redirect URI of the console's sign-in.
    pub fn callback_url(&self) -> String {
        self.absolute("/auth/callback")
    }
}

/// The ports and clients the console works through. The console never reads the SCIM token's value: it only
/// asks whether one is stored (for the overview's alert); undo and approvals go through the reclaim queue.
#[derive(Clone)]
pub struct ConsoleDeps {
    pub store: Arc<dyn SubscriptionStore>,
    pub tokens: Arc<dyn TokenStore>,
    /// Single-use `state` values for Sign in with Miro and for one-time login links.
    pub states: Arc<dyn OAuthStates>,
    pub queue: Arc<dyn ReclaimQueue>,
    pub client: MiroClient,
    /// The Miro app (the same app orgs connect with). `None`: Sign in with Miro is off (local login only).
    pub oauth_app: Option<OAuthApp>,
    pub clock: Arc<dyn Clock>,
}
