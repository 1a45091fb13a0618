//! The store a benchmark runs against, named the way the bench hands it to its child processes:
//! `sqlite:PATH` (a SQLite file) or `dynamo:TABLE` (a table of the local AWS API named by
//! `MIRO_SAM_TEST_AWS_ENDPOINT`).

use std::sync::Arc;

use miro_sam_aws::{AwsClients, DynamoStore};
use miro_sam_core::ports::SubscriptionStore;
use miro_sam_sqlite::SqliteStore;

/// One of the two production adapters.
pub enum BenchStore {
    Sqlite(SqliteStore),
    Dynamo(DynamoStore),
}

impl BenchStore {
    /// Opens `sqlite:PATH` or `dynamo:TABLE` (the table must exist).
    pub async fn open(spec: &str) -> Result<BenchStore, String> {
        if let Some(path) = spec.strip_prefix("sqlite:") {
            return SqliteStore::open(path)
                .map(BenchStore::Sqlite)
                .map_err(|e| e.to_string());
        }
        if let Some(table) = spec.strip_prefix("dynamo:") {
            let clients = AwsClients::new(&aws_sdk(&aws_endpoint_from_env()?).await);
            return Ok(BenchStore::Dynamo(DynamoStore::new(
                clients.dynamodb,
                table,
            )));
        }
        Err(format!(
            "unknown store {spec:?}: expected sqlite:PATH or dynamo:TABLE"
        ))
    }

    pub fn name(&self) -> &'static str {
        match self {
            BenchStore::Sqlite(_) => "sqlite",
            BenchStore::Dynamo(_) => "dynamodb",
        }
    }

    pub fn port(&self) -> Arc<dyn SubscriptionStore> {
        match self {
            BenchStore::Sqlite(s) => Arc::new(s.clone()),
            BenchStore::Dynamo(s) => Arc::new(s.clone()),
        }
    }
}

/// The local AWS API (moto), if `MIRO_SAM_TEST_AWS_ENDPOINT` names one.
pub fn aws_endpoint() -> Option<String> {
    std::env::var(miro_sam_aws::env::TEST_AWS_ENDPOINT)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// The local AWS API the parent was given (children inherit the environment).
pub fn aws_endpoint_from_env() -> Result<String, String> {
    aws_endpoint().ok_or_else(|| {
        format!(
            "a DynamoDB store needs the local AWS API: set {}",
            miro_sam_aws::env::TEST_AWS_ENDPOINT
        )
    })
}

/// The SDK configuration for the local AWS API: the cross-crate tests' own.
pub use miro_sam_tests::sdk_at as aws_sdk;

/// A fresh table in the local AWS API, as the deployment's template creates it; returns its name.
pub async fn new_table(clients: &AwsClients, what: &str) -> Result<String, String> {
    let table = format!("miro-sam-bench-{what}-{}", uuid::Uuid::new_v4().simple());
    miro_sam_aws::table::create_table(&clients.dynamodb, &table)
        .await
        .map_err(|e| format!("cannot create the table in the local AWS API: {e}"))?;
    Ok(table)
}

/// A fresh SQS queue in the local AWS API, to serve as the deployment's `what` queue; returns its URL.
pub async fn new_queue(clients: &AwsClients, what: &str) -> Result<String, String> {
    let out = clients
        .sqs
        .create_queue()
        .queue_name(format!(
            "miro-sam-bench-{what}-{}",
            uuid::Uuid::new_v4().simple()
        ))
        .send()
        .await
        .map_err(|e| format!("cannot create the {what} queue in the local AWS API: {e}"))?;
    Ok(out.queue_url().unwrap_or_default().to_owned())
}
