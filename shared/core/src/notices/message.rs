//! What a notice and a reminder say: subject, text and HTML bodies, from the templates in
//! `shared/core/templates/notices/`. They say why (inactive N days), when (the reclaim date), how to keep the
//! seat (the keep link, or whom to tell while there is none) and whom to ask, and that nothing is deleted.
//! Per-org wording is for later; these defaults are what every org gets now.

use askama::Template;

use super::record::NoticeRecord;
use crate::ports::OutgoingEmail;

/// What the org tells its members besides the record's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeContext {
    /// The org's name as members know it.
    pub org_name: String,
    /// Whom to ask: a person, a team or an address (e.g. "the IT service desk, it@example.com").
    pub contact: String,
}

/// Which message of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Notice,
    Reminder { days_before: u32 },
}

impl MessageKind {
    fn reference_suffix(self) -> String {
        match self {
            MessageKind::Notice => "notice".into(),
            MessageKind::Reminder { days_before } => format!("reminder-{days_before}"),
        }
    }
}

#[derive(Template)]
#[template(path = "notices/subject.txt")]
struct Subject<'a> {
    org_name: &'a str,
    reclaim_on: String,
    days_left: Option<u32>,
}

#[derive(Template)]
#[template(path = "notices/body.txt")]
struct TextBody<'a> {
    org_name: &'a str,
    email: &'a str,
    days_inactive: i64,
    reclaim_on: String,
    days_left: Option<u32>,
    keep_url: Option<&'a str>,
    contact: &'a str,
}

#[derive(Template)]
#[template(path = "notices/body.html")]
struct HtmlBody<'a> {
    subject: &'a str,
    org_name: &'a str,
    email: &'a str,
    days_inactive: i64,
    reclaim_on: String,
    days_left: Option<u32>,
    keep_url: Option<&'a str>,
    contact: &'a str,
}

/// The email for `kind` of the record's cycle. `keep_url` is the member's keep link, when the deployment serves
/// one; without it the message says whom to tell instead.
pub fn render(
    record: &NoticeRecord,
    kind: MessageKind,
    ctx: &NoticeContext,
    keep_url: Option<&str>,
) -> Result<OutgoingEmail, askama::Error> {
    let days_left = match kind {
        MessageKind::Notice => None,
        MessageKind::Reminder { days_before } => Some(days_before),
    };
    let reclaim_on = record.reclaim_on.format("%A %-d %B %Y").to_string();
    let org_name = one_line(&ctx.org_name);
    let contact = one_line(&ctx.contact);
    // A subject is a header: one line, whatever the settings hold.
    let subject = one_line(
        &Subject {
            org_name: &org_name,
            reclaim_on: reclaim_on.clone(),
            days_left,
        }
        .render()?,
    );
    let text = TextBody {
        org_name: &org_name,
        email: record.email.as_str(),
        days_inactive: record.days_inactive,
        reclaim_on: reclaim_on.clone(),
        days_left,
        keep_url,
        contact: &contact,
    }
    .render()?;
    let html = HtmlBody {
        subject: &subject,
        org_name: &org_name,
        email: record.email.as_str(),
        days_inactive: record.days_inactive,
        reclaim_on,
        days_left,
        keep_url,
        contact: &contact,
    }
    .render()?;
    Ok(OutgoingEmail {
        to: record.email.clone(),
        subject,
        text,
        html,
        reference: format!("{}/{}", record.cycle_key(), kind.reference_suffix()),
    })
}

/// Control characters (line breaks included) become spaces, runs of whitespace one space.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::domain::{Email, MemberId, OrgId, PlanId};
    use crate::notices::NoticeState;

    fn record() -> NoticeRecord {
        NoticeRecord {
            org_id: OrgId::parse("3074457345821141000").unwrap(),
            member_id: MemberId::parse("3458764517517852417").unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            cycle: 2,
            version: 1,
            state: NoticeState::Notified,
            plan_id: PlanId::new(),
            days_inactive: 212,
            notified_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            reclaim_on: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            reminders: vec![],
            updated_at: Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap(),
        }
    }

    fn ctx() -> NoticeContext {
        NoticeContext {
            org_name: "Acme <Design>\r\nBcc: evil@example.com".into(),
            contact: "the IT desk, it@example.com".into(),
        }
    }

    #[test]
    fn the_notice_says_why_when_how_to_keep_and_whom_to_ask() {
        let m = render(
            &record(),
            MessageKind::Notice,
            &ctx(),
            Some("https://sam.example.com/keep?t=a&b"),
        )
        .unwrap();
        assert_eq!(m.to.as_str(), "ada@example.com");
        assert!(
            !m.subject.contains('\n') && !m.subject.contains('\r'),
            "{}",
            m.subject
        );
        assert!(m.subject.contains("Monday 9 March 2026"), "{}", m.subject);
        for body in [&m.text, &m.html] {
            assert!(body.contains("212 days"), "why: {body}");
            assert!(body.contains("Monday 9 March 2026"), "when: {body}");
            assert!(
                body.contains("the IT desk, it@example.com"),
                "whom to ask: {body}"
            );
            assert!(body.contains("Nothing is deleted"), "{body}");
        }
        assert!(m.text.contains("https://sam.example.com/keep?t=a&b"));
        // HTML escapes what it quotes: the link's `&` and the org name's angle brackets.
        assert!(
            m.html.contains("https://sam.example.com/keep?t=a&#38;b"),
            "{}",
            m.html
        );
        assert!(m.html.contains("Acme &#60;Design&#62;"), "{}", m.html);
        assert!(!m.html.contains("<Design>"));
        assert!(m.html.contains("Keep my license"));
        assert_eq!(m.reference, format!("{}/notice", record().cycle_key()));
    }

    #[test]
    fn without_a_keep_link_the_message_says_whom_to_tell() {
        let m = render(&record(), MessageKind::Notice, &ctx(), None).unwrap();
        assert!(
            m.text.contains("To keep your license, tell the IT desk"),
            "{}",
            m.text
        );
        assert!(!m.html.contains("Keep my license"));
    }

    #[test]
    fn a_reminder_counts_the_days_left() {
        let m = render(
            &record(),
            MessageKind::Reminder { days_before: 2 },
            &ctx(),
            None,
        )
        .unwrap();
        assert!(m.subject.starts_with("Reminder:"), "{}", m.subject);
        assert!(m.subject.contains("2 days left"));
        assert!(m.text.contains("in 2 days"), "{}", m.text);
        assert!(m.reference.ends_with("/reminder-2"));
    }
}
