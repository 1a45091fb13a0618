//! The Secrets Manager adapter of [`TokenStore`]: per org, one secret holding the OAuth bundle as JSON
//! (`{prefix}/orgs/{org}/oauth`) and one holding the SCIM token as a plain string (`{prefix}/orgs/{org}/scim`).
//!
//! # Compare-and-set, and why it lives in DynamoDB
//!
//! A refresh token works once, so when two workers find the same token expiring only one may refresh; the
//! other must use the winner's tokens. Two mechanisms can give a compare-and-set here, and both work against
//! moto (checked: a second `PutSecretValue` with the same `ClientRequestToken` and a different value is refused
//! with `ResourceExistsException`):
//!
//! - Secrets Manager's `ClientRequestToken` derived from the next version number. It only refuses a second
//!   writer of the SAME next version; it cannot hand out a lease BEFORE the refresh, and Secrets Manager purges
//!   old versions (with their tokens), so a very stale writer is not reliably refused.
//! - A version item in the DynamoDB table (`ORG#{org}` / `TOKENS`) updated with `ConditionExpression
//!   version = :expected`. This is a true compare-and-set, and the same item carries a refresh lease.
//!
//! We use the DynamoDB item. Every write bumps the item first and writes the secret second, with the version
//! inside the JSON; a reader that finds the secret behind the item waits (briefly, bounded) for the write to
//! land, so it never pairs a new version number with old tokens.
//!
//! # The refresh lease
//!
//! The same item carries the refresh lease ([`TokenStore::lease_refresh`]): `lease_until_ms` is set by an
//! UpdateItem conditioned on `version = :v` and on no unexpired lease, so of the workers that find a token to
//! refresh exactly one holds the lease; the core's token job waits for that holder's write instead of spending the
//! refresh token a second time. Every version bump removes the lease (the refresh it protected is done), and a
//! holder whose refresh failed removes its own lease early (`lease_until_ms = :until`). The lease's length comes
//! from the core (the Miro client's whole retry budget for the token call plus storing the result); a holder that
//! dies delays the others by at most that, after which one of them takes it over.
//!
//! # Secrets stay secret
//!
//! Tokens are [`SecretString`]s up to the SDK call; the JSON written is built in a `SecretString`, handed to the
//! SDK (whose request types redact it in `Debug`) and dropped. Parse errors report a position, never content.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client as SecretsClient;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::{RefreshLease, TokenBundle, TokenStore};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::dynamo::db::Db;
use crate::dynamo::token_state::{self, TokenState};
use crate::error::{backend, has_code};
use crate::retry::Backoff;

/// The bundle format this build writes. Readers refuse newer ones instead of guessing.
const BUNDLE_SCHEMA_VERSION: u32 = 1;

/// How long a reader waits for a write whose version bump it has already seen.
const WRITE_WAIT: Duration = Duration::from_secs(3);

/// Upper bound on read rounds in one `get_tokens`, whatever the timing.
const MAX_READ_ROUNDS: u32 = 200;

/// [`TokenStore`] on Secrets Manager, with the version item in the DynamoDB table.
#[derive(Clone)]
pub struct SecretsTokenStore {
    secrets: SecretsClient,
    db: Db,
    prefix: Arc<str>,
    poll: Backoff,
}

impl std::fmt::Debug for SecretsTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsTokenStore")
            .field("prefix", &self.prefix)
            .field("table", &self.db.table)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct BundleOut<'a> {
    schema_version: u32,
    org_id: &'a str,
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    expires_at: Option<DateTime<Utc>>,
    team_id: Option<&'a str>,
    user_id: Option<&'a str>,
    scopes: &'a [String],
    version: u64,
}

#[derive(Deserialize)]
struct BundleIn {
    #[serde(default = "one")]
    schema_version: u32,
    org_id: OrgId,
    access_token: SecretString,
    #[serde(default)]
    refresh_token: Option<SecretString>,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    version: u64,
}

fn one() -> u32 {
    1
}

impl SecretsTokenStore {
    /// `prefix` as in [`crate::env::SECRET_PREFIX`]; `table` holds the version items.
    pub fn new(
        secrets: SecretsClient,
        dynamodb: aws_sdk_dynamodb::Client,
        table: &str,
        prefix: &str,
    ) -> Self {
        SecretsTokenStore {
            secrets,
            db: Db::new(dynamodb, table),
            prefix: Arc::from(prefix.trim_end_matches('/')),
            poll: Backoff {
                max_attempts: MAX_READ_ROUNDS,
                base: Duration::from_millis(20),
                cap: Duration::from_millis(250),
            },
        }
    }

    pub fn oauth_secret_name(&self, org: &OrgId) -> String {
        format!("{}/orgs/{org}/oauth", self.prefix)
    }

    pub fn scim_secret_name(&self, org: &OrgId) -> String {
        format!("{}/orgs/{org}/scim", self.prefix)
    }

    async fn read_bundle(&self, org: &OrgId) -> Result<Option<TokenBundle>, StoreError> {
        let name = self.oauth_secret_name(org);
        let Some(json) = read_secret(&self.secrets, &name).await? else {
            return Ok(None);
        };
        let parsed: BundleIn =
            serde_json::from_str(json.expose_secret()).map_err(|e| StoreError::Corrupt {
                what: format!("OAuth token bundle of org {org} (secret {name})"),
                detail: json_problem(&e),
            })?;
        if parsed.schema_version > BUNDLE_SCHEMA_VERSION {
            return Err(StoreError::Corrupt {
                what: format!("OAuth token bundle of org {org} (secret {name})"),
                detail: format!(
                    "schema_version {} is newer than this build understands ({BUNDLE_SCHEMA_VERSION}); upgrade",
                    parsed.schema_version
                ),
            });
        }
        if &parsed.org_id != org {
            return Err(StoreError::Corrupt {
                what: format!("OAuth token bundle of org {org} (secret {name})"),
                detail: format!("it belongs to org {}", parsed.org_id),
            });
        }
        Ok(Some(TokenBundle {
            org_id: parsed.org_id,
            access_token: parsed.access_token,
            refresh_token: parsed.refresh_token,
            expires_at: parsed.expires_at,
            team_id: parsed.team_id,
            user_id: parsed.user_id,
            scopes: parsed.scopes,
            version: parsed.version,
        }))
    }

    async fn write_bundle(&self, b: &TokenBundle, version: u64) -> Result<(), StoreError> {
        let doc = BundleOut {
            schema_version: BUNDLE_SCHEMA_VERSION,
            org_id: b.org_id.as_str(),
            access_token: b.access_token.expose_secret(),
            refresh_token: b.refresh_token.as_ref().map(|t| t.expose_secret()),
            expires_at: b.expires_at,
            team_id: b.team_id.as_deref(),
            user_id: b.user_id.as_deref(),
            scopes: &b.scopes,
            version,
        };
        let json = SecretString::from(serde_json::to_string(&doc).map_err(|e| {
            StoreError::Backend(format!("cannot serialize the OAuth token bundle: {e}"))
        })?);
        write_secret(
            &self.secrets,
            &self.oauth_secret_name(&b.org_id),
            &json,
            &format!("miro-sam: OAuth tokens of Miro org {}", b.org_id),
        )
        .await
    }
}

#[async_trait]
impl TokenStore for SecretsTokenStore {
    async fn get_tokens(&self, org: &OrgId) -> Result<TokenBundle, StoreError> {
        let started = Instant::now();
        // `poll` allows MAX_READ_ROUNDS rounds; the loop is ours because a round's outcome decides whether to
        // read again (a write still landing) or stop, and only backon's delays space the rounds.
        for wait in self.poll.waits() {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let (state, stored) =
                futures::try_join!(token_state::read(&self.db, org), self.read_bundle(org))?;
            let Some(mut bundle) = stored else {
                return Err(StoreError::NotConnected {
                    org: org.to_string(),
                });
            };
            let Some(TokenState { version, .. }) = state else {
                // A bundle without a version item (stored by hand or by an older build): give it one.
                if token_state::adopt(&self.db, org, bundle.version).await? {
                    return Ok(bundle);
                }
                continue;
            };
            if bundle.version != version {
                if started.elapsed() < WRITE_WAIT {
                    continue;
                }
                // The writer bumped the version and died before writing the secret: the secret holds the newest
                // tokens there are. Label them with the current version so a refresh can still compare-and-set.
                tracing::warn!(%org, stored = bundle.version, expected = version, "token secret lags its version item; using it");
                bundle.version = version;
            }
            return Ok(bundle);
        }
        Err(StoreError::Backend(format!(
            "could not read a settled OAuth token bundle for org {org} in {MAX_READ_ROUNDS} rounds; retry"
        )))
    }

    async fn put_tokens(&self, bundle: &TokenBundle) -> Result<u64, StoreError> {
        let version = token_state::bump(&self.db, &bundle.org_id).await?;
        self.write_bundle(bundle, version).await?;
        Ok(version)
    }

    async fn put_tokens_if_version(
        &self,
        bundle: &TokenBundle,
        expected_version: u64,
    ) -> Result<u64, StoreError> {
        let org = &bundle.org_id;
        let Some(version) = token_state::compare_and_bump(&self.db, org, expected_version).await?
        else {
            return Err(StoreError::Conflict {
                what: format!(
                    "the OAuth tokens of org {org} (expected version {expected_version})"
                ),
            });
        };
        self.write_bundle(bundle, version).await?;
        Ok(version)
    }

    async fn lease_refresh(
        &self,
        org: &OrgId,
        version: u64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<RefreshLease, StoreError> {
        let (now_ms, until_ms) = (now.timestamp_millis(), until.timestamp_millis());
        // Two rounds: a lease that ends between our conditional write and our read is taken on the second.
        for _ in 0..2 {
            if token_state::try_lease(&self.db, org, version, now_ms, until_ms).await? {
                return Ok(RefreshLease::Taken);
            }
            match token_state::read(&self.db, org).await? {
                None if self.read_bundle(org).await?.is_none() => {
                    return Err(StoreError::NotConnected {
                        org: org.to_string(),
                    });
                }
                // A bundle without its version item: reading it creates the item.
                None => return Ok(RefreshLease::Moved),
                Some(s) if s.version != version => return Ok(RefreshLease::Moved),
                Some(TokenState {
                    lease_until_ms: Some(held),
                    ..
                }) if held > now_ms => {
                    return Ok(RefreshLease::Held {
                        until: DateTime::from_timestamp_millis(held).ok_or_else(|| {
                            StoreError::Corrupt {
                                what: format!("token version item of org {org}"),
                                detail: format!("lease_until_ms {held} is not a time"),
                            }
                        })?,
                    });
                }
                Some(_) => continue,
            }
        }
        Ok(RefreshLease::Moved)
    }

    async fn release_refresh(
        &self,
        org: &OrgId,
        version: u64,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        token_state::release_lease(&self.db, org, version, until.timestamp_millis()).await
    }

    async fn get_scim_token(&self, org: &OrgId) -> Result<SecretString, StoreError> {
        let token = read_secret(&self.secrets, &self.scim_secret_name(org))
            .await?
            .filter(|t| !t.expose_secret().trim().is_empty());
        match token {
            // Pasted tokens often carry a newline; a header value must not.
            Some(t) => Ok(SecretString::from(t.expose_secret().trim().to_owned())),
            None => Err(StoreError::NoScimToken {
                org: org.to_string(),
            }),
        }
    }

    async fn put_scim_token(&self, org: &OrgId, token: &SecretString) -> Result<(), StoreError> {
        write_secret(
            &self.secrets,
            &self.scim_secret_name(org),
            token,
            &format!("miro-sam: SCIM token of Miro org {org}"),
        )
        .await
    }
}

/// Whether the org's SCIM secret (named by `tokens`) exists and is not scheduled for deletion, from its metadata
/// (Secrets Manager `DescribeSecret`), never its value: the functions that ask, the console and the download, have
/// roles that may describe the secret but not read it (infra/template.yaml), so a leak of either cannot deactivate
/// anybody.
pub async fn scim_token_stored(
    secrets: &SecretsClient,
    tokens: &SecretsTokenStore,
    org: &OrgId,
) -> Result<bool, StoreError> {
    let name = tokens.scim_secret_name(org);
    match secrets.describe_secret().secret_id(&name).send().await {
        Ok(out) => Ok(out.deleted_date().is_none()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::Backend(format!(
            "cannot tell whether the SCIM token of org {org} is stored (Secrets Manager DescribeSecret on \
             secret {name}): {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
        ))),
    }
}

/// Reads the Miro app's OAuth client secret, a plain-string secret named by
/// [`crate::env::OAUTH_CLIENT_SECRET_NAME`].
pub async fn read_oauth_client_secret(
    secrets: &SecretsClient,
    name: &str,
) -> Result<SecretString, StoreError> {
    match read_secret(secrets, name).await? {
        Some(s) if !s.expose_secret().trim().is_empty() => {
            Ok(SecretString::from(s.expose_secret().trim().to_owned()))
        }
        _ => Err(StoreError::NotFound {
            what: format!(
                "the Miro app's OAuth client secret (Secrets Manager secret {name:?}; store the client secret from \
                 the app's settings in Miro there as a plain string, e.g. `aws secretsmanager put-secret-value \
                 --secret-id {name} --secret-string ...`)"
            ),
        }),
    }
}

/// The current value of a string secret; `None` when the secret does not exist or is scheduled for deletion.
async fn read_secret(
    secrets: &SecretsClient,
    name: &str,
) -> Result<Option<SecretString>, StoreError> {
    match secrets.get_secret_value().secret_id(name).send().await {
        Ok(out) => Ok(out.secret_string.map(SecretString::from)),
        Err(e) if has_code(&e, "ResourceNotFoundException") => Ok(None),
        // "marked for deletion": for our purposes the same as gone.
        Err(e) if has_code(&e, "InvalidRequestException") => Ok(None),
        Err(e) => Err(backend(
            "Secrets Manager",
            "GetSecretValue",
            &format!("secret {name}"),
            &e,
        )),
    }
}

/// Writes a new current version of the secret, creating the secret on first use and restoring one that is
/// scheduled for deletion (reconnecting an org soon after disconnecting it).
async fn write_secret(
    secrets: &SecretsClient,
    name: &str,
    value: &SecretString,
    description: &str,
) -> Result<(), StoreError> {
    let resource = format!("secret {name}");
    let put = || {
        secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(value.expose_secret())
            .send()
    };
    match put().await {
        Ok(_) => return Ok(()),
        Err(e) if has_code(&e, "ResourceNotFoundException") => {}
        Err(e) if has_code(&e, "InvalidRequestException") => {
            secrets
                .restore_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| backend("Secrets Manager", "RestoreSecret", &resource, &e))?;
            return put()
                .await
                .map(|_| ())
                .map_err(|e| backend("Secrets Manager", "PutSecretValue", &resource, &e));
        }
        Err(e) => return Err(backend("Secrets Manager", "PutSecretValue", &resource, &e)),
    }
    let created = secrets
        .create_secret()
        .name(name)
        .description(description)
        .secret_string(value.expose_secret())
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        // Created by a concurrent writer between our two calls: write our value as its next version.
        Err(e) if has_code(&e, "ResourceExistsException") => put()
            .await
            .map(|_| ())
            .map_err(|e| backend("Secrets Manager", "PutSecretValue", &resource, &e)),
        Err(e) => Err(backend("Secrets Manager", "CreateSecret", &resource, &e)),
    }
}

/// serde_json quotes offending values in its messages; a token must never end up in an error, so only the
/// category and position are kept.
fn json_problem(e: &serde_json::Error) -> String {
    let message = e.to_string();
    // These two name a field, never a value.
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        return message;
    }
    let kind = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::config::retry::RetryConfig;
    use aws_sdk_secretsmanager::operation::put_secret_value::{
        PutSecretValueError, PutSecretValueOutput,
    };
    use aws_sdk_secretsmanager::operation::restore_secret::RestoreSecretOutput;
    use aws_sdk_secretsmanager::types::error::InvalidRequestException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    /// AWS refuses to write a secret that is scheduled for deletion (moto does not, so this is a mock): the
    /// write restores it and writes again, so reconnecting an org soon after disconnecting it works.
    #[tokio::test]
    async fn writing_a_secret_scheduled_for_deletion_restores_it() {
        let refused = mock!(SecretsClient::put_secret_value).then_error(|| {
            PutSecretValueError::InvalidRequestException(
                InvalidRequestException::builder()
                    .message("You can't perform this operation on the secret because it was marked for deletion.")
                    .meta(
                        aws_sdk_secretsmanager::error::ErrorMetadata::builder()
                            .code("InvalidRequestException")
                            .build(),
                    )
                    .build(),
            )
        });
        let restore = mock!(SecretsClient::restore_secret)
            .match_requests(|r| r.secret_id() == Some("p/orgs/1/scim"))
            .then_output(|| RestoreSecretOutput::builder().build());
        let written = mock!(SecretsClient::put_secret_value)
            .match_requests(|r| r.secret_string() == Some("scim-2"))
            .then_output(|| PutSecretValueOutput::builder().build());
        let client: SecretsClient = mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::Sequential,
            [&refused, &restore, &written],
            |c| c.retry_config(RetryConfig::disabled())
        );

        write_secret(&client, "p/orgs/1/scim", &SecretString::from("scim-2"), "d")
            .await
            .expect("restored and written");
        assert_eq!(
            (
                refused.num_calls(),
                restore.num_calls(),
                written.num_calls()
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn json_problems_never_quote_values() {
        let e = serde_json::from_str::<BundleIn>(
            r#"{"org_id":"1","access_token":"a","version":"secret-x"}"#,
        )
        .err()
        .unwrap();
        assert!(
            e.to_string().contains("secret-x"),
            "serde_json itself would leak it"
        );
        let p = json_problem(&e);
        assert!(!p.contains("secret-x") && p.contains("line 1"), "{p}");
        let e = serde_json::from_str::<BundleIn>(r#"{"org_id":"1"}"#)
            .err()
            .unwrap();
        assert!(json_problem(&e).contains("missing field `access_token`"));
    }
}
