//! The key of every item. `TABLE.md` is the readable version of this file; keep the two in step.
//!
//! Keys are built from parsed ids (digits, UUIDs, normalised emails), so a `#` in a value can never forge another
//! item's key — except audit ids, which are free text, and therefore only ever sit at the end of a key.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use miro_sam_core::domain::{AuditEntryId, Email, MemberId, OrgId, PlanId};

/// RFC 3339 with nanoseconds and `Z`: fixed width, so the string order of two timestamps is their time order.
pub(crate) fn sortable_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) const ORGS_PK: &str = "ORGS";

pub(crate) fn org_sk(org: &OrgId) -> String {
    format!("ORG#{org}")
}

/// The partition holding everything of one org that is read by org: members, snapshots, policies, the download
/// bookkeeping, the plan index and the token version item.
pub(crate) fn org_pk(org: &OrgId) -> String {
    format!("ORG#{org}")
}

pub(crate) const MEMBER_PREFIX: &str = "MEMBER#";

pub(crate) fn member_sk(member: &MemberId) -> String {
    format!("{MEMBER_PREFIX}{member}")
}

pub(crate) fn member_email_gsi_pk(org: &OrgId, email: &Email) -> String {
    format!("ORG#{org}#EMAIL#{email}")
}

pub(crate) const LAST_DOWNLOAD_SK: &str = "DOWNLOAD#LAST";
pub(crate) const CHECKPOINT_SK: &str = "DOWNLOAD#CHECKPOINT";

pub(crate) const SNAPSHOT_PREFIX: &str = "SNAPSHOT#";

pub(crate) fn snapshot_sk(date: NaiveDate) -> String {
    format!("{SNAPSHOT_PREFIX}{}", date.format("%Y-%m-%d"))
}

pub(crate) const POLICY_VERSION_PREFIX: &str = "POLICY#V#";
pub(crate) const POLICY_COUNTER_SK: &str = "POLICY#COUNTER";

/// Zero-padded so the newest version sorts last.
pub(crate) fn policy_sk(version: u32) -> String {
    format!("{POLICY_VERSION_PREFIX}{version:010}")
}

/// The org's kill switch (present only while the org is paused).
pub(crate) const PAUSE_SK: &str = "PAUSE";

pub(crate) const HOLD_PREFIX: &str = "HOLD#";

pub(crate) fn hold_sk(member: &MemberId) -> String {
    format!("{HOLD_PREFIX}{member}")
}

pub(crate) const PLAN_INDEX_PREFIX: &str = "PLAN#";

/// The org's index entry for a plan, ordered by creation time.
pub(crate) fn plan_index_sk(created_at: DateTime<Utc>, plan: PlanId) -> String {
    format!("{PLAN_INDEX_PREFIX}{}#{plan}", sortable_time(created_at))
}

pub(crate) fn plan_pk(plan: PlanId) -> String {
    format!("PLAN#{plan}")
}

pub(crate) const PLAN_HEADER_SK: &str = "HEADER";
/// Chunks of a plan's JSON as builds before plans-as-items stored them; only ever deleted now.
pub(crate) const PLAN_CHUNK_PREFIX: &str = "CHUNK#";
pub(crate) const PLAN_CANDIDATE_PREFIX: &str = "CAND#";
pub(crate) const PLAN_EXCLUSION_PREFIX: &str = "EXCL#";

/// A plan item (candidate or exclusion) of `member` under `prefix`: the id's length (3 digits) before the id
/// makes string order numeric id order, so a page of a plan is one key-range Query.
pub(crate) fn plan_item_sk(prefix: &str, member: &MemberId) -> String {
    let id = member.as_str();
    format!("{prefix}{:03}#{id}", id.len())
}

/// The sort keys of the `prefix` items after `after` (all of them when `None`), as an inclusive range: every key
/// above `after` is at least `after` + `#` (`#` sorts below every digit), and every item key is below the prefix
/// with its `#` replaced by `$`.
pub(crate) fn plan_item_range(prefix: &str, after: Option<&MemberId>) -> (String, String) {
    let from = match after {
        Some(a) => format!("{}#", plan_item_sk(prefix, a)),
        None => prefix.to_owned(),
    };
    let to = format!("{}$", prefix.trim_end_matches('#'));
    (from, to)
}

pub(crate) fn reclaim_sk(member: &MemberId) -> String {
    format!("RECLAIM#{member}")
}

pub(crate) fn reclaims_gsi_pk(org: &OrgId) -> String {
    format!("ORG#{org}#RECLAIMS")
}

pub(crate) fn reclaims_gsi_sk(
    created_at: DateTime<Utc>,
    plan: PlanId,
    member: &MemberId,
) -> String {
    format!("{}#{plan}#{member}", sortable_time(created_at))
}

pub(crate) fn audit_pk(id: &AuditEntryId) -> String {
    format!("AUDIT#{id}")
}

pub(crate) const AUDIT_SK: &str = "ENTRY";

pub(crate) fn audit_gsi_pk(org: &OrgId) -> String {
    format!("ORG#{org}#AUDIT")
}

pub(crate) fn audit_gsi_sk(at: DateTime<Utc>, id: &AuditEntryId) -> String {
    format!("{}#{id}", sortable_time(at))
}

pub(crate) const TOKENS_SK: &str = "TOKENS";

/// OAuth `state` values are stored hashed: they are single-use CSRF nonces and need not be readable in the table.
pub(crate) fn oauth_state_pk(state_hash: &str) -> String {
    format!("OAUTH_STATE#{state_hash}")
}

pub(crate) const OAUTH_STATE_SK: &str = "STATE";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_sort_as_strings() {
        let a = Utc.timestamp_opt(1_780_302_600, 5).unwrap();
        let b = Utc.timestamp_opt(1_780_302_600, 123_456_789).unwrap();
        let c = Utc.timestamp_opt(1_780_302_601, 0).unwrap();
        let (sa, sb, sc) = (sortable_time(a), sortable_time(b), sortable_time(c));
        assert!(sa < sb && sb < sc, "{sa} {sb} {sc}");
        assert_eq!(sa.len(), sc.len());
        assert_eq!(policy_sk(7), "POLICY#V#0000000007");
        assert!(policy_sk(9) < policy_sk(10));
    }

    #[test]
    fn plan_item_keys_sort_in_numeric_id_order_and_ranges_exclude_after() {
        let id = |s: &str| MemberId::parse(s).unwrap();
        let (a, b, c) = (id("9"), id("10"), id("3458764517517819000"));
        let (ka, kb, kc) = (
            plan_item_sk(PLAN_CANDIDATE_PREFIX, &a),
            plan_item_sk(PLAN_CANDIDATE_PREFIX, &b),
            plan_item_sk(PLAN_CANDIDATE_PREFIX, &c),
        );
        assert!(ka < kb && kb < kc, "{ka} {kb} {kc}");
        let (from, to) = plan_item_range(PLAN_CANDIDATE_PREFIX, Some(&b));
        assert!(kb < from && from <= kc && kc <= to, "{from}..{to}");
        let (from, to) = plan_item_range(PLAN_CANDIDATE_PREFIX, None);
        assert!(from <= ka && kc <= to);
        let excl = plan_item_sk(PLAN_EXCLUSION_PREFIX, &a);
        assert!(!(from.as_str()..=to.as_str()).contains(&excl.as_str()));
    }
}
