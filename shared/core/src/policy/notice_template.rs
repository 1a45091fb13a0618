//! An org's own notice wording: the policy's optional `notice_template` (subject, text and HTML body, each
//! optional) and `notice_contact`. They are minijinja templates rendered per email, because admins write them in
//! a browser: askama (the defaults in `templates/notices/`) is compiled into the binary and cannot be.
//!
//! Every template is compiled and rendered with sample values when the policy is parsed, so a typo is refused
//! in the editor with the field's name, not discovered on the day the notices go out. Undefined variables are
//! errors for the same reason (`{{ keepurl }}` would otherwise render as nothing).

use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// The longest template source accepted: a notice is a few paragraphs, and the policy document is stored whole
/// with every version.
pub const MAX_TEMPLATE_CHARS: usize = 20_000;
/// The longest `notice_contact`: a name and an address or a link, not a letter.
pub const MAX_CONTACT_CHARS: usize = 300;
/// Template steps one render may take: far more than any notice needs, few enough that a loop written by
/// mistake ends at once.
const FUEL: u64 = 100_000;

/// The variables a template can use, e.g. `{{ days_inactive }}` or `{% if is_reminder %}`.
pub const TEMPLATE_VARIABLES: [&str; 8] = [
    "org_name",
    "email",
    "days_inactive",
    "reclaim_on",
    "days_left",
    "keep_url",
    "contact",
    "is_reminder",
];

/// The org's own subject and bodies; a part left out keeps the default wording.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// HTML body; every variable is HTML-escaped (autoescape), so `{{ org_name }}` cannot inject markup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// Which part of the email a template writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart {
    Subject,
    Text,
    Html,
}

impl TemplatePart {
    /// The field's name in the policy document, which is also the template's name in errors.
    pub fn field(self) -> &'static str {
        match self {
            TemplatePart::Subject => "notice_template.subject",
            TemplatePart::Text => "notice_template.text",
            TemplatePart::Html => "notice_template.html",
        }
    }
}

/// What one email's templates are rendered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeVars<'a> {
    pub org_name: &'a str,
    pub email: &'a str,
    pub days_inactive: i64,
    /// The reclaim date as the email says it (e.g. "Monday 9 March 2026").
    pub reclaim_on: &'a str,
    /// Days before the reclaim date, for a reminder; none for the notice.
    pub days_left: Option<u32>,
    /// The member's keep link; empty when the deployment serves none.
    pub keep_url: &'a str,
    pub contact: &'a str,
}

impl NoticeTemplate {
    /// The org's template for `part`, if it has one.
    pub fn part(&self, part: TemplatePart) -> Option<&str> {
        match part {
            TemplatePart::Subject => self.subject.as_deref(),
            TemplatePart::Text => self.text.as_deref(),
            TemplatePart::Html => self.html.as_deref(),
        }
    }

    /// `part` rendered with `vars`, or `None` when the org keeps the default wording for it.
    pub fn render(
        &self,
        part: TemplatePart,
        vars: &NoticeVars<'_>,
    ) -> Option<Result<String, minijinja::Error>> {
        self.part(part)
            .map(|source| render_source(part, source, vars))
    }

    /// Each template compiles and renders a notice and a reminder (with and without a keep link); the subject
    /// is not empty. Errors name the field and say what minijinja found.
    pub(super) fn validate(&self) -> Result<(), DomainError> {
        // A notice with a keep link and a reminder without one: both branches of the usual `{% if %}`s.
        let samples = [
            samples_base(),
            NoticeVars {
                days_left: Some(2),
                keep_url: "",
                ..samples_base()
            },
        ];
        for part in [
            TemplatePart::Subject,
            TemplatePart::Text,
            TemplatePart::Html,
        ] {
            let Some(source) = self.part(part) else {
                continue;
            };
            let field = part.field();
            if source.chars().count() > MAX_TEMPLATE_CHARS {
                return Err(DomainError::InvalidPolicy(format!(
                    "{field} is {} characters long; at most {MAX_TEMPLATE_CHARS} are allowed",
                    source.chars().count()
                )));
            }
            unknown_variables(part, source)?;
            for vars in &samples {
                let out = render_source(part, source, vars).map_err(|e| {
                    DomainError::InvalidPolicy(format!(
                        "{field} cannot be used: {e}. The variables are {}",
                        TEMPLATE_VARIABLES.join(", ")
                    ))
                })?;
                if part == TemplatePart::Subject && out.trim().is_empty() {
                    return Err(DomainError::InvalidPolicy(format!(
                        "{field} renders an empty subject (for a {}); write a subject for notices and reminders \
                         alike, or remove the field to keep the default",
                        if vars.days_left.is_some() {
                            "reminder"
                        } else {
                            "notice"
                        }
                    )));
                }
            }
        }
        Ok(())
    }
}

fn samples_base() -> NoticeVars<'static> {
    NoticeVars {
        org_name: "Acme",
        email: "ada@example.com",
        days_inactive: 120,
        reclaim_on: "Monday 9 March 2026",
        days_left: None,
        keep_url: "https://sam.example.com/keep/k1.sample",
        contact: "the IT desk",
    }
}

/// `notice_contact`, when set, must say something and stay short.
pub(super) fn validate_contact(contact: &str) -> Result<(), DomainError> {
    if contact.trim().is_empty() {
        return Err(DomainError::InvalidPolicy(
            "notice_contact is empty; say whom members should ask (e.g. \"the IT desk, it@example.com\") or \
             remove the field to use the deployment's contact"
                .into(),
        ));
    }
    if contact.chars().count() > MAX_CONTACT_CHARS {
        return Err(DomainError::InvalidPolicy(format!(
            "notice_contact is {} characters long; at most {MAX_CONTACT_CHARS} are allowed",
            contact.chars().count()
        )));
    }
    Ok(())
}

/// The engine a part is rendered with: strict about undefined names, fuel-limited, HTML escaped for `html`.
fn environment(part: TemplatePart) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(move |_| match part {
        TemplatePart::Html => AutoEscape::Html,
        TemplatePart::Subject | TemplatePart::Text => AutoEscape::None,
    });
    env
}

/// Refuses a template that names a variable miro-sam does not give (a typo such as `keepurl`): rendering would
/// only say "undefined value", this names it. Builtins (`range`, `namespace`, ...) are not variables.
fn unknown_variables(part: TemplatePart, source: &str) -> Result<(), DomainError> {
    let field = part.field();
    let env = environment(part);
    let template = env
        .template_from_named_str(field, source)
        .map_err(|e| DomainError::InvalidPolicy(format!("{field} cannot be used: {e}")))?;
    let globals: Vec<&str> = env.globals().map(|(name, _)| name).collect();
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !TEMPLATE_VARIABLES.contains(&v.as_str()) && !globals.contains(&v.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    Err(DomainError::InvalidPolicy(format!(
        "{field} uses {}, which miro-sam does not know; the variables are {}",
        unknown
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", "),
        TEMPLATE_VARIABLES.join(", ")
    )))
}

fn render_source(
    part: TemplatePart,
    source: &str,
    vars: &NoticeVars<'_>,
) -> Result<String, minijinja::Error> {
    environment(part).render_named_str(
        part.field(),
        source,
        context! {
            org_name => vars.org_name,
            email => vars.email,
            days_inactive => vars.days_inactive,
            reclaim_on => vars.reclaim_on,
            days_left => vars.days_left,
            keep_url => vars.keep_url,
            contact => vars.contact,
            is_reminder => vars.days_left.is_some(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn err(json: &str) -> String {
        Policy::from_json(json).unwrap_err().to_string()
    }

    fn vars() -> NoticeVars<'static> {
        NoticeVars {
            org_name: "Acme <R&D>",
            days_left: Some(3),
            ..samples_base()
        }
    }

    #[test]
    fn a_custom_template_renders_every_variable() {
        let t = NoticeTemplate {
            text: Some(
                "{{ org_name }}|{{ email }}|{{ days_inactive }}|{{ reclaim_on }}|{{ days_left }}|{{ keep_url }}|\
                 {{ contact }}|{{ is_reminder }}"
                    .into(),
            ),
            ..NoticeTemplate::default()
        };
        let out = t.render(TemplatePart::Text, &vars()).unwrap().unwrap();
        assert_eq!(
            out,
            "Acme <R&D>|ada@example.com|120|Monday 9 March 2026|3|https://sam.example.com/keep/k1.sample|\
             the IT desk|True"
        );
        assert!(
            t.render(TemplatePart::Html, &vars()).is_none(),
            "no html template: the default"
        );
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = NoticeTemplate {
            text: Some("{{ org_name }}".into()),
            html: Some("<p>{{ org_name }}</p>".into()),
            ..NoticeTemplate::default()
        };
        assert_eq!(
            t.render(TemplatePart::Html, &vars()).unwrap().unwrap(),
            "<p>Acme &lt;R&amp;D&gt;</p>"
        );
        assert_eq!(
            t.render(TemplatePart::Text, &vars()).unwrap().unwrap(),
            "Acme <R&D>"
        );
    }

    #[test]
    fn broken_templates_are_refused_at_parse_naming_the_field() {
        let e = err(r#"{"notice_template": {"subject": "Seat {% if is_reminder %}reminder"}}"#);
        assert!(e.contains("notice_template.subject cannot be used"), "{e}");
        assert!(e.contains("syntax error"), "{e}");
        let e = err(r#"{"notice_template": {"html": "<a href='{{ keepurl }}'>Keep</a>"}}"#);
        assert!(
            e.contains("notice_template.html uses `keepurl`, which miro-sam does not know"),
            "{e}"
        );
        assert!(e.contains("keep_url"), "the error lists the variables: {e}");
        assert!(
            !e.starts_with("invalid reclaim policy: invalid reclaim policy"),
            "said once: {e}"
        );
        // Builtins and names a template sets itself are not unknown variables.
        Policy::from_json(
            r#"{"notice_template": {"text": "{% set n = namespace(x=1) %}{% for i in range(2) %}{{ i }}{% endfor %}{{ n.x }}"}}"#,
        )
        .unwrap();
        // A name the checker cannot see statically still fails the sample render.
        let e = err(r#"{"notice_template": {"text": "{{ email.nope }}"}}"#);
        assert!(e.contains("notice_template.text cannot be used"), "{e}");
        let e =
            err(r#"{"notice_template": {"subject": "{% if is_reminder %}Reminder{% endif %}"}}"#);
        assert!(e.contains("renders an empty subject (for a notice)"), "{e}");
        let e = err(r#"{"notice_template": {"body": "x"}}"#);
        assert!(e.contains("unknown field"), "{e}");
        let long = "x".repeat(MAX_TEMPLATE_CHARS + 1);
        let e = err(&format!(r#"{{"notice_template": {{"text": "{long}"}}}}"#));
        assert!(
            e.contains("notice_template.text is 20001 characters long"),
            "{e}"
        );
        let e = err(
            r#"{"notice_template": {"text": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"}}"#,
        );
        assert!(
            e.contains("notice_template.text cannot be used"),
            "a runaway loop runs out of fuel: {e}"
        );
    }

    #[test]
    fn the_contact_is_checked() {
        assert!(err(r#"{"notice_contact": "  "}"#).contains("notice_contact is empty"));
        let long = "x".repeat(MAX_CONTACT_CHARS + 1);
        assert!(err(&format!(r#"{{"notice_contact": "{long}"}}"#)).contains("at most 300"));
    }

    #[test]
    fn templates_and_contact_round_trip_and_old_documents_have_none() {
        let p = Policy::from_json(
            r#"{"notice_days": 7, "notice_contact": "Grace, it@example.com",
                "notice_template": {"subject": "{{ org_name }}: your seat on {{ reclaim_on }}"}}"#,
        )
        .unwrap();
        assert_eq!(p.notice_contact.as_deref(), Some("Grace, it@example.com"));
        let t = p.notice_template.clone().unwrap();
        assert!(t.text.is_none() && t.html.is_none());
        let json = p.to_json_pretty();
        assert_eq!(Policy::from_json(&json).unwrap(), p);
        let old = Policy::from_json(r#"{"notice_days": 7}"#).unwrap();
        assert!(old.notice_contact.is_none() && old.notice_template.is_none());
        assert!(
            !old.to_json_pretty().contains("notice_template"),
            "a policy without templates is written as before"
        );
    }
}
