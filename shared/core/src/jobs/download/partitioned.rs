//! The clients the parts of a partitioned listing page with: two lanes that split the credit budget.
//!
//! Why: all parts behind one pacer queue up first come, first served. While many parts are open, the largest part
//! gets only its turn among them, although it alone decides when the listing ends (it is one cursor stream: at
//! best one page per round trip), and the merge of the parts can only go as fast as its slowest part. So the
//! largest part pages in a lane of its own with its expected share of the budget, and the other parts share the
//! rest. The two shares add up to the client's budget, so the budget still cannot be exceeded (the same
//! static-partition argument as the reclaim workers'); a wrong estimate only costs time.

use miro_client::{License, MemberFilter, MiroClient, Role};

use super::super::{Deps, JobError};
use crate::domain::OrgId;
use crate::partition::{Partitioning, license_selects};

/// One client per part of `partitioning`, the largest part (by the org's latest snapshot, or a prior: active
/// members with a full license) in a lane of its own.
pub(super) async fn lanes(
    deps: &Deps,
    org: &OrgId,
    partitioning: Partitioning,
) -> Result<Vec<(MiroClient, MemberFilter)>, JobError> {
    let filters = partitioning.filters();
    let client = &deps.client;
    if filters.len() < 2 {
        return Ok(filters.into_iter().map(|f| (client.clone(), f)).collect());
    }
    // Active members by license, from the last snapshot (the role split is estimated as internal users).
    let snapshot = deps.store.latest_snapshot(org).await?;
    let (license, share) = match snapshot.as_ref().filter(|s| s.members > 0) {
        Some(s) => s
            .assigned_by_license
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(l, n)| (l.clone(), f64::from(*n) / f64::from(s.members)))
            .unwrap_or((License::Full, 0.5)),
        None => (License::Full, 0.5),
    };
    let largest = filters
        .iter()
        .position(|f| {
            f.active == Some(true)
                && f.license
                    .as_ref()
                    .is_none_or(|l| license_selects(l, &license))
                && f.role.as_ref().is_none_or(|r| *r == Role::InternalUser)
        })
        .unwrap_or(0);
    let share = share.clamp(0.1, 0.9);
    let scaled = |share: f64| {
        let mut c = client.config().clone();
        c.rest_limits.utilization *= share;
        MiroClient::new(c).map_err(JobError::Miro)
    };
    let (own, rest) = (scaled(share)?, scaled(1.0 - share)?);
    Ok(filters
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            (
                if i == largest {
                    own.clone()
                } else {
                    rest.clone()
                },
                f,
            )
        })
        .collect())
}
