//! The key of every item. `TABLE.md` is the readable version of this file; keep the two in step.
//!
//! Keys are built from parsed ids (digits, UUIDs, normalised emails), so a `#` in a value can never forge another
//! item's key — except audit ids, which are free text, and therefore only ever sit at the end of a key.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use miro_sam_core::domain::{AuditEntryId, Email, MemberId, OrgId, PlanId};
use miro_sam_core::reclaim::ReclaimState;

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

/// The org's member id lengths (`member_id_lengths.rs`). `_`, not `#`: outside every `MEMBER#` range.
pub(crate) const MEMBER_ID_LENGTHS_SK: &str = "MEMBER_ID_LENGTHS";

pub(crate) fn member_email_gsi_pk(org: &OrgId, email: &Email) -> String {
    format!("ORG#{org}#EMAIL#{email}")
}

/// A member id whose string order is numeric order: its length (3 digits) first. Ids are digits only.
pub(crate) fn numeric_id(member: &MemberId) -> String {
    let id = member.as_str();
    format!("{:03}#{id}", id.len())
}

/// The org's members in (email, id) order, in GSI2, for the console's search by email prefix.
pub(crate) fn member_search_gsi_pk(org: &OrgId) -> String {
    format!("ORG#{org}#MEMBERS")
}

/// `{email} {numeric id}`. A space ends the email because no email holds whitespace (`Email::parse` refuses it)
/// and it sorts below every character an address is written with, so key order is (email, id) order and an
/// email that is a prefix of another sorts first, as in `Ord` for strings.
pub(crate) fn member_search_gsi_sk(email: &Email, member: &MemberId) -> String {
    format!("{email} {}", numeric_id(member))
}

/// The smallest string above every string that starts with `prefix` (the last character that can be raised,
/// raised by one; the ones after it dropped); `None` when there is none (then no upper bound is needed).
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(c) = next {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
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

/// The org's index entry for a plan, ordered by creation time, then plan id (a hyphenated lowercase UUID, whose
/// string order is `PlanId`'s order).
pub(crate) fn plan_index_sk(created_at: DateTime<Utc>, plan: PlanId) -> String {
    format!("{PLAN_INDEX_PREFIX}{}#{plan}", sortable_time(created_at))
}

/// The org's index entries created strictly before `before` (all when `None`), as an inclusive range: an entry
/// created at `before` is `PLAN#{before}#…`, above `PLAN#{before}`; `$` follows `#`, so `PLAN$` is above all.
pub(crate) fn plan_index_range(before: Option<DateTime<Utc>>) -> (String, String) {
    let to = match before {
        Some(t) => format!("{PLAN_INDEX_PREFIX}{}", sortable_time(t)),
        None => format!("{}$", PLAN_INDEX_PREFIX.trim_end_matches('#')),
    };
    (PLAN_INDEX_PREFIX.to_owned(), to)
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
    format!("{prefix}{}", numeric_id(member))
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

/// (created_at, plan, member) order, the member by numeric id. Records written before the id carried its length
/// (`{created_at}#{plan}#{member}`) sort the same except among records of one plan created at one instant.
pub(crate) fn reclaims_gsi_sk(
    created_at: DateTime<Utc>,
    plan: PlanId,
    member: &MemberId,
) -> String {
    format!(
        "{}#{plan}#{}",
        sortable_time(created_at),
        numeric_id(member)
    )
}

/// The records in one state, of every org, in GSI2. Why not one key per (org, state): a transition is one
/// UpdateItem that knows the record's plan and member but not its org, and DynamoDB cannot build a key from another
/// attribute; so the state alone is the partition key (a transition sets it) and the org leads the sort key (set
/// once, at creation). The write rate of a state is the fleet's reclaim rate, far below a partition's limit.
pub(crate) fn reclaims_by_state_gsi_pk(state: ReclaimState) -> String {
    format!("RECLAIMS#{}", state.as_str())
}

/// `ORG#{org}#` then the GSI1 sort key: one org's records of a state are one key range, in listing order.
pub(crate) fn reclaims_by_state_gsi_sk(
    org: &OrgId,
    created_at: DateTime<Utc>,
    plan: PlanId,
    member: &MemberId,
) -> String {
    format!(
        "{}{}",
        reclaims_by_state_org_prefix(org),
        reclaims_gsi_sk(created_at, plan, member)
    )
}

/// Org ids are digits, so `ORG#{org}#` never prefixes another org's keys.
pub(crate) fn reclaims_by_state_org_prefix(org: &OrgId) -> String {
    format!("ORG#{org}#")
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

/// The entries about one member ([`miro_sam_core::audit::AuditEvent::member_id`]), in GSI2, with the sort key of
/// [`audit_gsi_sk`].
pub(crate) fn audit_member_gsi_pk(org: &OrgId, member: &MemberId) -> String {
    format!("ORG#{org}#AUDIT#MEMBER#{member}")
}

/// A member's timeline: its own partition, so a day's events of a large org spread over many partitions.
pub(crate) fn timeline_pk(org: &OrgId, member: &MemberId) -> String {
    format!("TIMELINE#{org}#{member}")
}

pub(crate) const EVENT_PREFIX: &str = "EVENT#";

/// `EVENT#{MemberEvent::key}`: time (fixed width) first, then the kind.
pub(crate) fn event_sk(key: &str) -> String {
    format!("{EVENT_PREFIX}{key}")
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
    fn member_search_keys_sort_in_email_then_numeric_id_order() {
        let id = |s: &str| MemberId::parse(s).unwrap();
        let email = |s: &str| Email::parse(s).unwrap();
        // Every pair in the order `(Email, MemberId)` gives, including an email that is a prefix of another and
        // addresses with characters that sort below letters.
        let mut members = vec![
            (email("a@x.com"), id("10")),
            (email("a@x.com"), id("9")),
            (email("a@x.com.au"), id("1")),
            (email("a!b@x.com"), id("5")),
            (email("a-b@x.com"), id("5")),
            (email("a#b@x.com"), id("5")),
            (email("ab@x.com"), id("3458764517517819000")),
            (email("a@x.co"), id("7")),
        ];
        let keys = |ms: &[(Email, MemberId)]| -> Vec<String> {
            ms.iter().map(|(e, m)| member_search_gsi_sk(e, m)).collect()
        };
        members.sort();
        let mut sorted_keys = keys(&members);
        sorted_keys.sort();
        assert_eq!(keys(&members), sorted_keys);
    }

    #[test]
    fn a_prefix_successor_is_above_every_string_with_the_prefix() {
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a@x.").as_deref(), Some("a@x/"));
        let top = char::MAX.to_string();
        assert_eq!(prefix_successor(&format!("a{top}")).as_deref(), Some("b"));
        assert_eq!(prefix_successor(&top), None);
        assert_eq!(prefix_successor(""), None);
        let succ = prefix_successor("user1").unwrap();
        for s in [
            "user1",
            "user1@example.com",
            "user19 003#123",
            "user1\u{10FFFF}",
        ] {
            assert!(s < succ.as_str(), "{s}");
        }
        assert!("user2" >= succ.as_str());
    }

    #[test]
    fn reclaim_and_plan_index_keys_sort_in_the_listing_order() {
        let id = |s: &str| MemberId::parse(s).unwrap();
        let plan = PlanId::new();
        let a = Utc.timestamp_opt(1_780_302_600, 5).unwrap();
        assert!(reclaims_gsi_sk(a, plan, &id("9")) < reclaims_gsi_sk(a, plan, &id("10")));
        let (from, to) = plan_index_range(Some(a));
        let at_a = plan_index_sk(a, plan);
        let before_a = plan_index_sk(a - chrono::Duration::nanoseconds(1), plan);
        assert!(!(from.as_str()..=to.as_str()).contains(&at_a.as_str()));
        assert!((from.as_str()..=to.as_str()).contains(&before_a.as_str()));
        let (from, to) = plan_index_range(None);
        assert!((from.as_str()..=to.as_str()).contains(&at_a.as_str()));
        assert!(!(from.as_str()..=to.as_str()).contains(&POLICY_COUNTER_SK));
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
