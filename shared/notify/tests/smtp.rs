//! The SMTP mailer against a real SMTP server: aiosmtpd (`smtp_sink.py`), started by each test from the test
//! Python environment `./scripts/test.sh` installs into `.venv`. The test reads the message the server saved.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::{SmtpSink, unquote};
use miro_sam_core::domain::{Email, MemberId, OrgId, PlanId};
use miro_sam_core::notices::{MessageKind, NoticeContext, NoticeRecord, NoticeState, render};
use miro_sam_core::ports::{MailError, Mailer, OutgoingEmail};
use miro_sam_notify::{DEFAULT_SMTP_TIMEOUT, SmtpMailer};
use secrecy::SecretString;

fn notice(to: &str) -> OutgoingEmail {
    let record = NoticeRecord {
        org_id: OrgId::parse("3074457345821141000").unwrap(),
        member_id: MemberId::parse("3458764517517852417").unwrap(),
        email: Email::parse(to).unwrap(),
        cycle: 1,
        version: 1,
        state: NoticeState::Sending {
            since: Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap(),
        },
        plan_id: PlanId::new(),
        days_inactive: 212,
        notified_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        reclaim_on: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        reminders: vec![],
        updated_at: Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap(),
    };
    render(
        &record,
        MessageKind::Notice,
        &NoticeContext::new("Acme", "the IT desk, it@example.com"),
        Some("https://sam.example.com/console/keep?token=abc123&n=1"),
    )
    .unwrap()
}

#[tokio::test]
async fn a_notice_reaches_a_real_smtp_server_with_its_keep_link_in_the_html() {
    let sink = SmtpSink::start();
    let email = notice("ada@example.com");
    sink.mailer().send(&email).await.expect("sent");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "one message");
    let raw = &messages[0];
    assert!(raw.contains("To: ada@example.com"), "{raw}");
    assert!(raw.contains("From: miro-sam <it@example.com>"), "{raw}");
    assert!(
        raw.contains(&format!(
            "Message-ID: <{}@miro-sam>",
            email.reference.replace(' ', ".")
        )),
        "the message id is the notice's reference: {raw}"
    );
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let shown = unquote(raw);
    assert!(shown.contains(&email.subject), "subject: {shown}");
    assert!(shown.contains("212 days"), "{shown}");
    // The keep link as the HTML part carries it: the one href, escaped as HTML escapes an `&`.
    let href = shown
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link in the HTML part");
    assert_eq!(
        href.replace("&#38;", "&"),
        "https://sam.example.com/console/keep?token=abc123&n=1"
    );
    assert!(shown.contains("text/plain") && shown.contains("text/html"));
}

#[tokio::test]
async fn a_refused_mailbox_is_rejected_and_nothing_is_saved() {
    let sink = SmtpSink::start();
    let err = sink
        .mailer()
        .send(&notice("nobody@refused.example"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Rejected { .. }), "{err}");
    assert!(err.to_string().contains("550"), "{err}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_not_sent_and_may_be_retried() {
    // A port the sink held and gave back: nothing listens there now.
    let port = {
        let sink = SmtpSink::start();
        sink.port
    };
    let mailer = SmtpMailer::new(
        &SecretString::from(format!("smtp://127.0.0.1:{port}")),
        "it@example.com",
        DEFAULT_SMTP_TIMEOUT,
    )
    .unwrap();
    let err = mailer.send(&notice("ada@example.com")).await.unwrap_err();
    assert!(matches!(err, MailError::NotSent { .. }), "{err}");
}
