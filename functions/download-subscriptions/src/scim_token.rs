//! Whether an org's SCIM token is stored, from the secret's metadata (Secrets Manager `DescribeSecret`). The
//! download never uses the token, so its role may describe the secret but not read it: a leak of the download
//! function cannot deactivate anybody.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_lambda::Runtime;

/// `false` when the secret does not exist or is scheduled for deletion (the reclaim worker reads neither).
pub async fn is_stored(rt: &Runtime, org: &OrgId) -> Result<bool, StoreError> {
    let name = rt.adapters.tokens.scim_secret_name(org);
    match rt
        .adapters
        .clients
        .secrets
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
    {
        Ok(out) => Ok(out.deleted_date().is_none()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::Backend(format!(
            "cannot tell whether the SCIM token of org {org} is stored (Secrets Manager DescribeSecret on \
             secret {name}): {}; the next run tries again",
            DisplayErrorContext(&e)
        ))),
    }
}
