//! SCIM: find, deactivate and reactivate, with the effect visible on the REST members endpoint.

mod common;

use common::*;
use miro_client::MiroError;

#[tokio::test]
async fn find_deactivate_reactivate_round_trip_is_visible_through_rest() {
    let (sandbox, org, client) = org_of(&sandbox_config(60)).await;
    let scim = scim_token(&sandbox, &org);
    let rest = access_token(&sandbox, &org);
    let target = plain_member(&sandbox, &org);

    // Case differences in the address must not matter.
    let user = client
        .scim_find_user_by_email(&scim, &target.email.to_uppercase())
        .await
        .unwrap()
        .expect("the SCIM user exists");
    assert_eq!(user.id, target.id);
    assert!(user.active);

    let after = client
        .scim_set_active(&scim, &user.id, false)
        .await
        .unwrap();
    assert!(!after.active);
    assert!(
        !client.member(&rest, &org, &target.id).await.unwrap().active,
        "REST sees the deactivation"
    );
    // Deactivating again is harmless and changes nothing.
    client
        .scim_set_active(&scim, &user.id, false)
        .await
        .unwrap();

    client.scim_set_active(&scim, &user.id, true).await.unwrap();
    assert!(
        client.member(&rest, &org, &target.id).await.unwrap().active,
        "REST sees the reactivation"
    );
    assert!(client.scim_get_user(&scim, &user.id).await.unwrap().active);

    let log = sandbox.control().scim_log();
    assert_eq!(
        log.len(),
        2,
        "one deactivation and one reactivation: {log:?}"
    );
    assert_eq!(
        sandbox
            .control()
            .counters()
            .by_endpoint
            .get("scim_delete_user")
            .copied()
            .unwrap_or(0),
        0,
        "never a delete"
    );
}

#[tokio::test]
async fn an_unknown_email_is_none_and_a_guest_is_not_a_scim_user() {
    let (sandbox, org, client) = org_of(&sandbox_config(200)).await;
    let scim = scim_token(&sandbox, &org);
    assert!(
        client
            .scim_find_user_by_email(&scim, "nobody@nowhere.example")
            .await
            .unwrap()
            .is_none()
    );
    let guest = member_where(&sandbox, &org, "a guest in 200 members", |m| {
        m.role == "organization_team_guest_user"
    });
    assert!(
        client
            .scim_find_user_by_email(&scim, &guest.email)
            .await
            .unwrap()
            .is_none()
    );
    let err = client
        .scim_set_active(&scim, &guest.id, false)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn a_company_admin_cannot_be_deactivated() {
    let (sandbox, org, client) = org_of(&sandbox_config(200)).await;
    let scim = scim_token(&sandbox, &org);
    let admin = member_where(&sandbox, &org, "an admin", |m| {
        m.role == "organization_internal_admin" && m.active
    });
    let user = client
        .scim_find_user_by_email(&scim, &admin.email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.user_role_values()
            .iter()
            .any(|v| v == "ORGANIZATION_INTERNAL_ADMIN")
    );
    let err = client
        .scim_set_active(&scim, &user.id, false)
        .await
        .unwrap_err();
    assert!(matches!(err, MiroError::Conflict { .. }), "{err:?}");
    assert!(sandbox.control().scim_log().is_empty());
}

#[tokio::test]
async fn listing_pages_through_every_scim_user_and_the_connection_test_works() {
    let (sandbox, org, client) = org_of(&sandbox_config(450)).await;
    let scim = scim_token(&sandbox, &org);
    let info = client.scim_service_provider_config(&scim).await.unwrap();
    assert!(info.patch_supported);

    let mut seen = Vec::new();
    let mut start_index = 1;
    loop {
        let page = client
            .scim_list_users(&scim, start_index, 1000)
            .await
            .unwrap();
        assert!(
            page.users.len() <= 200,
            "asked for 1000, got {} (client caps at 200)",
            page.users.len()
        );
        if page.users.is_empty() {
            break;
        }
        start_index += page.users.len() as u64;
        seen.extend(page.users.into_iter().map(|u| u.id));
        if start_index > page.total_results {
            break;
        }
    }
    let internal: Vec<String> = sandbox
        .control()
        .members(&org)
        .into_iter()
        .filter(|m| {
            m.role == "organization_internal_user" || m.role == "organization_internal_admin"
        })
        .map(|m| m.id)
        .collect();
    seen.sort();
    let mut want = internal;
    want.sort();
    assert_eq!(seen, want);
}
