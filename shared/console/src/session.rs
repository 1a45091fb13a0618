//! The signed-in admin as an extractor: every page handler that takes an [`Admin`] refuses anyone without a
//! valid, unexpired session, before it reads any data.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::error::PageError;
use crate::security::cookies;
use crate::security::session::{SESSION_COOKIE, Session, SessionError};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub(crate) struct Admin {
    pub session: Session,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

impl Admin {
    pub fn from_headers(st: &AppState, headers: &HeaderMap) -> Result<Admin, PageError> {
        let value = cookies::read(headers, SESSION_COOKIE).filter(|v| !v.is_empty());
        let opened = match value {
            None => Err(SessionError::Missing),
            Some(v) => st.keys.open(&v, st.now()),
        };
        match opened {
            Ok(session) => Ok(Admin {
                csrf: st.keys.csrf_token(&session),
                session,
            }),
            Err(e) => Err(PageError::Session(e)),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, PageError> {
        if let Some(a) = parts.extensions.get::<Admin>() {
            return Ok(a.clone());
        }
        Admin::from_headers(st, &parts.headers)
    }
}
