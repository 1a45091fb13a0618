//! Every POST of the admin console is checked here, before any handler runs: it needs a valid session and the
//! session's CSRF token in its form (`csrf` field). Why a middleware and not a check in each handler: a handler
//! added later cannot forget it. The one exception is the members' keep page (`/keep/{token}`, merged outside
//! this layer in `lib.rs`): its signed token is the credential, no session exists to bind a CSRF token to, and a
//! forged cross-site POST would need that token anyway. The parsed form and the session travel on to the handler in the request's extensions.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::PageError;
use crate::form::FormData;
use crate::session::Admin;
use crate::state::AppState;

/// The largest form the console accepts (a policy document is the biggest thing posted).
pub const MAX_FORM_BYTES: usize = 256 * 1024;

pub(crate) async fn require_csrf(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let admin = match Admin::from_headers(&st, &parts.headers) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return PageError::BadRequest(format!(
                "the form is larger than {} KiB; shorten it and send it again",
                MAX_FORM_BYTES / 1024
            ))
            .into_response();
        }
    };
    let form = FormData::parse(&bytes);
    let token = form.get("csrf").unwrap_or_default();
    if !st.keys.csrf_ok(&admin.session, token) {
        tracing::warn!(user = %admin.session.user_id, path = %parts.uri.path(), "console POST refused: CSRF token missing or wrong");
        return PageError::Csrf.into_response();
    }
    parts.extensions.insert(admin);
    parts.extensions.insert(form);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
