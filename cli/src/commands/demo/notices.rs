//! The demo's notices (issue 12): the day's notices and digest go into an outbox folder in the demo's data
//! directory, through the same `notices::send` as `miro-sam plan`, with keep links signed by the data directory's
//! key (so `demo --serve`'s console takes them). A few members of the first day's notices keep their seat by
//! following the link in their message, as the console's keep page does on its POST: the token is verified and
//! the member's cycle kept.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::notices::{
    CycleRef, KeepOutcome, NoticeDaySummary, NoticeRecord, NoticeState, keep_seat,
};
use miro_sam_core::ports::NoticeStore;
use miro_sam_links::{KEEP_PATH, verify_keep_token};
use miro_sam_notify::OutboxMailer;
use secrecy::SecretString;

use super::super::notices::{self, Channels};
use crate::args::{DEFAULT_CONSOLE_URL, NoticeArgs};
use crate::context::Ctx;
use crate::exit;
use crate::failure::{CmdResult, Failure};

/// The outbox folder in the demo's data directory.
pub const OUTBOX: &str = "outbox";
/// Members of the first day's notices who keep their seat.
pub const KEEPS: usize = 3;
/// Whom members are told to ask, and who gets the digest: the org's admin in the sandbox.
const ADMIN_EMAIL: &str = "jane.admin.1@acme-corp.example";

/// The demo's notice channel and the key its links are signed with.
pub struct DemoNotices {
    pub channels: Channels,
    pub key: SecretString,
    pub outbox: PathBuf,
}

/// The outbox channel for the demo in `data_dir`; keep links lead to the console `demo --serve` runs on `port`.
pub fn demo_notices(data_dir: &Path, port: u16) -> CmdResult<DemoNotices> {
    let outbox = data_dir.join(OUTBOX);
    let key = notices::keep_link_key(data_dir)?;
    let args = NoticeArgs {
        smtp_url: None,
        outbox: Some(outbox.clone()),
        notice_from: Some(format!("Acme Corp IT <{ADMIN_EMAIL}>")),
        notice_contact: format!("Jane, the Miro administrator ({ADMIN_EMAIL})"),
        send_rate: miro_sam_core::notices::DEFAULT_SEND_RATE,
        digest_to: vec![ADMIN_EMAIL.into()],
        webhook_url: None,
        // Port 0 is chosen when the console starts: the links then name the default port.
        console_url: if port == 0 {
            DEFAULT_CONSOLE_URL.to_owned()
        } else {
            format!("http://127.0.0.1:{port}/console")
        },
    };
    let channels = notices::channels(&args, key.clone())?
        .ok_or_else(|| Failure::new(exit::FAILURE, "the demo's outbox channel was not set up"))?;
    Ok(DemoNotices {
        channels,
        key,
        outbox,
    })
}

/// Removes the `.eml` files an earlier demo run left in `outbox` (nothing else in it).
pub fn clear_outbox(outbox: &Path) -> CmdResult<()> {
    let entries = match std::fs::read_dir(outbox) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "eml") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The file the notice of `record`'s cycle was written to.
pub fn notice_file(outbox: &Path, record: &NoticeRecord) -> PathBuf {
    outbox.join(OutboxMailer::file_name(
        &format!("{}/notice", record.cycle_key()),
        1,
    ))
}

/// The org's notice records, all of them (the demo's org is small; the product pages through them).
pub async fn records(ctx: &Ctx, org: &OrgId) -> CmdResult<Vec<NoticeRecord>> {
    let mut all = Vec::new();
    let mut after: Option<MemberId> = None;
    loop {
        let page = ctx
            .store
            .list_notices_page(org, after.as_ref(), 500)
            .await?;
        let done = page.len() < 500;
        after = page.last().map(|r| r.member_id.clone());
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The first day's notices: who was told, and on which day their seat goes.
pub struct Cohort {
    pub told_on: NaiveDate,
    pub reclaim_on: Option<NaiveDate>,
    pub members: Vec<MemberId>,
    /// One of their messages, to open.
    pub example: Option<PathBuf>,
}

pub async fn cohort(ctx: &Ctx, org: &OrgId, outbox: &Path, today: NaiveDate) -> CmdResult<Cohort> {
    let told: Vec<NoticeRecord> = records(ctx, org)
        .await?
        .into_iter()
        .filter(|r| r.notified_on == today && matches!(r.state, NoticeState::Notified))
        .collect();
    Ok(Cohort {
        told_on: today,
        reclaim_on: told.first().map(|r| r.reclaim_on),
        members: told.iter().map(|r| r.member_id.clone()).collect(),
        example: told.first().map(|r| notice_file(outbox, r)),
    })
}

/// A member who kept the seat through the link.
pub struct Keep {
    pub member: MemberId,
    pub hold_until: chrono::DateTime<chrono::Utc>,
}

/// The first [`KEEPS`] members of `cohort` open the link in their notice and press the button: the token is
/// checked and their cycle kept, as the console's keep page does.
pub async fn keep_through_links(
    ctx: &Ctx,
    org: &OrgId,
    demo: &DemoNotices,
    cohort: &Cohort,
) -> CmdResult<Vec<Keep>> {
    let now = ctx.deps.clock.now();
    let mut kept = Vec::new();
    for member in cohort.members.iter().take(KEEPS) {
        let Some(record) = ctx.store.get_notice(org, member).await? else {
            continue;
        };
        let file = notice_file(&demo.outbox, &record);
        let message = std::fs::read_to_string(&file).map_err(|e| {
            Failure::new(
                exit::FAILURE,
                format!("cannot read the notice {}: {e}", file.display()),
            )
        })?;
        let token = keep_token_in(&message).ok_or_else(|| {
            Failure::new(
                exit::FAILURE,
                format!("the notice {} carries no keep link", file.display()),
            )
        })?;
        let target = verify_keep_token(&demo.key, &token, now).map_err(|e| {
            Failure::new(
                exit::FAILURE,
                format!("the keep link of {}: {e}", file.display()),
            )
        })?;
        let outcome = keep_seat(
            ctx.deps.store.as_ref(),
            ctx.store.as_ref(),
            CycleRef {
                org: &target.org,
                member: &target.member,
                cycle: target.cycle,
            },
            now,
        )
        .await
        .map_err(notices::failure)?;
        if let KeepOutcome::Kept { hold_until } = outcome {
            kept.push(Keep {
                member: target.member,
                hold_until,
            });
        }
    }
    Ok(kept)
}

/// The token of the first keep link in an email as the outbox wrote it. A quoted-printable body breaks long
/// lines with a `=` at the end; a keep link holds no `=`, so rejoining those lines is all the decoding it needs.
pub fn keep_token_in(message: &str) -> Option<String> {
    let joined = message.replace("=\r\n", "").replace("=\n", "");
    let mark = format!("{KEEP_PATH}/");
    let at = joined.find(&mark)? + mark.len();
    let token: String = joined[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// Where the first day's notices stood on the approval day, before the approval.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CohortStanding {
    pub due: usize,
    pub kept: usize,
    pub dropped_out: usize,
    /// Neither due nor ended (a keep request, an undelivered notice): not reclaimed on this notice.
    pub other: usize,
}

pub async fn standing(ctx: &Ctx, org: &OrgId, cohort: &Cohort) -> CmdResult<CohortStanding> {
    let mut s = CohortStanding::default();
    for m in &cohort.members {
        match ctx.store.get_notice(org, m).await?.map(|r| r.state) {
            Some(NoticeState::Due) => s.due += 1,
            Some(NoticeState::Kept { .. }) => s.kept += 1,
            Some(NoticeState::DroppedOut { .. }) => s.dropped_out += 1,
            _ => s.other += 1,
        }
    }
    Ok(s)
}

/// The month's notice days added up.
pub fn total(days: impl Iterator<Item = NoticeDaySummary>) -> NoticeDaySummary {
    days.fold(NoticeDaySummary::default(), |mut t, d| {
        t.notified += d.notified;
        t.reminded += d.reminded;
        t.due += d.due;
        t.dropped_out += d.dropped_out;
        t.not_delivered += d.not_delivered;
        t.send_failed += d.send_failed;
        t.contended += d.contended;
        t.silenced = t.silenced.or(d.silenced);
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keep_token_is_found_plain_or_across_a_soft_line_break() {
        let plain = "Hello,\r\nopen this link:\r\nhttp://127.0.0.1:8780/console/keep/k1.3074.42.1.99.abcdef\r\n";
        assert_eq!(
            keep_token_in(plain).as_deref(),
            Some("k1.3074.42.1.99.abcdef")
        );
        let qp = "open this link:\r\nhttp://127.0.0.1:8780/console/keep/k1.3074.42.=\r\n1.99.abcdef\r\nbye";
        assert_eq!(keep_token_in(qp).as_deref(), Some("k1.3074.42.1.99.abcdef"));
        assert_eq!(keep_token_in("tell your administrator"), None);
    }
}
