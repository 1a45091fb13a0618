//! The store conformance suite. Every adapter of [`SubscriptionStore`], [`TokenStore`] and [`ReclaimQueue`] runs
//! these same assertions, so the SQLite file and a cloud table behave alike where the jobs can tell.
//!
//! Each behaviour is one public async function that panics on a violation. Adapters normally invoke them all
//! with [`store_contract_tests!`](crate::store_contract_tests), which expands to one `#[tokio::test]` per
//! behaviour (the adapter crate needs `tokio` with the `macros` and `rt` features as a dev-dependency):
//!
//! ```text
//! miro_sam_core::store_contract_tests! {
//!     store: || async { Arc::new(MyStore::new().await) as Arc<dyn SubscriptionStore> },
//!     tokens: || async { Arc::new(MyStore::new().await) as Arc<dyn TokenStore> },
//!     queue: || async {
//!         let q = Arc::new(MyQueue::new().await);
//!         QueueUnderTest { queue: q.clone(), probe: q }
//!     },
//! }
//! ```
//! Every factory call must return an EMPTY store. The queue comes with a [`QueueProbe`] that reads back what it
//! would deliver, because deduplication shows only there.
//!
//! [`SubscriptionStore`]: crate::ports::SubscriptionStore
//! [`TokenStore`]: crate::ports::TokenStore
//! [`ReclaimQueue`]: crate::ports::ReclaimQueue

mod download_lease;
pub mod fixtures;
mod members;
mod plans;
mod queue;
mod safety;
mod subscriptions;
mod tokens;

pub use download_lease::*;
pub use members::*;
pub use plans::*;
pub use queue::*;
pub use safety::*;
pub use subscriptions::*;
pub use tokens::*;

/// Expands to one `#[tokio::test]` per contract behaviour, inside a module named `store_contract`.
#[macro_export]
macro_rules! store_contract_tests {
    (store: $store:expr, tokens: $tokens:expr, queue: $queue:expr $(,)?) => {
        mod store_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_contract_tests!(@each $store;
                orgs_round_trip,
                upsert_and_read_back,
                unchanged_reupsert_is_idempotent,
                members_are_scoped_per_org,
                last_seen_follows_complete_downloads,
                removed_marking,
                download_run_round_trip,
                checkpoint_round_trip,
                snapshots_are_idempotent_per_day,
                policy_versions,
                plan_round_trip,
                plan_items_page_in_member_id_order,
                plan_replacement_leaves_no_stale_items,
                plan_header_is_written_last,
                ten_thousand_candidate_plan_round_trips,
                reclaim_record_created_once,
                reclaim_transition_happens_once,
                concurrent_transitions_have_one_winner,
                audit_is_append_only,
                ten_thousand_members,
                pause_round_trip,
                holds_round_trip,
                download_lease_has_one_holder_per_org,
                an_expired_download_lease_is_taken_over_and_release_is_the_holders_own,
                concurrent_download_leases_have_one_winner,
                member_pages_follow_numeric_id_order,
                member_pages_include_removed_and_apply_the_last_seen_rule,
            );
            $crate::store_contract_tests!(@each $tokens;
                token_bundle_round_trip,
                token_version_conflict,
                missing_tokens_are_typed_errors,
                scim_token_round_trip,
                refresh_lease_has_one_holder_per_version,
                concurrent_refresh_leases_have_one_winner,
            );
            $crate::store_contract_tests!(@each $queue;
                queue_dedups_per_plan_and_member,
            );
        }
    };
    (@each $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let port = ($make)().await;
                $crate::contract::$name(port).await;
            }
        )+
    };
}
