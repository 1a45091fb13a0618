//! Everything miro-sam remembers about orgs, members, plans, notices and what it did, as one port made of five.
//!
//! Each concern is its own trait, so an adapter, a test double or a job can implement or ask for only what it
//! needs: [`MemberStore`] (members, download runs, snapshots, timelines), [`PlanStore`] (plans and reclaim
//! records), [`AuditStore`] (the audit log), [`OrgStore`] (orgs, policies, pauses, holds, download leases) and
//! [`NoticeStore`] (each member's notice cycle). [`SubscriptionStore`] is all five: whatever implements them is
//! one, so the jobs' `Arc<dyn SubscriptionStore>` takes either adapter unchanged. Why notices are in it: the
//! reclaim worker's re-check and the approval gate read a member's notice cycle, and the console's keep page
//! writes one, all through the one store they already hold.

use super::{AuditStore, MemberStore, NoticeStore, OrgStore, PlanStore};

/// The product's state: every store concern at once. Implementations must be safe to share between tasks and
/// must keep every guarantee of the five traits; `crate::contract` (feature `contract-tests`) checks them.
///
/// Calling a method on a concrete store (not on a `dyn SubscriptionStore` or a generic bound) needs the trait
/// that declares it in scope, e.g. `use miro_sam_core::ports::MemberStore`.
pub trait SubscriptionStore: MemberStore + PlanStore + AuditStore + OrgStore + NoticeStore {}

impl<T: MemberStore + PlanStore + AuditStore + OrgStore + NoticeStore + ?Sized> SubscriptionStore
    for T
{
}
