//! How the notices went, for the report and the console: members told, reminded, kept, due and reclaimed after
//! notice, the keep rate, and reclaims after a notice that were undone. Counted over the org's notice records
//! (one per member: its current or last cycle) a page at a time, and the org's holds (one per member), never the
//! audit log: counting one kind of audit entry may read the whole log, and the console counts on every visit.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::digest::for_each_notice;
use super::error::NoticeError;
use super::record::{NoticeRecord, NoticeState, ReminderState};
use crate::domain::{MemberId, OrgId};
use crate::hold::{Hold, HoldSource};
use crate::ports::{NoticeStore, OrgStore};

/// The org's notice counts, over each member's current (or last) cycle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticeStats {
    /// Cycles whose notice went out (the member was told), whatever happened next. A record keeps only where
    /// its cycle stands, so a cycle that ended or fell due after a notice that never arrived (a drop-out after a
    /// bounce, or a bounce made due under `reclaim_without_notice_on_bounce`) counts here too; a cycle still
    /// bounced, unconfirmed or being sent does not.
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
    fn add(&mut self, r: &NoticeRecord, undone: &BTreeMap<MemberId, DateTime<Utc>>) {
        if !matches!(
            r.state,
            NoticeState::Sending { .. }
                | NoticeState::SendFailed { .. }
                | NoticeState::Bounced { .. }
                | NoticeState::Unconfirmed
        ) {
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

    /// The counts as labelled rows, in the order the report and the console show them (the keep rate as
    /// "22.2%", or "none yet" while nobody was told).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Told (notice delivered)", self.notified.to_string()),
            ("Reminded", self.reminded.to_string()),
            ("Kept (incl. requests)", self.kept.to_string()),
            ("Keep requests waiting", self.keep_requests.to_string()),
            ("Due (waiting for approval)", self.due.to_string()),
            ("Reclaimed after notice", self.reclaimed.to_string()),
            ("Not delivered", self.not_delivered.to_string()),
            ("Dropped out", self.dropped_out.to_string()),
            (
                "Reactivated after reclaim",
                self.reactivated_after_reclaim.to_string(),
            ),
            (
                "Keep rate",
                self.keep_rate_percent
                    .map_or_else(|| "none yet".into(), |p| format!("{p:.1}%")),
            ),
        ]
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

/// Counts the org's notice records, a page at a time, against the org's holds: a reclaim was undone when the
/// member has the hold of an undo (through miro-sam, or seen reactivated in Miro) placed after the record was
/// marked reclaimed (each undo places one; a newer hold replaces an older one).
pub async fn notice_stats(
    notices: &dyn NoticeStore,
    holds: &dyn OrgStore,
    org: &OrgId,
) -> Result<NoticeStats, NoticeError> {
    let undone = undo_holds(&holds.list_holds(org).await?);
    let mut stats = NoticeStats::default();
    for_each_notice(notices, org, |r| stats.add(r, &undone)).await?;
    Ok(stats.finish())
}

/// When each member's undo hold was placed.
fn undo_holds(holds: &[Hold]) -> BTreeMap<MemberId, DateTime<Utc>> {
    holds
        .iter()
        .filter(|h| {
            matches!(
                h.source,
                HoldSource::Reactivated | HoldSource::ReactivatedInMiro
            )
        })
        .map(|h| (h.member_id.clone(), h.created_at))
        .collect()
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
        // Member 7 was reactivated after its reclaim, member 8 before it (an earlier cycle's undo), 9 never
        // (its hold is a keep's); member 1's undo hold has no reclaim to undo. Told: all but the bounced (10),
        // the unconfirmed (11) and the send in flight (13).
        let hold = |member: u64, source: HoldSource, day: i64| Hold {
            org_id: OrgId::parse("1").unwrap(),
            member_id: id(member),
            email: Email::parse(&format!("m{member}@example.com")).unwrap(),
            source,
            reason: "test".into(),
            created_by: "test".into(),
            created_at: at(day),
            expires_at: at(day + 90),
        };
        let undone = undo_holds(&[
            hold(7, HoldSource::ReactivatedInMiro, 9),
            hold(8, HoldSource::Reactivated, 2),
            hold(9, HoldSource::Kept, 9),
            hold(1, HoldSource::Reactivated, 9),
        ]);
        let mut stats = NoticeStats::default();
        for r in &records {
            stats.add(r, &undone);
        }
        let stats = stats.finish();
        assert_eq!(
            stats,
            NoticeStats {
                notified: 10,
                reminded: 1,
                kept: 2,
                keep_requests: 1,
                due: 1,
                reclaimed: 3,
                not_delivered: 2,
                dropped_out: 1,
                reactivated_after_reclaim: 1,
                keep_rate_percent: Some(20.0),
            }
        );
        assert!(!stats.is_empty());
        let rows = stats.rows();
        assert_eq!(rows[0], ("Told (notice delivered)", "10".to_string()));
        assert_eq!(rows[8], ("Reactivated after reclaim", "1".to_string()));
        assert_eq!(rows[9], ("Keep rate", "20.0%".to_string()));
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
        assert_eq!(stats.rows()[9].1, "none yet");
    }
}
