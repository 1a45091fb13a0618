//! `miro-sam scim-token` (and its alias `miro-sam aws scim-token --org ORG`): store the org's SCIM token after
//! checking that it works, in the embedded store or in the deployment's Secrets Manager, where only the reclaim
//! function reads it.

use miro_client::SecretString;
use std::io::Read;

use crate::args::{Global, ScimTokenArgs};
use crate::backend::{Backend, Place};
use crate::failure::{CmdResult, Failure};

pub async fn run(b: &Backend, g: &Global, args: ScimTokenArgs) -> CmdResult {
    let org = b.org(g).await?;
    let token = match args.token {
        Some(t) => t,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
    };
    let token = SecretString::from(token.trim().to_owned());
    if secrecy::ExposeSecret::expose_secret(&token).is_empty() {
        return Err(Failure::usage(format!(
            "the SCIM token is empty; pass it on stdin or in {}",
            crate::env::SCIM_TOKEN
        )));
    }
    let info = b.deps.client.scim_service_provider_config(&token).await?;
    if !info.patch_supported {
        return Err(Failure::needs_action(
            "Miro's SCIM service says PATCH is not supported for this org; reclaiming needs it",
        ));
    }
    b.deps.tokens.put_scim_token(&org, &token).await?;
    match &b.place {
        Place::Embedded(_) => println!("SCIM token for org {org} works and is stored."),
        #[cfg(feature = "aws")]
        Place::Deployment(a) => println!(
            "SCIM token for org {org} works and is stored in {}.",
            a.tokens.scim_secret_name(&org)
        ),
    }
    Ok(())
}
