//! A member's state as the member page shows it: the stored member row is Miro's data as of the last download,
//! so after an approval, a reclaim or an undo it is stale until the next download. What miro-sam itself did
//! since (the reclaim record of the latest plan, the reclaim and undo audit entries) is newer, and is shown
//! instead. A fixed number of small reads: three audit entries, the last download run, the latest plan header
//! and one reclaim record.

use chrono::{DateTime, Utc};
use miro_sam_core::audit::{AuditEntry, AuditQuery};
use miro_sam_core::domain::{MemberId, OrgId, Subscription};
use miro_sam_core::reclaim::{ReclaimRecord, ReclaimState};

use super::plans::status;
use crate::error::PageError;
use crate::format::{opt_day, when};
use crate::state::AppState;

/// What the member page says about the member's seat.
pub(crate) struct SeatView {
    /// The "State" fact.
    pub state: String,
    /// The latest reclaim by miro-sam, and whether it was undone since.
    pub reclaimed: Option<String>,
    pub undo_requested: Option<String>,
    /// The member's reclaim record in the org's latest plan, if there is one.
    pub latest_plan: Option<String>,
    pub can_undo: bool,
}

/// The member's latest audit entry of `kind`, if any (one small read).
async fn latest_of(
    st: &AppState,
    org: &OrgId,
    member: &MemberId,
    kind: &str,
) -> Result<Option<AuditEntry>, PageError> {
    let q = AuditQuery {
        member: Some(member.clone()),
        kind: Some(kind.into()),
        ..AuditQuery::default()
    };
    Ok(st
        .deps
        .store
        .list_audit_page(org, &q, None, 1)
        .await?
        .into_iter()
        .next())
}

/// What the reads found, for [`decide`].
struct Facts<'a> {
    m: &'a Subscription,
    /// When Miro's data in the member row was read: the later of the member's last sighting and the last
    /// complete download.
    as_of: DateTime<Utc>,
    reclaimed: Option<AuditEntry>,
    reactivated: Option<AuditEntry>,
    requested: Option<AuditEntry>,
    record: Option<ReclaimRecord>,
}

pub(crate) async fn seat_view(
    st: &AppState,
    org: &OrgId,
    m: &Subscription,
) -> Result<SeatView, PageError> {
    let store = st.deps.store.as_ref();
    let id = &m.member_id;
    let run = store.last_download_run(org).await?;
    let record = match store.latest_plan_header(org).await? {
        Some(h) => store.get_reclaim_record(h.plan_id, id).await?,
        None => None,
    };
    let facts = Facts {
        m,
        as_of: run
            .map(|r| r.completed_at)
            .map_or(m.last_seen_at, |t| t.max(m.last_seen_at)),
        reclaimed: latest_of(st, org, id, "reclaimed").await?,
        reactivated: latest_of(st, org, id, "reactivated").await?,
        requested: latest_of(st, org, id, "reactivate_requested").await?,
        record,
    };
    Ok(decide(&facts))
}

fn decide(f: &Facts) -> SeatView {
    let m = f.m;
    let row_state = if m.is_removed() {
        format!("left the organization ({})", opt_day(m.removed_at))
    } else if m.active {
        "active".to_owned()
    } else {
        "deactivated".to_owned()
    };
    let mut view = SeatView {
        state: row_state.clone(),
        reclaimed: None,
        undo_requested: None,
        latest_plan: f
            .record
            .as_ref()
            .map(|r| format!("In the latest plan ({}): {}.", r.plan_id, status(Some(r)).0)),
        can_undo: false,
    };
    if m.is_removed() {
        return view;
    }

    if let Some(r) = &f.reclaimed {
        let undone = f.reactivated.as_ref().filter(|e| e.at >= r.at);
        // A download after the reclaim that saw them active: reactivated in Miro, outside miro-sam.
        let seen_active = f.as_of > r.at && m.active;
        let requested = f.requested.as_ref().filter(|e| e.at >= r.at);
        view.reclaimed = Some(format!(
            "Seat reclaimed {} by {}{}",
            when(r.at),
            r.actor,
            if undone.is_some() {
                " — since reactivated"
            } else if seen_active {
                " — active again in Miro"
            } else {
                ""
            }
        ));
        view.undo_requested = requested.filter(|_| undone.is_none()).map(|e| {
            format!(
                "Undo requested {} by {}; the reclaim worker carries it out.",
                when(e.at),
                e.actor
            )
        });
        view.can_undo = undone.is_none() && !seen_active;
        match (undone, requested) {
            (Some(u), _) if u.at > f.as_of => {
                view.state = format!(
                    "active — reactivated by miro-sam {}, after the last download ({})",
                    when(u.at),
                    when(f.as_of)
                );
                return view;
            }
            (None, Some(q)) if !seen_active => {
                view.state = format!(
                    "deactivated — an undo is queued ({}): the reclaim worker reactivates them in Miro",
                    when(q.at)
                );
                return view;
            }
            (None, None) if r.at > f.as_of => {
                view.state = format!(
                    "deactivated — seat reclaimed by miro-sam {}, after the last download ({})",
                    when(r.at),
                    when(f.as_of)
                );
                return view;
            }
            _ => {}
        }
    }

    // Approved in the latest plan and not carried out yet.
    if let Some(rec) = &f.record {
        match rec.state {
            ReclaimState::Pending if m.active => {
                view.state = format!(
                    "active — approved for reclaim {} and queued: the reclaim worker re-checks them in Miro, \
                     then deactivates them",
                    when(rec.created_at)
                );
            }
            ReclaimState::Applying if m.active => {
                view.state = format!(
                    "active — being reclaimed now (since {})",
                    when(rec.updated_at)
                );
            }
            _ => {}
        }
    }
    view
}
