//! `miro-sam pause` / `miro-sam resume` (and `miro-sam aws pause|resume --org`): the org's kill switch.

use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{pause_org, resume_org};
use miro_sam_core::ports::SubscriptionStore;

use crate::args::{Global, PauseArgs};
use crate::context::{Ctx, operator};
use crate::failure::CmdResult;

pub async fn pause(ctx: &Ctx, g: &Global, args: PauseArgs) -> CmdResult {
    let org = ctx.org(g).await?;
    pause_on(ctx.deps.store.as_ref(), &org, &args.reason).await
}

pub async fn resume(ctx: &Ctx, g: &Global) -> CmdResult {
    let org = ctx.org(g).await?;
    resume_on(ctx.deps.store.as_ref(), &org).await
}

/// Pauses `org` in `store` (the SQLite file or the deployment's table).
pub async fn pause_on(store: &dyn SubscriptionStore, org: &OrgId, reason: &str) -> CmdResult {
    let p = pause_org(store, org, reason, &operator("pause"), chrono::Utc::now()).await?;
    println!(
        "Org {org} is paused ({p}). Nothing will be sent to Miro for it: queued reclaims end skipped, `apply` \
         refuses. `resume` turns this off."
    );
    Ok(())
}

pub async fn resume_on(store: &dyn SubscriptionStore, org: &OrgId) -> CmdResult {
    match resume_org(store, org, &operator("resume"), chrono::Utc::now()).await? {
        Some(was) => println!(
            "Org {org} is resumed (it was {was}). Reclaims skipped while paused stay skipped: plan again."
        ),
        None => println!("Org {org} was not paused; nothing changed."),
    }
    Ok(())
}
