//! Everything miro-sam remembers about orgs, members, plans and what it did, as one port made of four.
//!
//! Each concern is its own trait, so an adapter, a test double or a job can implement or ask for only what it
//! needs: [`MemberStore`] (members, download runs, snapshots, timelines), [`PlanStore`] (plans and reclaim
//! records), [`AuditStore`] (the audit log) and [`OrgStore`] (orgs, policies, pauses, holds, download leases).
//! [`SubscriptionStore`] is all four: whatever implements them is one, so the jobs' `Arc<dyn SubscriptionStore>`
//! takes either adapter unchanged.

use super::{AuditStore, MemberStore, OrgStore, PlanStore};

/// The product's state: every store concern at once. Implementations must be safe to share between tasks and
/// must keep every guarantee of the four traits; `crate::contract` (feature `contract-tests`) checks them.
///
/// Calling a method on a concrete store (not on a `dyn SubscriptionStore` or a generic bound) needs the trait
/// that declares it in scope, e.g. `use miro_sam_core::ports::MemberStore`.
pub trait SubscriptionStore: MemberStore + PlanStore + AuditStore + OrgStore {}

impl<T: MemberStore + PlanStore + AuditStore + OrgStore + ?Sized> SubscriptionStore for T {}
