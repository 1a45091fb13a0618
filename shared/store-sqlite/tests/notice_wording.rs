//! The org's own notice wording, end to end on a real (in-memory) SQLite store: the policy's `notice_template`
//! and `notice_contact` are what the day's notices say (`notices_after_plan` reads them from the org's latest
//! policy), and an org without them gets the default wording and the deployment's contact.

use std::sync::Arc;

use chrono::Duration;
use miro_client::Member;
use miro_sam_core::notices::{
    DigestChannels, NoKeepLinks, NoticeSettings, notice_context, notices_after_plan,
};
use miro_sam_core::policy::{NoticeTemplate, Policy};
use miro_sam_core::ports::{FixedClock, OutgoingEmail};
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::notice_world::{
    Outbox, member, notice_deps, org, plan_the_day, reclaiming_policy, seed_org, start,
};

const DEPLOYMENT_CONTACT: &str = "the deployment's desk, desk@example.com";

fn policy(template: Option<NoticeTemplate>, contact: Option<&str>) -> Policy {
    Policy {
        notice_days: 7,
        reminder_days_before: vec![2],
        notice_contact: contact.map(str::to_owned),
        notice_template: template,
        ..reclaiming_policy(1_000)
    }
}

/// One member idle for 200 days, the policy stored, the day planned and its notices run: what was sent.
async fn notices_of_the_day(policy: Policy) -> Vec<OutgoingEmail> {
    let start = start();
    let store = SqliteStore::in_memory().unwrap();
    let org = org();
    let ada = Member {
        email: "ada@example.com".into(),
        ..member(1, start - Duration::days(200))
    };
    seed_org(&store, &org, &[ada], &policy, start).await;
    let plan_id = plan_the_day(&store, &org, start).await;
    let outbox = Arc::new(Outbox::default());
    let deps = notice_deps(
        Arc::new(store.clone()),
        outbox.clone(),
        Arc::new(FixedClock::new(start)),
    );
    let settings = NoticeSettings {
        contact: DEPLOYMENT_CONTACT.into(),
        keep_links: Arc::new(NoKeepLinks),
        digest: DigestChannels::default(),
    };
    let report = notices_after_plan(&deps, &org, plan_id, &settings)
        .await
        .unwrap();
    assert_eq!(report.summary.notified, 1, "{report:?}");

    let ctx = notice_context(&store, &org, DEPLOYMENT_CONTACT)
        .await
        .unwrap();
    assert_eq!(
        ctx.contact,
        policy
            .notice_contact
            .as_deref()
            .unwrap_or(DEPLOYMENT_CONTACT)
    );
    assert_eq!(ctx.template, policy.notice_template);
    outbox.take()
}

#[tokio::test]
async fn the_orgs_template_and_contact_write_the_notice() {
    let template = NoticeTemplate {
        subject: Some("{{ org_name }} seat check: {{ reclaim_on }}".into()),
        text: Some(
            "{{ email }}: {{ days_inactive }} days idle. {% if keep_url %}Keep: {{ keep_url }}{% else %}Tell \
             {{ contact }}{% endif %}{% if is_reminder %} ({{ days_left }} days left){% endif %}."
                .into(),
        ),
        html: Some("<p>Ask <b>{{ contact }}</b></p>".into()),
    };
    let sent = notices_of_the_day(policy(Some(template), Some("Grace <grace@example.com>"))).await;
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.to.as_str(), "ada@example.com");
    // The org was never connected here, so its name is its id.
    assert_eq!(
        m.subject,
        "3074457345821141000 seat check: Monday 9 March 2026"
    );
    assert_eq!(
        m.text,
        "ada@example.com: 200 days idle. Tell Grace <grace@example.com>."
    );
    assert_eq!(m.html, "<p>Ask <b>Grace &lt;grace@example.com&gt;</b></p>");
}

#[tokio::test]
async fn without_them_the_default_wording_and_the_deployments_contact() {
    let sent = notices_of_the_day(policy(None, None)).await;
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert!(
        m.subject
            .contains("license will be freed on Monday 9 March 2026"),
        "{}",
        m.subject
    );
    assert!(m.text.contains("200 days"), "{}", m.text);
    assert!(m.text.contains(DEPLOYMENT_CONTACT), "{}", m.text);
    assert!(m.html.contains("Nothing is deleted"), "{}", m.html);
}
