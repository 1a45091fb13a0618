//! Set-up shared by the integration tests: they run against the local AWS API (moto in server mode) that
//! `./scripts/test.sh` starts, each on its own uniquely named table, queue and secrets.
#![allow(dead_code)]

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::Credentials;
use miro_sam_aws::env::TEST_AWS_ENDPOINT;
use miro_sam_aws::{AwsClients, DynamoStore, OAuthStateStore, SecretsTokenStore, SqsReclaimQueue};
use miro_sam_core::contract::QueueUnderTest;

/// The local AWS API. Without it the tests fail (not skip): they are the proof the adapters work.
pub fn endpoint() -> String {
    match std::env::var(TEST_AWS_ENDPOINT) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{TEST_AWS_ENDPOINT} is not set: these tests need the local AWS API. Run them with \
             `./scripts/test.sh -p miro-sam-aws`, which installs and starts moto_server and sets it"
        ),
    }
}

/// The production configuration path (`sdk::load`) pointed at moto, with moto's dummy credentials.
pub async fn sdk() -> SdkConfig {
    let endpoint = endpoint();
    miro_sam_aws::sdk::load()
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            Credentials::new("test", "test", None, None, "moto"),
        ))
        .build()
}

pub async fn clients() -> AwsClients {
    AwsClients::new(&sdk().await)
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn new_table(clients: &AwsClients) -> String {
    let name = unique("miro-sam-test");
    miro_sam_aws::table::create_table(&clients.dynamodb, &name)
        .await
        .expect("create the test table in moto");
    name
}

pub async fn fresh_store() -> DynamoStore {
    let clients = clients().await;
    let table = new_table(&clients).await;
    DynamoStore::new(clients.dynamodb, &table)
}

pub async fn fresh_oauth_states() -> OAuthStateStore {
    let clients = clients().await;
    let table = new_table(&clients).await;
    OAuthStateStore::new(clients.dynamodb, &table)
}

pub async fn fresh_tokens() -> SecretsTokenStore {
    let clients = clients().await;
    let table = new_table(&clients).await;
    SecretsTokenStore::new(
        clients.secrets,
        clients.dynamodb,
        &table,
        &unique("miro-sam-test"),
    )
}

pub async fn new_queue(clients: &AwsClients, fifo: bool) -> String {
    let name = if fifo {
        format!("{}.fifo", unique("reclaim"))
    } else {
        unique("reclaim")
    };
    let mut req = clients.sqs.create_queue().queue_name(name);
    if fifo {
        req = req.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let out = req.send().await.expect("create the test queue in moto");
    out.queue_url().expect("a queue URL").to_owned()
}

pub async fn fresh_queue() -> SqsReclaimQueue {
    let clients = clients().await;
    let url = new_queue(&clients, false).await;
    SqsReclaimQueue::new(clients.sqs, &url)
}

/// A FIFO queue, the SQS kind that deduplicates, with the probe that reads it back for the queue contract.
pub async fn fresh_fifo_queue_under_test() -> QueueUnderTest {
    let clients = clients().await;
    let url = new_queue(&clients, true).await;
    QueueUnderTest {
        queue: Arc::new(SqsReclaimQueue::new(clients.sqs.clone(), &url)),
        probe: Arc::new(queue_probe::SqsProbe {
            client: clients.sqs,
            url,
        }),
    }
}

/// Every item of `table`, read raw (every scan page), to see what the adapter
/// really stored.
pub async fn scan_items(
    clients: &AwsClients,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    // The SDK's paginator follows LastEvaluatedKey: every item, not only the first 1 MB of them.
    clients
        .dynamodb
        .scan()
        .table_name(table)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("scan the test table")
}

/// The item's expiry (the table's TTL attribute), in epoch seconds.
pub fn ttl_of(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> i64 {
    item[miro_sam_aws::table::TTL]
        .as_n()
        .expect("a TTL number")
        .parse()
        .expect("whole seconds")
}

pub mod counting;
pub mod miro;
pub mod queue_probe;
