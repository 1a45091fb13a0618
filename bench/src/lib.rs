//! miro-sam's benchmarks against the physical limit. Each one starts the Miro sandbox with a stated
//! configuration and prints the floor that configuration imposes next to what miro-sam achieved.
//!
//! - [`download`]: an org of N members, the credit budget and window scaled to seconds, a per-request latency
//!   that keeps sequential paging below the ceiling; the core's download, sequential (pipelined) and with
//!   partitioned paging (`miro_sam_core::partition`); SQLite always, DynamoDB on the local AWS API when it is there.
//! - [`reclaim`]: queued candidates, N workers each pacing to 1/N of the SCIM PATCH budget.
//! - [`startup`]: exec → first Runtime API poll of each function binary, and binary sizes.

pub mod download;
pub mod fleet;
pub mod machine;
pub mod partition;
pub mod reclaim;
pub mod report;
pub mod startup;
