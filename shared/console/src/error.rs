//! Everything that can go wrong for a request, each as a clear page: what happened and what to do, and never
//! any of the org's data. Handlers return [`PageError`]; its response carries a [`Failure`] that the
//! `render_failures` layer turns into the page (it has the configuration the page needs, a plain
//! `IntoResponse` does not).

use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use miro_sam_core::StoreError;
use miro_sam_core::jobs::JobError;

use crate::security::cookies;
use crate::security::session::{SESSION_COOKIE, SessionError};
use crate::state::AppState;
use crate::views::{self, Layout};

#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    #[error("session: {0:?}")]
    Session(SessionError),
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// Sign-in refused: who may not use the console, or an org that is not connected.
    #[error("{title}: {message}")]
    Refused { title: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// What the failure page shows.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    /// Offer the sign-in link (the session is missing, ended or not ours).
    pub sign_in: bool,
    /// Remove the session cookie (it is not valid).
    pub clear_session: bool,
}

impl PageError {
    fn failure(&self) -> Failure {
        let f = |status, title: &str, message: String| Failure {
            status,
            title: title.to_owned(),
            message,
            sign_in: false,
            clear_session: false,
        };
        match self {
            PageError::Session(SessionError::Missing) => Failure {
                sign_in: true,
                ..f(
                    StatusCode::UNAUTHORIZED,
                    "Sign in",
                    "Sign in with Miro to see your organization's seats. Only Company Admins of an \
                     organization connected to miro-sam can use the console."
                        .into(),
                )
            },
            PageError::Session(SessionError::Invalid) => Failure {
                sign_in: true,
                clear_session: true,
                ..f(
                    StatusCode::UNAUTHORIZED,
                    "Session not valid",
                    "Your session cookie is not one this console issued: it was changed, cut short, or signed \
                     with another key (the console's key may have been rotated). Nothing was shown or changed. \
                     Sign in again."
                        .into(),
                )
            },
            PageError::Session(SessionError::Expired { at }) => Failure {
                sign_in: true,
                clear_session: true,
                ..f(
                    StatusCode::UNAUTHORIZED,
                    "Session ended",
                    format!(
                        "Your session ended at {} (sessions last 8 hours). Sign in again.",
                        at.format("%Y-%m-%d %H:%M UTC")
                    ),
                )
            },
            PageError::Csrf => f(
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form did not carry this session's security token, so nothing was changed. It may come \
                 from another site, or from a page opened before you last signed in. Reload the page and \
                 try again."
                    .into(),
            ),
            PageError::Refused { title, message } => {
                f(StatusCode::FORBIDDEN, title, message.clone())
            }
            PageError::NotFound(m) => f(StatusCode::NOT_FOUND, "Not found", m.clone()),
            PageError::BadRequest(m) => f(StatusCode::BAD_REQUEST, "Cannot do that", m.clone()),
            PageError::Conflict(m) => f(StatusCode::CONFLICT, "Changed in the meantime", m.clone()),
            PageError::Job(e) => job_failure(e),
            PageError::Store(e) => store_failure(e),
            PageError::Internal(m) => f(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                format!("{m}. Try again; if it keeps happening, the console's logs say more."),
            ),
        }
    }
}

fn job_failure(e: &JobError) -> Failure {
    let (status, title) = match e {
        JobError::Refused(_) | JobError::InvalidRequest(_) | JobError::NotACandidate { .. } => {
            (StatusCode::CONFLICT, "Refused")
        }
        JobError::PlanNotFound { .. } | JobError::MemberNotFound { .. } => {
            (StatusCode::NOT_FOUND, "Not found")
        }
        JobError::Domain(_) => (StatusCode::BAD_REQUEST, "Cannot do that"),
        JobError::Store(s) => return store_failure(s),
        JobError::Miro(_) | JobError::TokenExpired { .. } => {
            (StatusCode::BAD_GATEWAY, "Miro did not answer as expected")
        }
        JobError::Busy { .. } => (StatusCode::CONFLICT, "Busy"),
    };
    Failure {
        status,
        title: title.into(),
        // The jobs' messages say what happened and what to do; they never carry a token.
        message: e.to_string(),
        sign_in: false,
        clear_session: false,
    }
}

fn store_failure(e: &StoreError) -> Failure {
    Failure {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Storage did not answer".into(),
        message: format!("{e}. Nothing more was changed; try again in a moment."),
        sign_in: false,
        clear_session: false,
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let failure = self.failure();
        if failure.status.is_server_error() {
            tracing::error!(error = %self, "console request failed");
        }
        let mut res = failure.status.into_response();
        res.extensions_mut().insert(failure);
        res
    }
}

/// Turns a [`Failure`] into its page.
pub(crate) async fn render_failures(
    State(st): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    let Some(failure) = res.extensions().get::<Failure>().cloned() else {
        return res;
    };
    let layout = Layout::anonymous(&st, &failure.title);
    let mut page = views::message_page(
        layout,
        &failure.message,
        failure.sign_in.then(|| sign_in_href(&st)),
    )
    .into_response();
    *page.status_mut() = failure.status;
    if failure.clear_session
        && let Ok(v) = HeaderValue::from_str(&cookies::clear(
            SESSION_COOKIE,
            &st.base,
            st.config.secure_cookies,
        ))
    {
        page.headers_mut().append(SET_COOKIE, v);
    }
    page
}

fn sign_in_href(st: &AppState) -> (String, String) {
    if st.deps.oauth_app.is_some() {
        (format!("{}/login", st.base), "Sign in with Miro".into())
    } else {
        (
            format!("{}/", st.base),
            "Run `miro-sam serve` again for a new login link".into(),
        )
    }
}
