//! Telling people before taking their seat (issue 12): each candidate gets a notice with a reclaim date
//! `notice_days` ahead, reminders before it, and a way to keep the seat; the reclaim waits until the cycle is
//! due.
//!
//! - [`record`]: one member's notice cycle as stored, and why each send is claimed before it goes out.
//! - [`lifecycle`]: the pure decision of the day ([`decide`]) and the reclaim gate ([`reclaim_gate`]).
//! - [`run_notice_day`]: the daily run of one org over its plan and records, a page at a time.
//! - [`keep_seat`], [`approve_keep`], [`decline_keep`]: a member's keep and an admin's decision on it.
//! - [`record_bounce`]: a notice or reminder that bounced after the channel accepted it.
//! - [`notice_digest`]: the admins' digest (seats to be reclaimed by date, kept, waiting).
//! - [`notice_stats`]: how the notices went (told, reminded, kept, due, reclaimed; keep rate; undone reclaims),
//!   for the report and the console.
//! - [`notices_after_plan`]: what the CLI and the download Lambda run after an org's daily plan (the day, then
//!   the digest by email and webhook).
//! - [`message`]: what the notice and reminder emails say; [`PacedMailer`]: sends at the channel's rate.
//!
//! The records live behind [`crate::ports::NoticeStore`]; emails go out through [`crate::ports::Mailer`].

mod bounce;
mod daily;
mod digest;
mod error;
mod keep;
pub mod lifecycle;
pub mod message;
mod pacing;
pub mod record;
mod run;
mod stats;
#[cfg(test)]
mod tests;

pub use bounce::{BadReference, BounceOutcome, NoticeRef, parse_notice_reference, record_bounce};
pub use daily::{
    DigestChannels, NoticeSettings, OrgNoticeReport, notice_context, notices_after_plan,
};
pub use digest::{NoticeDigest, notice_digest};
pub use error::NoticeError;
pub use keep::{CycleRef, KeepOutcome, approve_keep, decline_keep, keep_seat, mark_reclaimed};
pub use lifecycle::{
    MaySend, NoticeBlock, Standing, Step, decide, may_open_cycle_after, reclaim_date, reclaim_gate,
};
pub use message::{MessageKind, NoticeContext, render};
pub use pacing::{DEFAULT_SEND_RATE, PacedMailer, THROTTLE_RETRIES};
pub use record::{DropReason, NoticeRecord, NoticeState, Reminder, ReminderState, SEND_CLAIM_TTL};
pub use run::{
    KeepLinks, NOTICE_ACTOR, NoKeepLinks, NoticeDay, NoticeDaySummary, NoticeDeps, run_notice_day,
};
pub use stats::{NoticeStats, keep_rate, notice_stats};
