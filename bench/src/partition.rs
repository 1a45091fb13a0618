//! Partitioned paging lives in the core (`miro_sam_core::partition`, used by `jobs::download_org_with` behind
//! `DownloadOptions::partitioning`); this module re-exports it for the bench and keeps the one helper the union
//! proof in `tests/partition_union.rs` needs: every part's members, with the part each came from.

use futures::StreamExt;
use miro_client::{Member, MiroClient, MiroError};
pub use miro_sam_core::partition::{Partitioning, in_part, license_selects, role_selects, selects};
use secrecy::SecretString;

/// What went wrong while listing the parts.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error(transparent)]
    Miro(MiroError),
    /// A part returned a member its filter should not select (the core's guard 1).
    #[error("part {part} returned member {member_id}, which its filter does not select")]
    Violation { part: usize, member_id: String },
}

/// Every member of every part of `partitioning`, each part listed on its own, with the part it came from.
pub async fn fetch_parts(
    client: &MiroClient,
    token: &SecretString,
    org: &str,
    partitioning: Partitioning,
) -> Result<Vec<(usize, Member)>, PartitionError> {
    let mut out = Vec::new();
    for (part, filter) in partitioning.filters().into_iter().enumerate() {
        let mut pages = client.members(token, org, filter.clone(), None).boxed();
        while let Some(page) = pages.next().await {
            for m in page.map_err(PartitionError::Miro)?.members {
                if !in_part(&filter, &m) {
                    return Err(PartitionError::Violation {
                        part,
                        member_id: m.id,
                    });
                }
                out.push((part, m));
            }
        }
    }
    Ok(out)
}
