//! AWS adapters of the core's ports, through the official AWS SDK for Rust:
//!
//! - [`DynamoStore`]: [`SubscriptionStore`](miro_sam_core::ports::SubscriptionStore) on one DynamoDB table
//!   (single-table design, see `TABLE.md` and [`table::create_table`]);
//! - [`SecretsTokenStore`]: [`TokenStore`](miro_sam_core::ports::TokenStore) on Secrets Manager, with its
//!   compare-and-set on a version item in the same table;
//! - [`SqsReclaimQueue`]: [`ReclaimQueue`](miro_sam_core::ports::ReclaimQueue) on SQS;
//! - [`OAuthStateStore`]: single-use OAuth `state` values with a ten-minute life, for the OAuth callback;
//! - [`SesMailer`]: [`Mailer`](miro_sam_core::ports::Mailer) on Amazon SES v2, the notice channel;
//! - [`DynamoStore`] is also the [`NoticeStore`](miro_sam_core::ports::NoticeStore) (notice records).
//!
//! [`env`](mod@env) owns the environment variables; [`Adapters::from_env`] builds everything from them with one
//! [`aws_config::SdkConfig`].

pub mod dynamo;
pub mod env;
mod error;
pub mod retry;
pub mod sdk;
pub mod secrets;
pub mod ses;
pub mod sqs;
pub mod table;

pub use dynamo::{
    DynamoStore, OAUTH_STATE_TTL, OAuthStateStore, ReadStats, StateTake, TakenState, WriteStats,
};
pub use env::{AwsConfig, ConfigError};
pub use sdk::{AdapterError, Adapters, AwsClients};
pub use secrets::{SecretsTokenStore, read_oauth_client_secret, scim_token_stored};
pub use ses::SesMailer;
pub use sqs::SqsReclaimQueue;
