//! Simulated days: deterministic from the seed, plausible changes, the clock a day further each time, and the
//! same over the control plane.

mod common;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{all_member_ids, client, reply};
use miro_sandbox::{DayChurn, LivedDay, Sandbox, SandboxConfig, SandboxMember};

/// Noon UTC `days` days before today: a start whose simulated mornings are all before the sandbox's now.
fn noon_days_ago(days: i64) -> DateTime<Utc> {
    let today = Utc::now().date_naive();
    Utc.from_utc_datetime(&today.and_hms_opt(12, 0, 0).unwrap()) - Duration::days(days)
}

fn config(members: usize, seed: u64, days_ago: i64) -> SandboxConfig {
    let mut c = SandboxConfig::with_members(members);
    c.seed = seed;
    c.clock_start = Some(noon_days_ago(days_ago));
    c
}

/// Lives `days` days and returns them with the ground truth afterwards.
async fn lived(
    members: usize,
    seed: u64,
    days: u64,
) -> (Vec<LivedDay>, Vec<SandboxMember>, Sandbox) {
    let sb = Sandbox::start(config(members, seed, 40)).await.unwrap();
    let ctl = sb.control();
    let org = ctl.org_ids()[0].clone();
    let churn = DayChurn::default();
    let lived = (0..days)
        .map(|_| ctl.live_day(&org, &churn).expect("the org exists"))
        .collect();
    let truth = ctl.members(&org);
    (lived, truth, sb)
}

#[tokio::test]
async fn the_same_seed_lives_the_same_days_and_another_seed_does_not() {
    let (a_days, a, sa) = lived(400, 9, 12).await;
    let (b_days, b, sb) = lived(400, 9, 12).await;
    let (_, c, sc) = lived(400, 10, 12).await;
    assert_eq!(a, b, "same seed, same members to the second");
    let strip = |d: &LivedDay| {
        (
            d.day,
            d.worked,
            d.went_quiet.clone(),
            d.came_back.clone(),
            d.joined.clone(),
            d.left.clone(),
            d.license_changes.clone(),
            d.active_by_license.clone(),
        )
    };
    assert_eq!(
        a_days.iter().map(strip).collect::<Vec<_>>(),
        b_days.iter().map(strip).collect::<Vec<_>>()
    );
    assert_ne!(a, c, "another seed lives other days");
    for s in [sa, sb, sc] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn a_month_of_days_changes_the_org_plausibly_and_truthfully() {
    let sb = Sandbox::start(config(1000, 4, 35)).await.unwrap();
    let ctl = sb.control();
    let org = ctl.org_ids()[0].clone();
    let before = ctl.members(&org);
    let start = ctl.now();
    // The org is as it was on the start day: nobody's activity is after the sandbox's now.
    assert!(
        (start - noon_days_ago(35)).num_seconds().abs() < 60,
        "starts then"
    );
    assert!(
        before
            .iter()
            .all(|m| m.last_activity_at.is_none_or(|t| t <= start))
    );
    let admin = before[0].clone();
    let original_max: u64 = before
        .iter()
        .map(|m| m.id.parse::<u64>().unwrap())
        .max()
        .unwrap();

    let churn = DayChurn::default();
    let mut days = Vec::new();
    for n in 1..=30 {
        let d = ctl.live_day(&org, &churn).unwrap();
        assert_eq!(d.day, n);
        // Each day begins 24 hours after the one before, whatever real time the loop spends in between.
        let gone = d.now - start - Duration::days(n as i64);
        assert!(gone.abs() < Duration::seconds(1), "{gone}");
        days.push(d);
    }
    let after = ctl.members(&org);
    let by_id: HashMap<&str, &SandboxMember> = after.iter().map(|m| (m.id.as_str(), m)).collect();
    let sum = |f: fn(&LivedDay) -> usize| days.iter().map(f).sum::<usize>();
    let joined = sum(|d| d.joined.len());
    let left = sum(|d| d.left.len());
    assert!(joined >= 10, "people join: {joined}");
    assert!(left >= 5, "people leave: {left}");
    assert!(sum(|d| d.license_changes.len()) >= 15, "licenses change");
    assert!(sum(|d| d.went_quiet.len()) >= 20, "people go idle");
    assert!(sum(|d| d.came_back.len()) >= 5, "people come back");
    assert!(
        days.iter().all(|d| d.worked > 100),
        "most recent workers keep working"
    );
    assert_eq!(after.len(), before.len() + joined - left);

    // The installing admin is left alone.
    assert_eq!(by_id[admin.id.as_str()], &admin);
    // Each member's last license change is their license now (unless they left since).
    let mut last_change = BTreeMap::new();
    for c in days.iter().flat_map(|d| &d.license_changes) {
        assert_ne!(c.from, c.to);
        last_change.insert(c.member_id.clone(), c.to.clone());
    }
    // Joiners get new, larger ids, an internal address, and a license assigned that day (unless it changed
    // since); leavers are gone.
    for d in &days {
        for id in &d.joined {
            assert!(id.parse::<u64>().unwrap() > original_max, "{id}");
            if let Some(m) = by_id.get(id.as_str())
                && !last_change.contains_key(id)
            {
                assert!(m.email.ends_with("@acme-corp.example"), "{}", m.email);
                assert!(m.license_assigned_at.unwrap() <= d.now);
                assert!(m.license_assigned_at.unwrap() > d.now - Duration::days(1));
            }
        }
        for id in &d.left {
            assert!(!by_id.contains_key(id.as_str()), "{id} left");
        }
    }
    for (id, to) in &last_change {
        if let Some(m) = by_id.get(id.as_str()) {
            assert_eq!(&m.license, to, "{id}");
        }
    }
    // Deactivated members do not work; active ones worked on a simulated morning, never in the future.
    let was: HashMap<&str, &SandboxMember> = before.iter().map(|m| (m.id.as_str(), m)).collect();
    for m in &after {
        if let Some(old) = was.get(m.id.as_str())
            && !m.active
        {
            assert_eq!(m.last_activity_at, old.last_activity_at, "{}", m.id);
        }
        assert!(m.last_activity_at.is_none_or(|t| t <= ctl.now()));
    }
    // The last day's seat counts are the ground truth.
    let mut truth = BTreeMap::new();
    for m in after.iter().filter(|m| m.active) {
        *truth.entry(m.license.clone()).or_insert(0u32) += 1;
    }
    assert_eq!(days.last().unwrap().active_by_license, truth);

    // The REST listing follows: joiners are listed, leavers are not.
    let token = ctl.issue_access_token(&org);
    let (ids, _) = all_member_ids(&client(), &sb.base_url(), &org, &token, 100).await;
    assert_eq!(ids.len(), after.len());
    sb.shutdown().await;
}

#[tokio::test]
async fn a_day_after_the_clock_was_moved_on_begins_then() {
    let sb = Sandbox::start(config(20, 1, 10)).await.unwrap();
    let ctl = sb.control();
    let org = ctl.org_ids()[0].clone();
    let churn = DayChurn::default();
    let first = ctl.live_day(&org, &churn).unwrap().now;
    ctl.advance_clock(std::time::Duration::from_secs(3 * 86_400));
    let moved = ctl.now();
    let second = ctl.live_day(&org, &churn).unwrap().now;
    assert!(second >= moved, "the clock never goes back");
    assert!(
        second - moved < Duration::seconds(1),
        "it begins now, not a day later"
    );
    let third = ctl.live_day(&org, &churn).unwrap().now;
    assert!((third - second - Duration::days(1)).abs() < Duration::seconds(1));
    assert!(second - first > Duration::days(2));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_unknown_org_lives_no_day_and_keeps_its_clock() {
    let sb = Sandbox::start(config(5, 1, 3)).await.unwrap();
    let ctl = sb.control();
    let before = ctl.now();
    assert!(
        ctl.live_day("3074457345000000001", &DayChurn::default())
            .is_none()
    );
    assert!(ctl.now() - before < Duration::hours(1));
    sb.shutdown().await;
}

#[tokio::test]
async fn the_control_plane_lives_days_too() {
    let sb = Sandbox::start(config(50, 2, 10)).await.unwrap();
    let c = client();
    let url = format!("{}/_sandbox/live-days", sb.base_url());
    let post = |body: &'static str| {
        let req = c
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        async move { reply(req.send().await.expect("request")).await }
    };
    let r = post(r#"{"days": 2}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let days = r.json();
    let days = days.as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["day"], 1);
    assert_eq!(days[1]["day"], 2);
    assert!(days[1]["active_by_license"]["full"].as_u64().unwrap() > 0);

    let r = post(r#"{"org_id": "3074457345000000001"}"#).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(r.text.contains("3074457345000000001"));
    let r = post(r#"{"days": 0}"#).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("days must be 1 to 366"), "{}", r.text);
    let r = post(r#"{"weeks": 1}"#).await;
    assert_eq!(r.status, 400);
    sb.shutdown().await;
}
