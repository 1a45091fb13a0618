//! Email addresses as Miro and SCIM use them: the join key between a REST member and a SCIM user.

use super::newtype::parsed_string;
use crate::error::DomainError;

/// A trimmed address with exactly one `@`, a non-empty local part and a dotted domain, with ASCII letters
/// lowercased. Lowercasing ASCII is safe because Miro and SCIM compare addresses case-insensitively; full Unicode
/// lowercasing is NOT: it maps look-alikes onto other people's addresses (the Kelvin sign `K`, U+212A, lowercases to
/// an ASCII `k`), and this value is the key that finds the SCIM user to deactivate.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim().to_ascii_lowercase();
        let err = |problem| DomainError::NotAnEmail {
            value: s.to_owned(),
            problem,
        };
        if t.chars().any(char::is_whitespace) {
            return Err(err("it contains whitespace"));
        }
        let mut parts = t.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) => (l, d),
            (_, None, _) => return Err(err("it has no '@'")),
            _ => return Err(err("it has more than one '@'")),
        };
        if local.is_empty() {
            return Err(err("the part before '@' is empty"));
        }
        if !is_dotted_domain(domain) {
            return Err(err(
                "the part after '@' is not a domain such as example.com",
            ));
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, lowercase.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }
}

/// An email domain for policy exemptions ("contractors.example.com"); matches that domain exactly, not its
/// subdomains, so an exemption never silently covers more people than written.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim().trim_start_matches('@').to_ascii_lowercase();
        if !is_dotted_domain(&t) || t.chars().any(char::is_whitespace) {
            return Err(DomainError::NotADomain {
                value: s.to_owned(),
            });
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, email: &Email) -> bool {
        email.domain() == self.0
    }
}

fn is_dotted_domain(d: &str) -> bool {
    !d.is_empty()
        && d.contains('.')
        && d.split('.').all(|label| !label.is_empty())
        && !d.contains('@')
}

parsed_string!(Email);
parsed_string!(EmailDomain);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        let e = Email::parse("  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "jane.doe@example.com");
        assert_eq!(e.domain(), "example.com");
    }

    /// Full Unicode case folding would turn `\u{212A}im@example.com` (Kelvin sign) into `kim@example.com`,
    /// another person's address.
    #[test]
    fn only_ascii_letters_are_folded() {
        let kelvin = Email::parse("\u{212A}im@Example.com").unwrap();
        assert_eq!(kelvin.as_str(), "\u{212A}im@example.com");
        assert_ne!(kelvin, Email::parse("kim@example.com").unwrap());
        let d = EmailDomain::parse("\u{212A}.example.com").unwrap();
        assert_ne!(d, EmailDomain::parse("k.example.com").unwrap());
    }

    #[test]
    fn bad_emails_say_why() {
        let cases = [
            ("", "no '@'"),
            ("jane", "no '@'"),
            ("a@b@c.com", "more than one"),
            ("@example.com", "before '@'"),
            ("jane@localhost", "not a domain"),
            ("jane@example.", "not a domain"),
            ("jane@.com", "not a domain"),
            ("ja ne@example.com", "whitespace"),
        ];
        for (input, expected) in cases {
            let msg = Email::parse(input).unwrap_err().to_string();
            assert!(msg.contains(expected), "{input:?}: {msg}");
        }
    }

    #[test]
    fn domains_match_exactly() {
        let d = EmailDomain::parse("@Contractors.Example.com").unwrap();
        assert!(d.matches(&Email::parse("x@contractors.example.com").unwrap()));
        assert!(!d.matches(&Email::parse("x@example.com").unwrap()));
        assert!(!d.matches(&Email::parse("x@sub.contractors.example.com").unwrap()));
        assert!(EmailDomain::parse("nodot").is_err());
    }
}
