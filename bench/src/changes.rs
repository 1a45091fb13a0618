//! The download benchmark's `changed` run: a share of the sandbox org's members change between two downloads
//! (license swapped, active just now), so the download diffs, rewrites them and records their timeline events
//! (license changed, activity crossing a threshold) — the part of the download a first run and an unchanged
//! re-run never exercise.

use miro_sam_core::domain::{MemberId, OrgId};
use miro_sandbox::SandboxControl;

use crate::store::BenchStore;

/// Changes every `1/share`-th member of `org` (the Company Admin aside) in the sandbox; returns their ids.
pub fn change_members(control: &SandboxControl, org: &str, share: f64) -> Vec<String> {
    let step = (1.0 / share.clamp(1e-6, 1.0)).round().max(1.0) as usize;
    let now = control.now();
    let ids: Vec<String> = control
        .members(org)
        .into_iter()
        .skip(1)
        .step_by(step)
        .map(|m| m.id)
        .collect();
    for id in &ids {
        control.update_member(org, id, |m| {
            m.license = if m.license == "full" { "basic" } else { "full" }.into();
            m.last_activity_at = Some(now - chrono::Duration::hours(1));
        });
    }
    ids
}

/// Timeline events stored for these members (up to 10 each): proof that the changed run recorded them.
pub async fn count_events(spec: &str, org: &str, ids: &[String]) -> Result<u64, String> {
    let store = BenchStore::open(spec).await?.port();
    let org = OrgId::parse(org).map_err(|e| e.to_string())?;
    let mut n = 0;
    for id in ids {
        let member = MemberId::parse(id).map_err(|e| e.to_string())?;
        n += store
            .list_member_events(&org, &member, None, 10)
            .await
            .map_err(|e| e.to_string())?
            .len() as u64;
    }
    Ok(n)
}
