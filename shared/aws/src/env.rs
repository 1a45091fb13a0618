//! The environment variables the AWS adapters read. This module is the one place their names are written down:
//! the IaC template sets exactly these on the functions, so renaming one here is renaming it there.
//!
//! The AWS SDK's own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials, …) are read by `aws-config`
//! through the normal configuration chain and are not repeated here.

use std::fmt;

/// Name of the DynamoDB table holding every item of the product (single-table design, see `TABLE.md`).
/// Required.
pub const TABLE_NAME: &str = "MIRO_SAM_TABLE_NAME";

/// Prefix of the per-org Secrets Manager secrets: the OAuth bundle lives at `{prefix}/orgs/{org}/oauth`, the SCIM
/// token at `{prefix}/orgs/{org}/scim`. Typically the stack name, e.g. `miro-sam/prod`. Required.
pub const SECRET_PREFIX: &str = "MIRO_SAM_SECRET_PREFIX";

/// URL of the SQS queue the planner sends reclaim requests to and the reclaim worker consumes. A URL ending in
/// `.fifo` makes the sender use FIFO deduplication. Needed only by code that enqueues.
pub const RECLAIM_QUEUE_URL: &str = "MIRO_SAM_RECLAIM_QUEUE_URL";

/// Name (or ARN) of the Secrets Manager secret whose plain string value is the Miro app's OAuth client secret.
/// Needed only by code that exchanges or refreshes OAuth tokens.
pub const OAUTH_CLIENT_SECRET_NAME: &str = "MIRO_SAM_OAUTH_CLIENT_SECRET_NAME";

/// Test harness only: the local AWS API (moto) that `./scripts/test.sh` starts. The integration tests refuse to
/// run without it rather than skip.
pub const TEST_AWS_ENDPOINT: &str = "MIRO_SAM_TEST_AWS_ENDPOINT";

/// Where the adapters find their resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    pub table_name: String,
    /// Without trailing slash.
    pub secret_prefix: String,
    pub reclaim_queue_url: Option<String>,
    pub oauth_client_secret_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {var} is not set: it must hold {what}")]
    Missing {
        var: &'static str,
        what: &'static str,
    },
    #[error("environment variable {var} is invalid ({value:?}): {why}")]
    Invalid {
        var: &'static str,
        value: String,
        why: &'static str,
    },
}

impl AwsConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`Self::from_env`] over any lookup, so the rules are testable without touching the process
    /// environment (which tests running in parallel share).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |var: &'static str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let table_name = read(TABLE_NAME).ok_or(ConfigError::Missing {
            var: TABLE_NAME,
            what: "the name of the DynamoDB table (e.g. miro-sam-prod)",
        })?;
        if !valid_table_name(&table_name) {
            return Err(ConfigError::Invalid {
                var: TABLE_NAME,
                value: table_name,
                why: "a DynamoDB table name is 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'",
            });
        }

        let secret_prefix = read(SECRET_PREFIX)
            .map(|p| p.trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .ok_or(ConfigError::Missing {
                var: SECRET_PREFIX,
                what: "the prefix of the per-org Secrets Manager secrets (e.g. miro-sam/prod)",
            })?;

        let reclaim_queue_url = read(RECLAIM_QUEUE_URL);
        if let Some(url) = &reclaim_queue_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::Invalid {
                var: RECLAIM_QUEUE_URL,
                value: url.clone(),
                why: "expected a queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/miro-sam-reclaim",
            });
        }

        Ok(AwsConfig {
            table_name,
            secret_prefix,
            reclaim_queue_url,
            oauth_client_secret_name: read(OAUTH_CLIENT_SECRET_NAME),
        })
    }

    /// The queue URL, or an error naming the variable to set.
    pub fn require_reclaim_queue_url(&self) -> Result<&str, ConfigError> {
        self.reclaim_queue_url
            .as_deref()
            .ok_or(ConfigError::Missing {
                var: RECLAIM_QUEUE_URL,
                what: "the URL of the SQS reclaim queue",
            })
    }

    /// The client secret's secret name, or an error naming the variable to set.
    pub fn require_oauth_client_secret_name(&self) -> Result<&str, ConfigError> {
        self.oauth_client_secret_name.as_deref().ok_or(ConfigError::Missing {
            var: OAUTH_CLIENT_SECRET_NAME,
            what: "the name of the Secrets Manager secret holding the Miro app's OAuth client secret",
        })
    }
}

impl fmt::Display for AwsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "table {}, secrets under {}/, reclaim queue {}",
            self.table_name,
            self.secret_prefix,
            self.reclaim_queue_url.as_deref().unwrap_or("(none)")
        )
    }
}

fn valid_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use miro_sam_testkit::env::lookup;

    #[test]
    fn missing_variables_are_named() {
        let err = AwsConfig::from_lookup(lookup(&[])).unwrap_err();
        assert!(err.to_string().contains(TABLE_NAME), "{err}");
        let err = AwsConfig::from_lookup(lookup(&[(TABLE_NAME, "t-1")])).unwrap_err();
        assert!(err.to_string().contains(SECRET_PREFIX), "{err}");
        let cfg = AwsConfig::from_lookup(lookup(&[
            (TABLE_NAME, "t-1"),
            (SECRET_PREFIX, "miro-sam/dev/"),
        ]))
        .unwrap();
        assert_eq!(cfg.secret_prefix, "miro-sam/dev");
        assert!(
            cfg.require_reclaim_queue_url()
                .unwrap_err()
                .to_string()
                .contains(RECLAIM_QUEUE_URL)
        );
        assert!(
            cfg.require_oauth_client_secret_name()
                .unwrap_err()
                .to_string()
                .contains(OAUTH_CLIENT_SECRET_NAME)
        );
    }

    #[test]
    fn invalid_values_are_refused() {
        let err = AwsConfig::from_lookup(lookup(&[(TABLE_NAME, "a b"), (SECRET_PREFIX, "p")]))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: TABLE_NAME,
                    ..
                }
            ),
            "{err}"
        );
        let err = AwsConfig::from_lookup(lookup(&[
            (TABLE_NAME, "tbl"),
            (SECRET_PREFIX, "p"),
            (RECLAIM_QUEUE_URL, "miro-sam-reclaim"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: RECLAIM_QUEUE_URL,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn full_configuration_reads() {
        let cfg = AwsConfig::from_lookup(lookup(&[
            (TABLE_NAME, " miro-sam-prod "),
            (SECRET_PREFIX, "miro-sam/prod"),
            (
                RECLAIM_QUEUE_URL,
                "https://sqs.us-east-1.amazonaws.com/1/q.fifo",
            ),
            (
                OAUTH_CLIENT_SECRET_NAME,
                "miro-sam/prod/oauth-client-secret",
            ),
        ]))
        .unwrap();
        assert_eq!(cfg.table_name, "miro-sam-prod");
        assert_eq!(
            cfg.require_reclaim_queue_url().unwrap(),
            "https://sqs.us-east-1.amazonaws.com/1/q.fifo"
        );
        assert_eq!(
            cfg.require_oauth_client_secret_name().unwrap(),
            "miro-sam/prod/oauth-client-secret"
        );
    }
}
