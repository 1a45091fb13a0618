//! The member's "keep my license" page, reached from the link in a notice (`{base}/keep/{token}`, minted by
//! `miro_sam_links::SignedKeepLinks`). Members are not admins: nobody signs in here, the signed token is the
//! whole credential (it binds org, member and notice cycle, and expires after the reclaim date).
//!
//! Why GET shows and only POST keeps: mail scanners and link previewers open every link in an email; if opening
//! the link kept the seat, every notice would be "kept" before its member read it. So GET verifies the token,
//! reads the cycle and shows one button; the button's POST records the keep ([`keep_seat`], which is safe to
//! repeat: a second POST answers what the first one did).
//!
//! These routes sit outside the console's CSRF check (no session to bind a token to): a forged cross-site POST
//! would need the token, and with it the attacker could post anyway. The token never goes to the logs: the
//! console logs no request paths itself, and [`loggable_path`] is what a host that logs paths must print.

use std::borrow::Cow;

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use miro_sam_core::notices::{
    CycleRef, KeepOutcome, NoticeError, NoticeRecord, NoticeState, keep_seat,
};
use miro_sam_links::{KEEP_PATH, KeepLinkError, KeepTarget, verify_keep_token};

use crate::error::PageError;
use crate::format::{sentence, when};
use crate::state::AppState;
use crate::views::{Layout, html};

const TITLE: &str = "Keep your Miro license";

#[derive(Template)]
#[template(path = "keep.html")]
pub(crate) struct KeepPage {
    pub layout: Layout,
    pub email: String,
    pub org_name: String,
    pub reclaim_on: String,
    pub days_inactive: i64,
    /// Why there is nothing to keep (no button then), or `None` when the seat can still be kept.
    pub closed: Option<String>,
}

#[derive(Template)]
#[template(path = "keep_done.html")]
pub(crate) struct KeepDonePage {
    pub layout: Layout,
    pub message: String,
    pub detail: String,
}

/// `path` as a log line may show it: the token of a keep link replaced by `…` (whoever reads the logs could
/// otherwise keep the member's seat). Hosts that log request paths (the console Lambda) print this.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    let marker = format!("{KEEP_PATH}/");
    match path.find(&marker) {
        Some(at) => Cow::Owned(format!("{}…", &path[..at + marker.len()])),
        None => Cow::Borrowed(path),
    }
}

/// `GET {base}/keep/{token}`: whose seat, which org, the reclaim date and one button. Changes nothing.
pub(crate) async fn show(
    State(st): State<AppState>,
    KeepLink(target): KeepLink,
) -> Result<Response, PageError> {
    let record = st
        .deps
        .store
        .get_notice(&target.org, &target.member)
        .await?;
    let org_name = org_name(&st, &target).await?;
    let Some(r) = record else {
        return Ok(closed_page(
            &st,
            "There is no notice for this link, so there is nothing to keep. If you received this email \
             recently, ask your Miro administrator.",
        ));
    };
    let page = KeepPage {
        layout: Layout::anonymous(&st, TITLE),
        email: r.email.to_string(),
        org_name,
        reclaim_on: day(r.reclaim_on),
        days_inactive: r.days_inactive,
        closed: why_closed(&r, &target),
    };
    Ok(html(&page))
}

/// `POST {base}/keep/{token}`: records the keep for the token's cycle; the answer says what happened.
pub(crate) async fn keep(
    State(st): State<AppState>,
    KeepLink(target): KeepLink,
) -> Result<Response, PageError> {
    let store = st.deps.store.as_ref();
    let cycle = CycleRef {
        org: &target.org,
        member: &target.member,
        cycle: target.cycle,
    };
    let (message, detail) = match keep_seat(store, store, cycle, st.now()).await {
        Ok(KeepOutcome::Kept { hold_until }) => (
            format!("You keep your license until {}.", when(hold_until)),
            "Nothing else to do: miro-sam will not free it before then. If you stop using Miro for a long \
             time after that, you may get another notice."
                .to_owned(),
        ),
        Ok(KeepOutcome::Requested) => (
            "Your request was sent to your administrators.".to_owned(),
            "They decide whether you keep your license; until they do, it is not freed.".to_owned(),
        ),
        Err(e) => return Err(keep_failure(e)),
    };
    Ok(html(&KeepDonePage {
        layout: Layout::anonymous(&st, TITLE),
        message,
        detail,
    }))
}

/// The target of the path's keep token; a link that does not work is answered with the page that says why.
pub(crate) struct KeepLink(KeepTarget);

impl FromRequestParts<AppState> for KeepLink {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let Path(token) = Path::<String>::from_request_parts(parts, st)
            .await
            .map_err(IntoResponse::into_response)?;
        verify(st, &token)
            .map(KeepLink)
            .map_err(|(status, why)| refusal(st, status, &why))
    }
}

/// The token's target, or the status and words of the page that says why the link does not work (never the
/// token itself).
fn verify(st: &AppState, token: &str) -> Result<KeepTarget, (StatusCode, String)> {
    let Some(key) = st.config.keep_link_key.as_ref() else {
        return Err((
            StatusCode::NOT_FOUND,
            "Keep links are not set up on this console, so this link cannot keep your license. Ask your Miro \
             administrator to keep it for you."
                .into(),
        ));
    };
    verify_keep_token(key, token, st.now()).map_err(|e| {
        let status = match e {
            KeepLinkError::Malformed => StatusCode::BAD_REQUEST,
            KeepLinkError::Forged => StatusCode::FORBIDDEN,
            KeepLinkError::Expired { .. } => StatusCode::GONE,
        };
        tracing::info!(reason = ?e, "keep link refused");
        (status, sentence(&e.to_string()))
    })
}

/// Why the record's cycle cannot be kept through this token, or `None` when it can.
fn why_closed(r: &NoticeRecord, target: &KeepTarget) -> Option<String> {
    if r.cycle != target.cycle {
        return Some(
            "This link belongs to an earlier notice, so it keeps nothing. Use the link in your latest notice."
                .into(),
        );
    }
    match &r.state {
        NoticeState::Kept { hold_until, .. } => Some(format!(
            "You already kept your license: it stays yours until {}. Nothing else to do.",
            when(*hold_until)
        )),
        NoticeState::KeepRequested { .. } => Some(
            "You already asked to keep your license; your administrators decide. Until they do, it is not \
             freed."
                .into(),
        ),
        NoticeState::DroppedOut { .. } => Some(
            "Your license is no longer set to be freed, so there is nothing to keep. Nothing else to do.".into(),
        ),
        NoticeState::Reclaimed { .. } => Some(
            "Your license was already freed. Ask your Miro administrator to restore your access.".into(),
        ),
        _ => None,
    }
}

fn keep_failure(e: NoticeError) -> PageError {
    match e {
        NoticeError::KeepRefused(m) => PageError::Conflict(sentence(&m)),
        NoticeError::Contended { .. } => PageError::Conflict(
            "Your license was being updated at the same moment; press the button again.".into(),
        ),
        NoticeError::Store(s) => PageError::Store(s),
        other => PageError::Internal(format!("the keep could not be recorded: {other}")),
    }
}

async fn org_name(st: &AppState, target: &KeepTarget) -> Result<String, PageError> {
    Ok(st
        .deps
        .store
        .get_org(&target.org)
        .await?
        .map_or_else(|| target.org.to_string(), |o| o.name))
}

fn closed_page(st: &AppState, message: &str) -> Response {
    html(&KeepDonePage {
        layout: Layout::anonymous(st, TITLE),
        message: message.to_owned(),
        detail: String::new(),
    })
}

fn refusal(st: &AppState, status: StatusCode, message: &str) -> Response {
    let mut res = html(&KeepDonePage {
        layout: Layout::anonymous(st, "This link does not work"),
        message: message.to_owned(),
        detail: String::new(),
    })
    .into_response();
    *res.status_mut() = status;
    res
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keep_token_never_reaches_a_log_line() {
        assert_eq!(
            loggable_path("/console/keep/k1.1.2.3.4.abcdef"),
            "/console/keep/…"
        );
        assert_eq!(loggable_path("/keep/k1.secret"), "/keep/…");
        assert_eq!(loggable_path("/console/plans"), "/console/plans");
    }
}
