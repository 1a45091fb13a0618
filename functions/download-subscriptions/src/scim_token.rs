//! Whether an org's SCIM token is stored, from the secret's metadata (Secrets Manager `DescribeSecret`). The
//! download never uses the token, so its role may describe the secret but not read it: a leak of the download
//! function cannot deactivate anybody.

use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_lambda::Runtime;

/// `false` when the secret does not exist or is scheduled for deletion (the reclaim worker reads neither).
pub async fn is_stored(rt: &Runtime, org: &OrgId) -> Result<bool, StoreError> {
    miro_sam_aws::scim_token_stored(&rt.adapters.clients.secrets, &rt.adapters.tokens, org)
        .await
        .map_err(|e| match e {
            StoreError::Backend(why) => {
                StoreError::Backend(format!("{why}; the next run tries again"))
            }
            other => other,
        })
}
