//! SCIM 2.0 Users: lookup, deactivate/reactivate effects, refusals, delete, limits.

mod common;

use common::{
    Started, filter_query, get, patch_body, reply, rest_get, scim_filter, scim_get, scim_patch,
    set_active, start,
};
use miro_sandbox::{SandboxConfig, SandboxMember, ScimOp};
use serde_json::json;

fn first(members: &[SandboxMember], f: impl Fn(&SandboxMember) -> bool) -> &SandboxMember {
    members
        .iter()
        .find(|m| f(m))
        .expect("generated org has such a member")
}

#[tokio::test]
async fn find_deactivate_reactivate_is_visible_in_rest_and_log() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(80)).await;
    let scim = ctl.scim_token(&org);
    let rest = ctl.issue_access_token(&org);
    let members = ctl.members(&org);
    let target = first(&members, |m| {
        m.role == "organization_internal_user" && m.active
    });

    // Lookup by email: attribute, operator and email all case-insensitive.
    let filter = format!("USERNAME EQ \"{}\"", target.email.to_uppercase());
    let r = scim_filter(&c, &sb, &scim, &filter).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.json();
    assert_eq!(list["totalResults"], 1);
    let user = &list["Resources"][0];
    assert_eq!(user["id"], target.id.as_str());
    assert_eq!(user["userName"], target.email.as_str());
    assert_eq!(user["active"], true);
    assert_eq!(user["roles"][0]["value"], "ORGANIZATION_INTERNAL_USER");

    let r = set_active(&c, &sb, &scim, &target.id, false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["active"], false);
    let v = rest_get(
        &c,
        &sb,
        &format!("/v2/orgs/{org}/members/{}", target.id),
        &rest,
    )
    .await
    .json();
    assert_eq!(v["active"], false);
    assert_eq!(
        v["license"],
        target.license.as_str(),
        "license string is kept"
    );

    // Idempotent: answers 200, logs nothing.
    let body = patch_body("replace", json!("false")).to_string();
    let r = scim_patch(&c, &sb, &scim, &target.id, body).await;
    assert_eq!(r.status, 200);
    assert_eq!(ctl.scim_log().len(), 1);

    let body = patch_body("replace", json!("true")).to_string();
    let r = scim_patch(&c, &sb, &scim, &target.id, body).await;
    assert_eq!(r.json()["active"], true);
    let log = ctl.scim_log();
    let ops: Vec<ScimOp> = log.iter().map(|w| w.op).collect();
    assert_eq!(ops, vec![ScimOp::Deactivate, ScimOp::Reactivate]);
    assert_eq!(log[0].user_id, target.id);
    assert_eq!(log[0].email, target.email);
    assert_eq!(log[0].org_id, org);
    assert!(
        ctl.members(&org)
            .iter()
            .any(|m| m.id == target.id && m.active)
    );
    assert_eq!(ctl.counters().get("scim_patch_user"), 3);
    sb.shutdown().await;
}

#[tokio::test]
async fn admins_guests_and_bad_bodies_are_refused() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(120)).await;
    let scim = ctl.scim_token(&org);
    let members = ctl.members(&org);
    let admin = first(&members, |m| m.role == "organization_internal_admin");
    let guest = first(&members, |m| m.role == "organization_team_guest_user");
    let external = first(&members, |m| m.role == "organization_external_user");
    let user = first(&members, |m| {
        m.role == "organization_internal_user" && m.active
    });

    let r = set_active(&c, &sb, &scim, &admin.id, false).await;
    assert_eq!(r.status, 409);
    let v = r.json();
    assert_eq!(v["status"], "409", "SCIM status is a string");
    assert!(v["detail"].as_str().unwrap().contains("admin role"));

    for hidden in [guest, external] {
        let r = scim_get(&c, &sb, &scim, &hidden.id).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["status"], "404");
        let r = set_active(&c, &sb, &scim, &hidden.id, false).await;
        assert_eq!(r.status, 404);
    }

    let bad: Vec<(&str, String)> = vec![
        ("invalidSyntax", "{not json".to_string()),
        (
            "invalidSyntax",
            json!({"Operations": [{"op": "Replace", "path": "active", "value": false}]})
                .to_string(),
        ),
        ("invalidSyntax", patch_body("Add", json!(false)).to_string()),
        (
            "invalidValue",
            patch_body("Replace", json!("no")).to_string(),
        ),
        (
            "invalidSyntax",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [ { "op": "Replace", "path": "userType", "value": "Free" } ]
            })
            .to_string(),
        ),
    ];
    for (scim_type, body) in bad {
        let r = scim_patch(&c, &sb, &scim, &user.id, body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        let v = r.json();
        assert_eq!(v["status"], "400");
        assert_eq!(v["scimType"], scim_type, "{body}");
        assert_eq!(
            v["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    assert!(ctl.scim_log().is_empty());
    assert!(
        ctl.members(&org)
            .iter()
            .all(|m| m.id != user.id || m.active)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn tokens_do_not_cross_between_scim_and_rest() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(5)).await;
    let oauth = ctl.issue_access_token(&org);
    for token in [Some(oauth.as_str()), None] {
        let r = get(&c, &format!("{}/Users", sb.scim_base_url()), token).await;
        assert_eq!(r.status, 401);
        let v = r.json();
        assert_eq!(v["status"], "401");
        assert_eq!(
            v["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    let r = get(
        &c,
        &format!("{}/v2/orgs/{org}/members", sb.base_url()),
        Some(&ctl.scim_token(&org)),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["status"], 401);
    sb.shutdown().await;
}

#[tokio::test]
async fn list_pages_filters_and_excludes_guests() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(450)).await;
    let scim = ctl.scim_token(&org);
    let members = ctl.members(&org);
    let scim_users: Vec<&SandboxMember> = members.iter().filter(|m| m.is_scim_user()).collect();

    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let url = format!("{}/Users?startIndex={start}&count=500", sb.scim_base_url());
        let v = get(&c, &url, Some(&scim)).await.json();
        let per_page = v["itemsPerPage"].as_u64().unwrap() as usize;
        assert!(per_page <= 200, "capped at maxResults");
        assert_eq!(
            v["totalResults"].as_u64().unwrap() as usize,
            scim_users.len()
        );
        assert_eq!(
            v["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        );
        seen.extend(
            v["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        start += per_page;
        if per_page == 0 || start > scim_users.len() {
            break;
        }
    }
    let want: Vec<String> = scim_users.iter().map(|m| m.id.clone()).collect();
    assert_eq!(seen, want);

    let inactive_url = format!(
        "{}/Users?{}&count=1000",
        sb.scim_base_url(),
        filter_query("active eq false")
    );
    let v = get(&c, &inactive_url, Some(&scim)).await.json();
    let inactive = scim_users.iter().filter(|m| !m.active).count();
    assert_eq!(v["totalResults"].as_u64().unwrap() as usize, inactive);

    for filter in [
        "displayName co \"a\"",
        "userName eq unquoted",
        "active eq maybe",
        "userName eq \"a\" or userName eq \"b\"",
    ] {
        let r = scim_filter(&c, &sb, &scim, filter).await;
        assert_eq!(r.status, 400, "{filter}");
        assert_eq!(r.json()["scimType"], "invalidFilter");
    }

    let v = get(
        &c,
        &format!("{}/ServiceProviderConfig", sb.scim_base_url()),
        Some(&scim),
    )
    .await
    .json();
    assert_eq!(v["filter"]["maxResults"], 200);
    assert_eq!(v["patch"]["supported"], true);
    sb.shutdown().await;
}

#[tokio::test]
async fn delete_is_counted_and_logged() {
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(30)).await;
    let scim = ctl.scim_token(&org);
    let members = ctl.members(&org);
    let victim = first(&members, |m| m.role == "organization_internal_user");
    assert_eq!(ctl.counters().get("scim_delete_user"), 0);
    let url = format!("{}/Users/{}", sb.scim_base_url(), victim.id);
    let r = reply(c.delete(&url).bearer_auth(&scim).send().await.unwrap()).await;
    assert_eq!(r.status, 204);
    assert!(ctl.members(&org).iter().all(|m| m.id != victim.id));
    assert_eq!(ctl.scim_log()[0].op, ScimOp::Delete);
    let r = reply(c.delete(&url).bearer_auth(&scim).send().await.unwrap()).await;
    assert_eq!(r.status, 404);
    assert_eq!(ctl.counters().get("scim_delete_user"), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn scim_rate_limit_is_per_endpoint_without_headers() {
    let mut config = SandboxConfig::with_members(20);
    config.scim_limits.patch_user = 2;
    let Started { c, sb, ctl, org } = start(config).await;
    let scim = ctl.scim_token(&org);
    let members = ctl.members(&org);
    let user = first(&members, |m| m.role == "organization_internal_user");
    for _ in 0..2 {
        assert_eq!(set_active(&c, &sb, &scim, &user.id, true).await.status, 200);
    }
    let r = set_active(&c, &sb, &scim, &user.id, true).await;
    assert_eq!(r.status, 429);
    let v = r.json();
    assert_eq!(v["status"], "429");
    assert_eq!(v["scimType"], "tooManyRequests");
    assert!(r.header("x-ratelimit-remaining").is_none());
    assert!(r.header("retry-after").is_none());
    let r = scim_get(&c, &sb, &scim, &user.id).await;
    assert_eq!(r.status, 200, "other endpoints keep their own budget");
    let counters = ctl.counters();
    assert_eq!(counters.rate_limited, 1);
    assert_eq!(counters.get("scim_patch_user"), 3);
    sb.shutdown().await;
}

#[tokio::test]
async fn filters_read_percent_20_as_a_space_and_plus_as_a_plus() {
    // RFC 3986, as Miro's docs write filters: `%20` is a space; `+` is only a space in HTML forms.
    let Started { c, sb, ctl, org } = start(SandboxConfig::with_members(30)).await;
    let scim = ctl.scim_token(&org);
    let target = ctl
        .members(&org)
        .into_iter()
        .find(|m| m.role == "organization_internal_user")
        .unwrap();
    let users = format!("{}/Users", sb.scim_base_url());
    let spaced = format!("filter=userName%20eq%20%22{}%22", target.email);
    let r = get(&c, &format!("{users}?{spaced}"), Some(&scim)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Resources"][0]["id"], target.id.as_str());

    let plussed = format!("filter=userName+eq+%22{}%22", target.email);
    let r = get(&c, &format!("{users}?{plussed}"), Some(&scim)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["scimType"], "invalidFilter");

    // A `+` inside an address is data: encoded as %2B it matches, raw it is still a plus.
    let tagged = target.email.replacen('@', "+tag@", 1);
    ctl.update_member(&org, &target.id, |m| m.email = tagged.clone());
    let encoded = tagged.replace('+', "%2B");
    let r = get(
        &c,
        &format!("{users}?filter=userName%20eq%20%22{encoded}%22"),
        Some(&scim),
    )
    .await;
    assert_eq!(r.json()["totalResults"], 1, "{}", r.text);
    let r = get(
        &c,
        &format!("{users}?filter=userName%20eq%20%22{tagged}%22"),
        Some(&scim),
    )
    .await;
    assert_eq!(r.json()["totalResults"], 1, "{}", r.text);
}
