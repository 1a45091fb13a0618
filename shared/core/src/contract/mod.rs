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
//! Every factory call must return an EMPTY store. An adapter that also implements [`OAuthStates`] adds a fourth
//! factory, which receives the clock the contract moves and must build the states on it:
//!
//! ```text
//!     oauth_states: |clock: Arc<dyn Clock>| async move {
//!         Arc::new(MyStore::new().await.with_clock(clock)) as Arc<dyn OAuthStates>
//!     },
//! ```
//! The queue comes with a [`QueueProbe`] that reads back what it
//! would deliver, because deduplication shows only there.
//!
//! [`SubscriptionStore`]: crate::ports::SubscriptionStore
//! [`TokenStore`]: crate::ports::TokenStore
//! [`ReclaimQueue`]: crate::ports::ReclaimQueue
//! [`OAuthStates`]: crate::ports::OAuthStates

mod console;
mod download_lease;
pub mod fixtures;
mod members;
mod notices;
mod pages;
mod plans;
mod queue;
mod safety;
mod subscriptions;
mod tokens;

pub use console::*;
pub use download_lease::*;
pub use members::*;
pub use notices::*;
pub use plans::*;
pub use queue::*;
pub use safety::*;
pub use subscriptions::*;
pub use tokens::*;

/// Expands to one `#[tokio::test]` per contract behaviour, inside a module named `store_contract`.
#[macro_export]
macro_rules! store_contract_tests {
    (store: $store:expr, tokens: $tokens:expr, queue: $queue:expr, oauth_states: $states:expr $(,)?) => {
        mod store_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_contract_tests!(@ports $store, $tokens, $queue);
            $crate::store_contract_tests!(@clocked $states;
                oauth_state_is_taken_once,
                an_expired_oauth_state_is_expired_and_consumed,
                concurrent_oauth_state_takes_have_one_winner,
            );
        }
    };
    (store: $store:expr, tokens: $tokens:expr, queue: $queue:expr $(,)?) => {
        mod store_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_contract_tests!(@ports $store, $tokens, $queue);
        }
    };
    (@ports $store:expr, $tokens:expr, $queue:expr) => {
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
            streamed_plan_is_invisible_until_its_header,
            streamed_plan_items_rewrite_idempotently,
            streamed_plan_refuses_items_once_its_header_is_written,
            plan_headers_page_newest_first_per_org,
            member_search_pages_by_email_then_numeric_id,
            audit_pages_newest_first_with_each_filter,
            audit_pages_read_past_runs_of_entries_that_do_not_match,
            reclaim_record_pages_newest_first_with_state_filter,
            member_events_append_once_per_key,
            member_events_page_newest_first_per_member_and_org,
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
    (@clocked $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let clock = $crate::contract::oauth_clock();
                let port = ($make)(clock.clone() as ::std::sync::Arc<dyn $crate::ports::Clock>).await;
                $crate::contract::$name(port, clock).await;
            }
        )+
    };
}
