//! How SQLite runs each console page: asked with `EXPLAIN QUERY PLAN` about exactly the statement the page runs.
//! Every page must be one search of its index, bounded by the cursor over the whole index key, and never a sort
//! (`USE TEMP B-TREE`): then a page costs the same on the hundredth page of a large org as on the first, which is
//! what the console's 200 ms goal rests on and what no result-based test can see.

use chrono::Duration;
use miro_sam_core::audit::{AuditCursor, AuditQuery};
use miro_sam_core::contract::fixtures::{member_id, org, t0};
use miro_sam_core::domain::{AuditEntryId, Email, PlanId};
use miro_sam_core::reclaim::{ReclaimState, RecordCursor};
use rusqlite::Connection;

use crate::codec::Query;
use crate::{audit, member_search, plan_stream, records, schema, timeline};

fn plan_of(c: &Connection, q: Query) -> String {
    let (sql, params) = q.params();
    let mut stmt = c
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    rows.join("\n")
}

fn migrated() -> Connection {
    let mut c = Connection::open_in_memory().unwrap();
    schema::migrate(&mut c).unwrap();
    c
}

#[track_caller]
fn assert_search(plan: &str, expected: &str) {
    assert!(
        plan.contains(expected),
        "expected `{expected}` in the plan:\n{plan}"
    );
    assert!(
        !plan.contains("TEMP B-TREE"),
        "a page must not sort:\n{plan}"
    );
    assert!(!plan.contains("SCAN"), "a page must not scan:\n{plan}");
}

#[test]
fn audit_pages_search_their_index_from_the_cursor() {
    let c = migrated();
    let cursor = AuditCursor {
        at: t0(),
        id: AuditEntryId::parse("e/1").unwrap(),
    };
    let everything = AuditQuery::default();
    let by_kind = AuditQuery {
        kind: Some("reclaimed".into()),
        from: Some(t0() - Duration::days(30)),
        ..Default::default()
    };
    let by_member = AuditQuery {
        member: Some(member_id(1)),
        kind: Some("reclaimed".into()),
        to: Some(t0() + Duration::days(1)),
        ..Default::default()
    };
    let o = org();
    assert_search(
        &plan_of(&c, audit::page_query(&o, &everything, None, 50)),
        "USING INDEX audit_by_org (org_id=?)",
    );
    assert_search(
        &plan_of(&c, audit::page_query(&o, &everything, Some(&cursor), 50)),
        "USING INDEX audit_by_org (org_id=? AND (at,entry_id)<(?,?))",
    );
    assert_search(
        &plan_of(&c, audit::page_query(&o, &by_kind, Some(&cursor), 50)),
        "USING INDEX audit_by_kind (org_id=? AND kind=? AND at>? AND (at,entry_id)<(?,?))",
    );
    assert_search(
        &plan_of(&c, audit::page_query(&o, &by_member, Some(&cursor), 50)),
        "USING INDEX audit_by_member (org_id=? AND member_id=? AND (at,entry_id)<(?,?))",
    );
}

#[test]
fn record_pages_search_their_index_from_the_cursor() {
    let c = migrated();
    let cursor = RecordCursor {
        created_at: t0(),
        plan_id: PlanId::new(),
        member_id: member_id(1),
    };
    let o = org();
    assert_search(
        &plan_of(&c, records::page_query(&o, None, None, 50)),
        "USING INDEX reclaim_records_by_org (org_id=?)",
    );
    assert_search(
        &plan_of(&c, records::page_query(&o, None, Some(&cursor), 50)),
        "USING INDEX reclaim_records_by_org (org_id=? AND (created_at,plan_id,id_len,member_id)<(?,?,?,?))",
    );
    assert_search(
        &plan_of(
            &c,
            records::page_query(&o, Some(ReclaimState::Done), Some(&cursor), 50),
        ),
        "USING INDEX reclaim_records_by_state (org_id=? AND state=? AND \
         (created_at,plan_id,id_len,member_id)<(?,?,?,?))",
    );
}

#[test]
fn member_search_pages_search_the_email_index_from_the_cursor() {
    let c = migrated();
    let o = org();
    let (email, id) = (Email::parse("ann@example.com").unwrap(), member_id(1));
    assert_search(
        &plan_of(&c, member_search::search_query(&o, "", None, 50)),
        "USING INDEX members_by_email (org_id=?)",
    );
    assert_search(
        &plan_of(&c, member_search::search_query(&o, "an", None, 50)),
        "USING INDEX members_by_email (org_id=? AND email>? AND email<?)",
    );
    assert_search(
        &plan_of(
            &c,
            member_search::search_query(&o, "an", Some((&email, &id)), 50),
        ),
        "USING INDEX members_by_email (org_id=? AND (email,id_len,member_id)>(?,?,?) AND email<?)",
    );
    assert_search(
        &plan_of(
            &c,
            member_search::search_query(&o, "", Some((&email, &id)), 50),
        ),
        "USING INDEX members_by_email (org_id=? AND (email,id_len,member_id)>(?,?,?))",
    );
}

#[test]
fn plan_history_and_timeline_pages_search_their_keys() {
    let c = migrated();
    let o = org();
    assert_search(
        &plan_of(&c, plan_stream::headers_query(&o, Some(t0()), 50)),
        "USING INDEX plans_by_org (org_id=? AND created_at<?)",
    );
    assert_search(
        &plan_of(
            &c,
            timeline::page_query(
                &o,
                &member_id(1),
                Some("2026-06-01T08:30:00.123456Z#left"),
                50,
            ),
        ),
        "USING PRIMARY KEY (org_id=? AND member_id=? AND event_key<?)",
    );
}
