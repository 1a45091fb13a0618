//! The SMTP mailer against a real SMTP server: aiosmtpd (`smtp_sink.py`), started by each test from the test
//! Python environment `./scripts/test.sh` installs into `.venv`. The test reads the message the server saved.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::{NaiveDate, TimeZone, Utc};
use miro_sam_core::domain::{Email, MemberId, OrgId, PlanId};
use miro_sam_core::notices::{MessageKind, NoticeContext, NoticeRecord, NoticeState, render};
use miro_sam_core::ports::{MailError, Mailer, OutgoingEmail};
use miro_sam_notify::{DEFAULT_SMTP_TIMEOUT, SmtpMailer};
use secrecy::SecretString;

/// A running `smtp_sink.py`; stops when dropped (its standard input closes).
struct SmtpSink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: the SMTP tests need the test Python environment with aiosmtpd; run them with \
             ./scripts/test.sh, which installs requirements-test.txt into .venv",
            python.display()
        );
        let dir = std::env::temp_dir().join(format!("miro-sam-smtp-{}", uuid_like()));
        let mut child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py"))
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start smtp_sink.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the sink's ready line");
        let port = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("smtp_sink.py did not start: {line:?}"));
        SmtpSink { child, port, dir }
    }

    fn mailer(&self) -> SmtpMailer {
        SmtpMailer::new(
            &SecretString::from(format!("smtp://127.0.0.1:{}", self.port)),
            "miro-sam <it@example.com>",
            DEFAULT_SMTP_TIMEOUT,
        )
        .expect("mailer")
    }

    /// The messages the server accepted, in order.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .expect("sink dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("read message"))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

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
        &NoticeContext {
            org_name: "Acme".into(),
            contact: "the IT desk, it@example.com".into(),
        },
        Some("https://sam.example.com/console/keep?token=abc123&n=1"),
    )
    .unwrap()
}

/// Quoted-printable soft line breaks and escapes undone (what a mail client shows).
fn unquote(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
