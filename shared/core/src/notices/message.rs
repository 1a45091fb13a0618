//! What a notice and a reminder say: subject, text and HTML bodies, from the templates in
//! `shared/core/templates/notices/`. They say why (inactive N days), when (the reclaim date), how to keep the
//! seat (the keep link, or whom to tell while there is none) and whom to ask, and that nothing is deleted.
//! An org whose policy has a `notice_template` gets its own subject or bodies instead (each part on its own; a
//! part it leaves out keeps the default), rendered with the same facts ([`NoticeTemplate`]).

use askama::Template;

use super::record::NoticeRecord;
use crate::policy::{NoticeTemplate, NoticeVars, TemplatePart};
use crate::ports::OutgoingEmail;

/// What the org tells its members besides the record's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeContext {
    /// The org's name as members know it.
    pub org_name: String,
    /// Whom to ask: a person, a team or an address (e.g. "the IT service desk, it@example.com").
    pub contact: String,
    /// The org's own wording (its policy's `notice_template`); none: the defaults.
    pub template: Option<NoticeTemplate>,
}

impl NoticeContext {
    /// The default wording for `org_name`, with `contact` as whom to ask.
    pub fn new(org_name: impl Into<String>, contact: impl Into<String>) -> Self {
        NoticeContext {
            org_name: org_name.into(),
            contact: contact.into(),
            template: None,
        }
    }

    /// The same context with the org's own templates.
    pub fn with_template(mut self, template: Option<NoticeTemplate>) -> Self {
        self.template = template;
        self
    }

    /// The org's template for `part` rendered with `vars`, when it has one. Its error travels as an askama
    /// error so that a notice that cannot be rendered stops the same way, whichever engine wrote it.
    fn custom(
        &self,
        part: TemplatePart,
        vars: &NoticeVars<'_>,
    ) -> Option<Result<String, askama::Error>> {
        self.template.as_ref()?.render(part, vars).map(|r| {
            r.map_err(|e| askama::Error::Custom(format!("the org's {}: {e}", part.field()).into()))
        })
    }
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

/// The text body's values and the subject: the template reads them as its own fields, through `Deref`.
#[derive(Template)]
#[template(path = "notices/body.html")]
struct HtmlBody<'a> {
    subject: &'a str,
    body: TextBody<'a>,
}

impl<'a> std::ops::Deref for HtmlBody<'a> {
    type Target = TextBody<'a>;
    fn deref(&self) -> &TextBody<'a> {
        &self.body
    }
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
    let vars = NoticeVars {
        org_name: &org_name,
        email: record.email.as_str(),
        days_inactive: record.days_inactive,
        reclaim_on: &reclaim_on,
        days_left,
        keep_url: keep_url.unwrap_or(""),
        contact: &contact,
    };
    // A subject is a header: one line, whatever the settings or the org's template hold.
    let subject = one_line(&match ctx.custom(TemplatePart::Subject, &vars) {
        Some(custom) => custom?,
        None => Subject {
            org_name: &org_name,
            reclaim_on: reclaim_on.clone(),
            days_left,
        }
        .render()?,
    });
    let body = TextBody {
        org_name: &org_name,
        email: record.email.as_str(),
        days_inactive: record.days_inactive,
        reclaim_on: reclaim_on.clone(),
        days_left,
        keep_url,
        contact: &contact,
    };
    let text = match ctx.custom(TemplatePart::Text, &vars) {
        Some(custom) => custom?,
        None => body.render()?,
    };
    let html = match ctx.custom(TemplatePart::Html, &vars) {
        Some(custom) => custom?,
        None => HtmlBody {
            subject: &subject,
            body,
        }
        .render()?,
    };
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
        NoticeContext::new(
            "Acme <Design>\r\nBcc: evil@example.com",
            "the IT desk, it@example.com",
        )
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

    fn custom(template: NoticeTemplate) -> NoticeContext {
        ctx().with_template(Some(template))
    }

    #[test]
    fn the_orgs_template_writes_subject_and_bodies_with_the_values() {
        let c = custom(NoticeTemplate {
            subject: Some(
                "{% if is_reminder %}{{ days_left }} days left{% else %}Seat check{% endif %}: {{ org_name }}\n{{ reclaim_on }}"
                    .into(),
            ),
            text: Some(
                "{{ email }} idle {{ days_inactive }} days; keep: {{ keep_url or 'ask ' ~ contact }}".into(),
            ),
            html: Some("<p>{{ org_name }} <a href=\"{{ keep_url }}\">keep</a></p>".into()),
        });
        let m = render(
            &record(),
            MessageKind::Notice,
            &c,
            Some("https://sam.example.com/keep/t?a&b"),
        )
        .unwrap();
        assert_eq!(
            m.subject, "Seat check: Acme <Design> Bcc: evil@example.com Monday 9 March 2026",
            "one line, whatever the template writes"
        );
        assert_eq!(
            m.text,
            "ada@example.com idle 212 days; keep: https://sam.example.com/keep/t?a&b"
        );
        assert_eq!(
            m.html,
            "<p>Acme &lt;Design&gt; Bcc: evil@example.com <a href=\"https:&#x2f;&#x2f;sam.example.com&#x2f;keep&#x2f;t?a&amp;b\">keep</a></p>"
        );
        let r = render(
            &record(),
            MessageKind::Reminder { days_before: 2 },
            &c,
            None,
        )
        .unwrap();
        assert!(r.subject.starts_with("2 days left: "), "{}", r.subject);
        assert!(
            r.text.ends_with("keep: ask the IT desk, it@example.com"),
            "{}",
            r.text
        );
        assert_eq!(r.reference, format!("{}/reminder-2", record().cycle_key()));
    }

    #[test]
    fn a_part_the_org_leaves_out_keeps_the_default() {
        let c = custom(NoticeTemplate {
            subject: Some("Your {{ org_name }} seat".into()),
            ..NoticeTemplate::default()
        });
        let m = render(&record(), MessageKind::Notice, &c, None).unwrap();
        let d = render(&record(), MessageKind::Notice, &ctx(), None).unwrap();
        assert_eq!(m.subject, "Your Acme <Design> Bcc: evil@example.com seat");
        assert_ne!(m.subject, d.subject);
        assert_eq!(m.text, d.text);
        // The default HTML quotes the subject as its title; the rest is the same.
        assert!(m.html.contains("Nothing is deleted"));
        assert_eq!(
            render(
                &record(),
                MessageKind::Notice,
                &ctx().with_template(None),
                None
            )
            .unwrap(),
            d,
            "no template: the defaults"
        );
    }

    #[test]
    fn a_template_that_fails_at_run_time_is_an_error_naming_the_field() {
        // Parsing a policy refuses this; a context built in code still must not send a broken email.
        let c = custom(NoticeTemplate {
            text: Some("{{ nope }}".into()),
            ..NoticeTemplate::default()
        });
        let e = render(&record(), MessageKind::Notice, &c, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("notice_template.text"), "{e}");
    }
}
