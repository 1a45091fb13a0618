//! The console's token store: the org's OAuth tokens as every function has them (read, refreshed, and replaced
//! when the signing-in admin is the org's connecting admin), but SCIM tokens only as metadata. The console shows
//! an alert when an org has no SCIM token; it never needs the token, and its role may not read it
//! (infra/template.yaml), so a leak of the internet-facing console cannot deactivate anybody.

use aws_sdk_secretsmanager::Client as SecretsClient;
use miro_sam_aws::SecretsTokenStore;
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use secrecy::SecretString;

pub struct ConsoleTokens {
    tokens: SecretsTokenStore,
    secrets: SecretsClient,
}

impl ConsoleTokens {
    pub fn new(tokens: SecretsTokenStore, secrets: SecretsClient) -> Self {
        ConsoleTokens { tokens, secrets }
    }

    /// Whether the org's SCIM secret exists and is not scheduled for deletion (metadata, never the value).
    pub async fn scim_token_stored(&self, org: &OrgId) -> Result<bool, StoreError> {
        miro_sam_aws::scim_token_stored(&self.secrets, &self.tokens, org).await
    }
}

miro_sam_core::forward_token_store! {
    ConsoleTokens => tokens: [get_tokens, put_tokens, put_tokens_if_version, lease_refresh, release_refresh];

    /// An empty value when the token is stored (the console only asks whether it is; the value is never read),
    /// [`StoreError::NoScimToken`] when it is not.
    async fn get_scim_token(&self, org: &OrgId) -> Result<SecretString, StoreError> {
        if self.scim_token_stored(org).await? {
            Ok(SecretString::from(String::new()))
        } else {
            Err(StoreError::NoScimToken {
                org: org.to_string(),
            })
        }
    }

    async fn put_scim_token(&self, org: &OrgId, _token: &SecretString) -> Result<(), StoreError> {
        Err(StoreError::Backend(format!(
            "the console does not store SCIM tokens (org {org}); the operator stores them with \
             the operator command `scim-token`"
        )))
    }
}
