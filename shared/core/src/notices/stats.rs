//! How the notices went, for the report and the console: members told, reminded, kept, due and reclaimed after
//! notice, the keep rate, and reclaims after a notice that were undone. Counted over the org's notice records
//! (one per member: its current or last cycle) a page at a time; the audit log says which cycles' notices went
//! out and which reclaims were undone, since a record keeps only where its cycle stands.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::digest::for_each_notice;
use super::error::NoticeError;
use super::record::{NoticeRecord, NoticeState, ReminderState};
use crate::audit::{AuditCursor, AuditEntry, AuditEvent, AuditQuery};
use crate::domain::{MemberId, OrgId};
use crate::hold::HoldSource;
use crate::ports::{AuditStore, NoticeStore};

/// Audit entries per store read.
const AUDIT_PAGE: usize = 500;

/// The org's notice counts, over each member's current (or last) cycle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticeStats {
    /// Cycles whose notice went out (the member was told), whatever happened next.
    pub notified: u32,
    /// Cycles with at least one reminder sent.
    pub reminded: u32,
    /// Members who asked to keep their seat: kept, or waiting for an admin (`keep_requests`).
    pub kept: u32,
    /// Of `kept`, requests an admin has not decided yet.
    pub keep_requests: u32,
    /// Cycles due: the reclaim date came, the reclaim waits for the approval gate.
    pub due: u32,
    /// Seats reclaimed at the end of a notice cycle.
    pub reclaimed: u32,
    /// Cycles whose notice did not (certainly) reach the member: bounced, refused, or cut off mid-send.
    pub not_delivered: u32,
    /// Cycles ended before the reclaim: active again, exempted or held.
    pub dropped_out: u32,
    /// Reclaims after a notice that were undone since: reactivated through miro-sam, or by an admin in Miro
    /// (seen by a download).
    pub reactivated_after_reclaim: u32,
    /// `kept` as a percentage of `notified`, one decimal; none while nobody was told.
    pub keep_rate_percent: Option<f64>,
}

impl NoticeStats {
    fn add(
        &mut self,
        r: &NoticeRecord,
        told: &BTreeSet<(MemberId, u32)>,
        undone: &BTreeMap<MemberId, DateTime<Utc>>,
    ) {
        if told.contains(&(r.member_id.clone(), r.cycle)) {
            self.notified += 1;
        }
        if r.reminders
            .iter()
            .any(|m| matches!(m.state, ReminderState::Sent { .. }))
        {
            self.reminded += 1;
        }
        match &r.state {
            NoticeState::Kept { .. } => self.kept += 1,
            NoticeState::KeepRequested { .. } => {
                self.kept += 1;
                self.keep_requests += 1;
            }
            NoticeState::Due => self.due += 1,
            NoticeState::Reclaimed { .. } => {
                self.reclaimed += 1;
                // The record was marked reclaimed right after the deactivation: an undo comes later.
                if undone
                    .get(&r.member_id)
                    .is_some_and(|at| *at >= r.updated_at)
                {
                    self.reactivated_after_reclaim += 1;
                }
            }
            NoticeState::Bounced { .. } | NoticeState::Unconfirmed => self.not_delivered += 1,
            NoticeState::DroppedOut { .. } => self.dropped_out += 1,
            NoticeState::Sending { .. }
            | NoticeState::SendFailed { .. }
            | NoticeState::Notified
            | NoticeState::Reminded => {}
        }
    }

    fn finish(mut self) -> Self {
        self.keep_rate_percent = keep_rate(self.kept, self.notified);
        self
    }

    /// Nothing to show: no notice record counted anything.
    pub fn is_empty(&self) -> bool {
        *self == NoticeStats::default()
    }
}

/// `kept` of `told` as a percentage rounded to one decimal; none when nobody was told.
pub fn keep_rate(kept: u32, told: u32) -> Option<f64> {
    (told > 0).then(|| (f64::from(kept) * 1000.0 / f64::from(told)).round() / 10.0)
}

/// Counts the org's notice records. Reads the records a page at a time, and from the audit log only the
/// notices sent and the undos (a page at a time by kind): what it holds grows with what miro-sam did.
pub async fn notice_stats(
    notices: &dyn NoticeStore,
    audit: &dyn AuditStore,
    org: &OrgId,
) -> Result<NoticeStats, NoticeError> {
    let mut told = BTreeSet::new();
    let mut undone: BTreeMap<MemberId, DateTime<Utc>> = BTreeMap::new();
    for kind in ["notice_sent", "reactivated", "hold_placed"] {
        walk_audit(audit, org, kind, |e| match &e.event {
            AuditEvent::NoticeSent {
                member_id, cycle, ..
            } => {
                told.insert((member_id.clone(), *cycle));
            }
            AuditEvent::Reactivated {
                member_id: Some(member_id),
                ..
            }
            | AuditEvent::HoldPlaced {
                member_id,
                source: HoldSource::ReactivatedInMiro,
                ..
            } => {
                let at = undone.entry(member_id.clone()).or_insert(e.at);
                *at = (*at).max(e.at);
            }
            _ => {}
        })
        .await?;
    }
    let mut stats = NoticeStats::default();
    for_each_notice(notices, org, |r| stats.add(r, &told, &undone)).await?;
    Ok(stats.finish())
}

/// Calls `f` with each of the org's audit entries of `kind`, newest first, a page at a time.
async fn walk_audit(
    audit: &dyn AuditStore,
    org: &OrgId,
    kind: &str,
    mut f: impl FnMut(&AuditEntry),
) -> Result<(), NoticeError> {
    let query = AuditQuery {
        kind: Some(kind.to_owned()),
        ..AuditQuery::default()
    };
    let mut before = None;
    loop {
        let page = audit
            .list_audit_page(org, &query, before.as_ref(), AUDIT_PAGE)
            .await?;
        page.iter().for_each(&mut f);
        if page.len() < AUDIT_PAGE {
            return Ok(());
        }
        before = page.last().map(AuditCursor::of);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate, TimeZone};

    use super::*;
    use crate::domain::{Email, PlanId};
    use crate::notices::{DropReason, Reminder};

    fn at(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 6, 0, 0).unwrap() + Duration::days(day)
    }

    fn record(member: u64, cycle: u32, state: NoticeState) -> NoticeRecord {
        NoticeRecord {
            org_id: OrgId::parse("1").unwrap(),
            member_id: MemberId::parse(&member.to_string()).unwrap(),
            email: Email::parse(&format!("m{member}@example.com")).unwrap(),
            cycle,
            version: 3,
            state,
            plan_id: PlanId::new(),
            days_inactive: 120,
            notified_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            reclaim_on: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            reminders: vec![],
            updated_at: at(7),
        }
    }

    fn id(n: u64) -> MemberId {
        MemberId::parse(&n.to_string()).unwrap()
    }

    #[test]
    fn each_state_is_counted_once_and_the_keep_rate_is_kept_over_told() {
        let plan_id = PlanId::new();
        let mut reminded = record(2, 1, NoticeState::Reminded);
        reminded.reminders = vec![
            Reminder {
                days_before: 5,
                state: ReminderState::NotDelivered {
                    detail: "bounced".into(),
                },
            },
            Reminder {
                days_before: 2,
                state: ReminderState::Sent { at: at(5) },
            },
        ];
        let mut failed_reminder = record(3, 1, NoticeState::Notified);
        failed_reminder.reminders = vec![Reminder {
            days_before: 2,
            state: ReminderState::SendFailed {
                error: "down".into(),
            },
        }];
        let records = [
            record(1, 1, NoticeState::Notified),
            reminded,
            failed_reminder,
            record(
                4,
                2,
                NoticeState::Kept {
                    at: at(3),
                    hold_until: at(93),
                },
            ),
            record(5, 1, NoticeState::KeepRequested { at: at(3) }),
            record(6, 1, NoticeState::Due),
            record(7, 1, NoticeState::Reclaimed { plan_id }),
            record(8, 1, NoticeState::Reclaimed { plan_id }),
            record(9, 1, NoticeState::Reclaimed { plan_id }),
            record(
                10,
                1,
                NoticeState::Bounced {
                    detail: "550".into(),
                },
            ),
            record(11, 1, NoticeState::Unconfirmed),
            record(
                12,
                1,
                NoticeState::DroppedOut {
                    reason: DropReason::NoLongerCandidate,
                },
            ),
            record(13, 1, NoticeState::Sending { since: at(0) }),
        ];
        // Told: every cycle whose notice went out. Member 4 was told on cycle 1 only, so its cycle 2 is not;
        // bounced (10), unconfirmed (11) and the send in flight (13) were not told.
        let mut told: BTreeSet<(MemberId, u32)> = [1, 2, 3, 5, 6, 7, 8, 9, 12]
            .into_iter()
            .map(|n| (id(n), 1))
            .collect();
        told.insert((id(4), 1));
        // Member 7 was reactivated after its reclaim, member 8 before it (an earlier cycle's undo), 9 never.
        let undone: BTreeMap<MemberId, DateTime<Utc>> = [(id(7), at(9)), (id(8), at(2))].into();
        let mut stats = NoticeStats::default();
        for r in &records {
            stats.add(r, &told, &undone);
        }
        let stats = stats.finish();
        assert_eq!(
            stats,
            NoticeStats {
                notified: 9,
                reminded: 1,
                kept: 2,
                keep_requests: 1,
                due: 1,
                reclaimed: 3,
                not_delivered: 2,
                dropped_out: 1,
                reactivated_after_reclaim: 1,
                keep_rate_percent: Some(22.2),
            }
        );
        assert!(!stats.is_empty());
    }

    #[test]
    fn no_keep_rate_while_nobody_was_told() {
        assert_eq!(keep_rate(0, 0), None);
        assert_eq!(keep_rate(1, 3), Some(33.3));
        assert_eq!(keep_rate(2, 3), Some(66.7));
        assert_eq!(keep_rate(4, 4), Some(100.0));
        let stats = NoticeStats::default().finish();
        assert_eq!(stats.keep_rate_percent, None);
        assert!(stats.is_empty());
    }
}
