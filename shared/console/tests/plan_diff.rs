//! "What changed since the previous plan" on the plan page, counted while the page streams the latest plan for its
//! list, is exactly what `jobs::plan_diff` says, for plans longer than one store page, on the first page and on a
//! later or filtered one.

mod common;

use chrono::{Duration, Utc};
use common::*;
use miro_sam_core::jobs;
use miro_sam_core::plan::PLAN_PAGE;

#[tokio::test]
async fn the_plan_pages_diff_is_the_cores_plan_diff() {
    let c = console(Options::members(2_400)).await;
    let first = c.seed().await;
    assert!(
        first.candidates.len() > PLAN_PAGE,
        "the plans span several store pages: {}",
        first.candidates.len()
    );
    // Between the plans: three candidates work again (no longer candidates), and three active internal users
    // with a full license go quiet for a year (new candidates).
    let org = c.w.org.to_string();
    let now = Utc::now();
    // One of them the previous plan's last by member id, so the diff's tail (previous candidates after the latest
    // plan's last) is counted too.
    let last = first
        .candidates
        .iter()
        .max_by(|a, b| a.member_id.cmp(&b.member_id))
        .unwrap();
    let back: Vec<_> = first
        .candidates
        .iter()
        .step_by(first.candidates.len() / 3)
        .take(2)
        .chain([last])
        .collect();
    for cand in back {
        assert!(
            c.w.control
                .update_member(&org, cand.member_id.as_str(), |m| {
                    m.last_activity_at = Some(now)
                })
        );
    }
    let quiet: Vec<String> =
        c.w.control
            .members(&org)
            .into_iter()
            .filter(|m| {
                m.active
                    && m.role == "organization_internal_user"
                    && m.license == "full"
                    && m.admin_roles.is_empty()
                    && m.last_activity_at
                        .is_some_and(|t| now - t < Duration::days(10))
            })
            .map(|m| m.id)
            .take(3)
            .collect();
    assert_eq!(quiet.len(), 3);
    for id in &quiet {
        assert!(c.w.control.update_member(&org, id, |m| {
            m.last_activity_at = Some(now - Duration::days(400));
            m.license_assigned_at = Some(now - Duration::days(500));
        }));
    }
    jobs::download_org(&c.w.deps, &c.w.org).await.unwrap();
    let second = jobs::plan_org(c.w.deps.store.as_ref(), &c.w.org, "test", Utc::now())
        .await
        .unwrap();
    let want = jobs::plan_diff(c.w.deps.store.as_ref(), second.plan_id, first.plan_id, 20)
        .await
        .unwrap();
    assert!(want.added_count >= 3 && want.removed_count >= 3, "{want:?}");

    let b = c.signed_in_browser().await;
    let cursor = second.candidates[10].member_id.to_string();
    for path in [
        "/plans".to_owned(),
        format!("/plans?after={cursor}"),
        "/plans?q=zz-no-such-email".to_owned(),
    ] {
        let (status, page) = c.get(&b, &path).await;
        assert_eq!(status, 200, "{path}");
        let section = between(&page, "<h2>What changed", "<h2>Excluded members</h2>");
        assert!(
            section.contains(&format!(
                "{} new candidates, {} no longer candidates.",
                want.added_count, want.removed_count
            )),
            "{path}: {section}"
        );
        let added = between(section, "<h3>New candidates</h3>", "</ul>");
        let want_added: Vec<String> = want.added.iter().map(|c| c.member_id.to_string()).collect();
        assert_eq!(member_links(added), want_added, "{path}");
        let removed = between(section, "<h3>No longer candidates</h3>", "</ul>");
        let want_removed: Vec<String> = want
            .removed
            .iter()
            .map(|c| c.member_id.to_string())
            .collect();
        assert_eq!(member_links(removed), want_removed, "{path}");
    }
}
