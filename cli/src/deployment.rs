//! `--store aws`: the deployment's adapters, built from the same environment variables as the functions
//! (`miro_sam_aws::env`) and the normal AWS configuration chain, and checked before any verb runs, so a wrong
//! table name or region is one clear error rather than a failure half-way.

use std::sync::Arc;

use miro_client::MiroClient;
use miro_sam_aws::Adapters;
use miro_sam_core::jobs::Deps;
use miro_sam_core::ports::{ReclaimQueue, SystemClock};

use crate::backend::Backend;
use crate::failure::{CmdResult, Failure};

/// Reads the configuration and checks that the table exists.
pub async fn open() -> CmdResult<Adapters> {
    let adapters = Adapters::from_env().await.map_err(|e| {
        Failure::needs_action(format!(
            "{e}. Export the stack's outputs first (infra/README.md, \"Connect an org\")"
        ))
    })?;
    check_table(&adapters).await?;
    Ok(adapters)
}

/// The verbs' ports over the adapters. The operator's machine holds no Miro app credentials: nothing it runs
/// refreshes tokens or calls SCIM (approvals and undos are queued for the reclaim function).
pub fn backend(adapters: Adapters, client: MiroClient) -> Backend {
    let deps = Deps {
        store: Arc::new(adapters.store.clone()),
        tokens: Arc::new(adapters.tokens.clone()),
        client,
        clock: Arc::new(SystemClock),
        oauth_app: None,
    };
    let queue = adapters
        .queue
        .clone()
        .map(|q| Arc::new(q) as Arc<dyn ReclaimQueue>);
    Backend::deployment(deps, queue, adapters)
}

/// One `DescribeTable`: a missing table (wrong name, wrong region, stack not deployed) or missing credentials are
/// said here, with what to check.
async fn check_table(a: &Adapters) -> CmdResult<()> {
    let table = &a.config.table_name;
    let region = a
        .clients
        .dynamodb
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "(no region: set AWS_REGION)".into());
    match a
        .clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Err(Failure::needs_action(format!(
                "the deployment's table {table} does not exist in region {region}: set MIRO_SAM_TABLE_NAME to the \
                 stack output TableName and AWS_REGION to the stack's region (for a local AWS API, create it with \
                 `miro-sam aws init-local`)"
            )))
        }
        Err(e) => Err(Failure::needs_action(format!(
            "cannot reach the deployment's table {table} in region {region}: {}. Check your AWS credentials, \
             region and network",
            chain(&e)
        ))),
    }
}

/// An error and its causes on one line (the SDK's own Display says only "dispatch failure" or "service error").
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
