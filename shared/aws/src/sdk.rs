//! The AWS SDK configuration and clients, built once per process.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use miro_sam_core::StoreError;
use secrecy::SecretString;

use crate::env::{AwsConfig, ConfigError};
use crate::{DynamoStore, OAuthStateStore, SecretsTokenStore, SqsReclaimQueue};

/// Loads the normal AWS configuration chain (environment, profile, container or Lambda role), including
/// `AWS_ENDPOINT_URL` so the same code talks to a local AWS API in tests. The HTTP client is rustls with ring,
/// the one TLS stack of the whole product.
pub async fn load() -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// One client per service, all from the same [`SdkConfig`] (and so sharing its HTTP client and credentials).
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    pub fn new(config: &SdkConfig) -> Self {
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// Every client at `endpoint`, whatever `AWS_ENDPOINT_URL` says (the environment outranks the shared
    /// configuration's endpoint, not a service configuration's).
    pub fn at_endpoint(config: &SdkConfig, endpoint: &str) -> Self {
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(config)
                    .endpoint_url(endpoint)
                    .build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(config)
                    .endpoint_url(endpoint)
                    .build(),
            ),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(config)
                    .endpoint_url(endpoint)
                    .build(),
            ),
        }
    }
}

/// Every adapter, wired to the resources named by the configuration. What a Lambda builds once at cold start.
#[derive(Debug, Clone)]
pub struct Adapters {
    pub config: AwsConfig,
    pub clients: AwsClients,
    pub store: DynamoStore,
    pub tokens: SecretsTokenStore,
    pub oauth_states: OAuthStateStore,
    /// `None` when [`crate::env::RECLAIM_QUEUE_URL`] is not set.
    pub queue: Option<SqsReclaimQueue>,
}

impl Adapters {
    /// Reads [`AwsConfig::from_env`] and the AWS configuration chain.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = AwsConfig::from_env()?;
        Ok(Self::new(config, &load().await))
    }

    pub fn new(config: AwsConfig, sdk: &SdkConfig) -> Self {
        Self::from_clients(config, AwsClients::new(sdk))
    }

    /// Wires adapters around clients built elsewhere (e.g. tests pointing every client at a proxy).
    pub fn from_clients(config: AwsConfig, clients: AwsClients) -> Self {
        let table = config.table_name.as_str();
        Adapters {
            store: DynamoStore::new(clients.dynamodb.clone(), table),
            tokens: SecretsTokenStore::new(
                clients.secrets.clone(),
                clients.dynamodb.clone(),
                table,
                &config.secret_prefix,
            ),
            oauth_states: OAuthStateStore::new(clients.dynamodb.clone(), table),
            queue: config
                .reclaim_queue_url
                .as_deref()
                .map(|url| SqsReclaimQueue::new(clients.sqs.clone(), url)),
            clients,
            config,
        }
    }

    /// The queue, or an error naming the variable to set.
    pub fn require_queue(&self) -> Result<&SqsReclaimQueue, ConfigError> {
        self.config.require_reclaim_queue_url()?;
        self.queue.as_ref().ok_or(ConfigError::Missing {
            var: crate::env::RECLAIM_QUEUE_URL,
            what: "the URL of the SQS reclaim queue",
        })
    }

    /// The Miro app's OAuth client secret, read from the secret named by the configuration.
    pub async fn oauth_client_secret(&self) -> Result<SecretString, AdapterError> {
        let name = self.config.require_oauth_client_secret_name()?;
        Ok(crate::read_oauth_client_secret(&self.clients.secrets, name).await?)
    }
}

/// Either a configuration or a storage failure.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
