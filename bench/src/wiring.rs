//! How the benchmarks wire the production code to the sandbox: the jobs' dependencies, the functions'
//! settings read from the same variables a deployment sets, their runtime, and the SQS events Lambda hands them.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use miro_client::{MiroClient, MiroConfig};
use miro_sam_aws::{Adapters, AwsClients, AwsConfig};
use miro_sam_core::jobs::Deps;
use miro_sam_core::ports::{SubscriptionStore, SystemClock, TokenStore};
use miro_sam_lambda::{Runtime, Settings, env};
use miro_sandbox::Sandbox;

/// The jobs' dependencies on the real clock, without an OAuth app: a bench token never needs a refresh.
pub fn deps(
    store: Arc<dyn SubscriptionStore>,
    tokens: Arc<dyn TokenStore>,
    client: MiroClient,
) -> Deps {
    Deps {
        store,
        tokens,
        client,
        clock: Arc::new(SystemClock),
        oauth_app: None,
    }
}

/// A function's settings with every Miro base URL at the sandbox, plus one variable of the function's own.
pub fn sandbox_settings(
    sandbox: &Sandbox,
    (name, value): (&str, String),
) -> Result<Settings, String> {
    let vars = [
        (env::MIRO_API_BASE_URL, sandbox.base_url()),
        (env::MIRO_OAUTH_BASE_URL, sandbox.base_url()),
        (env::MIRO_SCIM_BASE_URL, sandbox.scim_base_url()),
        (name, value),
    ];
    Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .map_err(|e| e.to_string())
}

/// A function's runtime as its cold start builds it (`Runtime::new`), with the org's data and tokens in `store`
/// and `tokens` instead of the deployment's table and secrets. `clients` serve the rest (the download queue).
pub async fn runtime(
    settings: Settings,
    clients: AwsClients,
    miro: MiroConfig,
    store: Arc<dyn SubscriptionStore>,
    tokens: Arc<dyn TokenStore>,
) -> Result<Runtime, String> {
    let adapters = Adapters::from_clients(
        AwsConfig {
            table_name: "unused-the-store-is-given".into(),
            secret_prefix: "miro-sam-bench".into(),
            reclaim_queue_url: None,
            oauth_client_secret_name: None,
        },
        clients,
    );
    let mut rt = Runtime::new(settings, adapters, miro)
        .await
        .map_err(|e| e.to_string())?;
    rt.deps.store = store;
    rt.deps.tokens = tokens;
    Ok(rt)
}

/// AWS clients for a runtime whose store, tokens and queues are all given: built, never called.
pub fn unused_aws_clients() -> AwsClients {
    AwsClients::new(
        &aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    )
}

/// The SQS event Lambda's event source mapping hands a function: one record per (message id, receipt handle,
/// body), received once.
pub fn sqs_event<'a>(
    queue: &str,
    messages: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> Result<SqsEvent, String> {
    let records: Vec<serde_json::Value> = messages
        .into_iter()
        .map(|(id, receipt, body)| {
            serde_json::json!({
                "messageId": id, "receiptHandle": receipt, "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).map_err(|e| e.to_string())
}
