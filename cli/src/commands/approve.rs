//! `miro-sam approve PLAN_ID [--member ID ...]` and `miro-sam reject PLAN_ID --member ID ... --reason WHY`: the
//! approval gate from the command line, the same core jobs the console calls, on either store. Approved candidates
//! are queued: on one machine `miro-sam serve` (or `apply`) carries them out, on a deployment the reclaim function
//! does, from its SQS queue.

use miro_sam_core::domain::{MemberId, PlanId};
use miro_sam_core::jobs::{Selection, WaitingForNotice, approve_plan, reject_candidates};

use crate::args::{ApproveArgs, RejectArgs};
use crate::backend::Backend;
use crate::context::operator;
use crate::failure::CmdResult;

pub async fn approve(b: &Backend, args: ApproveArgs) -> CmdResult {
    let plan_id = PlanId::parse(&args.plan_id)?;
    let selection = if args.member.is_empty() {
        Selection::All
    } else {
        Selection::Members(parse_members(&args.member)?)
    };
    let r = approve_plan(
        b.deps.store.as_ref(),
        b.queue()?,
        plan_id,
        &selection,
        &operator("approve"),
        b.deps.clock.now(),
    )
    .await?;
    println!(
        "Approved: {} queued, {} already queued or decided before.",
        r.queued, r.already_queued
    );
    for m in &r.not_candidates {
        println!("  {m} is not a candidate of plan {plan_id}; nothing done for it");
    }
    print_waiting(&r.waiting_for_notice);
    if b.is_deployment() {
        println!("The deployment's reclaim function carries them out (each re-checked first).");
    } else {
        println!("`miro-sam serve` carries out the queued reclaims (each re-checked first).");
    }
    Ok(())
}

pub async fn reject(b: &Backend, args: RejectArgs) -> CmdResult {
    let plan_id = PlanId::parse(&args.plan_id)?;
    let members = parse_members(&args.member)?;
    let n = reject_candidates(
        b.deps.store.as_ref(),
        plan_id,
        &members,
        &operator("reject"),
        &args.reason,
        b.deps.clock.now(),
    )
    .await?;
    println!(
        "Rejected {n} of {} candidates; plan {plan_id} will not reclaim them.",
        members.len()
    );
    Ok(())
}

/// Members are listed up to this many; the rest are counted (a plan's whole first day may be waiting).
const WAITING_LISTED: usize = 50;

fn print_waiting(waiting: &[WaitingForNotice]) {
    if waiting.is_empty() {
        return;
    }
    println!(
        "{} waiting for their notice, not queued (approve again once their reclaim date has come):",
        waiting.len()
    );
    for w in waiting.iter().take(WAITING_LISTED) {
        println!("  {} ({}): {}", w.email, w.member_id, w.wait.short());
    }
    if waiting.len() > WAITING_LISTED {
        println!("  ... and {} more", waiting.len() - WAITING_LISTED);
    }
}

fn parse_members(ids: &[String]) -> CmdResult<Vec<MemberId>> {
    Ok(ids
        .iter()
        .map(|m| MemberId::parse(m))
        .collect::<Result<_, _>>()?)
}
