//! The functions' settings from the environment, validated once at cold start.

use miro_client::{MiroConfig, ScimLimits};
use miro_sam_core::domain::OrgId;
use miro_sam_core::policy::{InactivityDays, Percent, Policy, ReclaimCap};
use std::time::Duration;

use crate::env;
use crate::notice_settings::NoticeConfig;

#[derive(Debug, Clone)]
pub struct Settings {
    pub miro: MiroConfig,
    pub oauth_client_id: Option<String>,
    pub oauth_redirect_uri: Option<String>,
    pub connect_link_key_name: Option<String>,
    pub allowed_orgs: Option<Vec<OrgId>>,
    pub default_policy: Policy,
    pub reclaim_workers: u32,
    pub log_level: String,
    pub deadline_margin: Duration,
    /// The download fan-out's queue ([`env::DOWNLOAD_QUEUE_URL`]); `None`: no fan-out.
    pub download_queue_url: Option<String>,
    /// The deployed function's name, as Lambda sets it ([`env::LAMBDA_FUNCTION_NAME`]).
    pub function_name: Option<String>,
    /// Notices to members and the admins' digest (the download function sends them).
    pub notices: NoticeConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("environment variable {var} is invalid ({value:?}): {why}")]
    Invalid {
        var: &'static str,
        value: String,
        why: String,
    },
    #[error("environment variable {var} is not set: it must hold {what}")]
    Missing {
        var: &'static str,
        what: &'static str,
    },
}

impl SettingsError {
    /// The refusal of `value` in `var`, saying `why`.
    pub fn invalid(var: &'static str, value: &str, why: String) -> Self {
        SettingsError::Invalid {
            var,
            value: value.to_owned(),
            why,
        }
    }

    /// The variable and the value an [`SettingsError::Invalid`] blames; `None` for a missing variable.
    pub fn refused(&self) -> Option<(&'static str, &str)> {
        match self {
            SettingsError::Invalid { var, value, .. } => Some((var, value)),
            SettingsError::Missing { .. } => None,
        }
    }
}

/// The value of `var` from `lookup`, trimmed; `None` when it is unset or blank (a blank variable means its
/// default, as an unset one does).
pub fn read_var(lookup: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    lookup(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Over any lookup, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let read = |var: &str| read_var(&lookup, var);
        let invalid = SettingsError::invalid;
        let number = |var: &'static str, default: u64| -> Result<u64, SettingsError> {
            match read(var) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| invalid(var, &v, "expected a whole number".into())),
            }
        };

        // Each URL is checked on its own, so the error names the variable that holds the bad one (checking the
        // three together could only ever name one of them).
        let base_url = |var: &'static str, default: &str| -> Result<String, SettingsError> {
            let url = read(var).unwrap_or_else(|| default.to_owned());
            MiroConfig::with_urls(&url, &url, &url)
                .map(|_| url.clone())
                .map_err(|e| invalid(var, &url, e.to_string()))
        };
        let oauth_base = base_url(
            env::MIRO_OAUTH_BASE_URL,
            miro_client::DEFAULT_OAUTH_BASE_URL,
        )?;
        let api_base = base_url(env::MIRO_API_BASE_URL, miro_client::DEFAULT_API_BASE_URL)?;
        let scim_base = base_url(env::MIRO_SCIM_BASE_URL, miro_client::DEFAULT_SCIM_BASE_URL)?;
        let miro = MiroConfig::with_urls(&oauth_base, &api_base, &scim_base)
            .map_err(|e| invalid(env::MIRO_API_BASE_URL, &api_base, e.to_string()))?;

        let reclaim_workers = number(env::RECLAIM_WORKERS, 2)?.clamp(1, 1000) as u32;

        let download_queue_url = read(env::DOWNLOAD_QUEUE_URL);
        if let Some(url) = &download_queue_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(invalid(
                env::DOWNLOAD_QUEUE_URL,
                url,
                "expected a queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/miro-sam-download"
                    .into(),
            ));
        }

        let allowed_orgs = match read(env::ALLOWED_ORGS) {
            None => None,
            Some(list) => Some(
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        OrgId::parse(s)
                            .map_err(|e| invalid(env::ALLOWED_ORGS, &list, e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            )
            .filter(|v: &Vec<OrgId>| !v.is_empty()),
        };

        let mut policy = Policy::default();
        if let Some(v) = read(env::DEFAULT_INACTIVITY_DAYS) {
            let days: u32 = v.parse().map_err(|_| {
                invalid(
                    env::DEFAULT_INACTIVITY_DAYS,
                    &v,
                    "expected a number of days".into(),
                )
            })?;
            policy.inactivity_days = InactivityDays::new(days)
                .map_err(|e| invalid(env::DEFAULT_INACTIVITY_DAYS, &v, e.to_string()))?;
        }
        if let Some(v) = read(env::DEFAULT_DRY_RUN) {
            policy.dry_run = match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => {
                    return Err(invalid(
                        env::DEFAULT_DRY_RUN,
                        &v,
                        "expected true or false".into(),
                    ));
                }
            };
        }
        let count = read(env::DEFAULT_CAP_COUNT)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    invalid(env::DEFAULT_CAP_COUNT, &v, "expected a whole number".into())
                })
            })
            .transpose()?;
        let percent = read(env::DEFAULT_CAP_PERCENT)
            .map(|v| {
                let p: f64 = v.parse().map_err(|_| {
                    invalid(env::DEFAULT_CAP_PERCENT, &v, "expected a percentage".into())
                })?;
                Percent::new(p).map_err(|e| invalid(env::DEFAULT_CAP_PERCENT, &v, e.to_string()))
            })
            .transpose()?;
        if count.is_some() || percent.is_some() {
            policy.cap = ReclaimCap {
                max_count: count.or(policy.cap.max_count),
                max_percent: percent.or(policy.cap.max_percent),
            };
        }
        policy
            .validate()
            .map_err(|e| invalid(env::DEFAULT_CAP_COUNT, "", e.to_string()))?;

        Ok(Settings {
            miro,
            oauth_client_id: read(env::OAUTH_CLIENT_ID),
            oauth_redirect_uri: read(env::OAUTH_REDIRECT_URI),
            connect_link_key_name: read(env::CONNECT_LINK_KEY_NAME),
            allowed_orgs,
            default_policy: policy,
            reclaim_workers,
            log_level: read(env::LOG_LEVEL).unwrap_or_else(|| "info".into()),
            deadline_margin: Duration::from_secs(number(env::DEADLINE_MARGIN_SECS, 60)?),
            download_queue_url,
            function_name: read(env::LAMBDA_FUNCTION_NAME),
            notices: NoticeConfig::from_read(read)?,
        })
    }

    /// The value of the metrics' `Function` dimension: the deployed function's name, else `binary`.
    pub fn metrics_function<'a>(&'a self, binary: &'a str) -> &'a str {
        self.function_name.as_deref().unwrap_or(binary)
    }

    /// Miro's budgets are per org (per installing user); the reclaim workers run side by side, so each paces
    /// itself to its share of the SCIM and REST budgets and together they stay inside them.
    pub fn miro_for_reclaim_worker(&self) -> MiroConfig {
        let share = 1.0 / self.reclaim_workers as f64;
        let mut miro = self.miro.clone();
        let s = miro.scim_limits;
        miro.scim_limits = ScimLimits {
            list_users: scaled(s.list_users, share),
            get_user: scaled(s.get_user, share),
            patch_user: scaled(s.patch_user, share),
            other: scaled(s.other, share),
            ..s
        };
        miro.rest_limits.utilization *= share;
        miro
    }

    pub fn require_client_id(&self) -> Result<&str, SettingsError> {
        self.oauth_client_id
            .as_deref()
            .ok_or(SettingsError::Missing {
                var: env::OAUTH_CLIENT_ID,
                what: "the Miro app's client id (from the app settings page)",
            })
    }

    pub fn require_redirect_uri(&self) -> Result<&str, SettingsError> {
        self.oauth_redirect_uri
            .as_deref()
            .ok_or(SettingsError::Missing {
                var: env::OAUTH_REDIRECT_URI,
                what: "the callback URL registered in the Miro app (https://<api>/oauth/callback)",
            })
    }

    pub fn require_connect_link_key_name(&self) -> Result<&str, SettingsError> {
        self.connect_link_key_name
            .as_deref()
            .ok_or(SettingsError::Missing {
                var: env::CONNECT_LINK_KEY_NAME,
                what: "the name of the Secrets Manager secret with the connect-link signing key",
            })
    }
}

fn scaled(budget: u32, share: f64) -> u32 {
    ((budget as f64) * share).floor().max(1.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use miro_sam_testkit::env::lookup;

    #[test]
    fn defaults_are_production_miro_and_a_dry_run_policy() {
        let s = Settings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(s.miro.api_base_url.as_str(), "https://api.miro.com/");
        assert!(s.default_policy.dry_run);
        assert_eq!(s.reclaim_workers, 2);
        assert_eq!(
            s.miro.scim_limits.patch_user, 100,
            "the download has the whole budget"
        );
        assert_eq!(
            s.miro_for_reclaim_worker().scim_limits.patch_user,
            50,
            "two workers share the 100 PATCH budget"
        );
        assert!(s.allowed_orgs.is_none());
        assert_eq!(
            s.metrics_function("download-subscriptions"),
            "download-subscriptions"
        );
    }

    #[test]
    fn metrics_carry_the_deployed_functions_name() {
        let s = Settings::from_lookup(lookup(&[(
            env::LAMBDA_FUNCTION_NAME,
            "prod-download-subscriptions",
        )]))
        .unwrap();
        assert_eq!(
            s.metrics_function("download-subscriptions"),
            "prod-download-subscriptions"
        );
    }

    #[test]
    fn the_deployment_parameters_shape_the_default_policy() {
        let s = Settings::from_lookup(lookup(&[
            (env::DEFAULT_INACTIVITY_DAYS, "60"),
            (env::DEFAULT_DRY_RUN, "false"),
            (env::DEFAULT_CAP_COUNT, "25"),
            (env::ALLOWED_ORGS, "123, 456"),
            (env::RECLAIM_WORKERS, "4"),
        ]))
        .unwrap();
        assert_eq!(s.default_policy.inactivity_days.get(), 60);
        assert!(!s.default_policy.dry_run);
        assert_eq!(s.default_policy.cap.max_count, Some(25));
        assert_eq!(s.allowed_orgs.as_ref().map(Vec::len), Some(2));
        assert_eq!(s.miro_for_reclaim_worker().scim_limits.patch_user, 25);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        for (var, value) in [
            (env::DEFAULT_DRY_RUN, "maybe"),
            (env::DEFAULT_INACTIVITY_DAYS, "soon"),
            (env::ALLOWED_ORGS, "acme"),
            (env::DEFAULT_CAP_PERCENT, "250"),
            (env::DEFAULT_CAP_COUNT, "many"),
            (env::RECLAIM_WORKERS, "two"),
            (env::DEADLINE_MARGIN_SECS, "1m"),
            (env::DOWNLOAD_QUEUE_URL, "miro-sam-download"),
            (env::MIRO_API_BASE_URL, "ftp://x"),
            (env::MIRO_OAUTH_BASE_URL, "ftp://x"),
            (env::MIRO_SCIM_BASE_URL, "ftp://x"),
            (env::MIRO_SCIM_BASE_URL, "not a url"),
        ] {
            let err = Settings::from_lookup(lookup(&[(var, value)])).unwrap_err();
            assert_eq!(
                err.refused(),
                Some((var, value)),
                "{value:?} in {var} is refused, blaming that variable and value: {err}"
            );
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
