//! A member's timeline: what changed about their seat and what miro-sam did about it, kept at least
//! [`TIMELINE_RETENTION_DAYS`] days so an admin can answer "why did this person lose their seat last spring?".
//!
//! The download records license, role, active and activity-bucket changes as it writes changed members (it
//! already compares each member with the stored one, so this costs no extra read); the jobs record planned,
//! reclaimed and reactivated. Events are keyed by (org, member, at, kind), so a re-run of the same day writes
//! nothing new.

use chrono::{DateTime, Utc};
use miro_client::{License, Role};
use serde::{Deserialize, Serialize};

use crate::domain::{MemberId, OrgId, PlanId, Subscription};
use crate::snapshot::ACTIVITY_WINDOWS_DAYS;

/// Events are kept at least this long (DynamoDB's TTL removes them some time after; SQLite keeps them).
pub const TIMELINE_RETENTION_DAYS: i64 = 400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEvent {
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub at: DateTime<Utc>,
    pub change: MemberChange,
}

impl MemberEvent {
    /// The event's key inside the member's timeline: time first, so a timeline reads in order.
    pub fn key(&self) -> String {
        format!(
            "{}#{}",
            self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            self.change.kind()
        )
    }
}

/// Where a member's last activity falls: active within one of the report's windows, or beyond all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityBucket {
    /// Active within this many days (one of [`ACTIVITY_WINDOWS_DAYS`]).
    Within(i64),
    /// Last active longer ago than the widest window.
    Beyond,
    /// No activity recorded.
    Never,
}

impl ActivityBucket {
    pub fn of(last_activity_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        let Some(at) = last_activity_at else {
            return ActivityBucket::Never;
        };
        let days = (now - at).num_days();
        ACTIVITY_WINDOWS_DAYS
            .iter()
            .find(|w| days < **w)
            .map(|w| ActivityBucket::Within(*w))
            .unwrap_or(ActivityBucket::Beyond)
    }
}

impl std::fmt::Display for ActivityBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActivityBucket::Within(d) => write!(f, "active within {d} days"),
            ActivityBucket::Beyond => write!(
                f,
                "inactive over {} days",
                ACTIVITY_WINDOWS_DAYS[ACTIVITY_WINDOWS_DAYS.len() - 1]
            ),
            ActivityBucket::Never => write!(f, "never active"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum MemberChange {
    /// First seen in a download.
    Joined {
        license: License,
        role: Role,
    },
    /// Gone from Miro's listing.
    Left,
    LicenseChanged {
        from: License,
        to: License,
    },
    RoleChanged {
        from: Role,
        to: Role,
    },
    /// Activated (`active: true`) or deactivated in Miro.
    ActiveChanged {
        active: bool,
    },
    /// The last activity moved into another bucket (e.g. from "inactive over 120 days" to "active within 30").
    ActivityCrossed {
        from: ActivityBucket,
        to: ActivityBucket,
    },
    /// A plan named the member as a candidate.
    Planned {
        plan_id: PlanId,
        reason: String,
    },
    /// The member was told before their seat is taken (the notices issue).
    Notified {
        plan_id: PlanId,
    },
    /// A reminder of the notice went out, `days_before` the reclaim date.
    Reminded {
        plan_id: PlanId,
        days_before: u32,
    },
    /// The member asked to keep their seat and keeps it (held out of plans until `until`).
    Kept {
        until: DateTime<Utc>,
    },
    Reclaimed {
        plan_id: PlanId,
        /// The worker that deactivated the member.
        by: String,
        /// The admin who approved it; `None` when the policy approved automatically.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approved_by: Option<String>,
    },
    Reactivated {
        by: String,
        why: String,
    },
}

impl MemberChange {
    pub fn kind(&self) -> &'static str {
        match self {
            MemberChange::Joined { .. } => "joined",
            MemberChange::Left => "left",
            MemberChange::LicenseChanged { .. } => "license_changed",
            MemberChange::RoleChanged { .. } => "role_changed",
            MemberChange::ActiveChanged { .. } => "active_changed",
            MemberChange::ActivityCrossed { .. } => "activity_crossed",
            MemberChange::Planned { .. } => "planned",
            MemberChange::Notified { .. } => "notified",
            MemberChange::Reminded { .. } => "reminded",
            MemberChange::Kept { .. } => "kept",
            MemberChange::Reclaimed { .. } => "reclaimed",
            MemberChange::Reactivated { .. } => "reactivated",
        }
    }
}

impl std::fmt::Display for MemberChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemberChange::Joined { license, role } => {
                write!(f, "joined with a {license} license as {role}")
            }
            MemberChange::Left => write!(f, "left the organization"),
            MemberChange::LicenseChanged { from, to } => write!(f, "license {from} → {to}"),
            MemberChange::RoleChanged { from, to } => write!(f, "role {from} → {to}"),
            MemberChange::ActiveChanged { active: true } => write!(f, "activated in Miro"),
            MemberChange::ActiveChanged { active: false } => write!(f, "deactivated in Miro"),
            MemberChange::ActivityCrossed { from, to } => write!(f, "{from} → {to}"),
            MemberChange::Planned { plan_id, reason } => {
                write!(f, "candidate of plan {plan_id}: {reason}")
            }
            MemberChange::Notified { plan_id } => write!(f, "told about plan {plan_id}"),
            MemberChange::Reminded {
                plan_id,
                days_before,
            } => write!(
                f,
                "reminded {days_before} days before the reclaim of plan {plan_id}"
            ),
            MemberChange::Kept { until } => {
                write!(
                    f,
                    "asked to keep the seat: kept until {}",
                    until.date_naive()
                )
            }
            MemberChange::Reclaimed {
                plan_id,
                by,
                approved_by,
            } => match approved_by {
                Some(admin) => write!(
                    f,
                    "seat reclaimed under plan {plan_id} by {by}, approved by {admin}"
                ),
                None => write!(
                    f,
                    "seat reclaimed under plan {plan_id} by {by} (the policy approves automatically)"
                ),
            },
            MemberChange::Reactivated { by, why } => write!(f, "reactivated by {by}: {why}"),
        }
    }
}

/// What changed between the stored member and the downloaded one, as timeline events at `now`. `None` for
/// `old`: the member is new. Only called for members whose content hash changed (or new ones).
pub fn changes_between(
    old: Option<&Subscription>,
    new: &Subscription,
    now: DateTime<Utc>,
) -> Vec<MemberEvent> {
    let ev = |change| MemberEvent {
        org_id: new.org_id.clone(),
        member_id: new.member_id.clone(),
        at: now,
        change,
    };
    let Some(old) = old else {
        return vec![ev(MemberChange::Joined {
            license: new.license.clone(),
            role: new.role.clone(),
        })];
    };
    let mut out = Vec::new();
    if old.license != new.license {
        out.push(ev(MemberChange::LicenseChanged {
            from: old.license.clone(),
            to: new.license.clone(),
        }));
    }
    if old.role != new.role {
        out.push(ev(MemberChange::RoleChanged {
            from: old.role.clone(),
            to: new.role.clone(),
        }));
    }
    if old.active != new.active {
        out.push(ev(MemberChange::ActiveChanged { active: new.active }));
    }
    let (from, to) = (
        ActivityBucket::of(old.last_activity_at, now),
        ActivityBucket::of(new.last_activity_at, now),
    );
    if from != to {
        out.push(ev(MemberChange::ActivityCrossed { from, to }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use miro_client::Member;

    fn member(id: &str, license: License, last: Option<DateTime<Utc>>) -> Subscription {
        let m = Member {
            id: id.into(),
            email: format!("m{id}@example.com"),
            active: true,
            role: Role::InternalUser,
            license,
            license_assigned_at: None,
            last_activity_at: last,
            admin_roles: vec![],
        };
        Subscription::from_member(
            &OrgId::parse("3074457345821141000").unwrap(),
            &m,
            Utc::now(),
        )
        .unwrap()
    }

    #[test]
    fn buckets_follow_the_report_windows() {
        let now = Utc::now();
        assert_eq!(ActivityBucket::of(None, now), ActivityBucket::Never);
        assert_eq!(
            ActivityBucket::of(Some(now - Duration::days(3)), now),
            ActivityBucket::Within(30)
        );
        assert_eq!(
            ActivityBucket::of(Some(now - Duration::days(30)), now),
            ActivityBucket::Within(60)
        );
        assert_eq!(
            ActivityBucket::of(Some(now - Duration::days(200)), now),
            ActivityBucket::Beyond
        );
    }

    #[test]
    fn a_changed_member_yields_one_event_per_changed_fact() {
        let now = Utc::now();
        let old = member("1", License::Full, Some(now - Duration::days(200)));
        let mut new = old.clone();
        assert!(changes_between(Some(&old), &new, now).is_empty());
        new.license = License::Free;
        new.last_activity_at = Some(now - Duration::days(1));
        let kinds: Vec<_> = changes_between(Some(&old), &new, now)
            .into_iter()
            .map(|e| e.change.kind())
            .collect();
        assert_eq!(kinds, ["license_changed", "activity_crossed"]);
        let joined = changes_between(None, &new, now);
        assert_eq!(joined.len(), 1);
        assert_eq!(joined[0].change.kind(), "joined");
    }
}
