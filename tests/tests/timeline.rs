//! Member timelines on the local AWS API: the scheduled run records what changed about each member as it writes
//! the changed members (license, activity, leaving), the plan records who became a candidate (once, not every
//! day), and the worker records the reclaim. A re-run of the same data adds nothing.

use miro_sam_core::domain::MemberId;
use miro_sam_core::timeline::{MemberChange, MemberEvent};
use miro_sam_tests::*;

async fn timeline(w: &World, member: &MemberId) -> Vec<MemberEvent> {
    w.rt.deps
        .store
        .list_member_events(&w.org, member, None, 100)
        .await
        .unwrap()
}

fn kinds(events: &[MemberEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.change.kind()).collect()
}

#[tokio::test]
async fn the_daily_run_records_changes_plans_and_reclaims_on_each_members_timeline() {
    let w = connected_world(120, live_policy()).await;

    // First run: everyone is new (no "joined" flood), candidates are planned and reclaimed.
    let (run, _) = w.daily_run().await;
    let plan_id = run.orgs[0].plan_id.unwrap();
    let store = w.rt.deps.store.as_ref();
    let candidate = store
        .list_plan_candidates(plan_id, None, 1)
        .await
        .unwrap()
        .remove(0)
        .member_id;
    w.reclaim_queued("worker").await;
    let t = timeline(&w, &candidate).await;
    assert_eq!(kinds(&t), ["reclaimed", "planned"], "newest first: {t:?}");
    assert!(matches!(&t[1].change, MemberChange::Planned { plan_id: p, .. } if *p == plan_id));

    // Someone else: a license change, and someone who leaves.
    let members = w.control.members(w.org.as_str());
    let changed = members
        .iter()
        .find(|m| m.license == "full" && m.active && m.id != candidate.as_str())
        .unwrap()
        .id
        .clone();
    let leaver = members
        .iter()
        .find(|m| m.id != changed && m.id != candidate.as_str())
        .unwrap()
        .id
        .clone();
    w.control
        .update_member(w.org.as_str(), &changed, |m| m.license = "free".into());
    assert!(w.control.remove_member(w.org.as_str(), &leaver));

    let (_, _) = w.daily_run().await;
    let changed_id = MemberId::parse(&changed).unwrap();
    let t = timeline(&w, &changed_id).await;
    assert!(
        t.iter().any(|e| matches!(&e.change,
            MemberChange::LicenseChanged { from, to } if from.as_str() == "full" && to.as_str() == "free")),
        "{t:?}"
    );
    let left = timeline(&w, &MemberId::parse(&leaver).unwrap()).await;
    assert_eq!(kinds(&left)[0], "left", "{left:?}");

    // The candidate reclaimed yesterday is deactivated now: that change is recorded, and no second "planned"
    // appears for members who stay candidates.
    let t = timeline(&w, &candidate).await;
    assert_eq!(
        t.iter().filter(|e| e.change.kind() == "planned").count(),
        1,
        "planned once: {t:?}"
    );
    assert!(
        t.iter()
            .any(|e| matches!(e.change, MemberChange::ActiveChanged { active: false })),
        "{t:?}"
    );

    // The same data again: nothing new on anyone's timeline.
    let before = (
        timeline(&w, &changed_id).await.len(),
        timeline(&w, &candidate).await.len(),
    );
    let (_, _) = w.daily_run().await;
    assert_eq!(
        (
            timeline(&w, &changed_id).await.len(),
            timeline(&w, &candidate).await.len()
        ),
        before
    );
}
