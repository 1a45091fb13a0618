//! The notice settings in the console's policy editor: they are shown in words, a policy with notice settings,
//! a contact and the org's own templates goes through review and save unchanged, and a template that does not
//! compile is refused with the field named and nothing stored.

mod common;
mod support;

use common::*;
use miro_sam_core::ports::OrgStore;

/// The value cell of the notice settings row of `field`.
fn setting<'a>(page: &'a str, field: &str) -> &'a str {
    cell(page, &format!("<code>{field}</code>"))
}

#[tokio::test]
async fn notice_settings_and_templates_are_shown_edited_and_checked() {
    let c = console(Options::members(5)).await;
    let b = c.signed_in_browser().await;
    let (page, csrf) = c.form_page(&b, "/policy").await;
    let before = c.w.store.latest_policy(&c.w.org).await.unwrap().unwrap();
    let version = before.version.to_string();
    assert_eq!(
        setting(&page, "notice_template"),
        "not set: the default wording"
    );
    assert!(
        page.contains(
            "org_name, email, days_inactive, reclaim_on, days_left, keep_url, contact, is_reminder"
        ),
        "the variables are listed"
    );
    // The sample notice in the default wording, with the console's keep link.
    assert!(
        page.contains("The notice, as a member would get it")
            && page.contains("Miro license will be freed on")
            && page.contains("unless you keep it")
            && page.contains("/console/keep/sample"),
        "{page}"
    );

    let broken =
        r#"{"notice_days": 10, "notice_template": {"html": "<p>{% if keep_url %}Keep</p>"}}"#;
    let (status, page) = c.post_policy(&b, "preview", &csrf, &version, broken).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("Not saved") && page.contains("notice_template.html cannot be used"),
        "{page}"
    );
    let (status, _) = c.post_policy(&b, "save", &csrf, &version, broken).await;
    assert_eq!(status, 422);
    assert_eq!(c.policy_version().await, before.version, "nothing stored");

    let good = r#"{
        "notice_days": 10,
        "reminder_days_before": [3, 1],
        "keep_days": 30,
        "keep_needs_approval": true,
        "reclaim_without_notice_on_bounce": true,
        "notice_contact": "Grace at the IT desk, it@example.com",
        "notice_template": {
            "subject": "{% if is_reminder %}{{ days_left }} days left: {% endif %}your {{ org_name }} seat",
            "html": "<p>Inactive {{ days_inactive }} days. <a href=\"{{ keep_url }}\">Keep</a></p>"
        }
    }"#;
    let (status, page) = c.post_policy(&b, "preview", &csrf, &version, good).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(
            "+   &#34;notice_contact&#34;: &#34;Grace at the IT desk, it@example.com&#34;"
        ),
        "the diff shows the new fields: {page}"
    );
    let (status, page) = c.post_policy(&b, "save", &csrf, &version, good).await;
    assert_eq!(status, 200, "{page}");
    let saved = c.w.store.latest_policy(&c.w.org).await.unwrap().unwrap();
    assert_eq!(saved.version, before.version + 1);
    let p = &saved.policy;
    assert_eq!(
        (p.notice_days, p.reminder_days_before.clone(), p.keep_days),
        (10, vec![3, 1], 30)
    );
    assert!(p.keep_needs_approval && p.reclaim_without_notice_on_bounce);
    assert_eq!(
        p.notice_contact.as_deref(),
        Some("Grace at the IT desk, it@example.com")
    );
    let t = p.notice_template.as_ref().unwrap();
    assert_eq!(
        t.subject.as_deref(),
        Some("{% if is_reminder %}{{ days_left }} days left: {% endif %}your {{ org_name }} seat")
    );
    assert!(t.text.is_none());

    let (_, page) = c.get(&b, "/policy").await;
    for (field, shown) in [
        (
            "notice_days",
            "10 (members are told 10 days before the reclaim)",
        ),
        ("reminder_days_before", "3 days before, 1 day before"),
        ("keep_needs_approval", "yes"),
        ("notice_contact", "Grace at the IT desk, it@example.com"),
        (
            "notice_template",
            "the org&#39;s own subject, html (the rest: the default wording)",
        ),
    ] {
        assert_eq!(setting(&page, field), shown, "{field}");
    }
    // The samples follow the org's templates: the subject of each, the default text body (no text template),
    // whom to ask from notice_contact.
    assert!(
        page.contains("<strong>Subject:</strong> your "),
        "the notice's own subject: {page}"
    );
    assert!(
        page.contains("The reminder 3 days before")
            && page.contains("<strong>Subject:</strong> 3 days left: your "),
        "{page}"
    );
    assert!(page.contains("Questions? Ask Grace at the IT desk, it@example.com."));
    // The editor holds the stored templates, escaped as text.
    assert!(
        page.contains("&#34;subject&#34;: &#34;{% if is_reminder %}{{ days_left }} days left: {% endif %}your {{ org_name }} seat&#34;"),
        "{page}"
    );
}
