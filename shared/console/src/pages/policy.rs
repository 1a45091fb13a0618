//! The policy: view its JSON, edit it with validation errors shown and a diff against the current version
//! before saving (nothing is stored until the admin confirms the diff), and pause or resume the org.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use miro_sam_core::domain::{Email, MemberId, OrgId, PlanId};
use miro_sam_core::jobs;
use miro_sam_core::notices::{
    MessageKind, NoticeContext, NoticeRecord, NoticeState, reclaim_date, render,
};
use miro_sam_core::policy::{Policy, TEMPLATE_VARIABLES, VersionedPolicy};
use similar::{ChangeTag, TextDiff};

use super::PageRequest;
use super::policy_edit::{check_version, current, policy_of, save, version_of};
use crate::error::PageError;
use crate::form::FormData;
use crate::format::when;
use crate::views::{Layout, html, message_page};

#[derive(Template)]
#[template(path = "policy.html")]
pub(crate) struct PolicyPage {
    pub layout: Layout,
    pub version: u32,
    pub meta: String,
    pub current_json: String,
    /// What the textarea holds: the current JSON, or what the admin sent when it was refused.
    pub draft: String,
    pub error: Option<String>,
    pub paused: Option<String>,
    /// The current policy's notice settings in words (they are edited in the JSON like every other field).
    pub notices: Vec<(&'static str, String)>,
    /// The variables a `notice_template` part can use, comma-separated.
    pub template_variables: String,
    /// A sample notice and reminder as the current policy writes them.
    pub samples: Vec<SampleEmail>,
    pub csrf: String,
}

/// One sample email of the policy page.
pub(crate) struct SampleEmail {
    pub label: String,
    pub subject: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "policy_preview.html")]
pub(crate) struct PreviewPage {
    pub layout: Layout,
    pub version: u32,
    /// (css class, line) with the sign in front.
    pub diff: Vec<(&'static str, String)>,
    pub unchanged: bool,
    pub json: String,
    pub csrf: String,
}

async fn page(
    p: &PageRequest,
    draft: Option<String>,
    error: Option<String>,
) -> Result<PolicyPage, PageError> {
    let PageRequest { st, admin, org, .. } = p;
    let cur = current(st, &admin.session.org).await?;
    let current = policy_of(&cur);
    let current_json = current.to_json_pretty();
    Ok(PolicyPage {
        layout: p.layout("Policy"),
        version: version_of(&cur),
        meta: match &cur {
            Some(p) => format!(
                "Version {}, saved {} by {}.",
                p.version,
                when(p.created_at),
                p.created_by
            ),
            None => {
                "No policy stored yet: the default below applies (a dry run) until one is saved."
                    .into()
            }
        },
        draft: draft.unwrap_or_else(|| current_json.clone()),
        current_json,
        error,
        paused: st
            .deps
            .store
            .get_pause(&admin.session.org)
            .await?
            .map(|p| p.to_string()),
        notices: notice_settings(&current),
        samples: sample_emails(
            &current,
            &org.name,
            &format!(
                "{}{}",
                st.config.public_url.as_str().trim_end_matches('/'),
                st.base
            ),
            st.now(),
        ),
        template_variables: TEMPLATE_VARIABLES.join(", "),
        csrf: admin.csrf.clone(),
    })
}

/// A notice and (when the policy has one) a reminder to a sample member, written as the org's members would get
/// them under `p`: its templates or the defaults. The console does not know the deployment's contact, so
/// without `notice_contact` the sample says where it would go.
fn sample_emails(
    p: &Policy,
    org_name: &str,
    console_url: &str,
    now: DateTime<Utc>,
) -> Vec<SampleEmail> {
    let today = now.date_naive();
    let (Ok(org_id), Ok(member_id), Ok(email)) = (
        OrgId::parse("1"),
        MemberId::parse("1"),
        Email::parse("member@example.com"),
    ) else {
        return Vec::new();
    };
    let record = NoticeRecord {
        org_id,
        member_id,
        email,
        cycle: 1,
        version: 1,
        state: NoticeState::Notified,
        plan_id: PlanId::new(),
        days_inactive: i64::from(p.inactivity_days.get()),
        notified_on: today,
        reclaim_on: reclaim_date(p, today),
        reminders: Vec::new(),
        updated_at: now,
    };
    let ctx = NoticeContext::new(
        if org_name.trim().is_empty() {
            "your org"
        } else {
            org_name
        },
        p.notice_contact
            .as_deref()
            .unwrap_or("(the deployment's contact setting)"),
    )
    .with_template(p.notice_template.clone());
    let keep_url = format!("{console_url}/keep/sample");
    let mut kinds = vec![("The notice".to_owned(), MessageKind::Notice)];
    if let Some(&days_before) = p.reminders().first() {
        kinds.push((
            format!("The reminder {days_before} days before"),
            MessageKind::Reminder { days_before },
        ));
    }
    kinds
        .into_iter()
        .map(
            |(label, kind)| match render(&record, kind, &ctx, Some(&keep_url)) {
                Ok(m) => SampleEmail {
                    label,
                    subject: m.subject,
                    text: m.text,
                },
                Err(e) => SampleEmail {
                    label,
                    subject: "(cannot be written)".into(),
                    text: e.to_string(),
                },
            },
        )
        .collect()
}

/// The notice settings of `p` as the page lists them.
fn notice_settings(p: &Policy) -> Vec<(&'static str, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let reminders = if p.reminders().is_empty() {
        "none".to_owned()
    } else {
        p.reminders()
            .iter()
            .map(|&d| format!("{d} {} before", if d == 1 { "day" } else { "days" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let custom = p.notice_template.as_ref().map_or_else(Vec::new, |t| {
        [
            ("subject", &t.subject),
            ("text", &t.text),
            ("html", &t.html),
        ]
        .into_iter()
        .filter(|(_, part)| part.is_some())
        .map(|(name, _)| name)
        .collect()
    });
    vec![
        (
            "notice_days",
            if p.notices_enabled() {
                format!(
                    "{} (members are told {} days before the reclaim)",
                    p.notice_days, p.notice_days
                )
            } else {
                "0 (notices are off: reclaims go ahead without a word)".to_owned()
            },
        ),
        ("reminder_days_before", reminders),
        (
            "keep_days",
            format!(
                "{} (how long a keep holds the member out of plans)",
                p.keep_days
            ),
        ),
        ("keep_needs_approval", yes_no(p.keep_needs_approval)),
        (
            "reclaim_without_notice_on_bounce",
            yes_no(p.reclaim_without_notice_on_bounce),
        ),
        (
            "notice_contact",
            p.notice_contact
                .clone()
                .unwrap_or_else(|| "not set: the deployment's contact".to_owned()),
        ),
        (
            "notice_template",
            if custom.is_empty() {
                "not set: the default wording".to_owned()
            } else {
                format!(
                    "the org's own {} (the rest: the default wording)",
                    custom.join(", ")
                )
            },
        ),
    ]
}

pub(crate) async fn policy(p: PageRequest) -> Result<Response, PageError> {
    Ok(html(&page(&p, None, None).await?))
}

/// The posted JSON as a policy, or the page again with the error and the text as sent (nothing stored).
async fn parsed(p: &PageRequest, form: &FormData) -> Result<Result<Policy, Response>, PageError> {
    let text = form.get("policy").unwrap_or_default();
    match Policy::from_json(text) {
        Ok(policy) => Ok(Ok(policy)),
        Err(e) => {
            let mut res =
                html(&page(p, Some(text.to_owned()), Some(e.to_string())).await?).into_response();
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(Err(res))
        }
    }
}

/// What a form that changes the policy starts from: the org's current policy, which must be the version the form
/// was shown (a page left open while someone else saved is refused, not saved over the newer version).
pub(crate) async fn editing(
    p: &PageRequest,
    form: &FormData,
) -> Result<Option<VersionedPolicy>, PageError> {
    let cur = current(&p.st, p.org_id()).await?;
    check_version(form, &cur)?;
    Ok(cur)
}

/// `POST {base}/policy/preview`: validate, then show the diff and ask for confirmation.
pub(crate) async fn preview(p: PageRequest, form: FormData) -> Result<Response, PageError> {
    let cur = editing(&p, &form).await?;
    let new = match parsed(&p, &form).await? {
        Ok(policy) => policy,
        Err(page) => return Ok(page),
    };
    let (old_json, new_json) = (policy_of(&cur).to_json_pretty(), new.to_json_pretty());
    let diff = TextDiff::from_lines(&old_json, &new_json)
        .iter_all_changes()
        .map(|c| {
            let (class, sign) = match c.tag() {
                ChangeTag::Delete => ("del", '-'),
                ChangeTag::Insert => ("add", '+'),
                ChangeTag::Equal => ("", ' '),
            };
            (
                class,
                format!("{sign} {}", c.value().trim_end_matches('\n')),
            )
        })
        .collect();
    Ok(html(&PreviewPage {
        layout: p.layout("Review the policy change"),
        version: version_of(&cur),
        diff,
        unchanged: old_json == new_json,
        // One line: a hidden field carries it back unchanged.
        json: serde_json::to_string(&new).map_err(|e| PageError::Internal(e.to_string()))?,
        csrf: p.admin.csrf.clone(),
    }))
}

/// `POST {base}/policy/save`: the reviewed policy becomes the next version.
pub(crate) async fn save_policy(p: PageRequest, form: FormData) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    editing(&p, &form).await?;
    let new = match parsed(&p, &form).await? {
        Ok(policy) => policy,
        Err(page) => return Ok(page),
    };
    let saved = save(st, admin, &new).await?;
    Ok(message_page(
        p.layout("Policy saved"),
        &format!(
            "Saved as policy version {}. The next plan uses it.",
            saved.version
        ),
        Some((format!("{}/policy", st.base), "Back to the policy".into())),
    ))
}

/// `POST {base}/pause`: the kill switch.
pub(crate) async fn pause(p: PageRequest, form: FormData) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let reason = form.text("reason").unwrap_or("paused from the console");
    let paused = jobs::pause_org(
        st.deps.store.as_ref(),
        &admin.session.org,
        reason,
        &admin.session.actor(),
        st.now(),
    )
    .await?;
    Ok(message_page(
        p.layout("Paused"),
        &format!(
            "Reclaims are {paused}. Nothing is sent to Miro for this org until it is resumed."
        ),
        Some((format!("{}/policy", st.base), "Back to the policy".into())),
    ))
}

/// `POST {base}/resume`.
pub(crate) async fn resume(p: PageRequest) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let was = jobs::resume_org(
        st.deps.store.as_ref(),
        &admin.session.org,
        &admin.session.actor(),
        st.now(),
    )
    .await?;
    Ok(message_page(
        p.layout("Resumed"),
        match was {
            Some(_) => {
                "Reclaims are resumed. Reclaims that ended skipped while paused stay skipped: the next plan names them again."
            }
            None => "The org was not paused; nothing changed.",
        },
        Some((format!("{}/policy", st.base), "Back to the policy".into())),
    ))
}
