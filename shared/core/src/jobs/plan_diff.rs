//! What changed between two plans of an org: who is a candidate now and was not, and who no longer is. Both
//! plans are read a page at a time in member id order and merged, so memory holds `limit` candidates of each
//! side, whatever the plans' sizes. Only the plans are read, so any [`PlanStore`] will do.

use super::JobError;
use crate::domain::PlanId;
use crate::plan::{Candidate, PLAN_PAGE};
use crate::ports::PlanStore;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanDiff {
    /// Candidates of the current plan that the previous one did not have (the first `limit`, by member id).
    pub added: Vec<Candidate>,
    /// Candidates of the previous plan that the current one no longer has (the first `limit`, by member id).
    pub removed: Vec<Candidate>,
    pub added_count: u32,
    pub removed_count: u32,
}

/// Compares the candidates of `current` with those of `previous`.
pub async fn plan_diff(
    store: &dyn PlanStore,
    current: PlanId,
    previous: PlanId,
    limit: usize,
) -> Result<PlanDiff, JobError> {
    for p in [current, previous] {
        if store.get_plan_header(p).await?.is_none() {
            return Err(JobError::PlanNotFound { plan_id: p });
        }
    }
    let mut diff = PlanDiff::default();
    let mut cur = CandidatePages::new(current);
    let mut prev = CandidatePages::new(previous);
    loop {
        let (a, b) = (cur.peek(store).await?, prev.peek(store).await?);
        match (a, b) {
            (None, None) => break,
            (Some(a), None) => {
                push(&mut diff.added, &mut diff.added_count, a, limit);
                cur.advance();
            }
            (None, Some(b)) => {
                push(&mut diff.removed, &mut diff.removed_count, b, limit);
                prev.advance();
            }
            (Some(a), Some(b)) => match a.member_id.cmp(&b.member_id) {
                std::cmp::Ordering::Less => {
                    push(&mut diff.added, &mut diff.added_count, a, limit);
                    cur.advance();
                }
                std::cmp::Ordering::Greater => {
                    push(&mut diff.removed, &mut diff.removed_count, b, limit);
                    prev.advance();
                }
                std::cmp::Ordering::Equal => {
                    cur.advance();
                    prev.advance();
                }
            },
        }
    }
    Ok(diff)
}

fn push(list: &mut Vec<Candidate>, count: &mut u32, c: Candidate, limit: usize) {
    *count += 1;
    if list.len() < limit {
        list.push(c);
    }
}

/// One plan's candidates as a cursor in member id order: a page in memory, the next read when it runs out.
pub(super) struct CandidatePages {
    plan: PlanId,
    page: std::collections::VecDeque<Candidate>,
    after: Option<crate::domain::MemberId>,
    exhausted: bool,
}

impl CandidatePages {
    pub(super) fn new(plan: PlanId) -> Self {
        CandidatePages {
            plan,
            page: Default::default(),
            after: None,
            exhausted: false,
        }
    }

    async fn peek(&mut self, store: &dyn PlanStore) -> Result<Option<Candidate>, JobError> {
        if self.page.is_empty() && !self.exhausted {
            let page = store
                .list_plan_candidates(self.plan, self.after.as_ref(), PLAN_PAGE)
                .await?;
            self.exhausted = page.len() < PLAN_PAGE;
            self.after = page.last().map(|c| c.member_id.clone());
            self.page = page.into();
        }
        Ok(self.page.front().cloned())
    }

    fn advance(&mut self) {
        self.page.pop_front();
    }

    /// Whether the plan has `member` as a candidate. Calls must come in ascending member order: the cursor moves
    /// past everything below `member`.
    pub(super) async fn contains(
        &mut self,
        store: &dyn PlanStore,
        member: &crate::domain::MemberId,
    ) -> Result<bool, JobError> {
        while let Some(c) = self.peek(store).await? {
            match c.member_id.cmp(member) {
                std::cmp::Ordering::Less => self.advance(),
                std::cmp::Ordering::Equal => return Ok(true),
                std::cmp::Ordering::Greater => return Ok(false),
            }
        }
        Ok(false)
    }
}
