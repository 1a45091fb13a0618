//! `miro-sam notices`: the org's notice records, one line per member. And what `plan` and the demo run after the
//! day's plan on this machine: the notices and the admins' digest ([`send`], the core's `notices_after_plan`)
//! through the channels the settings name ([`channels`]), with keep links signed by the data directory's key
//! ([`keep_link_key`]), which `serve`'s console verifies.

mod channels;
mod keep_key;

use miro_sam_core::domain::{MemberId, OrgId, PlanId};
use miro_sam_core::notices::{
    NoticeDeps, NoticeError, NoticeRecord, NoticeState, OrgNoticeReport, notices_after_plan,
};
use miro_sam_core::ports::MailError;

pub use channels::{Channels, OUTBOX_SENDER, channels};
pub use keep_key::{KEEP_LINK_KEY_FILE, keep_link_key};

use crate::args::Global;
use crate::backend::Backend;
use crate::context::Ctx;
use crate::env;
use crate::exit;
use crate::failure::{CmdResult, Failure};
use crate::progress;

/// Records read per page of `miro-sam notices`.
const PAGE: usize = 200;

/// What `plan` prints, once, when the policy gives notice but nothing could carry it.
pub fn no_channel_message() -> String {
    format!(
        "Notices are on in the policy but no mail channel is set: --smtp-url / {} or --outbox / {}. Nobody was \
         told today, and no candidate's reclaim can go ahead until they are.",
        env::SMTP_URL,
        env::OUTBOX_DIR
    )
}

pub async fn run(b: &Backend, g: &Global) -> CmdResult {
    let org = b.org(g).await?;
    let mut after: Option<MemberId> = None;
    let mut count = 0usize;
    loop {
        let page = b
            .deps
            .store
            .list_notices_page(&org, after.as_ref(), PAGE)
            .await?;
        if count == 0 && page.is_empty() {
            println!(
                "No notices for org {org} yet: they start with the first plan whose policy gives notice."
            );
            return Ok(());
        }
        if count == 0 {
            println!(
                "{:<40} {:<15} {:<11} {:>5}  {:<11}  detail",
                "member", "state", "reclaim on", "cycle", "told on"
            );
        }
        for r in &page {
            println!("{}", line(r));
        }
        count += page.len();
        after = page.last().map(|r| r.member_id.clone());
        if page.len() < PAGE {
            break;
        }
    }
    println!("{count} notice record(s) of org {org}.");
    Ok(())
}

fn line(r: &NoticeRecord) -> String {
    let detail = match &r.state {
        NoticeState::Kept { hold_until, .. } => format!("kept until {}", hold_until.date_naive()),
        NoticeState::KeepRequested { at } => {
            format!("asked to keep on {}; waits for an admin", at.date_naive())
        }
        NoticeState::DroppedOut { reason } => reason.to_string(),
        NoticeState::Reclaimed { plan_id } => format!("by plan {plan_id}"),
        NoticeState::Bounced { detail } | NoticeState::SendFailed { error: detail } => {
            detail.clone()
        }
        _ => String::new(),
    };
    format!(
        "{:<40} {:<15} {:<11} {:>5}  {:<11}  {detail}",
        r.email.as_str(),
        r.state.kind(),
        r.reclaim_on,
        r.cycle,
        r.notified_on
    )
}

/// Runs the org's notice day on `plan_id` (made today) and the digest, through `channels`.
pub async fn send(
    ctx: &Ctx,
    org: &OrgId,
    plan_id: PlanId,
    channels: &Channels,
) -> CmdResult<OrgNoticeReport> {
    let deps = NoticeDeps {
        store: ctx.deps.store.clone(),
        notices: ctx.store.clone(),
        mailer: channels.mailer.clone(),
        clock: ctx.deps.clock.clone(),
    };
    let spinner = progress::spinner(&format!(
        "Sending the day's notices through {}",
        channels.describe
    ));
    let report = notices_after_plan(&deps, org, plan_id, &channels.settings).await;
    spinner.finish_and_clear();
    report.map_err(failure)
}

/// The day's notices in a few lines: what was sent, what is due, why nothing was, and digest failures.
pub fn print_report(report: &OrgNoticeReport, channels: &Channels) {
    let s = &report.summary;
    match &s.silenced {
        Some(why) => println!("Notices: none sent today: {why}."),
        None => println!(
            "Notices through {}: {} told, {} reminded.",
            channels.describe, s.notified, s.reminded
        ),
    }
    let recorded = s.due + s.dropped_out + s.not_delivered + s.send_failed + s.contended;
    if s.silenced.is_some() && recorded == 0 {
        return print_digest_failures(report);
    }
    println!(
        "  {} due (their reclaim may go ahead once approved), {} dropped out, {} not delivered{}{}.",
        s.due,
        s.dropped_out,
        s.not_delivered,
        if s.send_failed > 0 {
            format!(
                ", {} to send again (the channel did not take them)",
                s.send_failed
            )
        } else {
            String::new()
        },
        if s.contended > 0 {
            format!(", {} changed by another run meanwhile", s.contended)
        } else {
            String::new()
        }
    );
    print_digest_failures(report);
}

fn print_digest_failures(report: &OrgNoticeReport) {
    for f in &report.digest_failures {
        println!("  The digest was not delivered: {f}");
    }
}

/// A notice run that stopped, as the command's failure: a mail channel that cannot send needs a person, one
/// that asked to wait (or could not be reached) is worth running again; the plan itself stands either way.
pub fn failure(e: NoticeError) -> Failure {
    let code = match &e {
        NoticeError::Mail(MailError::Misconfigured { .. }) => exit::NEEDS_ACTION,
        e if e.is_retryable() => exit::RETRY_LATER,
        NoticeError::Domain(_) => exit::USAGE,
        _ => exit::FAILURE,
    };
    Failure::new(code, format!("the plan is stored, but {e}"))
}
