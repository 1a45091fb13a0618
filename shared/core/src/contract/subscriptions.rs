//! Contract of [`SubscriptionStore`].

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use crate::domain::{
    DownloadCheckpoint, DownloadProgress, DownloadRun, Email, MemberId, RegisteredOrg, RunId,
    Subscription,
};
use crate::error::StoreError;
use crate::policy::Policy;
use crate::ports::SubscriptionStore;
use crate::reclaim::{ReclaimOutcome, ReclaimState, ReclaimTransition, SkipReason};

type Store = Arc<dyn SubscriptionStore>;

pub async fn orgs_round_trip(store: Store) {
    assert!(store.get_org(&org()).await.unwrap().is_none());
    let a = RegisteredOrg {
        id: org(),
        name: "Acme".into(),
        connected_at: t0(),
    };
    let b = RegisteredOrg {
        id: other_org(),
        name: "Globex".into(),
        connected_at: t0() + Duration::seconds(1),
    };
    store.put_org(&b).await.unwrap();
    store.put_org(&a).await.unwrap();
    assert_eq!(store.get_org(&org()).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.list_orgs().await.unwrap(),
        vec![a.clone(), b.clone()],
        "ordered by org id"
    );
    let renamed = RegisteredOrg {
        name: "Acme Corp".into(),
        ..a
    };
    store.put_org(&renamed).await.unwrap();
    assert_eq!(store.get_org(&org()).await.unwrap(), Some(renamed));
    assert_eq!(store.list_orgs().await.unwrap().len(), 2);
}

pub async fn upsert_and_read_back(store: Store) {
    let o = org();
    let members = vec![
        subscription(&o, 3, 10),
        odd_subscription(&o, 1),
        subscription(&o, 2, 200),
    ];
    store.upsert_members(&o, &members).await.unwrap();
    for m in &members {
        assert_eq!(
            store.get_member(&o, &m.member_id).await.unwrap().as_ref(),
            Some(m),
            "read back exactly"
        );
    }
    let listed = store.list_members(&o).await.unwrap();
    let mut expected = members.clone();
    expected.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    assert_eq!(listed, expected, "listed in member id order");
    let by_email = store
        .find_member_by_email(&o, &Email::parse("USER2@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email.map(|m| m.member_id), Some(member_id(2)));
    assert!(
        store
            .get_member(&o, &member_id(99))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_member_by_email(&o, &Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn unchanged_reupsert_is_idempotent(store: Store) {
    let o = org();
    let m = subscription(&o, 1, 10);
    store
        .upsert_members(&o, std::slice::from_ref(&m))
        .await
        .unwrap();
    store
        .upsert_members(&o, std::slice::from_ref(&m))
        .await
        .unwrap();
    assert_eq!(
        store.list_members(&o).await.unwrap(),
        vec![m.clone()],
        "no duplicate row"
    );

    let mut changed = m.clone();
    changed.license = crate::domain::License::Basic;
    changed.last_seen_at = t0() + Duration::days(1);
    changed.content_hash = changed.compute_hash();
    store
        .upsert_members(&o, std::slice::from_ref(&changed))
        .await
        .unwrap();
    let got = store.get_member(&o, &m.member_id).await.unwrap().unwrap();
    assert_eq!(got, changed, "an upsert replaces every field");
    assert_ne!(got.content_hash, m.content_hash);
    assert_eq!(
        store.upsert_members(&o, &[]).await.ok(),
        Some(()),
        "an empty batch is fine"
    );
}

pub async fn members_are_scoped_per_org(store: Store) {
    let (a, b) = (org(), other_org());
    let in_a = subscription(&a, 1, 10);
    let in_b = Subscription {
        email: Email::parse("someone.else@example.com").unwrap(),
        ..subscription(&b, 1, 10)
    };
    store
        .upsert_members(&a, std::slice::from_ref(&in_a))
        .await
        .unwrap();
    store
        .upsert_members(&b, std::slice::from_ref(&in_b))
        .await
        .unwrap();
    assert_eq!(store.list_members(&a).await.unwrap(), vec![in_a.clone()]);
    assert_eq!(
        store.get_member(&b, &member_id(1)).await.unwrap(),
        Some(in_b)
    );
    store.mark_removed(&b, &[member_id(1)], t0()).await.unwrap();
    assert_eq!(
        store.get_member(&a, &member_id(1)).await.unwrap(),
        Some(in_a),
        "removal in one org leaves the other alone"
    );
}

pub async fn last_seen_follows_complete_downloads(store: Store) {
    let o = org();
    let m = subscription(&o, 1, 10); // written at t0
    let other = subscription(&other_org(), 2, 10);
    store
        .upsert_members(&o, std::slice::from_ref(&m))
        .await
        .unwrap();
    store
        .upsert_members(&other_org(), std::slice::from_ref(&other))
        .await
        .unwrap();
    let t1 = t0() + Duration::days(1);
    store
        .put_download_run(&completed_run(&o, t1, 1))
        .await
        .unwrap();
    let got = store.get_member(&o, &m.member_id).await.unwrap().unwrap();
    assert_eq!(
        got.last_seen_at, t1,
        "an unchanged member was seen by the last complete download"
    );
    assert_eq!(store.list_members(&o).await.unwrap()[0].last_seen_at, t1);
    assert_eq!(
        store
            .get_member(&other_org(), &other.member_id)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        t0(),
        "another org's download says nothing about this org"
    );

    // Removed during the next run: last seen by the previous complete run, and no later runs count.
    let t2 = t1 + Duration::days(1);
    store
        .mark_removed(&o, std::slice::from_ref(&m.member_id), t2)
        .await
        .unwrap();
    let t3 = t2 + Duration::days(1);
    store
        .put_download_run(&completed_run(&o, t3, 0))
        .await
        .unwrap();
    let got = store.get_member(&o, &m.member_id).await.unwrap().unwrap();
    assert_eq!(got.removed_at, Some(t2));
    assert_eq!(
        got.last_seen_at, t1,
        "a removed member was last seen by the run before their removal"
    );
}

pub async fn removed_marking(store: Store) {
    let o = org();
    let members: Vec<Subscription> = (1..=3).map(|n| subscription(&o, n, 10)).collect();
    store.upsert_members(&o, &members).await.unwrap();
    let t1 = t0() + Duration::days(1);
    let n = store
        .mark_removed(&o, &[member_id(1), member_id(2), member_id(77)], t1)
        .await
        .unwrap();
    assert_eq!(n, 2, "unknown ids are ignored");
    let again = store
        .mark_removed(&o, &[member_id(1)], t1 + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(again, 0, "already removed");
    let m1 = store.get_member(&o, &member_id(1)).await.unwrap().unwrap();
    assert_eq!(m1.removed_at, Some(t1), "the first removal time is kept");
    assert!(
        store
            .get_member(&o, &member_id(3))
            .await
            .unwrap()
            .unwrap()
            .removed_at
            .is_none()
    );
    assert_eq!(
        store.list_members(&o).await.unwrap().len(),
        3,
        "removed members stay listed"
    );

    // Coming back is an upsert with removed_at cleared.
    let back = Subscription {
        last_seen_at: t1 + Duration::days(2),
        ..members[0].clone()
    };
    store
        .upsert_members(&o, std::slice::from_ref(&back))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_member(&o, &member_id(1))
            .await
            .unwrap()
            .unwrap()
            .removed_at,
        None
    );
}

pub async fn download_run_round_trip(store: Store) {
    let o = org();
    assert!(store.last_download_run(&o).await.unwrap().is_none());
    let first = DownloadRun {
        org_id: o.clone(),
        run_id: RunId::new(),
        started_at: t0(),
        completed_at: t0() + Duration::seconds(42),
        members_seen: 300,
    };
    store.put_download_run(&first).await.unwrap();
    assert_eq!(
        store.last_download_run(&o).await.unwrap(),
        Some(first.clone())
    );
    let second = DownloadRun {
        run_id: RunId::new(),
        completed_at: t0() + Duration::days(1),
        ..first
    };
    store.put_download_run(&second).await.unwrap();
    assert_eq!(store.last_download_run(&o).await.unwrap(), Some(second));
    assert!(
        store
            .last_download_run(&other_org())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn checkpoint_round_trip(store: Store) {
    let o = org();
    assert!(store.get_checkpoint(&o).await.unwrap().is_none());
    let cp = DownloadCheckpoint {
        org_id: o.clone(),
        run_id: RunId::new(),
        cursor: Some("eyJjdXJzb3IiOiIxMjMifQ==".into()),
        pages_done: 7,
        updated_at: t0(),
        progress: DownloadProgress {
            started_at: Some(t0()),
            last_member_id: Some(MemberId::parse("3074457345000000700").unwrap()),
            ordered: true,
            missing: vec![MemberId::parse("3074457345000000042").unwrap()],
            members_seen: 700,
            new: 3,
            changed: 2,
            unchanged: 690,
            rejected: 5,
        },
    };
    store.put_checkpoint(&cp).await.unwrap();
    assert_eq!(store.get_checkpoint(&o).await.unwrap(), Some(cp.clone()));
    let next = DownloadCheckpoint {
        cursor: None,
        pages_done: 8,
        ..cp
    };
    store.put_checkpoint(&next).await.unwrap();
    assert_eq!(store.get_checkpoint(&o).await.unwrap(), Some(next));
    assert!(store.get_checkpoint(&other_org()).await.unwrap().is_none());
    store.clear_checkpoint(&o).await.unwrap();
    assert!(store.get_checkpoint(&o).await.unwrap().is_none());
    store
        .clear_checkpoint(&o)
        .await
        .expect("clearing nothing is fine");
}

pub async fn snapshots_are_idempotent_per_day(store: Store) {
    let o = org();
    let first = snapshot(&o, day(2), 100);
    let rerun = snapshot(&o, day(2), 120);
    store.put_snapshot(&first).await.unwrap();
    store.put_snapshot(&rerun).await.unwrap();
    assert_eq!(
        store.get_snapshot(&o, day(2)).await.unwrap(),
        Some(rerun.clone()),
        "same day overwrites"
    );
    assert_eq!(
        store.list_snapshots(&o, day(1), day(30)).await.unwrap(),
        vec![rerun.clone()]
    );

    let d5 = snapshot(&o, day(5), 120);
    let d3 = snapshot(&o, day(3), 120);
    store.put_snapshot(&d5).await.unwrap();
    store.put_snapshot(&d3).await.unwrap();
    store
        .put_snapshot(&snapshot(&other_org(), day(4), 1))
        .await
        .unwrap();
    let all = store.list_snapshots(&o, day(1), day(30)).await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.date).collect::<Vec<_>>(),
        vec![day(2), day(3), day(5)]
    );
    let inner = store.list_snapshots(&o, day(3), day(5)).await.unwrap();
    assert_eq!(inner, vec![d3, d5.clone()], "bounds are inclusive");
    assert!(
        store
            .list_snapshots(&o, day(6), day(30))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.latest_snapshot(&o).await.unwrap(), Some(d5));
    assert!(store.get_snapshot(&o, day(4)).await.unwrap().is_none());
}

pub async fn policy_versions(store: Store) {
    let o = org();
    assert!(store.latest_policy(&o).await.unwrap().is_none());
    let p1 = Policy::default();
    let p2 = Policy {
        dry_run: false,
        grace_days: 14,
        ..Policy::default()
    };
    let v1 = store.put_policy(&o, &p1, "alice", t0()).await.unwrap();
    let v2 = store
        .put_policy(&o, &p2, "bob", t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v2.policy, p2);
    assert_eq!(v2.created_by, "bob");
    assert_eq!(store.latest_policy(&o).await.unwrap(), Some(v2.clone()));
    assert_eq!(store.get_policy(&o, 1).await.unwrap(), Some(v1));
    assert_eq!(store.get_policy(&o, 2).await.unwrap(), Some(v2));
    assert!(store.get_policy(&o, 3).await.unwrap().is_none());
    let other = store
        .put_policy(&other_org(), &p2, "carol", t0())
        .await
        .unwrap();
    assert_eq!(other.version, 1, "versions count per org");
}

pub async fn plan_round_trip(store: Store) {
    let o = org();
    let p = plan(&o);
    assert!(
        !p.candidates.is_empty() && !p.exclusions.is_empty(),
        "fixture exercises both lists"
    );
    store.put_plan(&p).await.unwrap();
    assert_eq!(store.get_plan(p.plan_id).await.unwrap(), Some(p.clone()));
    let mut later = plan(&o);
    later.created_at = p.created_at + Duration::hours(1);
    store.put_plan(&later).await.unwrap();
    assert_eq!(
        store.latest_plan(&o).await.unwrap().map(|x| x.plan_id),
        Some(later.plan_id)
    );
    assert!(store.latest_plan(&other_org()).await.unwrap().is_none());
    assert!(
        store
            .get_plan(crate::domain::PlanId::new())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn reclaim_record_created_once(store: Store) {
    let o = org();
    let plan_id = crate::domain::PlanId::new();
    let rec = pending_record(plan_id, &o, 1);
    let (stored, created) = store.create_reclaim_record(&rec).await.unwrap();
    assert!(created);
    assert_eq!(stored, rec);
    let mut imposter = rec.clone();
    imposter.email = Email::parse("someone@example.com").unwrap();
    imposter.created_at = t0() + Duration::days(1);
    let (stored, created) = store.create_reclaim_record(&imposter).await.unwrap();
    assert!(!created, "a second create finds the first");
    assert_eq!(stored, rec, "and returns it unchanged");
    assert_eq!(
        store
            .get_reclaim_record(plan_id, &member_id(1))
            .await
            .unwrap(),
        Some(rec)
    );
    assert!(
        store
            .get_reclaim_record(plan_id, &member_id(2))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn reclaim_transition_happens_once(store: Store) {
    let o = org();
    let plan_id = crate::domain::PlanId::new();
    let rec = pending_record(plan_id, &o, 1);
    store.create_reclaim_record(&rec).await.unwrap();
    let m = member_id(1);
    let t1 = t0() + Duration::seconds(1);
    let applying = ReclaimTransition {
        to: ReclaimState::Applying,
        scim_user_id: Some("3458764517517819001".into()),
        outcome: None,
        at: t1,
    };
    let r = store
        .transition_reclaim(plan_id, &m, ReclaimState::Pending, &applying)
        .await
        .unwrap();
    assert_eq!(r.state, ReclaimState::Applying);
    assert_eq!(r.scim_user_id.as_deref(), Some("3458764517517819001"));
    assert_eq!(r.updated_at, t1);
    assert_eq!(r.created_at, rec.created_at);

    let done = ReclaimTransition {
        to: ReclaimState::Done,
        scim_user_id: None,
        outcome: Some(ReclaimOutcome::Reclaimed {
            scim_user_id: "3458764517517819001".into(),
            at: t1,
        }),
        at: t1 + Duration::seconds(1),
    };
    let r = store
        .transition_reclaim(plan_id, &m, ReclaimState::Applying, &done)
        .await
        .unwrap();
    assert_eq!(r.state, ReclaimState::Done);
    assert_eq!(r.outcome, done.outcome);
    assert_eq!(
        r.scim_user_id.as_deref(),
        Some("3458764517517819001"),
        "None keeps the stored value"
    );

    let again = store
        .transition_reclaim(plan_id, &m, ReclaimState::Applying, &done)
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "second transition: {again:?}"
    );
    let skip = ReclaimTransition {
        to: ReclaimState::Skipped,
        scim_user_id: None,
        outcome: Some(ReclaimOutcome::Skipped {
            reason: SkipReason::AlreadyDeactivated,
        }),
        at: t1,
    };
    let stale = store
        .transition_reclaim(plan_id, &m, ReclaimState::Pending, &skip)
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "stale expectation: {stale:?}"
    );
    assert_eq!(
        store
            .get_reclaim_record(plan_id, &m)
            .await
            .unwrap()
            .unwrap()
            .outcome,
        done.outcome,
        "the losing transitions changed nothing"
    );
    let missing = store
        .transition_reclaim(plan_id, &member_id(2), ReclaimState::Pending, &skip)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "absent record: {missing:?}"
    );

    let listed = store.list_reclaim_records(&o).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, ReclaimState::Done);
    assert!(
        store
            .list_reclaim_records(&other_org())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn concurrent_transitions_have_one_winner(store: Store) {
    let o = org();
    let plan_id = crate::domain::PlanId::new();
    store
        .create_reclaim_record(&pending_record(plan_id, &o, 1))
        .await
        .unwrap();
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        async move {
            let t = ReclaimTransition {
                to: ReclaimState::Applying,
                scim_user_id: Some(format!("{i}")),
                outcome: None,
                at: t0(),
            };
            store
                .transition_reclaim(plan_id, &member_id(1), ReclaimState::Pending, &t)
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict { .. })))
        .count();
    assert_eq!((winners, conflicts), (1, 7), "{results:?}");
}

pub async fn audit_is_append_only(store: Store) {
    let o = org();
    let later = audit_entry(&o, "reclaim/b", t0() + Duration::seconds(10));
    let earlier = audit_entry(&o, "reclaim/a", t0());
    let same_time = audit_entry(&o, "reclaim/0", t0());
    store.append_audit(&later).await.unwrap();
    store.append_audit(&earlier).await.unwrap();
    store.append_audit(&same_time).await.unwrap();
    store
        .append_audit(&audit_entry(&other_org(), "reclaim/c", t0()))
        .await
        .unwrap();

    let mut forged = audit_entry(&o, "reclaim/a", t0() + Duration::days(1));
    forged.actor = "mallory".into();
    let dup = store.append_audit(&forged).await;
    assert!(
        matches!(dup, Err(StoreError::AlreadyExists { .. })),
        "duplicate id: {dup:?}"
    );
    assert_eq!(
        store.get_audit(&earlier.id).await.unwrap(),
        Some(earlier.clone()),
        "the original is kept"
    );
    let listed = store.list_audit(&o).await.unwrap();
    assert_eq!(
        listed,
        vec![same_time, earlier, later],
        "ordered by time, then id; other orgs excluded"
    );
    assert!(
        store
            .get_audit(&crate::domain::AuditEntryId::parse("nope").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn ten_thousand_members(store: Store) {
    let o = org();
    let all: Vec<Subscription> = (1..=10_000)
        .map(|n| subscription(&o, n, (n % 400) as i64))
        .collect();
    for chunk in all.chunks(2_500) {
        store.upsert_members(&o, chunk).await.unwrap();
    }
    let listed = store.list_members(&o).await.unwrap();
    assert_eq!(listed.len(), 10_000);
    assert!(
        listed.windows(2).all(|w| w[0].member_id < w[1].member_id),
        "ordered by id"
    );
    assert_eq!(listed[4_999], all[4_999]);
    assert_eq!(listed[9_999], all[9_999]);
}
