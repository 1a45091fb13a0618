//! The download fan-out: the scheduled dispatcher queues one [`DownloadJob`] per connected org, download workers
//! take one each. A worker holds the org's [`DownloadLease`] (a store item, see
//! [`crate::ports::OrgStore::take_download_lease`]) while it downloads, so two downloads of one org never
//! run at once, and a worker near its deadline queues the job's continuation so the org finishes the same day.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::OrgId;
use crate::error::{DomainError, StoreError};

/// The message format this build writes. Readers refuse newer versions instead of guessing.
pub const DOWNLOAD_JOB_SCHEMA_VERSION: u32 = 1;

/// "Download this org." Re-running one is harmless: the download is idempotent, resumes its checkpoint, and a job
/// whose org completed a download after the job was queued skips the download (it still plans and queues, which
/// is idempotent too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadJob {
    pub schema_version: u32,
    pub org_id: OrgId,
    /// When the dispatcher queued the first job of this chain; continuations and deferrals keep it.
    pub queued_at: DateTime<Utc>,
    /// 0 for the dispatched job, +1 for every continuation a worker queued at its deadline.
    #[serde(default)]
    pub continuation: u32,
    /// How often the job was put back because another worker held the org's lease.
    #[serde(default)]
    pub deferrals: u32,
}

impl DownloadJob {
    pub fn new(org_id: OrgId, queued_at: DateTime<Utc>) -> Self {
        DownloadJob {
            schema_version: DOWNLOAD_JOB_SCHEMA_VERSION,
            org_id,
            queued_at,
            continuation: 0,
            deferrals: 0,
        }
    }

    /// The job a worker queues when it stops at its deadline with the org unfinished.
    pub fn continued(&self) -> Self {
        DownloadJob {
            continuation: self.continuation + 1,
            ..self.clone()
        }
    }

    /// The job put back while another worker holds the org's lease.
    pub fn deferred(&self) -> Self {
        DownloadJob {
            deferrals: self.deferrals + 1,
            ..self.clone()
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a download job always serializes")
    }

    pub fn from_json(s: &str) -> Result<Self, DomainError> {
        let j: DownloadJob = serde_json::from_str(s).map_err(|e| DomainError::Invalid {
            what: "download job",
            detail: e.to_string(),
        })?;
        if j.schema_version != DOWNLOAD_JOB_SCHEMA_VERSION {
            return Err(DomainError::Invalid {
                what: "download job",
                detail: format!(
                    "schema_version {} is not understood by this build (it reads {DOWNLOAD_JOB_SCHEMA_VERSION}); \
                     upgrade the worker",
                    j.schema_version
                ),
            });
        }
        Ok(j)
    }
}

/// Where download jobs wait for a worker (SQS in the cloud).
#[async_trait]
pub trait DownloadQueue: Send + Sync {
    /// Sends every job, delivered no earlier than `delay` from now (at most 15 minutes on SQS). Returns how many
    /// were sent; an error says how many were not.
    async fn send(&self, jobs: &[DownloadJob], delay: Duration) -> Result<usize, StoreError>;
}

/// The answer to [`crate::ports::OrgStore::take_download_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadLease {
    /// The caller holds the org's lease until the `until` it asked for (or until it releases it).
    Taken,
    /// Another worker holds it until `until` (millisecond precision).
    Held {
        holder: String,
        until: DateTime<Utc>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_and_its_successors_keep_the_chain() {
        let org = OrgId::parse("3074457345821141000").unwrap();
        let j = DownloadJob::new(org, Utc::now());
        assert_eq!(DownloadJob::from_json(&j.to_json()).unwrap(), j);
        let c = j.continued().deferred();
        assert_eq!(
            (c.continuation, c.deferrals, c.queued_at),
            (1, 1, j.queued_at)
        );
        let mut v: serde_json::Value = serde_json::from_str(&j.to_json()).unwrap();
        v["schema_version"] = 2.into();
        let err = DownloadJob::from_json(&v.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("upgrade the worker"), "{err}");
        assert!(DownloadJob::from_json("{}").is_err());
    }
}
