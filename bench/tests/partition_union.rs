//! The partition the parallel download pages over is exact: the union of its parts is the unfiltered member
//! list, no member missing, none twice. Proved three ways:
//! 1. the selection rule itself, for every possible license/role text (property test on the rule);
//! 2. end to end against the sandbox, for org sizes around the page boundaries, with and without license and
//!    role values outside the documented enums;
//! 3. against the sandbox with members of arbitrary license/role text and activity (property test).
//!
//! Plus: the core's partitioned download stores exactly what its sequential download stores.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::TryStreamExt;
use miro_client::{License, MemberFilter, MiroClient, Role, SecretString};
use miro_sam_bench::partition::{
    Partitioning, fetch_parts, in_part, license_selects, role_selects,
};
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{
    Deps, DownloadOptions, DownloadOutcome, DownloadSummary, StopAt, download_org,
    download_org_with,
};
use miro_sam_core::ports::TokenStore;
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::world::{access_token, client_for};
use miro_sandbox::{LICENSES, ROLES, Sandbox, SandboxConfig, SandboxMember};
use proptest::prelude::*;

const PARTITIONED: [Partitioning; 3] = [
    Partitioning::Active,
    Partitioning::ActiveLicense,
    Partitioning::ActiveLicenseRole,
];

/// A budget so large the pacer never waits (with the test kit's client): these tests are about sets, not speed.
fn config(members: usize, unknown: bool) -> SandboxConfig {
    let mut c = SandboxConfig::unlimited(members);
    c.orgs[0].unknown_enum_values = unknown;
    c
}

async fn unfiltered_ids(client: &MiroClient, token: &SecretString, org: &str) -> Vec<String> {
    let pages: Vec<_> = client
        .members(token, org, MemberFilter::default(), None)
        .try_collect()
        .await
        .unwrap();
    pages
        .into_iter()
        .flat_map(|p| p.members)
        .map(|m| m.id)
        .collect()
}

/// Asserts the union of the parts is exactly the unfiltered list, and that every member sits in exactly one
/// part: the one whose filter selects it.
async fn assert_exact(sandbox: &Sandbox, what: &str) {
    let control = sandbox.control();
    let org = control.org_ids()[0].clone();
    let token = SecretString::from(control.issue_access_token(&org));
    let client = client_for(sandbox);
    let mut all = unfiltered_ids(&client, &token, &org).await;
    let truth: Vec<String> = control.members(&org).into_iter().map(|m| m.id).collect();
    assert_eq!(all, truth, "{what}: the unfiltered list is the org");
    all.sort();
    for p in PARTITIONED {
        let filters = p.filters();
        let got = fetch_parts(&client, &token, &org, p).await.unwrap();
        let mut ids: Vec<String> = got.iter().map(|(_, m)| m.id.clone()).collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            ids.len(),
            "{what}, {}: a member came in two parts",
            p.name()
        );
        ids.sort();
        assert_eq!(
            ids,
            all,
            "{what}, {}: union differs from the list",
            p.name()
        );
        for (part, m) in &got {
            let selecting: Vec<usize> = filters
                .iter()
                .enumerate()
                .filter(|(_, f)| in_part(f, m))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(
                selecting,
                vec![*part],
                "{what}, {}: member {} ({}, {}, active={})",
                p.name(),
                m.id,
                m.license,
                m.role,
                m.active
            );
        }
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_part_count_is_what_the_parts_say() {
    assert_eq!(
        Partitioning::Sequential.filters(),
        vec![MemberFilter::default()]
    );
    assert_eq!(Partitioning::Active.filters().len(), 2);
    assert_eq!(
        Partitioning::ActiveLicense.filters().len(),
        2 * License::KNOWN.len()
    );
    assert_eq!(
        Partitioning::ActiveLicenseRole.filters().len(),
        2 * License::KNOWN.len() * Role::KNOWN.len()
    );
    // The client's documented values are the sandbox's (and the spec's) filter values, `unknown` included.
    let client_licenses: Vec<&str> = License::KNOWN.iter().map(License::as_str).collect();
    let client_roles: Vec<&str> = Role::KNOWN.iter().map(Role::as_str).collect();
    assert_eq!(client_licenses, LICENSES);
    assert_eq!(client_roles, ROLES);
    for p in Partitioning::ALL {
        let filters = p.filters();
        let distinct: HashSet<String> = filters.iter().map(|f| format!("{f:?}")).collect();
        assert_eq!(distinct.len(), filters.len(), "{p:?} repeats a part");
    }
}

#[test]
fn union_is_the_list_for_every_size_with_and_without_unknown_values() {
    rt().block_on(async {
        for unknown in [false, true] {
            for n in [0, 1, 99, 100, 101, 250, 1_234, 3_000] {
                let sandbox = Sandbox::start(config(n, unknown)).await.unwrap();
                if unknown && n >= 1_000 {
                    // The check must see values outside the enums, or it proves nothing about the catch-all.
                    let members = sandbox.control().members(&sandbox.control().org_ids()[0]);
                    assert!(
                        members
                            .iter()
                            .any(|m| !LICENSES.contains(&m.license.as_str()))
                            && members.iter().any(|m| !ROLES.contains(&m.role.as_str())),
                        "the sandbox generated no unknown license or role for n={n}"
                    );
                }
                assert_exact(&sandbox, &format!("n={n}, unknown_enum_values={unknown}")).await;
                sandbox.shutdown().await;
            }
        }
    });
}

/// License and role texts: every documented value, near misses, and anything at all.
fn wire_text(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => proptest::sample::select(known).prop_map(|s| s.to_uppercase()),
        1 => proptest::sample::select(known).prop_map(|s| format!(" {s}")),
        1 => Just(String::new()),
        2 => "[a-z_]{1,20}",
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// The proof's core step, for any text at all: exactly one documented filter value selects it.
    #[test]
    fn exactly_one_filter_value_selects_any_text(
        license in wire_text(LICENSES),
        role in wire_text(ROLES),
    ) {
        let l = License::parse(&license);
        let r = Role::parse(&role);
        prop_assert_eq!(License::KNOWN.iter().filter(|f| license_selects(f, &l)).count(), 1);
        prop_assert_eq!(Role::KNOWN.iter().filter(|f| role_selects(f, &r)).count(), 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// End to end: members of arbitrary license/role text and activity, added to a sandbox org; the parts'
    /// union is the list, each member in the one part the rule predicts.
    #[test]
    fn union_is_the_list_for_arbitrary_members(
        members in proptest::collection::vec(
            (wire_text(LICENSES), wire_text(ROLES), any::<bool>()),
            0..260,
        ),
        generated in 0usize..150,
    ) {
        rt().block_on(async {
            let sandbox = Sandbox::start(config(generated, false)).await.unwrap();
            let control = sandbox.control();
            let org = control.org_ids()[0].clone();
            for (i, (license, role, active)) in members.iter().enumerate() {
                control.add_member(&org, SandboxMember {
                    id: (3_074_457_399_000_000_000u64 + i as u64 * 13).to_string(),
                    email: format!("p{i}@acme-corp.example"),
                    active: *active,
                    role: role.clone(),
                    license: license.clone(),
                    license_assigned_at: None,
                    last_activity_at: None,
                    admin_roles: Vec::new(),
                    display_name: format!("P {i}"),
                });
            }
            assert_exact(&sandbox, &format!("{} added + {generated} generated", members.len())).await;
            sandbox.shutdown().await;
        });
    }
}

async fn deps(sandbox: &Sandbox, store: SqliteStore) -> (Deps, OrgId) {
    let control = sandbox.control();
    let org = OrgId::parse(&control.org_ids()[0]).unwrap();
    store
        .put_tokens(&access_token(&control, &org))
        .await
        .unwrap();
    let store = Arc::new(store);
    (
        miro_sam_bench::wiring::deps(store.clone(), store, client_for(sandbox)),
        org,
    )
}

/// The core's download with partitioned paging on.
async fn parallel_download_org(
    deps: &Deps,
    org: &OrgId,
    partitioning: Partitioning,
) -> DownloadSummary {
    let options = DownloadOptions { partitioning };
    match download_org_with(deps, org, StopAt::default(), options)
        .await
        .unwrap()
    {
        DownloadOutcome::Complete(s) => *s,
        DownloadOutcome::Paused(p) => panic!("paused without a stop: {p:?}"),
    }
}

/// What a store holds about an org's members, without our own bookkeeping times.
async fn stored(deps: &Deps, org: &OrgId) -> BTreeMap<String, (String, bool, bool)> {
    deps.store
        .list_members(org)
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                (m.content_hash.as_str().to_owned(), m.active, m.is_removed()),
            )
        })
        .collect()
}

#[test]
fn the_parallel_download_stores_what_the_sequential_one_stores() {
    rt().block_on(async {
        let sandbox = Sandbox::start(config(1_500, true)).await.unwrap();
        let (seq, org) = deps(&sandbox, SqliteStore::in_memory().unwrap()).await;
        download_org(&seq, &org).await.unwrap();
        let want = stored(&seq, &org).await;
        assert_eq!(want.len(), 1_500);

        for p in PARTITIONED {
            let store = SqliteStore::in_memory().unwrap();
            let (par, _) = deps(&sandbox, store.clone()).await;
            let first = parallel_download_org(&par, &org, p).await;
            assert_eq!((first.members_seen, first.new), (1_500, 1_500), "{p:?}");
            assert_eq!(stored(&par, &org).await, want, "{p:?}");
            assert_eq!(store.member_rows_written(), 1_500);

            // Unchanged re-run: nothing written.
            let again = parallel_download_org(&par, &org, p).await;
            assert_eq!((again.unchanged, again.new, again.changed), (1_500, 0, 0));
            assert_eq!(store.member_rows_written(), 1_500, "{p:?}: a re-run wrote");
            assert_eq!(again.lookups, 0, "{p:?}: nobody is absent");
        }
        sandbox.shutdown().await;
    });
}

#[test]
fn removal_needs_a_404_and_changes_are_written() {
    rt().block_on(async {
        let sandbox = Sandbox::start(config(600, true)).await.unwrap();
        let control = sandbox.control();
        let (deps, org) = deps(&sandbox, SqliteStore::in_memory().unwrap()).await;
        parallel_download_org(&deps, &org, Partitioning::ActiveLicense).await;
        let members = control.members(org.as_str());
        let (gone, moved) = (&members[10].id, &members[20].id);
        assert!(control.remove_member(org.as_str(), gone));
        // Deactivated and given another license: the member changes parts.
        assert!(control.update_member(org.as_str(), moved, |m| {
            m.active = !m.active;
            m.license = "free_restricted".into();
        }));
        let s = parallel_download_org(&deps, &org, Partitioning::ActiveLicense).await;
        assert_eq!((s.removed, s.lookups, s.changed), (1, 1, 1));
        let after = stored(&deps, &org).await;
        assert!(
            after[gone.as_str()].2,
            "the member Miro no longer has is marked removed"
        );
        assert!(!after[moved.as_str()].2);
        assert_eq!(after.values().filter(|(_, _, removed)| *removed).count(), 1);
    });
}

/// A partitioned download stopped by its page budget resumes from the merged cursor (every part starts after
/// it) and ends with exactly the org, removals across the pause included.
#[test]
fn a_partitioned_download_resumes_from_its_checkpoint_and_ends_exact() {
    rt().block_on(async {
        let sandbox = Sandbox::start(config(1_200, true)).await.unwrap();
        let control = sandbox.control();
        let (deps, org) = deps(&sandbox, SqliteStore::in_memory().unwrap()).await;
        let options = DownloadOptions {
            partitioning: Partitioning::ActiveLicense,
        };
        parallel_download_org(&deps, &org, Partitioning::ActiveLicense).await;
        let members = control.members(org.as_str());
        let (early, late) = (members[30].id.clone(), members[1_100].id.clone());
        assert!(control.remove_member(org.as_str(), &early));
        assert!(control.remove_member(org.as_str(), &late));
        let budget = StopAt {
            deadline: None,
            max_pages: Some(4),
        };
        let mut calls = 0;
        let done = loop {
            calls += 1;
            assert!(calls <= 10, "the run must finish");
            match download_org_with(&deps, &org, budget, options)
                .await
                .unwrap()
            {
                DownloadOutcome::Complete(s) => break s,
                DownloadOutcome::Paused(p) => assert!(p.pages_done > 0),
            }
        };
        assert!(
            calls >= 3,
            "1 198 members in merged pages of 100 take 12 pages"
        );
        assert_eq!((done.removed, done.unchanged), (2, 1_198));
        let after = stored(&deps, &org).await;
        let removed: Vec<&String> = after.iter().filter(|(_, v)| v.2).map(|(k, _)| k).collect();
        assert_eq!(removed, {
            let mut v = vec![&early, &late];
            v.sort();
            v
        });
        assert!(deps.store.get_checkpoint(&org).await.unwrap().is_none());
        sandbox.shutdown().await;
    });
}
