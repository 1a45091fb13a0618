//! The ports: what the core needs from the outside world, as traits. Adapters (SQLite here, DynamoDB/SQS/Secrets
//! Manager elsewhere) implement them; the conformance suite in [`crate::contract`] holds every adapter to the
//! same behaviour.

mod audit_store;
mod clock;
mod download_queue;
#[doc(hidden)]
pub mod forward_tokens;
mod mailer;
mod member_store;
mod notice_store;
mod oauth_states;
mod org_store;
mod plan_store;
mod queue;
mod store;
mod tokens;
mod webhook;

pub use audit_store::AuditStore;
pub use clock::{Clock, FixedClock, SystemClock};
pub use download_queue::{DOWNLOAD_JOB_SCHEMA_VERSION, DownloadJob, DownloadLease, DownloadQueue};
pub use mailer::{MailError, Mailer, OutgoingEmail, SentEmail};
pub use member_store::MemberStore;
pub use notice_store::{NoticeStore, check_notice_version};
pub use oauth_states::{OAUTH_STATE_TTL, OAuthStates, StateTake, TakenState};
pub use org_store::OrgStore;
pub use plan_store::PlanStore;
pub use queue::{
    EnqueueReport, REACTIVATE_REQUEST_SCHEMA_VERSION, RECLAIM_REQUEST_SCHEMA_VERSION,
    ReactivateRequest, ReclaimQueue, ReclaimRequest, WorkMessage,
};
pub use store::SubscriptionStore;
pub use tokens::{RefreshLease, TokenBundle, TokenStore};
pub use webhook::{Webhook, WebhookError};
