//! Controls that make SCIM and REST disagree, and admin actions taken outside SCIM.

mod common;

use common::{Reply, Started, get, scim_filter, scim_get, set_active, start};
use miro_sandbox::{EmptyActivity, Sandbox, SandboxConfig, SandboxMember, ScimOp, ScimRoles};
use serde_json::Value;

struct World {
    c: reqwest::Client,
    sb: Sandbox,
    org: String,
    scim: String,
    rest: String,
}

async fn world() -> World {
    let Started { c, sb, ctl, org } = start(SandboxConfig::unlimited(60)).await;
    World {
        c,
        scim: ctl.scim_token(&org),
        rest: ctl.issue_access_token(&org),
        org,
        sb,
    }
}

impl World {
    /// An active plain member with no admin roles and a known last activity.
    fn plain_member(&self) -> SandboxMember {
        self.sb
            .control()
            .members(&self.org)
            .into_iter()
            .find(|m| {
                m.role == "organization_internal_user"
                    && m.active
                    && m.admin_roles.is_empty()
                    && m.last_activity_at.is_some()
            })
            .expect("generated org has a plain member")
    }

    /// The first `n` members `pick` picks.
    fn members_where(&self, n: usize, pick: impl Fn(&SandboxMember) -> bool) -> Vec<SandboxMember> {
        let picked: Vec<SandboxMember> = self
            .sb
            .control()
            .members(&self.org)
            .into_iter()
            .filter(|m| pick(m))
            .take(n)
            .collect();
        assert_eq!(
            picked.len(),
            n,
            "the generated org has too few such members"
        );
        picked
    }

    async fn scim_get(&self, id: &str) -> Reply {
        scim_get(&self.c, &self.sb, &self.scim, id).await
    }

    async fn scim_filter(&self, filter: &str) -> Value {
        let r = scim_filter(&self.c, &self.sb, &self.scim, filter).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }

    async fn rest_member(&self, id: &str) -> Value {
        let url = format!("{}/v2/orgs/{}/members/{id}", self.sb.base_url(), self.org);
        let r = get(&self.c, &url, Some(&self.rest)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }

    async fn deactivate(&self, id: &str) -> Reply {
        set_active(&self.c, &self.sb, &self.scim, id, false).await
    }
}

#[tokio::test]
async fn a_member_can_have_a_scim_id_different_from_its_member_id() {
    let w = world().await;
    let ctl = w.sb.control();
    let m = w.plain_member();
    let scim_id = "3074457399999999999";
    assert!(ctl.set_scim_id(&w.org, &m.id, scim_id));
    assert_eq!(ctl.scim_id_of(&w.org, &m.id).as_deref(), Some(scim_id));

    let list = w.scim_filter(&format!("userName eq \"{}\"", m.email)).await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["id"], scim_id);
    assert_eq!(w.scim_get(scim_id).await.status, 200);
    assert_eq!(
        w.scim_get(&m.id).await.status,
        404,
        "the member id no longer names a SCIM user"
    );
    // REST still shows the member under its own id.
    assert_eq!(w.rest_member(&m.id).await["id"], m.id.as_str());

    let r = w.deactivate(scim_id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(w.rest_member(&m.id).await["active"], false);
    assert_eq!(ctl.scim_log()[0].user_id, scim_id);
    assert!(!ctl.set_scim_id(&w.org, "1", "2"), "unknown member");
}

#[tokio::test]
async fn scim_roles_can_say_admin_while_rest_shows_a_plain_user() {
    let w = world().await;
    let ctl = w.sb.control();
    let plain = w.members_where(2, |m| {
        m.role == "organization_internal_user" && m.active && m.admin_roles.is_empty()
    });
    let (company_admin, content_admin) = (&plain[0], &plain[1]);
    assert!(ctl.set_scim_roles(&w.org, &company_admin.id, ScimRoles::company_admin()));
    assert!(ctl.set_scim_roles(
        &w.org,
        &content_admin.id,
        ScimRoles::member_with_admin_role("Content Admin")
    ));

    let a = w.scim_get(&company_admin.id).await.json();
    assert_eq!(a["roles"][0]["type"], "organization_user_role");
    assert_eq!(a["roles"][0]["value"], "ORGANIZATION_INTERNAL_ADMIN");
    let b = w.scim_get(&content_admin.id).await.json();
    assert_eq!(b["roles"][0]["value"], "ORGANIZATION_INTERNAL_USER");
    assert_eq!(b["roles"][1]["type"], "organization_admin_role");
    assert_eq!(b["roles"][1]["value"], "Content Admin");

    for m in [company_admin, content_admin] {
        let rest = w.rest_member(&m.id).await;
        assert_eq!(rest["role"], "organization_internal_user");
        assert!(rest.get("adminRoles").is_none(), "{rest}");
    }
    // SCIM's own admin rule follows SCIM's roles.
    assert_eq!(w.deactivate(&company_admin.id).await.status, 409);
    assert!(ctl.scim_log().is_empty());
}

#[tokio::test]
async fn a_members_last_activity_can_be_made_absent_or_empty() {
    let w = world().await;
    let ctl = w.sb.control();
    let active = w.members_where(3, |m| m.last_activity_at.is_some());
    let forms = [
        EmptyActivity::Absent,
        EmptyActivity::EmptyString,
        EmptyActivity::Null,
    ];
    for (m, form) in active.iter().zip(forms) {
        assert!(ctl.set_last_activity_empty(&w.org, &m.id, form));
    }
    let absent = w.rest_member(&active[0].id).await;
    assert!(absent.get("lastActivityAt").is_none(), "{absent}");
    assert_eq!(w.rest_member(&active[1].id).await["lastActivityAt"], "");
    let null = w.rest_member(&active[2].id).await;
    assert!(
        null.get("lastActivityAt").is_some_and(Value::is_null),
        "{null}"
    );
    assert!(
        ctl.members(&w.org)
            .iter()
            .filter(|m| active.iter().any(|a| a.id == m.id))
            .all(|m| m.last_activity_at.is_none())
    );
}

#[tokio::test]
async fn a_scim_only_kelvin_twin_is_listed_by_scim_and_unknown_to_rest() {
    let w = world().await;
    let ctl = w.sb.control();
    let m = ctl
        .members(&w.org)
        .into_iter()
        .find(|m| m.role == "organization_internal_user" && m.email.contains('k'))
        .expect("a member whose address has a k");
    let twin_email = m.email.replacen('k', "\u{212A}", 1);
    assert_ne!(twin_email, m.email);
    assert_eq!(twin_email.to_lowercase(), m.email.to_lowercase());
    let twin = SandboxMember {
        id: "3074457300000000001".to_string(),
        email: twin_email.clone(),
        ..m.clone()
    };
    assert!(ctl.add_scim_only_user(&w.org, twin));
    assert_eq!(ctl.scim_only_users(&w.org).len(), 1);

    // Asking for the member's address answers both: the client must pick by exact (ASCII-folded) userName.
    let list = w.scim_filter(&format!("userName eq \"{}\"", m.email)).await;
    assert_eq!(list["totalResults"], 2, "{list}");
    assert_eq!(list["Resources"][0]["id"], "3074457300000000001");
    assert_eq!(list["Resources"][0]["userName"], twin_email.as_str());
    assert_eq!(list["Resources"][1]["id"], m.id.as_str());

    let url = format!(
        "{}/v2/orgs/{}/members/3074457300000000001",
        w.sb.base_url(),
        w.org
    );
    assert_eq!(get(&w.c, &url, Some(&w.rest)).await.status, 404);
    let r = w.deactivate("3074457300000000001").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!ctl.scim_only_users(&w.org)[0].active);
    assert!(ctl.members(&w.org).iter().any(|x| x.id == m.id && x.active));
}

#[tokio::test]
async fn an_admin_can_reactivate_outside_scim_without_a_log_entry() {
    let w = world().await;
    let ctl = w.sb.control();
    let m = w.plain_member();
    assert_eq!(w.deactivate(&m.id).await.status, 200);
    assert_eq!(ctl.scim_log().len(), 1);
    assert_eq!(ctl.scim_log()[0].op, ScimOp::Deactivate);

    assert!(ctl.admin_set_active(&w.org, &m.id, true));
    assert_eq!(w.rest_member(&m.id).await["active"], true);
    assert_eq!(w.scim_get(&m.id).await.json()["active"], true);
    assert_eq!(
        ctl.scim_log().len(),
        1,
        "an admin's change is not a SCIM write"
    );

    // By SCIM id for a member whose SCIM id differs, and for a SCIM-only user.
    assert!(ctl.set_scim_id(&w.org, &m.id, "3074457311111111111"));
    assert!(ctl.admin_set_active(&w.org, "3074457311111111111", false));
    assert_eq!(w.rest_member(&m.id).await["active"], false);
    assert!(!ctl.admin_set_active(&w.org, "42", true), "unknown user");
}
