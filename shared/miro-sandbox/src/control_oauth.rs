//! Controls of the OAuth side: who signs in at `/oauth/authorize`, and whether a second authorization by the
//! same user and team is a re-install that ends the earlier tokens. Rust API on [`SandboxControl`] and the
//! same over HTTP (`POST /_sandbox/sign-in`, `POST /_sandbox/reinstall`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::control::SandboxControl;
use crate::http::json_response;
use crate::sign_in::SignInAs;
use crate::state::Shared;

impl SandboxControl {
    /// From the next authorization on (until changed), `/oauth/authorize` grants for this user: the code's
    /// tokens are that user's, `/v1/oauth-token` reports that user and org, and the callback's `team_id` is
    /// that org's team. The REST org endpoints answer 403 to a token of a user who is not a Company Admin of
    /// the org, as Miro documents. Checked here: an unknown org or member is an error that says which; a member
    /// that disappears later (or is not in the org a request picks) makes that authorize request fail with 400
    /// and the same message.
    pub fn set_sign_in(&self, who: SignInAs) -> Result<(), String> {
        let mut state = self.shared.lock();
        // A member choice is good if some org has that member; which org is the request's to pick.
        let mut first_error = None;
        let usable = state.orgs.iter().any(|org| match who.grantee(&state, org) {
            Ok(_) => true,
            Err(e) => {
                first_error.get_or_insert(e);
                false
            }
        });
        if !usable {
            return Err(
                first_error.unwrap_or_else(|| "sandbox sign-in: the sandbox has no org".into())
            );
        }
        state.sign_in = who;
        Ok(())
    }

    /// Who the next authorizations grant for.
    pub fn sign_in(&self) -> SignInAs {
        self.shared.lock().sign_in.clone()
    }

    /// true (the default): a code exchange for a user and team that already hold tokens ends those tokens
    /// (access and refresh) at once, as a re-install may in Miro (UNCONFIRMED). false: they keep working.
    pub fn set_reinstall_replaces_tokens(&self, on: bool) {
        self.shared.lock().oauth.reinstall_replaces_tokens = on;
    }

    pub fn reinstall_replaces_tokens(&self) -> bool {
        self.shared.lock().oauth.reinstall_replaces_tokens
    }

    /// Whether an access token would be accepted now (issued, not expired, not revoked, not replaced by a
    /// re-install), without spending budget or counting a request.
    pub fn access_token_is_live(&self, token: &str) -> bool {
        self.shared.lock().access_token(token).is_some()
    }

    /// Whether a refresh token would be accepted now (issued, not used, not expired, not revoked or replaced).
    pub fn refresh_token_is_live(&self, token: &str) -> bool {
        let state = self.shared.lock();
        let now = state.now();
        state
            .refresh_tokens
            .get(token)
            .is_some_and(|t| now < t.expires_at)
    }
}

fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

/// `POST /_sandbox/sign-in` with a [`SignInAs`] as JSON: `{"as": "org_admin"}`,
/// `{"as": "member", "member_id": "..."}`, `{"as": "member_with_role", "role": "organization_internal_user"}`,
/// `{"as": "admin_of", "org_id": "..."}`.
pub(crate) async fn sign_in(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let who: SignInAs = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => return bad_request(&format!("invalid sign-in body: {e}")),
    };
    match (SandboxControl { shared }).set_sign_in(who) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(message) => bad_request(&message),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReinstallBody {
    replaces_tokens: bool,
}

/// `POST /_sandbox/reinstall` with `{"replaces_tokens": false}` (or `true`).
pub(crate) async fn reinstall(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: ReinstallBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&format!("invalid reinstall body: {e}")),
    };
    (SandboxControl { shared }).set_reinstall_replaces_tokens(parsed.replaces_tokens);
    StatusCode::NO_CONTENT.into_response()
}
