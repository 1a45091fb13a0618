//! The console's own settings from the environment (the names are in `miro_sam_lambda::env`), validated once at
//! cold start. Everything else (table, queue, Miro, the app's credentials) comes from the shared `Settings` and
//! `AwsConfig` every function reads.

use miro_sam_core::domain::Email;
use miro_sam_lambda::{SettingsError, env, read_var};
use url::Url;

/// Where the console lives under the HTTP API (the template routes `/console` and `/console/{proxy+}` here).
pub const BASE_PATH: &str = "/console";

#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// The Secrets Manager secret holding the session key.
    pub session_key_name: String,
    /// The origin browsers reach the API at (no path).
    pub public_url: Url,
    pub admin_emails: Option<Vec<Email>>,
    pub price_per_seat_month_minor: Option<u64>,
    pub currency: String,
}

/// The console's settings are refused as every function's are: naming the variable and the value.
pub type ConsoleSettingsError = SettingsError;

impl ConsoleSettings {
    pub fn from_env() -> Result<Self, ConsoleSettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Over any lookup, so tests need not touch the process environment.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConsoleSettingsError> {
        let read = |var: &str| read_var(&lookup, var);
        let invalid = SettingsError::invalid;

        let session_key_name =
            read(env::CONSOLE_SESSION_KEY_NAME).ok_or(ConsoleSettingsError::Missing {
                var: env::CONSOLE_SESSION_KEY_NAME,
                what: "the name of the Secrets Manager secret with the console's session key",
            })?;

        let raw_url = read(env::CONSOLE_PUBLIC_URL).ok_or(ConsoleSettingsError::Missing {
            var: env::CONSOLE_PUBLIC_URL,
            what: "the origin browsers reach the console at, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com",
        })?;
        let public_url = Url::parse(&raw_url)
            .map_err(|e| invalid(env::CONSOLE_PUBLIC_URL, &raw_url, e.to_string()))?;
        // Cookies are Secure on AWS, so the browser must reach the console over HTTPS; a path would put the
        // callback somewhere the routes do not serve.
        if public_url.scheme() != "https" {
            return Err(invalid(
                env::CONSOLE_PUBLIC_URL,
                &raw_url,
                "must be an https:// origin (the session cookie is Secure)".into(),
            ));
        }
        if public_url.path() != "/" || public_url.query().is_some() {
            return Err(invalid(
                env::CONSOLE_PUBLIC_URL,
                &raw_url,
                format!(
                    "must be an origin without a path or query; the console adds {BASE_PATH} itself"
                ),
            ));
        }

        let admin_emails = match read(env::CONSOLE_ADMIN_EMAILS) {
            None => None,
            Some(list) => {
                let emails = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        Email::parse(s).map_err(|e| {
                            invalid(env::CONSOLE_ADMIN_EMAILS, &list, format!("{s:?}: {e}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(emails).filter(|v| !v.is_empty())
            }
        };

        let price_per_seat_month_minor = read(env::CONSOLE_SEAT_PRICE_MINOR)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    invalid(
                        env::CONSOLE_SEAT_PRICE_MINOR,
                        &v,
                        "expected a whole number of minor units (cents), e.g. 1000 for 10.00"
                            .into(),
                    )
                })
            })
            .transpose()?;

        let currency = read(env::CONSOLE_CURRENCY).unwrap_or_else(|| "USD".into());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                env::CONSOLE_CURRENCY,
                &currency,
                "expected an ISO 4217 code such as USD or EUR".into(),
            ));
        }

        Ok(ConsoleSettings {
            session_key_name,
            public_url,
            admin_emails,
            price_per_seat_month_minor,
            currency,
        })
    }

    /// The sign-in redirect URI: what the Miro app's redirect URI list must include.
    pub fn callback_url(&self) -> String {
        format!(
            "{}{BASE_PATH}/auth/callback",
            self.public_url.as_str().trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miro_sam_testkit::env::lookup;

    const ORIGIN: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";

    #[test]
    fn the_minimum_is_a_key_name_and_an_origin() {
        let s = ConsoleSettings::from_lookup(lookup(&[
            (env::CONSOLE_SESSION_KEY_NAME, "stack/console-session-key"),
            (env::CONSOLE_PUBLIC_URL, ORIGIN),
        ]))
        .unwrap();
        assert_eq!(s.session_key_name, "stack/console-session-key");
        assert_eq!(s.callback_url(), format!("{ORIGIN}/console/auth/callback"));
        assert!(s.admin_emails.is_none());
        assert!(s.price_per_seat_month_minor.is_none());
        assert_eq!(s.currency, "USD");
    }

    #[test]
    fn optional_values_are_read() {
        let s = ConsoleSettings::from_lookup(lookup(&[
            (env::CONSOLE_SESSION_KEY_NAME, "k"),
            (env::CONSOLE_PUBLIC_URL, ORIGIN),
            (
                env::CONSOLE_ADMIN_EMAILS,
                " Jane@Acme.example , bo@acme.example,",
            ),
            (env::CONSOLE_SEAT_PRICE_MINOR, "1000"),
            (env::CONSOLE_CURRENCY, "EUR"),
        ]))
        .unwrap();
        let emails: Vec<String> = s
            .admin_emails
            .unwrap()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(emails, ["jane@acme.example", "bo@acme.example"]);
        assert_eq!(s.price_per_seat_month_minor, Some(1000));
        assert_eq!(s.currency, "EUR");
    }

    #[test]
    fn missing_and_bad_values_name_the_variable() {
        let err =
            ConsoleSettings::from_lookup(lookup(&[(env::CONSOLE_PUBLIC_URL, ORIGIN)])).unwrap_err();
        assert!(
            err.to_string().contains(env::CONSOLE_SESSION_KEY_NAME),
            "{err}"
        );
        let err = ConsoleSettings::from_lookup(lookup(&[(env::CONSOLE_SESSION_KEY_NAME, "k")]))
            .unwrap_err();
        assert!(err.to_string().contains(env::CONSOLE_PUBLIC_URL), "{err}");
        for (var, value) in [
            (
                env::CONSOLE_PUBLIC_URL,
                "http://abc123.execute-api.us-east-1.amazonaws.com",
            ),
            (env::CONSOLE_PUBLIC_URL, "https://abc123.example/console"),
            (env::CONSOLE_PUBLIC_URL, "not a url"),
            (env::CONSOLE_ADMIN_EMAILS, "jane@acme.example, nobody"),
            (env::CONSOLE_SEAT_PRICE_MINOR, "10.00"),
            (env::CONSOLE_CURRENCY, "dollars"),
        ] {
            let mut pairs = vec![
                (env::CONSOLE_SESSION_KEY_NAME, "k"),
                (env::CONSOLE_PUBLIC_URL, ORIGIN),
            ];
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            let err = ConsoleSettings::from_lookup(lookup(&pairs)).unwrap_err();
            assert_eq!(err.refused(), Some((var, value)), "{err}");
        }
    }
}
