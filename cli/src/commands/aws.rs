//! Operator commands for an AWS deployment (cargo feature `aws`). They read the same environment variables as the
//! functions (`miro_sam_aws::env`, `miro_sam_lambda::env`) and the normal AWS configuration chain.

use chrono::Duration;
use miro_client::SecretString;
use miro_sam_aws::{Adapters, AwsClients};
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::TokenStore;
use miro_sam_lambda::{connect_link, read_plain_secret};
use std::io::Read;

use crate::args::{AwsCommand, Global};
use crate::context::client_from;
use crate::failure::{CmdResult, Failure};

/// `{base}/oauth/start?link=…`, whatever the base's trailing slash.
pub fn start_url(base_url: &str, link: &str) -> CmdResult<url::Url> {
    let base = format!("{}/", base_url.trim_end_matches('/'));
    let mut url = url::Url::parse(&base)
        .and_then(|b| b.join("oauth/start"))
        .map_err(|e| Failure::usage(format!("--base-url {base_url:?} is not a URL: {e}")))?;
    url.query_pairs_mut().append_pair("link", link);
    Ok(url)
}

pub async fn run(g: &Global, cmd: AwsCommand) -> CmdResult {
    match cmd {
        AwsCommand::ConnectLink {
            base_url,
            valid_for_minutes,
            key_secret,
        } => {
            let sdk = miro_sam_aws::sdk::load().await;
            let clients = AwsClients::new(&sdk);
            let key_name = key_secret
                .or_else(|| std::env::var(miro_sam_lambda::env::CONNECT_LINK_KEY_NAME).ok())
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "name the connect-link key secret with --key-secret or {}",
                        miro_sam_lambda::env::CONNECT_LINK_KEY_NAME
                    ))
                })?;
            let key =
                read_plain_secret(&clients.secrets, &key_name, "the connect-link signing key")
                    .await
                    .map_err(Failure::needs_action)?;
            let valid = Duration::minutes(valid_for_minutes.clamp(1, 7 * 24 * 60));
            let url = start_url(
                &base_url,
                &connect_link::issue(&key, chrono::Utc::now(), valid),
            )?;
            eprintln!(
                "Valid for {} minutes. Send it to a Company Admin of the org to connect:",
                valid.num_minutes()
            );
            println!("{url}");
            Ok(())
        }
        AwsCommand::ScimToken { org, token } => {
            let adapters = Adapters::from_env()
                .await
                .map_err(|e| Failure::needs_action(e.to_string()))?;
            let org = OrgId::parse(&org)?;
            let token = match token {
                Some(t) => t,
                None => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s
                }
            };
            let token = SecretString::from(token.trim().to_owned());
            client_from(g)?.scim_service_provider_config(&token).await?;
            adapters.tokens.put_scim_token(&org, &token).await?;
            println!(
                "SCIM token for org {org} works and is stored in {}.",
                adapters.tokens.scim_secret_name(&org)
            );
            Ok(())
        }
        AwsCommand::Policy { org, action } => {
            let adapters = Adapters::from_env()
                .await
                .map_err(|e| Failure::needs_action(e.to_string()))?;
            let org = OrgId::parse(&org)?;
            super::policy::run_on(&adapters.store, &org, action, chrono::Utc::now()).await
        }
        AwsCommand::InitLocal {
            table,
            link_key_secret,
            client_secret_name,
            client_secret,
        } => {
            let sdk = miro_sam_aws::sdk::load().await;
            let clients = AwsClients::new(&sdk);
            miro_sam_aws::table::create_table(&clients.dynamodb, &table).await?;
            println!("Table {table} is ready.");
            let random_key = crate::commands::connect::new_state();
            let secrets = [
                (link_key_secret, Some(random_key)),
                (client_secret_name, client_secret),
            ];
            for (name, value) in secrets {
                let (Some(name), Some(value)) = (name, value) else {
                    continue;
                };
                clients
                    .secrets
                    .create_secret()
                    .name(&name)
                    .secret_string(value)
                    .send()
                    .await
                    .map_err(|e| {
                        Failure::needs_action(format!(
                            "cannot create secret {name}: {}",
                            e.into_service_error()
                        ))
                    })?;
                println!("Secret {name} is ready.");
            }
            Ok(())
        }
    }
}
