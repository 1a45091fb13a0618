//! The query Miro's OAuth redirect brings back to the redirect URI: `code` and `state`, or `error` and
//! `error_description` when the admin declined or Miro refused (RFC 6749 §4.1.2). Parsed here once for the three
//! callbacks (the CLI's loopback, functions/oauth-callback, the console's sign-in), so they agree on what counts
//! as present: an empty value is absent, and the first of a repeated key wins.

use secrecy::SecretString;
use std::fmt;

/// A redirect's query, parsed. Each callback decides the order it checks the parts in (the state first, where
/// taking it has an effect); the code stays a secret from here to the token exchange.
#[derive(Debug, Clone)]
pub struct RedirectQuery {
    /// The CSRF `state` the authorize URL carried, echoed back.
    pub state: Option<String>,
    /// The authorization code: single use, ten minutes.
    pub code: Option<SecretString>,
    /// Miro's answer when there is no code.
    pub error: Option<RedirectError>,
}

/// Miro's `error` (e.g. `access_denied`) and its optional human description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub error: String,
    pub description: Option<String>,
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{} ({d})", self.error),
            None => f.write_str(&self.error),
        }
    }
}

impl RedirectQuery {
    /// From the raw query string (`application/x-www-form-urlencoded`, without the `?`); `None` is an empty one.
    pub fn parse(raw_query: Option<&str>) -> RedirectQuery {
        let raw = raw_query.unwrap_or("");
        Self::from_lookup(|key| {
            url::form_urlencoded::parse(raw.as_bytes())
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        })
    }

    /// From a lookup of one parameter by name, for a server that has already split the query (API Gateway).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> RedirectQuery {
        let get = |key: &str| lookup(key).filter(|v| !v.is_empty());
        RedirectQuery {
            state: get("state"),
            code: get("code").map(SecretString::from),
            error: get("error").map(|error| RedirectError {
                error,
                description: get("error_description"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_code_and_its_state() {
        let q = RedirectQuery::parse(Some("code=abc%2Fd&state=s-1&client_id=x"));
        assert_eq!(q.state.as_deref(), Some("s-1"));
        assert_eq!(q.code.as_ref().map(|c| c.expose_secret()), Some("abc/d"));
        assert!(q.error.is_none());
        assert!(!format!("{q:?}").contains("abc"), "{q:?}");
    }

    #[test]
    fn an_error_with_and_without_description() {
        let q = RedirectQuery::parse(Some(
            "error=access_denied&error_description=The+user+declined&state=s",
        ));
        let e = q.error.expect("an error");
        assert_eq!(e.to_string(), "access_denied (The user declined)");
        assert!(q.code.is_none());
        let q = RedirectQuery::parse(Some("error=server_error&error_description="));
        assert_eq!(q.error.expect("an error").to_string(), "server_error");
    }

    #[test]
    fn empty_values_are_absent_and_the_first_key_wins() {
        let q = RedirectQuery::parse(Some("code=&state=&state=second"));
        assert!(q.code.is_none());
        assert!(q.state.is_none(), "the first (empty) state counts: {q:?}");
        let q = RedirectQuery::parse(Some("state=first&state=second"));
        assert_eq!(q.state.as_deref(), Some("first"));
        let q = RedirectQuery::parse(None);
        assert!(q.state.is_none() && q.code.is_none() && q.error.is_none());
    }

    #[test]
    fn a_lookup_reads_the_same_parts() {
        let q = RedirectQuery::from_lookup(|k| match k {
            "code" => Some("c".into()),
            "state" => Some(String::new()),
            _ => None,
        });
        assert!(q.code.is_some() && q.state.is_none() && q.error.is_none());
    }
}
