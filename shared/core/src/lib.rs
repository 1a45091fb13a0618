//! miro-sam's product logic, free of any cloud SDK and of any database.
//!
//! - [`domain`]: parsed values (ids, emails, [`Subscription`]).
//! - [`snapshot`]: one org's seat numbers for one day.
//! - [`policy`]: the org's reclaim rules (data) and the hard guardrails (code).
//! - [`plan`]: who a policy would reclaim, who it protects and why, and the cap check.
//! - [`reclaim`]: the life of one reclaim and the re-check made just before acting.
//! - [`hold`]: per-member holds that make an undo stick; [`pause`]: the org's kill switch.
//! - [`audit`]: the append-only record of what was done; [`timeline`]: what changed about each member.
//! - [`report`]: seats, activity, candidates, savings; [`export`]: the audit and members CSV/JSON rows.
//! - [`ports`]: the storage, token, queue and clock traits adapters implement.
//! - [`partition`]: the filters partitioned paging splits the members list by, and why they are exact.
//! - [`jobs`]: download, plan, enqueue, reclaim, reactivate, report.
//! - [`notices`]: telling candidates before their seat is reclaimed, reminders, keeping the seat.
//! - `contract` (feature `contract-tests`): the conformance suite every store adapter runs.

pub mod audit;
pub mod domain;
pub mod error;
pub mod export;
pub mod hold;
pub mod jobs;
pub mod notices;
pub mod partition;
pub mod pause;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod reclaim;
pub mod report;
pub mod snapshot;
pub mod timeline;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use domain::{Email, License, MemberId, OrgId, PlanId, Role, Subscription};
pub use error::{DomainError, StoreError};
pub use plan::{ReclaimPlan, build_plan};
pub use policy::{Policy, VersionedPolicy};
pub use snapshot::OrgSnapshot;
