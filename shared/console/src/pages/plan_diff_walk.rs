//! "What changed since the previous plan", counted while the plan page streams the latest plan for its list.
//! The previous plan is read a page at a time in step with it (both in member id order), so a view reads the
//! latest plan once instead of twice (once for the list, once more in `jobs::plan_diff`): on DynamoDB a third
//! fewer reads for a plan of 10 000 candidates. Same answer as `jobs::plan_diff`.

use std::cmp::Ordering;
use std::collections::VecDeque;

use miro_sam_core::domain::{MemberId, PlanId};
use miro_sam_core::jobs::PlanDiff;
use miro_sam_core::plan::{Candidate, PLAN_PAGE};
use miro_sam_core::ports::SubscriptionStore;

pub(crate) struct DiffWalk {
    previous: PlanId,
    page: VecDeque<Candidate>,
    after: Option<MemberId>,
    exhausted: bool,
    limit: usize,
    diff: PlanDiff,
    /// Set when a read of the previous plan failed: the page shows it instead of a diff.
    problem: Option<String>,
}

impl DiffWalk {
    pub(crate) fn new(previous: PlanId, limit: usize) -> Self {
        DiffWalk {
            previous,
            page: VecDeque::new(),
            after: None,
            exhausted: false,
            limit,
            diff: PlanDiff::default(),
            problem: None,
        }
    }

    /// The previous plan's next candidate, reading its next page when the one in memory ran out.
    async fn front(&mut self, store: &dyn SubscriptionStore) -> Option<&Candidate> {
        if self.page.is_empty() && !self.exhausted && self.problem.is_none() {
            match store
                .list_plan_candidates(self.previous, self.after.as_ref(), PLAN_PAGE)
                .await
            {
                Ok(page) => {
                    self.exhausted = page.len() < PLAN_PAGE;
                    self.after = page.last().map(|c| c.member_id.clone());
                    self.page = page.into();
                }
                Err(e) => self.problem = Some(e.to_string()),
            }
        }
        self.page.front()
    }

    fn removed(&mut self) {
        if let Some(c) = self.page.pop_front() {
            self.diff.removed_count += 1;
            if self.diff.removed.len() < self.limit {
                self.diff.removed.push(c);
            }
        }
    }

    /// The latest plan's next candidate; calls must come in member id order, one for every candidate.
    pub(crate) async fn current(&mut self, store: &dyn SubscriptionStore, c: &Candidate) {
        loop {
            match self
                .front(store)
                .await
                .map(|p| p.member_id.cmp(&c.member_id))
            {
                Some(Ordering::Less) => self.removed(),
                Some(Ordering::Equal) => {
                    self.page.pop_front();
                    return;
                }
                Some(Ordering::Greater) | None => break,
            }
        }
        self.diff.added_count += 1;
        if self.diff.added.len() < self.limit {
            self.diff.added.push(c.clone());
        }
    }

    /// After the latest plan's last candidate: the rest of the previous plan is no longer a candidate.
    pub(crate) async fn finish(
        mut self,
        store: &dyn SubscriptionStore,
    ) -> Result<PlanDiff, String> {
        while self.front(store).await.is_some() {
            self.removed();
        }
        match self.problem {
            Some(p) => Err(p),
            None => Ok(self.diff),
        }
    }
}
