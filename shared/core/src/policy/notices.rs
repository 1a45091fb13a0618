//! The notice settings of a policy: how long before a reclaim a member is told, when they are reminded, and what
//! a "keep my license" answer does. Their checks live here so `mod.rs` stays about reclaiming.

use super::{Policy, notice_template};
use crate::error::DomainError;

/// Notice days a new org starts with: a week is long enough to notice an email after a few days off.
pub const DEFAULT_NOTICE_DAYS: u32 = 7;
/// A new org's reminders: one, two days before the reclaim date.
pub const DEFAULT_REMINDER_DAYS_BEFORE: [u32; 1] = [2];
/// How long a keep holds a member out of plans unless the policy says otherwise.
pub const DEFAULT_KEEP_DAYS: u32 = 90;
/// The longest notice period: past a quarter the "inactive N days" a notice quotes is stale by the reclaim date.
pub const MAX_NOTICE_DAYS: u32 = 90;
/// More reminders than this is nagging, and each one is an email someone can mark as spam.
pub const MAX_REMINDERS: usize = 5;

/// Reminder days sorted from the earliest reminder (most days before) to the last.
pub(super) fn normalized(mut days: Vec<u32>) -> Vec<u32> {
    days.sort_unstable_by(|a, b| b.cmp(a));
    days
}

impl Policy {
    /// Whether candidates are told before their seat is reclaimed.
    pub fn notices_enabled(&self) -> bool {
        self.notice_days > 0
    }

    /// The reminders in force: none while notices are off.
    pub fn reminders(&self) -> &[u32] {
        if self.notices_enabled() {
            &self.reminder_days_before
        } else {
            &[]
        }
    }

    pub(super) fn validate_notices(&self) -> Result<(), DomainError> {
        let bad = |m: String| Err(DomainError::InvalidPolicy(m));
        // The wording is checked even while notices are off: turning them on later must not reveal a broken
        // template on the first notice day.
        if let Some(contact) = &self.notice_contact {
            notice_template::validate_contact(contact)?;
        }
        if let Some(template) = &self.notice_template {
            template.validate()?;
        }
        if self.notice_days > MAX_NOTICE_DAYS {
            return bad(format!(
                "notice_days is {}; it must be at most {MAX_NOTICE_DAYS} (0 turns notices off)",
                self.notice_days
            ));
        }
        if !(1..=3650).contains(&self.keep_days) {
            return bad(format!(
                "keep_days is {}; it must be between 1 and 3650 (a keep must hold for at least a day)",
                self.keep_days
            ));
        }
        // Reminders are checked only while notices are on: turning notices off with `notice_days: 0` must not
        // also require clearing the reminder list.
        if !self.notices_enabled() {
            return Ok(());
        }
        if self.reminder_days_before.len() > MAX_REMINDERS {
            return bad(format!(
                "reminder_days_before lists {} reminders; at most {MAX_REMINDERS} are allowed",
                self.reminder_days_before.len()
            ));
        }
        let mut seen = Vec::with_capacity(self.reminder_days_before.len());
        for &d in &self.reminder_days_before {
            if self.notice_days < 2 {
                return bad(format!(
                    "reminder_days_before has {d}, but notice_days {} leaves no day for a reminder; remove the \
                     reminders or give notice at least 2 days ahead",
                    self.notice_days
                ));
            }
            if d == 0 || d >= self.notice_days {
                return bad(format!(
                    "reminder_days_before has {d}; with notice_days {} a reminder must be between 1 and {} days \
                     before the reclaim date (the notice itself goes out {} days before)",
                    self.notice_days,
                    self.notice_days.saturating_sub(1),
                    self.notice_days
                ));
            }
            if seen.contains(&d) {
                return bad(format!(
                    "reminder_days_before lists {d} twice; list each day once"
                ));
            }
            seen.push(d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    fn err(json: &str) -> String {
        Policy::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn new_orgs_get_a_week_of_notice_with_one_reminder() {
        let p = Policy::default();
        assert_eq!(p.notice_days, 7);
        assert_eq!(p.reminder_days_before, vec![2]);
        assert_eq!(p.keep_days, 90);
        assert!(!p.keep_needs_approval);
        assert!(!p.reclaim_without_notice_on_bounce);
        assert!(p.notices_enabled());
        // The default round-trips with its notice settings written out, so a stored default keeps them.
        assert_eq!(Policy::from_json(&p.to_json_pretty()).unwrap(), p);
    }

    #[test]
    fn a_policy_stored_before_notices_parses_with_notices_off() {
        let p = Policy::from_json(r#"{"inactivity_days": 60, "dry_run": false}"#).unwrap();
        assert_eq!(p.notice_days, 0);
        assert!(!p.notices_enabled());
        assert!(p.reminders().is_empty());
        assert_eq!(p.keep_days, 90, "other notice settings take their defaults");
    }

    #[test]
    fn reminders_are_sorted_from_the_earliest() {
        let p =
            Policy::from_json(r#"{"notice_days": 10, "reminder_days_before": [1, 5, 3]}"#).unwrap();
        assert_eq!(p.reminder_days_before, vec![5, 3, 1]);
        assert_eq!(p.reminders(), &[5, 3, 1]);
    }

    #[test]
    fn reminders_are_ignored_while_notices_are_off() {
        let p = Policy::from_json(r#"{"notice_days": 0, "reminder_days_before": [2]}"#).unwrap();
        assert!(p.reminders().is_empty());
    }

    #[test]
    fn notice_settings_are_validated_with_specific_errors() {
        assert!(err(r#"{"notice_days": 91}"#).contains("notice_days is 91; it must be at most 90"));
        assert!(err(r#"{"notice_days": -1}"#).contains("invalid value"));
        let e = err(r#"{"notice_days": 7, "reminder_days_before": [7]}"#);
        assert!(e.contains("between 1 and 6 days before"), "{e}");
        assert!(
            err(r#"{"notice_days": 7, "reminder_days_before": [0]}"#).contains("between 1 and 6")
        );
        assert!(
            err(r#"{"notice_days": 7, "reminder_days_before": [2, 2]}"#).contains("lists 2 twice")
        );
        assert!(
            err(r#"{"notice_days": 30, "reminder_days_before": [1, 2, 3, 4, 5, 6]}"#)
                .contains("at most 5")
        );
        assert!(err(r#"{"keep_days": 0}"#).contains("keep_days is 0"));
        assert!(err(r#"{"keep_days": 4000}"#).contains("between 1 and 3650"));
        assert!(err(r#"{"keep_needs_aproval": true}"#).contains("unknown field"));
        // Built in code, the same checks apply.
        let p = Policy {
            notice_days: 1,
            reminder_days_before: vec![1],
            ..Policy::default()
        };
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("leaves no day for a reminder")
        );
    }
}
