//! The members download against the sandbox: completeness, page sizes, tolerance of unknown values.

mod common;

use common::*;
use miro_client::{License, MemberFilter, Role};
use std::collections::HashSet;

async fn downloads_every_member_once(n: usize) {
    let cfg = sandbox_config(n);
    let (sandbox, org, client) = org_of(&cfg).await;
    let members = download_org(&client, &sandbox, &org).await.unwrap();

    let truth = member_ids(&sandbox, &org);
    let got: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "a member came twice for n={n}");
    assert_eq!(
        got, truth,
        "downloaded set differs from the sandbox for n={n}"
    );
    // One request per page of 100, and one more when n is a multiple of 100 only if Miro sends a cursor then.
    let pages = sandbox
        .control()
        .counters()
        .by_endpoint
        .get("members")
        .copied()
        .unwrap_or(0);
    assert!(
        pages as usize >= n.div_ceil(100).max(1),
        "pages {pages} for n={n}"
    );
    assert!(pages as usize <= n / 100 + 1, "pages {pages} for n={n}");
}

#[tokio::test]
async fn zero_members() {
    downloads_every_member_once(0).await;
}

#[tokio::test]
async fn one_member() {
    downloads_every_member_once(1).await;
}

#[tokio::test]
async fn exactly_one_page() {
    downloads_every_member_once(100).await;
}

#[tokio::test]
async fn one_page_and_one() {
    downloads_every_member_once(101).await;
}

#[tokio::test]
async fn ten_thousand_and_fifty() {
    downloads_every_member_once(10_050).await;
}

#[tokio::test]
async fn unknown_license_and_role_values_are_kept_not_fatal() {
    let mut cfg = sandbox_config(400);
    cfg.orgs[0].unknown_enum_values = true;
    let (sandbox, org, client) = org_of(&cfg).await;
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    assert_eq!(members.len(), 400);
    let truth = sandbox.control().members(&org);
    let unknown_licenses: Vec<_> = members
        .iter()
        .filter(|m| matches!(m.license, License::Other(_)))
        .collect();
    let unknown_roles: Vec<_> = members
        .iter()
        .filter(|m| matches!(m.role, Role::Other(_)))
        .collect();
    assert!(
        !unknown_licenses.is_empty() || !unknown_roles.is_empty(),
        "the sandbox sent no unknown values"
    );
    for m in unknown_licenses {
        let t = truth.iter().find(|t| t.id == m.id).unwrap();
        assert_eq!(
            m.license.as_str(),
            t.license,
            "the unknown text is kept verbatim"
        );
    }
}

#[tokio::test]
async fn fields_match_the_sandbox_including_missing_activity() {
    let cfg = sandbox_config(300);
    let (sandbox, org, client) = org_of(&cfg).await;
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    let truth = sandbox.control().members(&org);
    let mut never_active = 0;
    for (m, t) in members.iter().zip(&truth) {
        assert_eq!(m.email, t.email);
        assert_eq!(m.active, t.active);
        assert_eq!(m.role.as_str(), t.role);
        assert_eq!(m.license.as_str(), t.license);
        assert_eq!(m.last_activity_at, t.last_activity_at, "member {}", m.id);
        assert_eq!(
            m.license_assigned_at, t.license_assigned_at,
            "member {}",
            m.id
        );
        never_active += usize::from(m.last_activity_at.is_none());
    }
    assert!(
        never_active > 0,
        "the sample should contain never-active members"
    );
}

#[tokio::test]
async fn filters_split_the_list_into_exact_parts() {
    let (sandbox, org, client) = org_of(&sandbox_config(500)).await;
    let token = access_token(&sandbox, &org);
    let all = download(&client, &token, &org).await.unwrap();
    let mut union = Vec::new();
    for active in [true, false] {
        let filter = MemberFilter {
            active: Some(active),
            ..Default::default()
        };
        let pages: Vec<_> =
            futures::TryStreamExt::try_collect(client.members(&token, &org, filter, None))
                .await
                .unwrap();
        for m in pages.into_iter().flat_map(|p| p.members) {
            assert_eq!(m.active, active);
            union.push(m.id);
        }
    }
    union.sort();
    let mut all_ids: Vec<_> = all.into_iter().map(|m| m.id).collect();
    all_ids.sort();
    assert_eq!(union, all_ids);
}

#[tokio::test]
async fn members_by_email_and_by_id() {
    let (sandbox, org, client) = org_of(&sandbox_config(50)).await;
    let token = access_token(&sandbox, &org);
    let truth = sandbox.control().members(&org);
    // 12 addresses: more than Miro's 10 per query, so the client must split.
    let emails: Vec<&str> = truth.iter().take(12).map(|m| m.email.as_str()).collect();
    let found = client
        .members_by_email(&token, &org, &emails)
        .await
        .unwrap();
    let mut found_emails: Vec<_> = found.iter().map(|m| m.email.as_str()).collect();
    found_emails.sort();
    let mut want = emails.clone();
    want.sort();
    assert_eq!(found_emails, want);

    let one = client.member(&token, &org, &truth[3].id).await.unwrap();
    assert_eq!(one.email, truth[3].email);
    let missing = client
        .member(&token, &org, "3074457345999999999")
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    let org_info = client.organization(&token, &org).await.unwrap();
    assert_eq!(org_info.id, org);
    assert!(org_info.full_licenses_purchased > 0);
}

#[tokio::test]
async fn an_empty_page_ends_the_listing_even_when_it_names_a_cursor() {
    // The sandbox's last page names a cursor, and the page after it is empty and names that cursor again:
    // a client that stops only on an empty cursor reports a repeated cursor instead of a finished download.
    let (sandbox, org, client) = faulted(250, |f| f.cursor_past_the_end = true).await;
    let members = download_org(&client, &sandbox, &org).await.unwrap();
    assert_eq!(members.len(), 250);
    assert_eq!(
        sandbox.control().counters().get("members"),
        4,
        "three pages of members and the empty one that ends it"
    );
}

#[tokio::test]
async fn a_cursor_of_a_member_who_left_is_a_400_bad_request() {
    // Core restarts the listing from the first page on exactly this error.
    let (sandbox, org, client) = org_of(&sandbox_config(250)).await;
    let token = access_token(&sandbox, &org);
    let first = client
        .members_page(&token, &org, &MemberFilter::default(), None)
        .await
        .unwrap();
    let cursor = first.next_cursor.expect("more pages");
    assert!(sandbox.control().remove_member(&org, &cursor));
    let err = client
        .members_page(&token, &org, &MemberFilter::default(), Some(&cursor))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, miro_client::MiroError::BadRequest { status: 400, code, .. } if code.contains("invalidParameters")),
        "{err:?}"
    );
    assert!(!err.is_transient(), "{err}");
}

/// One entry that does not decode (no `email`, `active` as text) costs neither the page nor the listing: it is
/// reported by id, with a problem that quotes none of its values.
#[tokio::test]
async fn an_undecodable_entry_is_reported_and_the_page_is_kept() {
    let (sandbox, org, client) = org_of(&sandbox_config(150)).await;
    let bad = sandbox.control().members(&org)[3].clone();
    assert!(
        sandbox
            .control()
            .set_member_entry_undecodable(&org, &bad.id, true)
    );
    let page = first_page(&client, &sandbox, &org)
        .await
        .expect("the page decodes");
    assert_eq!(page.members.len(), 99);
    assert!(page.members.iter().all(|m| m.id != bad.id));
    assert_eq!(page.undecodable.len(), 1);
    let u = &page.undecodable[0];
    assert_eq!(u.id.as_deref(), Some(bad.id.as_str()));
    assert!(
        u.problem.contains("wrong type") || u.problem.contains("missing field"),
        "{}",
        u.problem
    );
    assert!(
        !u.problem.contains("yes") && !u.problem.contains('@'),
        "{}",
        u.problem
    );
    assert!(page.next_cursor.is_some(), "paging goes on");
}
