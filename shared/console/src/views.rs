//! The page frame every template extends ([`Layout`]), and turning a rendered template into a response.

use askama::Template;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};

use crate::session::Admin;
use crate::state::AppState;

/// What `base.html` needs: where the console lives, the page title, and who is signed in (no navigation and
/// no data for anyone else).
pub(crate) struct Layout {
    pub base: String,
    pub title: String,
    pub admin: Option<Nav>,
    /// The page's main column may use the window's width (the plan's wide candidate table); other pages keep a
    /// line length that reads well.
    pub wide: bool,
}

pub(crate) struct Nav {
    pub email: String,
    pub org_id: String,
    pub org_name: String,
    pub csrf: String,
}

impl Layout {
    pub fn anonymous(st: &AppState, title: &str) -> Self {
        Layout {
            base: st.base.clone(),
            title: title.to_owned(),
            admin: None,
            wide: false,
        }
    }

    pub fn signed_in(st: &AppState, admin: &Admin, org_name: &str, title: &str) -> Self {
        Layout {
            base: st.base.clone(),
            title: title.to_owned(),
            admin: Some(Nav {
                email: admin.session.email.clone(),
                org_id: admin.session.org.to_string(),
                org_name: org_name.to_owned(),
                csrf: admin.csrf.clone(),
            }),
            wide: false,
        }
    }
}

/// A rendered page, or a 500 if a template failed (it never should: templates are checked at compile time).
pub(crate) fn html(t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The page could not be rendered; the console's logs say why.",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage<'a> {
    pub layout: Layout,
    pub message: &'a str,
    /// (href, label) of the one thing to do next.
    pub next: Option<(String, String)>,
}

pub(crate) fn message_page(
    layout: Layout,
    message: &str,
    next: Option<(String, String)>,
) -> Response {
    html(&MessagePage {
        layout,
        message,
        next,
    })
}
