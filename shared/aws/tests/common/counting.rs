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

impl RequestCounter {
    fn count(&self, op: &str) {
        *self.0.lock().unwrap().entry(op.to_owned()).or_default() += 1;
    }
}

/// What [`OnOperation`] calls with an operation's name.
type OperationHook = Arc<dyn Fn(&str) -> Result<(), BoxError> + Send + Sync>;

/// Hands the name of every operation a client sends to `on`, from inside the SDK; an error from `on` fails the
/// request there, as a failing service would.
#[derive(Clone)]
pub struct OnOperation {
    name: &'static str,
    on: OperationHook,
}

impl OnOperation {
    pub fn new(
        name: &'static str,
        on: impl Fn(&str) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        OnOperation {
            name,
            on: Arc::new(on),
        }
    }
}

impl std::fmt::Debug for OnOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Intercept for OnOperation {
    fn name(&self) -> &'static str {
        self.name
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg.load::<Metadata>().map(|m| m.name()).unwrap_or("?");
        (self.on)(op)
    }
}

/// A DynamoDB client from `sdk` that counts its requests.
pub fn counted_dynamodb(sdk: &aws_config::SdkConfig) -> (aws_sdk_dynamodb::Client, RequestCounter) {
    let counter = RequestCounter::default();
    let counting = counter.clone();
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(OnOperation::new("RequestCounter", move |op| {
            counting.count(op);
            Ok(())
        }))
        .build();
    (aws_sdk_dynamodb::Client::from_conf(conf), counter)
}

/// A fresh table, the clients of the local AWS API, and a store on the table whose every request is counted
/// (the clients' own requests are not).
pub struct CountedStore {
    pub clients: miro_sam_aws::AwsClients,
    pub table: String,
    pub store: miro_sam_aws::DynamoStore,
    pub requests: RequestCounter,
}

pub async fn counted_store() -> CountedStore {
    let sdk = super::sdk().await;
    let clients = miro_sam_aws::AwsClients::new(&sdk);
    let table = super::new_table(&clients).await;
    let (dynamodb, requests) = counted_dynamodb(&sdk);
    CountedStore {
        store: miro_sam_aws::DynamoStore::new(dynamodb, &table),
        clients,
        table,
        requests,
    }
}
