//! The console's forms as the admin posts them (the plan's approve and selection forms, the policy editor), and
//! what the store then holds: the repeated steps of the page tests, on top of `common`.
#![allow(dead_code)]

use std::fmt::Display;

use miro_sam_core::jobs::{self, MemberRef, ReclaimOptions};
use miro_sam_core::ports::{OrgStore, ReactivateRequest, WorkMessage};

use crate::common::Console;

impl Console {
    /// Posts `/plans/{plan}/approve`: the whole plan.
    pub async fn approve_plan(
        &self,
        b: &reqwest::Client,
        plan: impl Display,
        csrf: &str,
    ) -> (u16, String) {
        self.post(b, &format!("/plans/{plan}/approve"), &[("csrf", csrf)])
            .await
    }

    /// Posts `/plans/{plan}/selection` with `fields` (the action, the ticked members, a reason).
    pub async fn select(
        &self,
        b: &reqwest::Client,
        plan: impl Display,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String) {
        let mut form = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        self.post(b, &format!("/plans/{plan}/selection"), &form)
            .await
    }

    /// The plan page in `b` and the candidates it lets the admin tick.
    pub async fn open_candidates(&self, b: &reqwest::Client) -> (String, Vec<String>) {
        let (status, page) = self.get(b, "/plans").await;
        assert_eq!(status, 200, "{page}");
        let open = crate::common::checkboxes(&page);
        (page, open)
    }

    /// Ticks `member` on the plan page `page` (its CSRF token) and approves it; the console takes it.
    pub async fn approve_member(
        &self,
        b: &reqwest::Client,
        plan: impl Display,
        page: &str,
        member: &str,
    ) {
        let csrf = crate::common::csrf_of(page);
        let (status, result) = self
            .select(b, plan, &csrf, &[("action", "approve"), ("member", member)])
            .await;
        assert_eq!(status, 200, "{result}");
    }

    /// Posts the member page's undo (`/members/{member}/reactivate`) with the CSRF token of `page` and the
    /// reason `why`, if any.
    pub async fn request_undo(
        &self,
        b: &reqwest::Client,
        page: &str,
        member: &str,
        why: Option<&str>,
    ) -> (u16, String) {
        let csrf = crate::common::csrf_of(page);
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(why.map(|w| ("why", w)));
        self.post(b, &format!("/members/{member}/reactivate"), &form)
            .await
    }

    /// Posts the exemptions page's add form with `fields` (kind, value, reason, expires) as an edit of `version`.
    pub async fn add_exemption(
        &self,
        b: &reqwest::Client,
        csrf: &str,
        version: u32,
        fields: &[(&str, &str)],
    ) -> (u16, String) {
        let version = version.to_string();
        let mut form = vec![("csrf", csrf), ("version", version.as_str())];
        form.extend_from_slice(fields);
        self.post(b, "/exemptions/add", &form).await
    }

    /// Posts the policy editor's `step` (`preview` or `save`) of the text `policy` as an edit of `version`.
    pub async fn post_policy(
        &self,
        b: &reqwest::Client,
        step: &str,
        csrf: &str,
        version: &str,
        policy: &str,
    ) -> (u16, String) {
        self.post(
            b,
            &format!("/policy/{step}"),
            &[("csrf", csrf), ("version", version), ("policy", policy)],
        )
        .await
    }

    /// The version of the org's stored policy (the tests' org always has one).
    pub async fn policy_version(&self) -> u32 {
        self.w
            .store
            .latest_policy(&self.w.org)
            .await
            .unwrap()
            .expect("the org has a policy")
            .version
    }

    /// The reclaim worker's part, for real against the sandbox's SCIM: every queued reclaim carried out and
    /// taken off the queue.
    pub async fn run_reclaim_worker(&self) {
        for q in self.w.store.queued_requests(10).await.unwrap() {
            let r = q.reclaim().unwrap();
            jobs::reclaim_member(
                &self.w.deps,
                r.plan_id,
                &r.member_id,
                &ReclaimOptions::default(),
            )
            .await
            .unwrap();
            self.w.store.complete_request(&q.dedup_key).await.unwrap();
        }
    }

    /// The undo requests on the queue, oldest first.
    pub async fn queued_undos(&self) -> Vec<ReactivateRequest> {
        self.w
            .store
            .queued_requests(10)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|q| match q.message {
                WorkMessage::Reactivate(r) => Some(r),
                WorkMessage::Reclaim(_) => None,
            })
            .collect()
    }

    /// The reclaim worker's part of an undo, for real against the sandbox's SCIM.
    pub async fn carry_out_undo(&self, undo: &ReactivateRequest) {
        jobs::reactivate(
            &self.w.deps,
            &undo.org_id,
            &MemberRef::Id(undo.member_id.clone()),
            &undo.requested_by,
            &undo.why,
        )
        .await
        .expect("the worker's undo");
    }
}
