//! The notice settings (issue 12) from the environment, part of [`crate::Settings`]. Every one is optional: a
//! deployment without a sender sends no notices, without a webhook secret posts no chat digest, without a keep-link
//! key sends notices without a keep link. What is set must be valid, and the error names the variable.

use miro_sam_core::domain::Email;
use miro_sam_core::notices::DEFAULT_SEND_RATE;

use crate::env;
use crate::settings::SettingsError;

/// Whom members should ask, unless the deployment says otherwise.
pub const DEFAULT_CONTACT: &str = "your Miro administrator";

#[derive(Debug, Clone, PartialEq)]
pub struct NoticeConfig {
    /// The sender ([`env::NOTICE_FROM`]); `None`: no notices from this deployment.
    pub from: Option<Email>,
    pub contact: String,
    /// Messages per second.
    pub send_rate: f64,
    pub digest_to: Vec<Email>,
    /// `{public origin}{console base}`, no trailing slash ([`env::CONSOLE_URL`]).
    pub console_url: Option<String>,
    pub webhook_secret_name: Option<String>,
    pub keep_link_key_name: Option<String>,
    /// The SES configuration set to send through ([`env::NOTICE_CONFIGURATION_SET`]), where bounces are published.
    pub configuration_set: Option<String>,
}

impl NoticeConfig {
    pub(crate) fn from_read(read: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let invalid = SettingsError::invalid;
        let from = read(env::NOTICE_FROM)
            .map(|v| Email::parse(&v).map_err(|e| invalid(env::NOTICE_FROM, &v, e.to_string())))
            .transpose()?;
        let send_rate = match read(env::NOTICE_SEND_RATE) {
            None => DEFAULT_SEND_RATE,
            Some(v) => match v.parse::<f64>() {
                Ok(r) if r.is_finite() && r > 0.0 && r <= 1000.0 => r,
                _ => {
                    return Err(invalid(
                        env::NOTICE_SEND_RATE,
                        &v,
                        "expected messages per second above 0 and at most 1000 (SES shows the account's rate \
                         under Account dashboard > Sending limits)"
                            .into(),
                    ));
                }
            },
        };
        let digest_to = match read(env::DIGEST_TO) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    Email::parse(s)
                        .map_err(|e| invalid(env::DIGEST_TO, &list, format!("{s:?}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let console_url = read(env::CONSOLE_URL)
            .map(|v| {
                // Members open the link from their mail: it must be a full URL, https unless on this machine.
                let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                    .iter()
                    .any(|p| v.starts_with(p));
                if (v.starts_with("https://") || local) && !v.contains(['?', '#', ' ']) {
                    Ok(v.trim_end_matches('/').to_owned())
                } else {
                    Err(invalid(
                        env::CONSOLE_URL,
                        &v,
                        "expected the console's https:// URL with its base path, e.g. \
                         https://abc123.execute-api.eu-west-1.amazonaws.com/console"
                            .into(),
                    ))
                }
            })
            .transpose()?;
        Ok(NoticeConfig {
            from,
            contact: read(env::NOTICE_CONTACT).unwrap_or_else(|| DEFAULT_CONTACT.into()),
            send_rate,
            digest_to,
            console_url,
            webhook_secret_name: read(env::WEBHOOK_SECRET_NAME),
            keep_link_key_name: read(env::KEEP_LINK_KEY_SECRET_NAME),
            configuration_set: read(env::NOTICE_CONFIGURATION_SET)
                .map(|v| {
                    // SES's rule for configuration set names: up to 64 letters, digits, `_` and `-`.
                    if v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b)) {
                        Ok(v)
                    } else {
                        Err(invalid(
                            env::NOTICE_CONFIGURATION_SET,
                            &v,
                            "expected an SES configuration set name: up to 64 letters, digits, _ and -".into(),
                        ))
                    }
                })
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<NoticeConfig, SettingsError> {
        let m: HashMap<&str, &str> = pairs.iter().copied().collect();
        let lookup = |k: &str| m.get(k).map(|v| v.to_string());
        NoticeConfig::from_read(|k| crate::settings::read_var(&lookup, k))
    }

    #[test]
    fn unset_means_no_notices_and_the_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.from, None);
        assert_eq!(c.contact, DEFAULT_CONTACT);
        assert_eq!(c.send_rate, DEFAULT_SEND_RATE);
        assert!(c.digest_to.is_empty());
        assert_eq!(
            (c.console_url, c.webhook_secret_name, c.keep_link_key_name),
            (None, None, None)
        );
        assert_eq!(c.configuration_set, None);
    }

    #[test]
    fn every_setting_is_read() {
        let c = config(&[
            (env::NOTICE_FROM, "Notices@Acme.example"),
            (env::NOTICE_CONTACT, "the IT desk, it@acme.example"),
            (env::NOTICE_SEND_RATE, "14"),
            (env::DIGEST_TO, "ann@acme.example, bo@acme.example,"),
            (
                env::CONSOLE_URL,
                "https://abc.execute-api.eu-west-1.amazonaws.com/console/",
            ),
            (env::WEBHOOK_SECRET_NAME, "stack/webhook"),
            (env::KEEP_LINK_KEY_SECRET_NAME, "stack/keep-link-key"),
            (env::NOTICE_CONFIGURATION_SET, "stack-notices"),
        ])
        .unwrap();
        assert_eq!(c.from.unwrap().as_str(), "notices@acme.example");
        assert_eq!(c.contact, "the IT desk, it@acme.example");
        assert_eq!(c.send_rate, 14.0);
        assert_eq!(c.digest_to.len(), 2);
        assert_eq!(
            c.console_url.as_deref(),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com/console")
        );
        assert_eq!(c.webhook_secret_name.as_deref(), Some("stack/webhook"));
        assert_eq!(c.keep_link_key_name.as_deref(), Some("stack/keep-link-key"));
        assert_eq!(c.configuration_set.as_deref(), Some("stack-notices"));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        for (var, value) in [
            (env::NOTICE_FROM, "notices"),
            (env::NOTICE_SEND_RATE, "0"),
            (env::NOTICE_SEND_RATE, "fast"),
            (env::NOTICE_SEND_RATE, "5000"),
            (env::DIGEST_TO, "ann@acme.example, nobody"),
            (
                env::CONSOLE_URL,
                "abc.execute-api.eu-west-1.amazonaws.com/console",
            ),
            (env::CONSOLE_URL, "http://console.acme.example/console"),
            (env::NOTICE_CONFIGURATION_SET, "stack/notices"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.refused(), Some((var, value)), "{err}");
        }
    }
}
