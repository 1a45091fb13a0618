//! Contract of [`SubscriptionStore::list_audit_page`]: the console's audit log, newest first, filtered.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::super::fixtures::*;
use super::super::pages::read_pages;
use crate::audit::{AuditCursor, AuditEntry, AuditEvent, AuditQuery};
use crate::domain::{AuditEntryId, Email, OrgId, PlanId};
use crate::hold::HoldSource;
use crate::ports::SubscriptionStore;
use crate::reclaim::SkipReason;

type Store = Arc<dyn SubscriptionStore>;

fn email(n: u64) -> Email {
    Email::parse(&format!("user{n}@example.com")).expect("email")
}

/// One event of each shape that matters to the filters: with a member, without one, and with an optional
/// member left empty.
fn event(shape: u64, member: u64, at: DateTime<Utc>) -> AuditEvent {
    let member_id = member_id(member);
    match shape % 6 {
        0 => AuditEvent::ReclaimSkipped {
            plan_id: PlanId::new(),
            member_id,
            email: email(member),
            reason: SkipReason::ScimUserNotFound,
        },
        1 => AuditEvent::HoldPlaced {
            member_id,
            email: email(member),
            source: HoldSource::Reactivated,
            reason: "asked to keep the seat".into(),
            expires_at: at + Duration::days(30),
        },
        2 => AuditEvent::PolicyChanged {
            version: member as u32,
        },
        3 => AuditEvent::Reclaimed {
            plan_id: PlanId::new(),
            member_id,
            email: email(member),
            license: miro_client::License::Full,
            scim_user_id: format!("scim-{member}"),
        },
        4 => AuditEvent::OrgPaused {
            reason: "quarter end".into(),
        },
        _ => AuditEvent::Reactivated {
            member_id: None,
            email: email(member),
            scim_user_id: format!("scim-{member}"),
            why: "found by email only".into(),
        },
    }
}

fn entry(org: &OrgId, id: &str, at: DateTime<Utc>, event: AuditEvent) -> AuditEntry {
    AuditEntry {
        id: AuditEntryId::parse(id).expect("audit id"),
        org_id: org.clone(),
        at,
        actor: "contract".into(),
        event,
    }
}

/// Newest first: (at, id) descending.
fn newest_first(v: &mut [AuditEntry]) {
    v.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
}

/// Every page of `query` with `limit`: each page full except the last.
async fn read_all(store: &Store, query: &AuditQuery, limit: usize) -> Vec<AuditEntry> {
    read_pages(
        &format!("{query:?}"),
        limit,
        None,
        AuditCursor::of,
        |e, c| (e.at, &e.id) < (c.at, &c.id),
        |cursor| async move {
            store
                .list_audit_page(&org(), query, cursor.as_ref(), limit)
                .await
                .unwrap()
        },
    )
    .await
}

pub async fn audit_pages_newest_first_with_each_filter(store: Store) {
    let o = org();
    let mut ours = Vec::new();
    for i in 0..48u64 {
        // Three entries share each instant; ids are not in time order, so the id breaks ties on its own.
        let at = t0() + Duration::minutes((i / 3) as i64);
        let e = entry(
            &o,
            &format!("e/{:02}", (i * 7) % 48),
            at,
            event(i, 1 + (i / 6) % 3, at),
        );
        ours.push(e);
    }
    let theirs: Vec<AuditEntry> = ours
        .iter()
        .map(|e| AuditEntry {
            id: AuditEntryId::parse(&format!("other/{}", e.id)).unwrap(),
            org_id: other_org(),
            ..e.clone()
        })
        .collect();
    for e in ours.iter().rev().chain(&theirs) {
        store.append_audit(e).await.unwrap();
    }
    newest_first(&mut ours);

    let minute = |m: i64| Some(t0() + Duration::minutes(m));
    let queries = [
        AuditQuery::default(),
        AuditQuery {
            member: Some(member_id(1)),
            ..Default::default()
        },
        AuditQuery {
            kind: Some("hold_placed".into()),
            ..Default::default()
        },
        AuditQuery {
            kind: Some("reactivated".into()),
            ..Default::default()
        },
        AuditQuery {
            from: minute(5),
            ..Default::default()
        },
        AuditQuery {
            to: minute(8),
            ..Default::default()
        },
        AuditQuery {
            from: minute(3),
            to: minute(11),
            ..Default::default()
        },
        AuditQuery {
            member: Some(member_id(2)),
            kind: Some("reclaimed".into()),
            ..Default::default()
        },
        AuditQuery {
            member: Some(member_id(3)),
            kind: Some("reclaim_skipped".into()),
            from: minute(2),
            to: minute(14),
        },
        AuditQuery {
            kind: Some("policy_changed".into()),
            from: minute(4),
            ..Default::default()
        },
        AuditQuery {
            member: Some(member_id(99)),
            ..Default::default()
        },
        AuditQuery {
            kind: Some("signed_in".into()),
            ..Default::default()
        },
    ];
    for (i, q) in queries.iter().enumerate() {
        let want: Vec<AuditEntry> = ours.iter().filter(|e| q.matches(e)).cloned().collect();
        // The last two select nothing; every other one some entries, not all.
        assert_eq!(want.is_empty(), i >= 10, "fixture: {q:?}");
        assert!(i == 0 || want.len() < ours.len(), "fixture: {q:?}");
        for limit in [1, 4, 100] {
            assert_eq!(
                read_all(&store, q, limit).await,
                want,
                "{q:?}, {limit} a page: the org's matching entries, newest first, each once"
            );
        }
        // From the middle: strictly before the cursor.
        if want.len() > 2 {
            let k = want.len() / 2;
            let page = store
                .list_audit_page(&o, q, Some(&AuditCursor::of(&want[k])), 2)
                .await
                .unwrap();
            assert_eq!(page, want[k + 1..(k + 3).min(want.len())].to_vec(), "{q:?}");
        }
    }
    // A cursor that is no entry: the instant of e/30, e/37 and e/44, an id between the first two.
    let at = t0() + Duration::minutes(6);
    let cursor = AuditCursor {
        at,
        id: AuditEntryId::parse("e/35").unwrap(),
    };
    let want: Vec<AuditEntry> = ours
        .iter()
        .filter(|e| (e.at, e.id.as_str()) < (at, "e/35"))
        .take(5)
        .cloned()
        .collect();
    assert_eq!(want[0].id.as_str(), "e/30", "fixture");
    assert_eq!(
        store
            .list_audit_page(&o, &AuditQuery::default(), Some(&cursor), 5)
            .await
            .unwrap(),
        want
    );
}

/// Long runs of entries that do not match lie between the ones that do: a page is still full unless the log
/// ends (an adapter that reads `limit` entries and then filters fails).
pub async fn audit_pages_read_past_runs_of_entries_that_do_not_match(store: Store) {
    let o = org();
    let s = |secs: i64| t0() + Duration::seconds(secs);
    let mut all = Vec::new();
    for i in 1..=200i64 {
        if i != 100 {
            all.push(entry(&o, &format!("skip/{i:03}"), s(i), event(0, 1, s(i))));
        }
    }
    for i in [0, 100, 201] {
        all.push(entry(&o, &format!("pause/{i:03}"), s(i), event(4, 0, s(i))));
    }
    for i in [50, 150] {
        all.push(entry(&o, &format!("hold/{i:03}"), s(i), event(1, 2, s(i))));
    }
    for e in &all {
        store.append_audit(e).await.unwrap();
    }
    let ids =
        |v: Vec<AuditEntry>| -> Vec<String> { v.into_iter().map(|e| e.id.to_string()).collect() };
    let page = |q: AuditQuery, before: Option<AuditCursor>, limit: usize| {
        let (store, o) = (store.clone(), o.clone());
        async move {
            store
                .list_audit_page(&o, &q, before.as_ref(), limit)
                .await
                .unwrap()
        }
    };
    let paused = AuditQuery {
        kind: Some("org_paused".into()),
        ..Default::default()
    };
    let first = page(paused.clone(), None, 2).await;
    assert_eq!(
        ids(first.clone()),
        ["pause/201", "pause/100"],
        "a full page across a hundred entries that do not match"
    );
    let rest = page(paused.clone(), first.last().map(AuditCursor::of), 2).await;
    assert_eq!(ids(rest), ["pause/000"], "the end of the log");
    assert_eq!(page(paused.clone(), None, 3).await.len(), 3);

    let held = AuditQuery {
        member: Some(member_id(2)),
        ..Default::default()
    };
    let first = page(held.clone(), None, 1).await;
    assert_eq!(ids(first.clone()), ["hold/150"]);
    let second = page(held.clone(), first.last().map(AuditCursor::of), 1).await;
    assert_eq!(ids(second.clone()), ["hold/050"]);
    assert!(
        page(held, second.last().map(AuditCursor::of), 1)
            .await
            .is_empty()
    );
    let in_window = AuditQuery {
        from: Some(s(1)),
        to: Some(s(200)),
        ..paused
    };
    assert_eq!(ids(page(in_window, None, 5).await), ["pause/100"]);
    let member_kind = AuditQuery {
        member: Some(member_id(2)),
        kind: Some("hold_placed".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(page(member_kind, None, 5).await),
        ["hold/150", "hold/050"]
    );
}
