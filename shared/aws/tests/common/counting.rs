//! Counts the DynamoDB requests a client sends, by operation, from inside the SDK: what the adapter really sent,
//! whatever its own bookkeeping says. Counted once per operation before serialization, because the operation's
//! metadata is not in the config bag yet when a client interceptor sees the execution start.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u64>>>);

/// Operations that change the table.
pub const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

impl RequestCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }

    pub fn get(&self, op: &str) -> u64 {
        self.0.lock().unwrap().get(op).copied().unwrap_or(0)
    }

    pub fn writes(&self) -> u64 {
        WRITES.iter().map(|op| self.get(op)).sum()
    }

    pub fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "?".into());
        *self.0.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

/// A DynamoDB client from `sdk` that counts its requests.
pub fn counted_dynamodb(sdk: &aws_config::SdkConfig) -> (aws_sdk_dynamodb::Client, RequestCounter) {
    let counter = RequestCounter::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .build();
    (aws_sdk_dynamodb::Client::from_conf(conf), counter)
}
