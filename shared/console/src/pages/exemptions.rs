//! Exemptions (part of the policy: adding or removing one saves a new policy version) and holds (their own
//! records, placed by undos).

use askama::Template;
use axum::response::Response;
use miro_sam_core::policy::{Exemption, ExemptionMatch};

use super::PageRequest;
use super::policy_edit::{current, policy_of, save, version_of};
use crate::error::PageError;
use crate::form::FormData;
use crate::format::{sentence, when};
use crate::state::AppState;
use crate::views::{Layout, html, message_page};

/// Holds listed on the page (an org accumulates one per undo; the rest are counted).
const HOLD_ROWS: usize = 200;

pub(crate) struct ExemptionRow {
    pub index: usize,
    pub kind: &'static str,
    pub value: String,
    pub reason: String,
    pub expires: String,
    pub in_force: bool,
}

pub(crate) struct HoldRow {
    pub member_id: String,
    pub email: String,
    pub reason: String,
    pub by: String,
    pub until: String,
    pub in_force: bool,
}

#[derive(Template)]
#[template(path = "exemptions.html")]
pub(crate) struct ExemptionsPage {
    pub layout: Layout,
    pub version: u32,
    pub exemptions: Vec<ExemptionRow>,
    pub holds: Vec<HoldRow>,
    pub more_holds: usize,
    pub csrf: String,
}

pub(crate) async fn exemptions(p: PageRequest) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let now = st.now();
    let cur = current(st, &admin.session.org).await?;
    let policy = policy_of(&cur);
    let holds = st.deps.store.list_holds(&admin.session.org).await?;
    let more_holds = holds.len().saturating_sub(HOLD_ROWS);
    let page = ExemptionsPage {
        layout: p.layout("Exemptions and holds"),
        version: version_of(&cur),
        exemptions: policy
            .exemptions
            .iter()
            .enumerate()
            .map(|(index, e)| {
                let (kind, value) = match &e.matcher {
                    ExemptionMatch::Email(x) => ("email", x.to_string()),
                    ExemptionMatch::Domain(x) => ("domain", x.to_string()),
                    ExemptionMatch::AdminRole(x) => ("admin role", x.clone()),
                };
                ExemptionRow {
                    index,
                    kind,
                    value,
                    reason: e.reason.clone(),
                    expires: e.expires_at.map(when).unwrap_or_else(|| "never".into()),
                    in_force: e.applies_at(now),
                }
            })
            .collect(),
        holds: holds
            .into_iter()
            .take(HOLD_ROWS)
            .map(|h| HoldRow {
                member_id: h.member_id.to_string(),
                email: h.email.to_string(),
                in_force: h.applies_at(now),
                reason: h.reason,
                by: h.created_by,
                until: when(h.expires_at),
            })
            .collect(),
        more_holds,
        csrf: admin.csrf.clone(),
    };
    Ok(html(&page))
}

fn back(st: &AppState) -> Option<(String, String)> {
    Some((
        format!("{}/exemptions", st.base),
        "Back to exemptions and holds".into(),
    ))
}

/// The exemption a form describes, or what is wrong with it (the core checks it as it checks the CLI's flags).
fn exemption_of(form: &FormData) -> Result<Exemption, PageError> {
    let field = |name| form.get(name).unwrap_or_default();
    Exemption::from_input(
        field("kind"),
        field("value"),
        field("reason"),
        form.text("expires"),
    )
    .map_err(|e| PageError::BadRequest(sentence(&e.to_string())))
}

/// `POST {base}/exemptions/add`: the current policy plus one exemption, saved as the next version.
pub(crate) async fn add(p: PageRequest, form: FormData) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let cur = super::policy::editing(&p, &form).await?;
    let exemption = exemption_of(&form)?;
    let mut policy = policy_of(&cur);
    let what = exemption.matcher.to_string();
    policy.exemptions.push(exemption);
    let saved = save(st, admin, &policy).await?;
    Ok(message_page(
        p.layout("Exemption added"),
        &format!(
            "Added the exemption for {what}: saved as policy version {}. The next plan applies it.",
            saved.version
        ),
        back(st),
    ))
}

/// `POST {base}/exemptions/remove`: the current policy without exemption `index`, saved as the next version.
pub(crate) async fn remove(p: PageRequest, form: FormData) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let cur = super::policy::editing(&p, &form).await?;
    let mut policy = policy_of(&cur);
    let index = form
        .get("index")
        .and_then(|i| i.parse::<usize>().ok())
        .filter(|i| *i < policy.exemptions.len())
        .ok_or_else(|| {
            PageError::BadRequest("That exemption does not exist; reload the page.".into())
        })?;
    let removed = policy.exemptions.remove(index);
    let saved = save(st, admin, &policy).await?;
    Ok(message_page(
        p.layout("Exemption removed"),
        &format!(
            "Removed the exemption for {}: saved as policy version {}. The next plan no longer applies it.",
            removed.matcher, saved.version
        ),
        back(st),
    ))
}
