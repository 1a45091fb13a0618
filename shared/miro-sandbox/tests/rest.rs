//! REST v2 org endpoints: paging, filters, validation, auth errors, org info, determinism.

mod common;

use std::collections::HashSet;

use common::{Started, all_member_ids, client, get, rest_get, start};
use miro_sandbox::{OrgSpec, Sandbox, SandboxConfig};
use serde_json::Value;

#[tokio::test]
async fn paging_visits_every_member_once() {
    for n in [0usize, 1, 100, 101, 250] {
        let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(n)).await;
        let token = ctl.issue_access_token(&org);
        let truth: Vec<String> = ctl.members(&org).into_iter().map(|m| m.id).collect();
        assert_eq!(truth.len(), n);

        let (ids, pages) = all_member_ids(&c, &sb.base_url(), &org, &token, 100).await;
        assert_eq!(ids, truth, "n={n}");
        assert_eq!(pages, n.div_ceil(100).max(1), "n={n}");
        let (ids, _) = all_member_ids(&c, &sb.base_url(), &org, &token, 7).await;
        assert_eq!(ids, truth, "n={n}, limit 7");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), n);
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn default_limit_is_100_and_member_objects_match_the_spec() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(250)).await;
    let token = ctl.issue_access_token(&org);
    let r = rest_get(&c, &sb, &format!("/v2/orgs/{org}/members"), &token).await;
    assert_eq!(r.status, 200);
    let page = r.json();
    assert_eq!(page["limit"], 100);
    assert_eq!(page["size"], 100);
    assert_eq!(page["cursor"], page["data"][99]["id"]);

    let mut objects: Vec<Value> = page["data"].as_array().unwrap().clone();
    let mut cursor = page["cursor"].as_str().unwrap().to_string();
    while !cursor.is_empty() {
        let url = format!("{}/v2/orgs/{org}/members?cursor={cursor}", sb.base_url());
        let page = get(&c, &url, Some(&token)).await.json();
        objects.extend(page["data"].as_array().unwrap().iter().cloned());
        cursor = page["cursor"].as_str().unwrap().to_string();
    }
    let (mut absent, mut null, mut empty) = (0, 0, 0);
    for (m, v) in ctl.members(&org).iter().zip(&objects) {
        assert_eq!(v["type"], "organization-member");
        assert_eq!(v["id"], m.id.as_str());
        assert_eq!(v["email"], m.email.as_str());
        assert_eq!(v["active"], m.active);
        assert_eq!(v["role"], m.role.as_str());
        assert_eq!(v["license"], m.license.as_str());
        assert_eq!(m.id.len(), 19);
        match (m.last_activity_at, v.get("lastActivityAt")) {
            (Some(t), Some(Value::String(s))) => {
                assert_eq!(s.parse::<chrono::DateTime<chrono::Utc>>().unwrap(), t)
            }
            (None, None) => absent += 1,
            (None, Some(Value::Null)) => null += 1,
            (None, Some(Value::String(s))) if s.is_empty() => empty += 1,
            other => panic!("unexpected lastActivityAt {other:?}"),
        }
        match (m.license_assigned_at, v.get("licenseAssignedAt")) {
            (Some(t), Some(Value::String(s))) => {
                assert_eq!(s.parse::<chrono::DateTime<chrono::Utc>>().unwrap(), t)
            }
            (None, None) => {}
            other => panic!("unexpected licenseAssignedAt {other:?}"),
        }
        match v.get("adminRoles") {
            None => assert!(m.admin_roles.is_empty()),
            Some(roles) => assert_eq!(roles[0]["type"], "prebuilt"),
        }
    }
    assert_eq!(objects.len(), 250);
    assert!(
        absent > 0 && null > 0 && empty > 0,
        "{absent} {null} {empty}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn emails_filter_returns_a_bare_array_and_ignores_other_filters() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(120)).await;
    let token = ctl.issue_access_token(&org);
    let members = ctl.members(&org);
    let (a, b) = (&members[5], &members[110]);
    let url = format!(
        "{}/v2/orgs/{org}/members?emails={},{},nobody@nowhere.example&limit=1&role=organization_team_guest_user",
        sb.base_url(),
        a.email.to_uppercase(),
        b.email
    );
    let r = get(&c, &url, Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let arr = r.json();
    let arr = arr.as_array().expect("bare array");
    let ids: Vec<&str> = arr.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a.id.as_str(), b.id.as_str()]);

    let eleven: Vec<String> = (0..11).map(|i| format!("u{i}@x.example")).collect();
    let url = format!(
        "{}/v2/orgs/{org}/members?emails={}",
        sb.base_url(),
        eleven.join(",")
    );
    let r = get(&c, &url, Some(&token)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["context"]["fields"][0]["field"], "emails");
    sb.shutdown().await;
}

#[tokio::test]
async fn filters_combine_with_and() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(300)).await;
    let token = ctl.issue_access_token(&org);
    let truth = ctl.members(&org);
    for (query, pred) in [
        (
            "license=full",
            Box::new(|m: &miro_sandbox::SandboxMember| m.license == "full")
                as Box<dyn Fn(&miro_sandbox::SandboxMember) -> bool>,
        ),
        ("active=false", Box::new(|m| !m.active)),
        (
            "role=organization_internal_user&license=free_restricted&active=true",
            Box::new(|m| {
                m.role == "organization_internal_user" && m.license == "free_restricted" && m.active
            }),
        ),
    ] {
        let mut got = Vec::new();
        let mut cursor = String::new();
        loop {
            let url = format!(
                "{}/v2/orgs/{org}/members?{query}&limit=50&cursor={cursor}",
                sb.base_url()
            );
            let page = get(&c, &url, Some(&token)).await.json();
            got.extend(
                page["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].as_str().unwrap().to_string()),
            );
            cursor = page["cursor"].as_str().unwrap().to_string();
            if cursor.is_empty() {
                break;
            }
        }
        let want: Vec<String> = truth
            .iter()
            .filter(|m| pred(m))
            .map(|m| m.id.clone())
            .collect();
        assert!(!want.is_empty(), "{query}");
        assert_eq!(got, want, "{query}");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn invalid_parameters_answer_400_with_fields() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(10)).await;
    let token = ctl.issue_access_token(&org);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("license=enterprise", "license"),
        ("role=owner", "role"),
        ("active=yes", "active"),
        ("cursor=not-an-id", "cursor"),
    ] {
        let r = rest_get(&c, &sb, &format!("/v2/orgs/{org}/members?{query}"), &token).await;
        assert_eq!(r.status, 400, "{query}");
        let v = r.json();
        assert_eq!(v["status"], 400, "status is a number");
        assert_eq!(v["code"], "invalidParameters");
        assert_eq!(v["type"], "error");
        assert_eq!(v["context"]["fields"][0]["field"], field);
    }
    // Garbage must not crash anything.
    let r = rest_get(&c, &sb, "/v2/orgs/%FF%FE/members", &token).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["type"], "error");
    sb.shutdown().await;
}

#[tokio::test]
async fn auth_errors_have_rest_shapes_and_rate_headers() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(3)).await;
    let url = format!("{}/v2/orgs/{org}/members", sb.base_url());

    let r = get(&c, &url, None).await;
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(
        (v["status"].as_u64(), v["code"].as_str(), v["type"].as_str()),
        (Some(401), Some("tokenNotProvided"), Some("error"))
    );
    assert!(v["context"].is_null());
    assert!(r.header("x-ratelimit-limit").is_some());

    for bad in ["nope", &ctl.scim_token(&org)] {
        let r = get(&c, &url, Some(bad)).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["code"], "tokenNotFound");
    }

    let token = ctl.issue_access_token(&org);
    ctl.revoke_all_tokens(&org);
    assert_eq!(
        get(&c, &url, Some(&token)).await.json()["code"],
        "tokenNotFound"
    );

    let no_scope = ctl.issue_access_token_with_scopes(&org, &["boards:read"]);
    let r = get(&c, &url, Some(&no_scope)).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "insufficientPermissions");
    assert!(r.header("retry-after").is_none());
    sb.shutdown().await;
}

#[tokio::test]
async fn org_info_and_org_boundaries() {
    let c = client();
    let mut config = SandboxConfig::with_members(40);
    config.orgs.push(OrgSpec {
        id: "3074457345821149999".into(),
        name: "Dev Sandbox".into(),
        members: 5,
        developer_team: true,
        full_licenses_purchased: Some(7),
        ..OrgSpec::default()
    });
    let sb = Sandbox::start(config).await.unwrap();
    let ctl = sb.control();
    let orgs = ctl.org_ids();
    let (a, dev) = (&orgs[0], &orgs[1]);
    assert_eq!(a, "3074457345821141000");
    let token_a = ctl.issue_access_token(a);
    let token_dev = ctl.issue_access_token(dev);

    let v = rest_get(&c, &sb, &format!("/v2/orgs/{a}"), &token_a)
        .await
        .json();
    assert_eq!(v["id"], a.as_str());
    assert_eq!(v["plan"], "company");
    assert_eq!(v["type"], "organization");
    let full_active = ctl
        .members(a)
        .iter()
        .filter(|m| m.active && m.license == "full")
        .count() as i64;
    let purchased = v["fullLicensesPurchased"].as_i64().unwrap();
    assert!(purchased > full_active && purchased <= full_active * 12 / 10 + 1);

    let r = rest_get(&c, &sb, &format!("/v2/orgs/{dev}"), &token_a).await;
    assert_eq!(r.status, 403, "token of another org");
    let r = rest_get(&c, &sb, "/v2/orgs/3074457345000000001", &token_a).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "notFound");
    let r = rest_get(&c, &sb, &format!("/v2/orgs/{dev}/members"), &token_dev).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("developer team")
    );

    let member = &ctl.members(a)[3];
    let r = rest_get(
        &c,
        &sb,
        &format!("/v2/orgs/{a}/members/{}", member.id),
        &token_a,
    )
    .await;
    assert_eq!(r.json()["email"], member.email.as_str());
    let r = rest_get(&c, &sb, &format!("/v2/orgs/{a}/members/1"), &token_a).await;
    assert_eq!(r.status, 404);
    let counters = ctl.counters();
    assert_eq!(counters.get("org"), 3);
    assert_eq!(counters.get("members"), 1);
    assert_eq!(counters.get("member"), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn unknown_enum_values_are_served_and_filterable() {
    let mut config = SandboxConfig::with_members(60);
    config.orgs[0].unknown_enum_values = true;
    let Started { c, sb, ctl, org } = start(config).await;
    let token = ctl.issue_access_token(&org);
    let members = ctl.members(&org);
    assert!(members.iter().any(|m| m.license == "enterprise_plus"));
    assert!(members.iter().any(|m| m.role == "organization_super_user"));
    let page = rest_get(
        &c,
        &sb,
        &format!("/v2/orgs/{org}/members?license=unknown"),
        &token,
    )
    .await
    .json();
    let data = page["data"].as_array().unwrap();
    assert!(!data.is_empty());
    assert!(data.iter().all(|m| m["license"] == "enterprise_plus"));
    sb.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_members() {
    let one = Sandbox::start(SandboxConfig::with_members(200))
        .await
        .unwrap();
    let two = Sandbox::start(SandboxConfig::with_members(200))
        .await
        .unwrap();
    let mut other = SandboxConfig::with_members(200);
    other.seed = 7;
    let three = Sandbox::start(other).await.unwrap();
    let org = one.control().org_ids()[0].clone();
    assert_eq!(one.control().members(&org), two.control().members(&org));
    assert_ne!(one.control().members(&org), three.control().members(&org));
    let admin = &one.control().members(&org)[0];
    assert_eq!(admin.role, "organization_internal_admin");
    assert!(admin.active);
}

#[tokio::test]
async fn a_cursor_naming_a_member_who_left_is_an_invalid_parameter() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(250)).await;
    let token = ctl.issue_access_token(&org);
    let url = format!("{}/v2/orgs/{org}/members?limit=100", sb.base_url());
    let first = get(&c, &url, Some(&token)).await.json();
    let cursor = first["cursor"].as_str().unwrap().to_string();
    assert!(!cursor.is_empty());

    // The member the checkpoint names leaves the org before the next run.
    assert!(ctl.remove_member(&org, &cursor));
    let r = get(&c, &format!("{url}&cursor={cursor}"), Some(&token)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let v = r.json();
    assert_eq!(v["status"], 400);
    assert_eq!(v["code"], "invalidParameters");
    assert_eq!(v["message"], "Method parameters are not valid");
    assert_eq!(v["type"], "error");
    assert_eq!(v["context"]["fields"][0]["field"], "cursor");
    // A well-formed id that never was a member is refused the same way; a deactivated member is still one.
    let r = get(
        &c,
        &format!("{url}&cursor=3074457345000000001"),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 400);
    let still = ctl.members(&org)[150].id.clone();
    ctl.update_member(&org, &still, |m| m.active = false);
    assert_eq!(
        get(&c, &format!("{url}&cursor={still}"), Some(&token))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn cursor_past_the_end_ends_with_an_empty_page_that_still_names_a_cursor() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(150)).await;
    let token = ctl.issue_access_token(&org);
    ctl.set_faults(miro_sandbox::FaultConfig {
        cursor_past_the_end: true,
        ..miro_sandbox::FaultConfig::default()
    });
    let url = format!("{}/v2/orgs/{org}/members?limit=100", sb.base_url());
    let first = get(&c, &url, Some(&token)).await.json();
    let c1 = first["cursor"].as_str().unwrap().to_string();
    let second = get(&c, &format!("{url}&cursor={c1}"), Some(&token))
        .await
        .json();
    assert_eq!(second["size"], 50);
    let c2 = second["cursor"].as_str().unwrap().to_string();
    assert_eq!(
        c2,
        second["data"][49]["id"].as_str().unwrap(),
        "the last page names a cursor"
    );
    let third = get(&c, &format!("{url}&cursor={c2}"), Some(&token))
        .await
        .json();
    assert_eq!(third["data"], serde_json::json!([]));
    assert_eq!(
        third["cursor"],
        c2.as_str(),
        "the empty page names a cursor again"
    );
}
