//! The console-era store methods on DynamoDB (moto), beyond the shared contract: what each page costs in requests
//! wherever it starts, what the indexes do when an email changes, and the items' DynamoDB-only attributes.

mod common;

use chrono::{Duration, Utc};
use common::counting::{CountedStore, RequestCounter, counted_store};
use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditEvent, AuditQuery};
use miro_sam_core::contract::fixtures::{member_id, org, plan, subscription, t0};
use miro_sam_core::domain::{AuditEntryId, Email, OrgId, PlanId};
use miro_sam_core::ports::{AuditStore, MemberStore, PlanStore};
use miro_sam_core::reclaim::{
    ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor, SkipReason,
};
use miro_sam_core::timeline::{MemberChange, MemberEvent, TIMELINE_RETENTION_DAYS};

fn skipped(o: &OrgId, n: u64, at: chrono::DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: AuditEntryId::parse(&format!("skip/{n:04}")).unwrap(),
        org_id: o.clone(),
        at,
        actor: "test".into(),
        event: AuditEvent::ReclaimSkipped {
            plan_id: PlanId::new(),
            member_id: member_id(n % 7),
            email: Email::parse(&format!("user{}@example.com", n % 7)).unwrap(),
            reason: SkipReason::ScimUserNotFound,
        },
    }
}

/// The requests one call sent, by operation.
async fn requests<T>(
    counter: &RequestCounter,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> (T, std::collections::BTreeMap<String, u64>) {
    counter.reset();
    let out = call.await.expect("the page is read");
    (out, counter.snapshot())
}

fn ops(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// Every page (member search, audit log, a member's audit entries, reclaim records of a state, a timeline) is one
/// Query at the start, in the middle and at the end alike: a key range, never a read of what comes before.
#[tokio::test]
async fn each_console_page_is_one_query_wherever_it_starts() {
    let CountedStore {
        store,
        requests: counter,
        ..
    } = counted_store().await;
    let o = org();
    let members: Vec<_> = (1..=120).map(|n| subscription(&o, n, 10)).collect();
    store.upsert_members(&o, &members).await.unwrap();
    let mut by_email = members.clone();
    by_email.sort_by(|a, b| (&a.email, &a.member_id).cmp(&(&b.email, &b.member_id)));
    for at in [0, 55, 105] {
        let cursor = (at > 0).then(|| (&by_email[at].email, &by_email[at].member_id));
        let (page, sent) = requests(&counter, store.search_members(&o, "", cursor, 10)).await;
        let want: Vec<_> = by_email[at + usize::from(at > 0)..]
            .iter()
            .take(10)
            .cloned()
            .collect();
        assert_eq!(page, want, "search from {at}");
        // The Query, and the org's last download for the last_seen_at rule.
        assert_eq!(
            sent,
            ops(&[("GetItem", 1), ("Query", 1)]),
            "search from {at}"
        );
    }

    let mut entries: Vec<_> = (0..140)
        .map(|n| skipped(&o, n, t0() + Duration::seconds(n as i64)))
        .collect();
    for e in &entries {
        store.append_audit(e).await.unwrap();
    }
    entries.reverse();
    for at in [0, 70, 125] {
        let cursor = (at > 0).then(|| AuditCursor::of(&entries[at]));
        let (page, sent) = requests(
            &counter,
            store.list_audit_page(&o, &AuditQuery::default(), cursor.as_ref(), 10),
        )
        .await;
        let from = at + usize::from(at > 0);
        assert_eq!(page, entries[from..from + 10].to_vec(), "audit from {at}");
        assert_eq!(sent, ops(&[("Query", 1)]), "audit from {at}");
    }
    // One member's entries are a seventh of the log; their page is still one Query.
    let member = AuditQuery {
        member: Some(member_id(3)),
        ..Default::default()
    };
    let theirs: Vec<_> = entries
        .iter()
        .filter(|e| member.matches(e))
        .cloned()
        .collect();
    let cursor = AuditCursor::of(&theirs[8]);
    let (page, sent) = requests(
        &counter,
        store.list_audit_page(&o, &member, Some(&cursor), 5),
    )
    .await;
    assert_eq!(page, theirs[9..14].to_vec());
    assert_eq!(sent, ops(&[("Query", 1)]), "a member's audit page");

    let plan_id = PlanId::new();
    let mut records = Vec::new();
    for n in 1..=60u64 {
        let r = ReclaimRecord::pending(
            plan_id,
            o.clone(),
            member_id(n),
            Email::parse(&format!("user{n}@example.com")).unwrap(),
            t0() + Duration::seconds(n as i64),
        );
        store.create_reclaim_record(&r).await.unwrap();
        records.push(r);
    }
    // The records whose id ends in 0, 3, 6 or 9 are done.
    let mut done = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.member_id.as_str().ends_with(['0', '3', '6', '9']))
    {
        let moved = store
            .transition_reclaim(
                plan_id,
                &r.member_id,
                ReclaimState::Pending,
                &ReclaimTransition {
                    to: ReclaimState::Done,
                    scim_user_id: None,
                    outcome: None,
                    at: t0() + Duration::hours(1),
                },
            )
            .await
            .unwrap();
        done.push(moved);
    }
    done.reverse();
    for at in [0, 10] {
        let cursor = (at > 0).then(|| RecordCursor::of(&done[at]));
        let (page, sent) = requests(
            &counter,
            store.list_reclaim_records_page(&o, Some(ReclaimState::Done), cursor.as_ref(), 5),
        )
        .await;
        let from = at + usize::from(at > 0);
        assert_eq!(
            page,
            done[from..from + 5].to_vec(),
            "done records from {at}"
        );
        assert_eq!(sent, ops(&[("Query", 1)]), "done records from {at}");
    }

    let events: Vec<_> = (0..40)
        .map(|n| MemberEvent {
            org_id: o.clone(),
            member_id: member_id(1),
            at: t0() + Duration::days(n),
            change: MemberChange::ActiveChanged { active: n % 2 == 0 },
        })
        .collect();
    store.append_member_events(&events).await.unwrap();
    let key = events[20].key();
    let (page, sent) = requests(
        &counter,
        store.list_member_events(&o, &member_id(1), Some(&key), 5),
    )
    .await;
    let want: Vec<_> = events[15..20].iter().rev().cloned().collect();
    assert_eq!(page, want);
    assert_eq!(sent, ops(&[("Query", 1)]), "a timeline page");
}

/// The search index moves with the member item: under the new address only, at once, without stale entries.
#[tokio::test]
async fn a_changed_email_moves_the_member_in_the_search() {
    let store = common::fresh_store().await;
    let o = org();
    let mut m = subscription(&o, 1, 10);
    let other = subscription(&o, 2, 10);
    store
        .upsert_members(&o, &[m.clone(), other.clone()])
        .await
        .unwrap();
    m.email = Email::parse("zoe@example.com").unwrap();
    m.content_hash = m.compute_hash();
    store
        .upsert_members(&o, std::slice::from_ref(&m))
        .await
        .unwrap();

    let ids = |v: Vec<miro_sam_core::domain::Subscription>| -> Vec<String> {
        v.into_iter().map(|m| m.email.to_string()).collect()
    };
    assert_eq!(
        ids(store.search_members(&o, "", None, 10).await.unwrap()),
        ["user2@example.com", "zoe@example.com"]
    );
    assert_eq!(
        ids(store.search_members(&o, "user1", None, 10).await.unwrap()),
        Vec::<String>::new(),
        "the old address finds nobody"
    );
    assert_eq!(
        ids(store.search_members(&o, "zoe", None, 10).await.unwrap()),
        ["zoe@example.com"]
    );
    // A space ends the email in the index key; no address holds one, so such a prefix matches nobody.
    assert!(
        store
            .search_members(&o, "zoe@example.com 001", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search_members(&o, "", None, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Items of a plan whose header is written are refused, so a reader never sees a written plan change.
#[tokio::test]
async fn a_written_plan_refuses_more_streamed_items() {
    let store = common::fresh_store().await;
    let o = org();
    let p = plan(&o);
    store.put_plan(&p).await.unwrap();
    let mut extra = p.candidates[0].clone();
    extra.member_id = member_id(999);
    let err = store
        .put_plan_items(p.plan_id, &o, &[extra], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&p.plan_id.to_string()) && text.contains("new plan"),
        "names the plan and what to do: {text}"
    );
    assert_eq!(store.get_plan(p.plan_id).await.unwrap(), Some(p));
}

/// Timeline items carry the table's TTL attribute: the event's time plus the retention, never earlier.
#[tokio::test]
async fn member_events_expire_through_the_table_ttl_after_the_retention() {
    let CountedStore {
        store,
        clients,
        table,
        ..
    } = counted_store().await;
    let o = org();
    let event = MemberEvent {
        org_id: o.clone(),
        member_id: member_id(1),
        at: t0(),
        change: MemberChange::Left,
    };
    store
        .append_member_events(std::slice::from_ref(&event))
        .await
        .unwrap();
    let items = common::scan_items(&clients, &table).await;
    assert_eq!(items.len(), 1);
    let ttl = common::ttl_of(&items[0]);
    let end = t0() + Duration::days(TIMELINE_RETENTION_DAYS);
    // t0 has a fraction of a second: rounded up.
    assert_eq!(ttl, end.timestamp() + 1);
}
