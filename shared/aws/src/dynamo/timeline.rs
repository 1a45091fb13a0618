//! Member timelines: one item per event in the member's own partition (`TIMELINE#{org}#{member}`), sorted by the
//! event's key (time, then kind), so a page of a timeline is one Query newest first.
//!
//! An event is written with a conditional PutItem (`attribute_not_exists`): a re-run of the same day, which builds
//! the same keys, writes nothing, and a stored event is never replaced. Why not BatchWriteItem: a batch cannot
//! carry a condition, and its puts would overwrite. Each item carries the table's TTL attribute at its time plus
//! [`TIMELINE_RETENTION_DAYS`]; DynamoDB deletes it some time (often days) after that, never before.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::timeline::{MemberEvent, TIMELINE_RETENTION_DAYS};

use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, doc_item, n, parse_doc};
use super::keys::{EVENT_PREFIX, event_sk, timeline_pk};
use crate::table::TTL;

/// Conditional puts in flight at once: a download writes a day's events of every changed member.
const APPEND_CONCURRENCY: usize = 16;

fn item(e: &MemberEvent) -> Result<Item, StoreError> {
    let mut item = doc_item(
        timeline_pk(&e.org_id, &e.member_id),
        event_sk(&e.key()),
        "member event",
        e,
    )?;
    item.insert(TTL.to_owned(), n(expires(e.at)));
    Ok(item)
}

/// When (epoch seconds) the TTL sweeper may delete an event: the retention after its time, rounded up, so
/// never before the retention is over.
fn expires(at: DateTime<Utc>) -> i64 {
    let end = at + Duration::days(TIMELINE_RETENTION_DAYS);
    end.timestamp() + i64::from(end.timestamp_subsec_nanos() > 0)
}

/// Every event is attempted; the first error (after all were tried) is returned, and a repeat of the call
/// writes what is missing.
pub(crate) async fn append(db: &Db, events: &[MemberEvent]) -> Result<(), StoreError> {
    // A key repeated within the call keeps its first event, as it would have been stored first.
    let mut seen = HashSet::with_capacity(events.len());
    let items = events
        .iter()
        .filter(|e| seen.insert((&e.org_id, &e.member_id, e.key())))
        .map(item)
        .collect::<Result<Vec<_>, _>>()?;
    let mut results = futures::stream::iter(items)
        .map(|i| db.put_if_absent(i))
        .buffer_unordered(APPEND_CONCURRENCY);
    let mut first_error = None;
    while let Some(r) = results.next().await {
        // `Ok(false)`: the event was stored before, and is kept as it is.
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// Up to `limit` of the member's events, newest first, strictly before the key `before`.
pub(crate) async fn list(
    db: &Db,
    org: &OrgId,
    member: &MemberId,
    before: Option<&str>,
    limit: usize,
) -> Result<Vec<MemberEvent>, StoreError> {
    let range = match before {
        // Inclusive, so the event at `before` itself is skipped below.
        Some(b) => SkRange::Between(EVENT_PREFIX.to_owned(), event_sk(b)),
        None => SkRange::BeginsWith(EVENT_PREFIX.to_owned()),
    };
    let q = KeyQuery::base(timeline_pk(org, member), range).descending();
    let keep = |i: &Item| -> Result<Option<MemberEvent>, StoreError> {
        let e: MemberEvent = parse_doc(i, "member event")?;
        Ok((before != Some(e.key().as_str())).then_some(e))
    };
    db.query_matching(q, limit, keep).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn events_expire_a_retention_after_their_time_never_before() {
        let retention = Duration::days(TIMELINE_RETENTION_DAYS);
        let at = Utc.timestamp_opt(1_780_302_600, 123).unwrap();
        let end = Utc.timestamp_opt(expires(at), 0).unwrap();
        assert!(end >= at + retention && end - (at + retention) < Duration::seconds(1));
        let whole = Utc.timestamp_opt(1_780_302_600, 0).unwrap();
        assert_eq!(expires(whole), (whole + retention).timestamp());
    }
}
