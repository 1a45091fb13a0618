//! Who signs in (the org's admin, a member, a member with another role, another org's admin) and re-installs
//! (a second authorization by the same user and team ends that user's earlier tokens, unless switched off).

mod common;

use common::{Reply, Started, authorize, control_post, get, start, token_form};
use miro_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OrgSpec, ROLE_ADMIN, ROLE_EXTERNAL, ROLE_USER,
    Sandbox, SandboxConfig, SandboxControl, SandboxMember, SignInAs,
};
use serde_json::json;

const REDIRECT: &str = "http://localhost:8765/console/callback";
const OTHER_ORG: &str = "3074457345821142000";

struct Tokens {
    access: String,
    refresh: String,
    user_id: String,
    team_id: String,
}

/// The browser step and the code exchange, as a client would run them; `team` preselects a team.
async fn sign_in(c: &reqwest::Client, sb: &Sandbox, team: Option<&str>) -> Tokens {
    let cb = authorize(c, sb, REDIRECT, "s", team).await;
    let r = token(
        c,
        sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &cb["code"]),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let team_id = v["team_id"].as_u64().unwrap().to_string();
    assert_eq!(cb["team_id"], team_id, "callback and token name one team");
    Tokens {
        access: v["access_token"].as_str().unwrap().to_string(),
        refresh: v["refresh_token"].as_str().unwrap().to_string(),
        user_id: v["user_id"].as_u64().unwrap().to_string(),
        team_id,
    }
}

async fn token(c: &reqwest::Client, sb: &Sandbox, params: &[(&str, &str)]) -> Reply {
    let mut form = vec![
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
    ];
    form.extend_from_slice(params);
    token_form(c, sb, &form).await
}

async fn refresh(c: &reqwest::Client, sb: &Sandbox, refresh_token: &str) -> Reply {
    token(
        c,
        sb,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

async fn token_info(c: &reqwest::Client, sb: &Sandbox, access: &str) -> Reply {
    get(
        c,
        &format!("{}/v1/oauth-token", sb.base_url()),
        Some(access),
    )
    .await
}

async fn member_status(
    c: &reqwest::Client,
    sb: &Sandbox,
    org: &str,
    id: &str,
    access: &str,
) -> u16 {
    let url = format!("{}/v2/orgs/{org}/members/{id}", sb.base_url());
    get(c, &url, Some(access)).await.status
}

/// The next sign-in is by a member of the first org with `role`.
fn sign_in_as_role(ctl: &SandboxControl, role: &str) {
    ctl.set_sign_in(SignInAs::MemberWithRole {
        role: role.to_string(),
    })
    .expect("the org has a member with the role");
}

/// The member of `org` the sign-in `t` was granted to.
fn grantee(ctl: &SandboxControl, org: &str, t: &Tokens) -> SandboxMember {
    ctl.members(org)
        .into_iter()
        .find(|m| m.id == t.user_id)
        .expect("the grantee is a member of the org")
}

fn two_orgs() -> SandboxConfig {
    let mut config = SandboxConfig::unlimited(30);
    config.orgs.push(OrgSpec {
        id: OTHER_ORG.to_string(),
        name: "Globex".to_string(),
        members: 10,
        ..OrgSpec::default()
    });
    config
}

#[tokio::test]
async fn the_org_admin_signs_in_by_default_and_token_info_names_them() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(20)).await;
    let admin = ctl.members(&org)[0].clone();
    assert_eq!(admin.role, ROLE_ADMIN);
    assert_eq!(ctl.sign_in(), SignInAs::OrgAdmin);

    let t = sign_in(&c, &sb, None).await;
    assert_eq!(t.user_id, admin.id);
    let info = token_info(&c, &sb, &t.access).await;
    assert_eq!(info.status, 200, "{}", info.text);
    let v = info.json();
    assert_eq!(v["user"]["id"], json!(admin.id));
    assert_eq!(v["user"]["name"], json!(admin.display_name));
    assert_eq!(v["organization"]["id"], json!(org));
    assert_eq!(v["team"]["id"], json!(t.team_id));
    assert_eq!(
        member_status(&c, &sb, &org, &admin.id, &t.access).await,
        200
    );
}

#[tokio::test]
async fn a_plain_member_signs_in_and_org_endpoints_refuse_their_token() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(30)).await;
    sign_in_as_role(&ctl, ROLE_USER);

    let t = sign_in(&c, &sb, None).await;
    let member = grantee(&ctl, &org, &t);
    assert_eq!(member.role, ROLE_USER);
    assert!(member.active);
    let v = token_info(&c, &sb, &t.access).await.json();
    assert_eq!(v["user"]["id"], json!(member.id));
    assert_eq!(v["user"]["name"], json!(member.display_name));
    assert_eq!(v["createdBy"]["id"], json!(member.id));
    assert_eq!(v["organization"]["id"], json!(org));
    // Miro: "You can only use this endpoint if you have the role of a Company Admin".
    let url = format!("{}/v2/orgs/{org}/members/{}", sb.base_url(), member.id);
    let refused = get(&c, &url, Some(&t.access)).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.json()["code"], "forbiddenAccess");
    // The org's own admin token still reads that member.
    let admin_token = ctl.issue_access_token(&org);
    assert_eq!(
        member_status(&c, &sb, &org, &member.id, &admin_token).await,
        200
    );

    // Back to the default: the next sign-in is the admin again.
    ctl.set_sign_in(SignInAs::OrgAdmin).unwrap();
    let t = sign_in(&c, &sb, None).await;
    assert_eq!(t.user_id, ctl.members(&org)[0].id);
}

#[tokio::test]
async fn a_chosen_member_with_another_role_signs_in() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(30)).await;
    // A member with an admin role that is not Company Admin.
    let chosen = ctl.members(&org)[5].id.clone();
    assert!(ctl.update_member(&org, &chosen, |m| {
        m.role = ROLE_USER.to_string();
        m.active = true;
        m.admin_roles = vec![("prebuilt".into(), "User Admin".into())];
    }));
    ctl.set_sign_in(SignInAs::Member {
        member_id: chosen.clone(),
    })
    .unwrap();
    let t = sign_in(&c, &sb, None).await;
    assert_eq!(t.user_id, chosen);
    assert_eq!(
        token_info(&c, &sb, &t.access).await.json()["user"]["id"],
        json!(chosen)
    );
    assert_eq!(member_status(&c, &sb, &org, &chosen, &t.access).await, 403);

    // A role chosen by wire value: an external user.
    let external = ctl.members(&org)[6].id.clone();
    ctl.update_member(&org, &external, |m| {
        m.role = ROLE_EXTERNAL.to_string();
        m.active = true;
    });
    sign_in_as_role(&ctl, ROLE_EXTERNAL);
    let t = sign_in(&c, &sb, None).await;
    let grantee = grantee(&ctl, &org, &t);
    assert_eq!(grantee.role, ROLE_EXTERNAL);

    // Promoted to Company Admin in Miro: the same kind of token now reads the org.
    ctl.update_member(&org, &chosen, |m| m.role = ROLE_ADMIN.to_string());
    ctl.set_sign_in(SignInAs::Member {
        member_id: chosen.clone(),
    })
    .unwrap();
    let t = sign_in(&c, &sb, None).await;
    assert_eq!(member_status(&c, &sb, &org, &chosen, &t.access).await, 200);
}

#[tokio::test]
async fn another_orgs_admin_signs_in_for_their_own_org_and_team() {
    let Started {
        c,
        sb,
        ctl,
        org: first,
    } = start(two_orgs()).await;
    assert_eq!(ctl.org_ids()[1], OTHER_ORG);
    let other_admin = ctl.members(OTHER_ORG)[0].clone();
    let first_team = sign_in(&c, &sb, None).await.team_id;

    ctl.set_sign_in(SignInAs::AdminOf {
        org_id: OTHER_ORG.to_string(),
    })
    .unwrap();
    // Even with the first org's team preselected, the grant is for the other org.
    let t = sign_in(&c, &sb, Some(&first_team)).await;
    assert_eq!(t.user_id, other_admin.id);
    assert_ne!(t.team_id, first_team);
    let v = token_info(&c, &sb, &t.access).await.json();
    assert_eq!(v["organization"]["id"], json!(OTHER_ORG));
    assert_eq!(v["organization"]["name"], json!("Globex"));
    assert_eq!(v["user"]["id"], json!(other_admin.id));
    assert_eq!(v["team"]["id"], json!(t.team_id));
    assert_eq!(
        member_status(&c, &sb, OTHER_ORG, &other_admin.id, &t.access).await,
        200
    );
    let first_admin = ctl.members(&first)[0].id.clone();
    assert_eq!(
        member_status(&c, &sb, &first, &first_admin, &t.access).await,
        403
    );
}

#[tokio::test]
async fn impossible_sign_ins_are_refused_with_a_reason_over_rust_and_http() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(10)).await;

    let e = ctl
        .set_sign_in(SignInAs::Member {
            member_id: "42".into(),
        })
        .unwrap_err();
    assert!(e.contains("no member 42"), "{e}");
    let e = ctl
        .set_sign_in(SignInAs::AdminOf {
            org_id: "999".into(),
        })
        .unwrap_err();
    assert!(e.contains("no org 999"), "{e}");
    let e = ctl
        .set_sign_in(SignInAs::MemberWithRole {
            role: "organization_nobody".into(),
        })
        .unwrap_err();
    assert!(e.contains("organization_nobody"), "{e}");
    assert_eq!(
        ctl.sign_in(),
        SignInAs::OrgAdmin,
        "a refused choice changes nothing"
    );

    // The same over HTTP.
    let r = control_post(
        &c,
        &sb,
        "sign-in",
        json!({"as": "admin_of", "org_id": "999"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("no org 999"));
    let r = control_post(&c, &sb, "sign-in", json!({"as": "somebody"})).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("invalid sign-in body")
    );
    let member = ctl.members(&org)[3].id.clone();
    ctl.update_member(&org, &member, |m| m.active = true);
    let r = control_post(
        &c,
        &sb,
        "sign-in",
        json!({"as": "member", "member_id": member}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        ctl.sign_in(),
        SignInAs::Member {
            member_id: member.clone()
        }
    );

    // The chosen member is deactivated afterwards: the authorize request says why it cannot grant.
    ctl.update_member(&org, &member, |m| m.active = false);
    let r = get(
        &c,
        &format!(
            "{}/oauth/authorize?response_type=code&client_id={DEFAULT_CLIENT_ID}&redirect_uri={REDIRECT}",
            sb.base_url()
        ),
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("deactivated")
    );
}

#[tokio::test]
async fn a_second_authorization_by_the_same_user_ends_their_earlier_tokens() {
    let Started { c, sb, ctl, org } = start(two_orgs()).await;
    let admin = ctl.members(&org)[0].id.clone();
    assert!(ctl.reinstall_replaces_tokens(), "on by default");

    let connect = sign_in(&c, &sb, None).await;
    let issued = ctl.issue_access_token(&org);
    let other_org_token = ctl.issue_access_token(OTHER_ORG);
    sign_in_as_role(&ctl, ROLE_USER);
    let member = sign_in(&c, &sb, None).await;
    ctl.set_sign_in(SignInAs::OrgAdmin).unwrap();
    assert_eq!(
        member_status(&c, &sb, &org, &admin, &connect.access).await,
        200
    );

    // The same admin signs in again (say, into a console of the same app).
    let again = sign_in(&c, &sb, None).await;
    assert_eq!(again.user_id, connect.user_id);
    assert_eq!(
        member_status(&c, &sb, &org, &admin, &again.access).await,
        200
    );
    let url = format!("{}/v2/orgs/{org}/members/{admin}", sb.base_url());
    let dead = get(&c, &url, Some(&connect.access)).await;
    assert_eq!(dead.status, 401, "{}", dead.text);
    assert_eq!(dead.json()["code"], "tokenNotFound");
    assert!(!ctl.access_token_is_live(&connect.access));
    assert!(
        !ctl.access_token_is_live(&issued),
        "every earlier token of the user"
    );
    assert!(!ctl.refresh_token_is_live(&connect.refresh));
    let r = refresh(&c, &sb, &connect.refresh).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["code"], "invalid_grant");

    // Other users and other orgs keep theirs; the new pair refreshes.
    assert!(ctl.access_token_is_live(&member.access));
    assert!(ctl.refresh_token_is_live(&member.refresh));
    assert!(ctl.access_token_is_live(&other_org_token));
    assert!(ctl.refresh_token_is_live(&again.refresh));
    let r = refresh(&c, &sb, &again.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn with_reinstalls_switched_off_earlier_tokens_keep_working() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(10)).await;
    let admin = ctl.members(&org)[0].id.clone();

    let r = control_post(&c, &sb, "reinstall", json!({"replaces_tokens": false})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!ctl.reinstall_replaces_tokens());
    let first = sign_in(&c, &sb, None).await;
    let second = sign_in(&c, &sb, None).await;
    assert_eq!(
        member_status(&c, &sb, &org, &admin, &first.access).await,
        200
    );
    assert_eq!(
        member_status(&c, &sb, &org, &admin, &second.access).await,
        200
    );
    let r = refresh(&c, &sb, &first.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Switched on again (Rust API): the next sign-in ends both earlier pairs.
    ctl.set_reinstall_replaces_tokens(true);
    let third = sign_in(&c, &sb, None).await;
    assert!(!ctl.access_token_is_live(&second.access));
    assert!(!ctl.refresh_token_is_live(&second.refresh));
    assert!(ctl.access_token_is_live(&third.access));
    let r = control_post(&c, &sb, "reinstall", json!({"replaces": true})).await;
    assert_eq!(r.status, 400);
}
