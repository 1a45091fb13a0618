//! Domain values. They parse on construction, so code holding one never re-checks it.

mod email;
mod ids;
mod newtype;
mod org;
mod seat;
mod subscription;

pub use email::{Email, EmailDomain};
pub use ids::{AuditEntryId, MemberId, OrgId, PlanId, RunId};
pub use miro_client::{License, Role};
pub use org::{DownloadCheckpoint, DownloadProgress, DownloadRun, RegisteredOrg};
pub use seat::{LicenseExt, ScimUserExt};
pub use subscription::{ContentHash, Subscription};
