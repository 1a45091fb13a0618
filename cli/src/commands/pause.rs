//! `miro-sam pause` / `miro-sam resume`: the org's kill switch.

use miro_sam_core::jobs::{pause_org, resume_org};

use crate::args::{Global, PauseArgs};
use crate::context::{Ctx, operator};
use crate::failure::CmdResult;

pub async fn pause(ctx: &Ctx, g: &Global, args: PauseArgs) -> CmdResult {
    let org = ctx.org(g).await?;
    let p = pause_org(
        ctx.deps.store.as_ref(),
        &org,
        &args.reason,
        &operator("pause"),
        ctx.deps.clock.now(),
    )
    .await?;
    println!(
        "Org {org} is paused ({p}). Nothing will be sent to Miro for it: queued reclaims end skipped, `apply` \
         refuses. `miro-sam resume` turns this off."
    );
    Ok(())
}

pub async fn resume(ctx: &Ctx, g: &Global) -> CmdResult {
    let org = ctx.org(g).await?;
    match resume_org(
        ctx.deps.store.as_ref(),
        &org,
        &operator("resume"),
        ctx.deps.clock.now(),
    )
    .await?
    {
        Some(was) => println!(
            "Org {org} is resumed (it was {was}). Reclaims skipped while paused stay skipped: run `miro-sam plan`."
        ),
        None => println!("Org {org} was not paused; nothing changed."),
    }
    Ok(())
}
