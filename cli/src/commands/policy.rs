//! `miro-sam policy show|set`, on either store (`miro-sam aws policy --org ORG` is an alias).

use miro_sam_core::jobs::{current_policy, set_policy};
use miro_sam_core::policy::Policy;
use std::io::Read;

use crate::args::{Global, PolicyCommand};
use crate::backend::Backend;
use crate::failure::{CmdResult, Failure};

pub async fn run(b: &Backend, g: &Global, cmd: PolicyCommand) -> CmdResult {
    let org = b.org(g).await?;
    run_on(b.deps.store.as_ref(), &org, cmd, b.deps.clock.now()).await
}

/// Shows or sets the policy in any store (the embedded one, or a deployment's table).
pub async fn run_on(
    store: &dyn miro_sam_core::ports::SubscriptionStore,
    org: &miro_sam_core::domain::OrgId,
    cmd: PolicyCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> CmdResult {
    match cmd {
        PolicyCommand::Show => {
            let p = current_policy(store, org, now).await?;
            eprintln!("# policy version {} of org {org}", p.version);
            println!("{}", p.policy.to_json_pretty());
        }
        PolicyCommand::Set { file } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?
            };
            let policy = Policy::from_json(&text)?;
            let v = set_policy(
                store,
                org,
                &policy,
                &crate::context::operator("policy set"),
                now,
            )
            .await?;
            println!(
                "Stored policy version {} for org {org}{}.",
                v.version,
                if policy.dry_run { " (dry run)" } else { "" }
            );
        }
    }
    Ok(())
}
