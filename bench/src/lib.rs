//! miro-sam's benchmarks against the physical limit. Each one starts the Miro sandbox with a stated
//! configuration and prints the floor that configuration imposes next to what miro-sam achieved.
//!
//! - [`download`]: an org of N members, the credit budget and window scaled to seconds, a per-request latency
//!   that keeps sequential paging below the ceiling; the core's download, sequential (pipelined) and with
//!   partitioned paging (`miro_sam_core::partition`); SQLite always, DynamoDB on the local AWS API when it is there.
//!   With `--plan`, [`plan`] then plans each SQLite org (`plan_org_streamed`) in a child process: its peak RSS.
//! - [`reclaim`]: queued candidates, N workers each pacing to 1/N of the SCIM PATCH budget; store reads per
//!   reclaim message against the plan's size.
//! - [`startup`]: exec → first Runtime API poll of each function binary, and binary sizes.
//! - [`fleet`]: many orgs through the real fan-out (download queue on the local AWS API).
//! - [`console`]: server time of the admin console's overview, plan and member-search pages for an org of
//!   100 000 members, on SQLite and on DynamoDB (local AWS API), with the server's peak RSS.

pub mod changes;
pub mod child;
pub mod console;
pub mod download;
pub mod fleet;
pub mod machine;
pub mod partition;
pub mod plan;
pub mod reclaim;
pub mod report;
pub mod startup;
pub mod store;
pub mod summary;
pub mod table;
pub mod wiring;
