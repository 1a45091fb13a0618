//! `miro-sam approve PLAN_ID [--member ID ...]` and `miro-sam reject PLAN_ID --member ID ... --reason WHY`: the
//! approval gate from the command line, the same core jobs the console calls. Approved candidates are queued;
//! `miro-sam serve` (or `apply`) carries them out.

use miro_sam_core::domain::{MemberId, PlanId};
use miro_sam_core::jobs::{Selection, approve_plan, reject_candidates};

use crate::args::{ApproveArgs, RejectArgs};
use crate::context::{Ctx, operator};
use crate::failure::CmdResult;

pub async fn approve(ctx: &Ctx, args: ApproveArgs) -> CmdResult {
    let plan_id = PlanId::parse(&args.plan_id)?;
    let selection = if args.member.is_empty() {
        Selection::All
    } else {
        Selection::Members(parse_members(&args.member)?)
    };
    let now = ctx.deps.clock.now();
    let r = approve_plan(
        ctx.deps.store.as_ref(),
        ctx.store.as_ref(),
        plan_id,
        &selection,
        &operator("approve"),
        now,
    )
    .await?;
    println!(
        "Approved: {} queued, {} already queued or decided before.",
        r.queued, r.already_queued
    );
    for m in &r.not_candidates {
        println!("  {m} is not a candidate of plan {plan_id}; nothing done for it");
    }
    println!("`miro-sam serve` carries out the queued reclaims (each re-checked first).");
    Ok(())
}

pub async fn reject(ctx: &Ctx, args: RejectArgs) -> CmdResult {
    let plan_id = PlanId::parse(&args.plan_id)?;
    let members = parse_members(&args.member)?;
    let n = reject_candidates(
        ctx.deps.store.as_ref(),
        plan_id,
        &members,
        &operator("reject"),
        &args.reason,
        ctx.deps.clock.now(),
    )
    .await?;
    println!(
        "Rejected {n} of {} candidates; plan {plan_id} will not reclaim them.",
        members.len()
    );
    Ok(())
}

fn parse_members(ids: &[String]) -> CmdResult<Vec<MemberId>> {
    Ok(ids
        .iter()
        .map(|m| MemberId::parse(m))
        .collect::<Result<_, _>>()?)
}
