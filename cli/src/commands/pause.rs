//! `miro-sam pause` / `miro-sam resume` (on either store; `miro-sam aws pause|resume --org` are aliases): the org's
//! kill switch.

use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{pause_org, resume_org};

use crate::args::{Global, PauseArgs};
use crate::backend::Backend;
use crate::context::operator;
use crate::failure::CmdResult;

pub async fn pause(b: &Backend, g: &Global, args: PauseArgs) -> CmdResult {
    let org = b.org(g).await?;
    pause_on(b, &org, &args.reason).await
}

pub async fn resume(b: &Backend, g: &Global) -> CmdResult {
    let org = b.org(g).await?;
    resume_on(b, &org).await
}

pub async fn pause_on(b: &Backend, org: &OrgId, reason: &str) -> CmdResult {
    let p = pause_org(
        b.deps.store.as_ref(),
        org,
        reason,
        &operator("pause"),
        b.deps.clock.now(),
    )
    .await?;
    let refuses = if b.is_deployment() {
        "approvals are refused"
    } else {
        "`apply` refuses"
    };
    println!(
        "Org {org} is paused ({p}). Nothing will be sent to Miro for it: queued reclaims end skipped, {refuses}. \
         `{}` turns this off.",
        b.command("resume")
    );
    Ok(())
}

pub async fn resume_on(b: &Backend, org: &OrgId) -> CmdResult {
    match resume_org(
        b.deps.store.as_ref(),
        org,
        &operator("resume"),
        b.deps.clock.now(),
    )
    .await?
    {
        Some(was) => println!(
            "Org {org} is resumed (it was {was}). Reclaims skipped while paused stay skipped: plan again."
        ),
        None => println!("Org {org} was not paused; nothing changed."),
    }
    Ok(())
}
