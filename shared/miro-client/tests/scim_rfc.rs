//! SCIM per RFC 7644 against the sandbox: PATCH answered 200 or 204 is confirmed by reading the user back, a
//! PATCH that changed nothing is an error, filters are percent-encoded with `%20`, and SCIM's own signals of
//! an admin are readable.

mod common;

use common::*;
use miro_client::MiroError;
use miro_client::{MiroClient, SecretString};
use miro_sandbox::{FaultConfig, Sandbox, SandboxMember, ScimRoles};

/// A sandbox of 40 whose SCIM answers misbehave as `fault` sets, a client, the SCIM token and a plain member to
/// patch.
async fn patching(
    fault: impl FnOnce(&mut FaultConfig),
) -> (Sandbox, MiroClient, SecretString, SandboxMember) {
    let (sandbox, org, client) = faulted(40, fault).await;
    let scim = scim_token(&sandbox, &org);
    let target = plain_member(&sandbox, &org);
    (sandbox, client, scim, target)
}

#[tokio::test]
async fn a_204_no_content_patch_is_success_confirmed_by_a_read_back() {
    let (sandbox, client, scim, target) = patching(|f| f.scim_patch_no_content = true).await;

    let user = client
        .scim_set_active(&scim, &target.id, false)
        .await
        .unwrap();
    assert_eq!(user.id, target.id);
    assert!(!user.active);
    let user = client
        .scim_set_active(&scim, &target.id, true)
        .await
        .unwrap();
    assert!(user.active);
    let counters = sandbox.control().counters();
    assert_eq!(counters.get("scim_patch_user"), 2);
    assert_eq!(counters.get("scim_get_user"), 2, "every PATCH is read back");
    assert_eq!(sandbox.control().scim_log().len(), 2);
}

#[tokio::test]
async fn a_patch_that_claims_success_but_changed_nothing_is_scim_not_applied() {
    let (sandbox, client, scim, target) = patching(|f| f.scim_patch_not_applied = true).await;

    let err = client
        .scim_set_active(&scim, &target.id, false)
        .await
        .unwrap_err();
    match &err {
        MiroError::ScimNotApplied {
            user_id, wanted, ..
        } => {
            assert_eq!(user_id, &target.id);
            assert!(!wanted);
        }
        other => panic!("expected ScimNotApplied, got {other:?}"),
    }
    assert!(!err.is_transient(), "a person must look at it: {err}");
    assert!(!err.needs_reconnect());
    let text = err.to_string();
    assert!(text.contains("still active"), "{text}");
    assert!(text.contains("admin console"), "{text}");
    assert!(
        sandbox
            .control()
            .members(&first_org(&sandbox))
            .iter()
            .any(|m| m.id == target.id && m.active),
        "the sandbox really did not change the user"
    );
}

#[tokio::test]
async fn filters_are_sent_with_spaces_as_percent_20() {
    // The sandbox reads `+` as a plus (RFC 3986); a client writing spaces as `+` finds nobody.
    let (sandbox, org, client) = org_of(&sandbox_config(40)).await;
    let scim = scim_token(&sandbox, &org);
    let target = plain_member(&sandbox, &org);
    let tagged = target.email.replacen('@', "+sam@", 1);
    sandbox
        .control()
        .update_member(&org, &target.id, |m| m.email = tagged.clone());

    let user = client
        .scim_find_user_by_email(&scim, &tagged)
        .await
        .unwrap()
        .expect("found by an address with a plus");
    assert_eq!(user.id, target.id);
    assert_eq!(user.user_name, tagged);
}

#[tokio::test]
async fn a_kelvin_sign_twin_is_not_the_user_asked_for() {
    let (sandbox, org, client) = org_of(&sandbox_config(60)).await;
    let scim = scim_token(&sandbox, &org);
    let target = member_where(&sandbox, &org, "a member whose address has a k", |m| {
        m.active && m.role == "organization_internal_user" && m.email.contains('k')
    });
    let twin = SandboxMember {
        // Sorts before the member, so a client taking the first result gets the twin.
        id: "1000".to_string(),
        email: target.email.replacen('k', "\u{212A}", 1),
        ..target.clone()
    };
    assert!(sandbox.control().add_scim_only_user(&org, twin.clone()));

    let user = client
        .scim_find_user_by_email(&scim, &target.email)
        .await
        .unwrap()
        .expect("the member is found");
    assert_eq!(user.id, target.id);
    let user = client
        .scim_find_user_by_email(&scim, &twin.email)
        .await
        .unwrap()
        .expect("the twin is found by its own name");
    assert_eq!(user.id, "1000");
}

#[tokio::test]
async fn scim_admin_roles_are_read_from_scim_whatever_rest_says() {
    let (sandbox, org, client) = org_of(&sandbox_config(60)).await;
    let scim = scim_token(&sandbox, &org);
    let members = sandbox.control().members(&org);
    let plain: Vec<&SandboxMember> = members
        .iter()
        .filter(|m| m.active && m.role == "organization_internal_user" && m.admin_roles.is_empty())
        .take(3)
        .collect();
    let ctl = sandbox.control();
    assert!(ctl.set_scim_roles(&org, &plain[0].id, ScimRoles::company_admin()));
    assert!(ctl.set_scim_roles(
        &org,
        &plain[1].id,
        ScimRoles::member_with_admin_role("Content Admin")
    ));

    let admin = client.scim_get_user(&scim, &plain[0].id).await.unwrap();
    assert_eq!(
        admin.user_role_values(),
        vec!["ORGANIZATION_INTERNAL_ADMIN"]
    );
    assert!(admin.admin_role_names().is_empty());
    let content = client.scim_get_user(&scim, &plain[1].id).await.unwrap();
    assert!(
        !content
            .user_role_values()
            .iter()
            .any(|v| v == "ORGANIZATION_INTERNAL_ADMIN")
    );
    assert_eq!(
        content.admin_role_names(),
        vec!["Content Admin".to_string()]
    );
    let nobody = client.scim_get_user(&scim, &plain[2].id).await.unwrap();
    assert!(
        !nobody
            .user_role_values()
            .iter()
            .any(|v| v == "ORGANIZATION_INTERNAL_ADMIN")
            && nobody.admin_role_names().is_empty()
    );

    let rest = access_token(&sandbox, &org);
    let m = client.member(&rest, &org, &plain[1].id).await.unwrap();
    assert!(m.admin_roles.is_empty(), "REST shows a plain user");
}

#[tokio::test]
async fn scim_disabled_is_a_needs_a_person_error() {
    let (sandbox, org, client) = org_of(&sandbox_config(10)).await;
    let scim = scim_token(&sandbox, &org);
    sandbox.control().set_faults(FaultConfig {
        scim_disabled: true,
        ..FaultConfig::default()
    });
    let err = client
        .scim_service_provider_config(&scim)
        .await
        .unwrap_err();
    assert!(matches!(err, MiroError::ScimDisabled { .. }), "{err:?}");
    assert!(
        err.to_string().contains("SCIM integration is disabled"),
        "{err}"
    );
    assert!(err.needs_reconnect());
}
