//! Operator commands for an AWS deployment (cargo feature `aws`). They read the same environment variables as the
//! functions (`miro_sam_aws::env`, `miro_sam_lambda::env`) and the normal AWS configuration chain.

use chrono::Duration;
use miro_client::SecretString;
use miro_sam_aws::AwsClients;
use miro_sam_core::domain::OrgId;
use miro_sam_lambda::read_plain_secret;
use miro_sam_links::connect_link;

use crate::args::{AwsCommand, Global, PauseArgs, ScimTokenArgs, StoreKind};
use crate::backend::Backend;
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

/// A connect link as `connect-link` prints it.
#[derive(Debug, Clone)]
pub struct MintedLink {
    /// `{base}/oauth/start?link=…`: what the Company Admin opens.
    pub url: url::Url,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The only org the link connects; `None`: any org the allow-list accepts.
    pub org: Option<OrgId>,
}

/// Signs a single-use link valid for `valid_for_minutes` (clamped to one minute .. seven days) from `now`, bound to
/// `org` when given.
pub fn mint_link(
    key: &SecretString,
    base_url: &str,
    valid_for_minutes: i64,
    org: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> CmdResult<MintedLink> {
    let org = org.map(OrgId::parse).transpose()?;
    let valid =
        Duration::minutes(valid_for_minutes.clamp(1, connect_link::MAX_VALIDITY.num_minutes()));
    let link = connect_link::issue_for(key, now, valid, org.as_ref());
    let expires_at = connect_link::verify(key, Some(&link), now)
        .map_err(|e| Failure::needs_action(format!("the link just signed does not verify: {e}")))?
        .expires_at;
    Ok(MintedLink {
        url: start_url(base_url, &link)?,
        expires_at,
        org,
    })
}

/// The global options of `miro-sam --store aws --org ORG`, for the `aws` aliases.
fn on_deployment(g: &Global, org: String) -> Global {
    Global {
        store: StoreKind::Aws,
        org: Some(org),
        ..g.clone()
    }
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
            // The global `--org` (or MIRO_SAM_ORG) binds the link: the callback refuses any other org.
            let minted = mint_link(
                &key,
                &base_url,
                valid_for_minutes,
                g.org.as_deref(),
                chrono::Utc::now(),
            )?;
            let whom = match &minted.org {
                Some(org) => format!("connects org {org} only"),
                None => "connects any org the deployment allows (bind it with --org)".to_owned(),
            };
            eprintln!(
                "Works once, until {}; {whom}. Send it to a Company Admin of the org to connect:",
                minted.expires_at
            );
            println!("{}", minted.url);
            Ok(())
        }
        // Aliases of the verbs on `--store aws`, kept so the documented commands go on working.
        AwsCommand::ScimToken { org, token } => {
            let g = on_deployment(g, org);
            let b = Backend::open(&g).await?;
            super::scim_token::run(&b, &g, ScimTokenArgs { token }).await
        }
        AwsCommand::Policy { org, action } => {
            let g = on_deployment(g, org);
            super::policy::run(&Backend::open(&g).await?, &g, action).await
        }
        AwsCommand::Pause { org, reason } => {
            let g = on_deployment(g, org);
            super::pause::pause(&Backend::open(&g).await?, &g, PauseArgs { reason }).await
        }
        AwsCommand::Resume { org } => {
            let g = on_deployment(g, org);
            super::pause::resume(&Backend::open(&g).await?, &g).await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    /// What `miro-sam aws connect-link ARGS…` would mint at `now`.
    fn minted(args: &[&str], now: chrono::DateTime<chrono::Utc>) -> CmdResult<MintedLink> {
        let argv = ["miro-sam", "aws", "connect-link"].iter().chain(args);
        let cli = Cli::try_parse_from(argv).expect("valid arguments");
        let Command::Aws(AwsCommand::ConnectLink {
            base_url,
            valid_for_minutes,
            ..
        }) = cli.command
        else {
            unreachable!("parsed as connect-link")
        };
        let key = SecretString::from("test-link-key".to_owned());
        mint_link(
            &key,
            &base_url,
            valid_for_minutes,
            cli.global.org.as_deref(),
            now,
        )
    }

    #[test]
    fn links_last_24_hours_unless_told_otherwise_and_name_their_org() {
        let now = chrono::Utc::now();
        let base = "https://abc123.execute-api.us-east-1.amazonaws.com/";
        let default = minted(&["--base-url", base], now).unwrap();
        assert_eq!(
            default.expires_at.timestamp(),
            (now + Duration::hours(24)).timestamp()
        );
        assert_eq!(default.org, None);
        assert_eq!(default.url.path(), "/oauth/start");

        let bound = minted(
            &[
                "--base-url",
                base,
                "--org",
                "3074457345821140934",
                "--valid-for-minutes",
                "30",
            ],
            now,
        )
        .unwrap();
        assert_eq!(
            bound.org.as_ref().map(OrgId::as_str),
            Some("3074457345821140934")
        );
        assert_eq!(
            bound.expires_at.timestamp(),
            (now + Duration::minutes(30)).timestamp()
        );
        let capped = minted(&["--base-url", base, "--valid-for-minutes", "99999"], now).unwrap();
        assert_eq!(
            capped.expires_at.timestamp(),
            (now + Duration::days(7)).timestamp()
        );
        assert!(
            minted(&["--base-url", base, "--org", "not-an-org"], now).is_err(),
            "an org id that is not one is refused before anything is signed"
        );
    }
}
