//! The daily notice run of one org: walks the day's plan beside the stored notice records and takes each member
//! one step ([`super::decide`]): tell new candidates, remind, mark due, end cycles of members who dropped out.
//!
//! It walks three lists in numeric member id order, a page of each at a time: the plan's candidates, its
//! exclusions (only read up to a member whose open cycle needs a drop-out reason) and the notice records. So the
//! run holds three pages, never the org, like planning does.
//!
//! Re-running a day (a redelivered message, a retry after a crash) sends nothing twice: every send is claimed
//! with a conditional write first, and every audit entry has an id derived from the cycle and the message.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;

use super::error::NoticeError;
use super::lifecycle::{MaySend, Standing, Step, decide, may_open_cycle_after, reclaim_date};
use super::message::{MessageKind, NoticeContext, render};
use super::record::{DropReason, NoticeRecord, NoticeState, Reminder, ReminderState};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, MemberId, OrgId, PlanId};
use crate::error::StoreError;
use crate::plan::{Candidate, Exclusion, PLAN_PAGE, PlanHeader};
use crate::policy::Policy;
use crate::ports::{Clock, MailError, Mailer, NoticeStore, OutgoingEmail, SubscriptionStore};
use crate::timeline::{MemberChange, MemberEvent};

/// The actor the run's audit entries name.
pub const NOTICE_ACTOR: &str = "miro-sam notices";

/// What the notice jobs need. Cheap to clone.
#[derive(Clone)]
pub struct NoticeDeps {
    pub store: Arc<dyn SubscriptionStore>,
    pub notices: Arc<dyn NoticeStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
}

/// The member's "keep my license" link, when the deployment serves the keep page; `None` until then (the
/// message then says whom to tell).
pub trait KeepLinks: Send + Sync {
    fn keep_url(&self, record: &NoticeRecord) -> Option<String>;
}

/// No keep page: messages say whom to tell instead.
pub struct NoKeepLinks;

impl KeepLinks for NoKeepLinks {
    fn keep_url(&self, _: &NoticeRecord) -> Option<String> {
        None
    }
}

/// One org's run for one day.
pub struct NoticeDay<'a> {
    pub org: &'a OrgId,
    /// The org's latest plan, made today under the current policy.
    pub plan_id: PlanId,
    pub context: &'a NoticeContext,
    pub keep_links: &'a dyn KeepLinks,
}

/// What the run did. Serialized in the download function's result (its `notices` of each org).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NoticeDaySummary {
    pub notified: u32,
    pub reminded: u32,
    pub due: u32,
    pub dropped_out: u32,
    /// Bounced, refused, or claimed and never confirmed (notices and reminders).
    pub not_delivered: u32,
    /// Not sent for a reason that passes (the server was down): a later run claims them again.
    pub send_failed: u32,
    /// Another worker changed the record first; it carries on with that member.
    pub contended: u32,
    /// Why nothing was sent today, when nothing could be (notices off, dry run, cap exceeded, paused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silenced: Option<String>,
}

/// Runs the day for the org. See the module docs.
pub async fn run_notice_day(
    deps: &NoticeDeps,
    day: &NoticeDay<'_>,
) -> Result<NoticeDaySummary, NoticeError> {
    let now = deps.clock.now();
    let today = now.date_naive();
    let (header, policy) = todays_plan(deps, day, today).await?;
    let mut summary = NoticeDaySummary {
        silenced: silenced(deps, &header, &policy).await?,
        ..Default::default()
    };
    let may_send = MaySend(summary.silenced.is_none());
    let as_of = facts_as_of(deps, &header).await?;

    let store = deps.store.clone();
    let plan = header.plan_id;
    let mut candidates = Pager::new(
        move |after: Option<MemberId>| {
            let store = store.clone();
            Box::pin(async move {
                store
                    .list_plan_candidates(plan, after.as_ref(), PLAN_PAGE)
                    .await
            }) as BoxFuture<'static, _>
        },
        |c: &Candidate| &c.member_id,
    );
    let store = deps.store.clone();
    let mut exclusions = Pager::new(
        move |after: Option<MemberId>| {
            let store = store.clone();
            Box::pin(async move {
                store
                    .list_plan_exclusions(plan, after.as_ref(), PLAN_PAGE)
                    .await
            }) as BoxFuture<'static, _>
        },
        |e: &Exclusion| &e.member_id,
    );
    let notices = deps.notices.clone();
    let org = day.org.clone();
    let mut records = Pager::new(
        move |after: Option<MemberId>| {
            let notices = notices.clone();
            let org = org.clone();
            Box::pin(async move {
                notices
                    .list_notices_page(&org, after.as_ref(), PLAN_PAGE)
                    .await
            }) as BoxFuture<'static, _>
        },
        |r: &NoticeRecord| &r.member_id,
    );

    loop {
        let next_candidate = candidates.peek_key().await?;
        let next_record = records.peek_key().await?;
        let member = match (&next_candidate, &next_record) {
            (None, None) => break,
            (Some(c), None) => c.clone(),
            (None, Some(r)) => r.clone(),
            (Some(c), Some(r)) => c.min(r).clone(),
        };
        let candidate = if next_candidate.as_ref() == Some(&member) {
            candidates.pop()
        } else {
            None
        };
        let record = if next_record.as_ref() == Some(&member) {
            records.pop()
        } else {
            None
        };
        // An exclusion matters only to end an open cycle of a member who is no longer a candidate.
        let exclusion = match (&candidate, &record) {
            (None, Some(r)) if !r.state.is_ended() => exclusions.take(&member).await?,
            _ => None,
        };
        let standing = match (&candidate, &exclusion) {
            (Some(c), _) => Standing::Candidate(c),
            (None, Some(e)) => Standing::Excluded(&e.rules),
            (None, None) => Standing::NotACandidate,
        };
        let mut step = decide(record.as_ref(), standing, &policy, today, now, may_send);
        if let (Step::Notify { .. }, Some(ended)) = (&step, &record)
            && ended.state.is_ended()
            && !may_open_cycle_after(ended, as_of)
        {
            step = Step::Nothing;
        }
        if step == Step::Nothing {
            continue;
        }
        let act = Act {
            deps,
            day,
            header: &header,
            policy: &policy,
            today,
            now,
        };
        act.take(step, record, candidate.as_ref(), &mut summary)
            .await?;
    }
    tracing::info!(org = %day.org, plan = %header.plan_id, ?summary, "notice day done");
    Ok(summary)
}

/// The plan header and current policy, refusing a plan that is not today's latest under the current policy:
/// "due" must mean "still a candidate under the current policy that day".
async fn todays_plan(
    deps: &NoticeDeps,
    day: &NoticeDay<'_>,
    today: NaiveDate,
) -> Result<(PlanHeader, Policy), NoticeError> {
    let header = deps
        .store
        .get_plan_header(day.plan_id)
        .await?
        .filter(|h| &h.org_id == day.org)
        .ok_or(NoticeError::PlanNotFound {
            plan_id: day.plan_id,
        })?;
    if let Some(latest) = deps.store.latest_plan_header(day.org).await?
        && latest.plan_id != header.plan_id
    {
        return Err(NoticeError::NotLatestPlan {
            plan_id: header.plan_id,
            latest: latest.plan_id,
        });
    }
    let planned_on = header.created_at.date_naive();
    if planned_on != today {
        return Err(NoticeError::StalePlan {
            plan_id: header.plan_id,
            planned_on,
            today,
        });
    }
    let current = deps
        .store
        .latest_policy(day.org)
        .await?
        .ok_or(NoticeError::NoPolicy)?;
    if current.version != header.policy_version {
        return Err(NoticeError::PolicyChanged {
            plan_id: header.plan_id,
            plan_version: header.policy_version,
            current: current.version,
        });
    }
    Ok((header, current.policy))
}

/// Why nothing may be sent today, if so. Drop-outs and due dates are still recorded.
/// When the facts of the day's plan were read: the plan's time, or the org's last complete download when that is
/// older (a plan is built from the stored members, which are only as new as the download).
async fn facts_as_of(deps: &NoticeDeps, header: &PlanHeader) -> Result<DateTime<Utc>, NoticeError> {
    let download = deps.store.last_download_run(&header.org_id).await?;
    Ok(download.map_or(header.created_at, |d| d.completed_at.min(header.created_at)))
}

async fn silenced(
    deps: &NoticeDeps,
    header: &PlanHeader,
    policy: &Policy,
) -> Result<Option<String>, NoticeError> {
    if !policy.notices_enabled() {
        return Ok(Some("notices are off (notice_days is 0)".into()));
    }
    if let Err(refusal) = header.check_executable(false) {
        return Ok(Some(refusal.to_string()));
    }
    if let Some(pause) = deps.store.get_pause(&header.org_id).await? {
        return Ok(Some(format!(
            "the org is paused ({}); nothing is announced while it is",
            pause.reason
        )));
    }
    Ok(None)
}

/// Carries out one step for one member.
struct Act<'a> {
    deps: &'a NoticeDeps,
    day: &'a NoticeDay<'a>,
    header: &'a PlanHeader,
    policy: &'a Policy,
    today: NaiveDate,
    now: DateTime<Utc>,
}

impl Act<'_> {
    async fn take(
        &self,
        step: Step,
        record: Option<NoticeRecord>,
        candidate: Option<&Candidate>,
        summary: &mut NoticeDaySummary,
    ) -> Result<(), NoticeError> {
        match step {
            Step::Nothing => Ok(()),
            Step::Notify { cycle } => {
                let Some(c) = candidate else {
                    return Ok(());
                };
                self.notify(record.as_ref(), c, cycle, summary).await
            }
            Step::Remind { days_before } => {
                let Some(r) = record else { return Ok(()) };
                self.remind(r, days_before, summary).await
            }
            Step::MarkDue => {
                let Some(r) = record else { return Ok(()) };
                let next = r.next(NoticeState::Due, self.now);
                if self.write(&next, r.version, summary).await? {
                    summary.due += 1;
                    let event = AuditEvent::NoticeDue {
                        member_id: r.member_id.clone(),
                        email: r.email.clone(),
                        cycle: r.cycle,
                        reclaim_on: r.reclaim_on,
                    };
                    self.audit(&r, "due", event).await?;
                }
                Ok(())
            }
            Step::MarkUnconfirmed => {
                let Some(r) = record else { return Ok(()) };
                let next = r.next(NoticeState::Unconfirmed, self.now);
                if self.write(&next, r.version, summary).await? {
                    summary.not_delivered += 1;
                    self.not_delivered(&r, "notice", "the send was claimed but never confirmed")
                        .await?;
                }
                Ok(())
            }
            Step::MarkReminderUndelivered { days_before } => {
                let Some(r) = record else { return Ok(()) };
                let detail = "the send was claimed but never confirmed".to_owned();
                let next = with_reminder(
                    &r,
                    days_before,
                    ReminderState::NotDelivered {
                        detail: detail.clone(),
                    },
                    r.state.clone(),
                    self.now,
                );
                if self.write(&next, r.version, summary).await? {
                    summary.not_delivered += 1;
                    self.not_delivered(&r, &reminder_label(days_before), &detail)
                        .await?;
                }
                Ok(())
            }
            Step::DropOut(reason) => {
                let Some(r) = record else { return Ok(()) };
                self.drop_out(r, reason, summary).await
            }
        }
    }

    async fn notify(
        &self,
        previous: Option<&NoticeRecord>,
        c: &Candidate,
        cycle: u32,
        summary: &mut NoticeDaySummary,
    ) -> Result<(), NoticeError> {
        let claim = NoticeRecord {
            org_id: self.day.org.clone(),
            member_id: c.member_id.clone(),
            email: c.email.clone(),
            cycle,
            version: previous.map_or(1, |p| p.version + 1),
            state: NoticeState::Sending { since: self.now },
            plan_id: self.header.plan_id,
            days_inactive: c.days_inactive,
            notified_on: self.today,
            reclaim_on: reclaim_date(self.policy, self.today),
            reminders: Vec::new(),
            updated_at: self.now,
        };
        // Rendered before the claim: a message that cannot be rendered must not leave a claim that would never be
        // sent (a stale claim is never sent again).
        let email = render(
            &claim,
            MessageKind::Notice,
            self.day.context,
            self.day.keep_links.keep_url(&claim).as_deref(),
        )?;
        if !self
            .claim(&claim, previous.map(|p| p.version), summary)
            .await?
        {
            return Ok(());
        }
        let sent = self.deps.mailer.send(&email).await;
        let state = match &sent {
            Ok(_) => {
                summary.notified += 1;
                self.audit(
                    &claim,
                    "sent",
                    AuditEvent::NoticeSent {
                        member_id: claim.member_id.clone(),
                        email: claim.email.clone(),
                        cycle,
                        plan_id: claim.plan_id,
                        reclaim_on: claim.reclaim_on,
                    },
                )
                .await?;
                self.timeline(
                    &claim,
                    MemberChange::Notified {
                        plan_id: claim.plan_id,
                    },
                )
                .await?;
                NoticeState::Notified
            }
            Err(MailError::Rejected { detail }) => {
                summary.not_delivered += 1;
                self.not_delivered(&claim, "notice", detail).await?;
                NoticeState::Bounced {
                    detail: detail.clone(),
                }
            }
            Err(MailError::Unknown { detail }) => {
                summary.not_delivered += 1;
                self.not_delivered(&claim, "notice", detail).await?;
                NoticeState::Unconfirmed
            }
            Err(e) => {
                summary.send_failed += 1;
                NoticeState::SendFailed {
                    error: e.to_string(),
                }
            }
        };
        self.write(&claim.next(state, self.now), claim.version, summary)
            .await?;
        stop_on_channel_failure(sent, &email)
    }

    async fn remind(
        &self,
        r: NoticeRecord,
        days_before: u32,
        summary: &mut NoticeDaySummary,
    ) -> Result<(), NoticeError> {
        let claim = with_reminder(
            &r,
            days_before,
            ReminderState::Sending { since: self.now },
            r.state.clone(),
            self.now,
        );
        let email = render(
            &claim,
            MessageKind::Reminder { days_before },
            self.day.context,
            self.day.keep_links.keep_url(&claim).as_deref(),
        )?;
        if !self.claim(&claim, Some(r.version), summary).await? {
            return Ok(());
        }
        let sent = self.deps.mailer.send(&email).await;
        let (reminder, state) = match &sent {
            Ok(_) => {
                summary.reminded += 1;
                self.audit(
                    &claim,
                    &format!("reminder-{days_before}"),
                    AuditEvent::ReminderSent {
                        member_id: claim.member_id.clone(),
                        email: claim.email.clone(),
                        cycle: claim.cycle,
                        days_before,
                        reclaim_on: claim.reclaim_on,
                    },
                )
                .await?;
                self.timeline(
                    &claim,
                    MemberChange::Reminded {
                        plan_id: claim.plan_id,
                        days_before,
                    },
                )
                .await?;
                (ReminderState::Sent { at: self.now }, NoticeState::Reminded)
            }
            Err(MailError::Rejected { detail } | MailError::Unknown { detail }) => {
                summary.not_delivered += 1;
                self.not_delivered(&claim, &reminder_label(days_before), detail)
                    .await?;
                (
                    ReminderState::NotDelivered {
                        detail: detail.clone(),
                    },
                    r.state.clone(),
                )
            }
            Err(e) => {
                summary.send_failed += 1;
                (
                    ReminderState::SendFailed {
                        error: e.to_string(),
                    },
                    r.state.clone(),
                )
            }
        };
        let done = with_reminder(&claim, days_before, reminder, state, self.now);
        self.write(&done, claim.version, summary).await?;
        stop_on_channel_failure(sent, &email)
    }

    async fn drop_out(
        &self,
        r: NoticeRecord,
        reason: DropReason,
        summary: &mut NoticeDaySummary,
    ) -> Result<(), NoticeError> {
        let next = r.next(NoticeState::DroppedOut { reason }, self.now);
        if self.write(&next, r.version, summary).await? {
            summary.dropped_out += 1;
            let event = AuditEvent::NoticeEnded {
                member_id: r.member_id.clone(),
                email: r.email.clone(),
                cycle: r.cycle,
                reason,
            };
            self.audit(&r, "ended", event).await?;
        }
        Ok(())
    }

    /// Writes a claim; `false` when another writer got there first (it carries on with the member).
    async fn claim(
        &self,
        claim: &NoticeRecord,
        expected: Option<u64>,
        summary: &mut NoticeDaySummary,
    ) -> Result<bool, NoticeError> {
        match self.deps.notices.put_notice(claim, expected).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                summary.contended += 1;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a transition expected on `expected`; `false` when the record moved on meanwhile.
    async fn write(
        &self,
        next: &NoticeRecord,
        expected: u64,
        summary: &mut NoticeDaySummary,
    ) -> Result<bool, NoticeError> {
        let won = self.claim(next, Some(expected), summary).await?;
        if !won {
            tracing::warn!(org = %next.org_id, member = %next.member_id, state = next.state.kind(),
                "notice record changed by another writer; left as that writer wrote it");
        }
        Ok(won)
    }

    async fn audit(
        &self,
        r: &NoticeRecord,
        what: &str,
        event: AuditEvent,
    ) -> Result<(), NoticeError> {
        append_once(
            self.deps.store.as_ref(),
            AuditEntry {
                id: notice_audit_id(r, what)?,
                org_id: r.org_id.clone(),
                at: self.now,
                actor: NOTICE_ACTOR.to_owned(),
                event,
            },
        )
        .await
    }

    async fn not_delivered(
        &self,
        r: &NoticeRecord,
        message: &str,
        detail: &str,
    ) -> Result<(), NoticeError> {
        let event = AuditEvent::NoticeNotDelivered {
            member_id: r.member_id.clone(),
            email: r.email.clone(),
            cycle: r.cycle,
            message: message.to_owned(),
            detail: detail.to_owned(),
        };
        self.audit(r, &format!("not-delivered/{message}"), event)
            .await
    }

    async fn timeline(&self, r: &NoticeRecord, change: MemberChange) -> Result<(), NoticeError> {
        self.deps
            .store
            .append_member_events(&[MemberEvent {
                org_id: r.org_id.clone(),
                member_id: r.member_id.clone(),
                at: self.now,
                change,
            }])
            .await?;
        Ok(())
    }
}

/// A channel that cannot send at all, or asks to slow down, ends the run: every later send would fail the same
/// way. The member's claim was released (`SendFailed`) before, so a later run sends it.
fn stop_on_channel_failure(
    sent: Result<crate::ports::SentEmail, MailError>,
    email: &OutgoingEmail,
) -> Result<(), NoticeError> {
    match sent {
        Err(e @ (MailError::Misconfigured { .. } | MailError::Throttled { .. })) => {
            tracing::warn!(reference = %email.reference, error = %e, "notice channel failed; run stopped");
            Err(NoticeError::Mail(e))
        }
        _ => Ok(()),
    }
}

/// The record with the reminder for `days_before` set to `state` (added if new) and the cycle in `cycle_state`.
fn with_reminder(
    r: &NoticeRecord,
    days_before: u32,
    state: ReminderState,
    cycle_state: NoticeState,
    now: DateTime<Utc>,
) -> NoticeRecord {
    let mut next = r.next(cycle_state, now);
    match next
        .reminders
        .iter_mut()
        .find(|x| x.days_before == days_before)
    {
        Some(x) => x.state = state,
        None => next.reminders.push(Reminder { days_before, state }),
    }
    next
}

fn reminder_label(days_before: u32) -> String {
    format!("reminder {days_before} days before")
}

/// `notice/{org}/{member}/{cycle}/{what}`: one entry per cycle and message, whatever the retries.
pub(crate) fn notice_audit_id(r: &NoticeRecord, what: &str) -> Result<AuditEntryId, NoticeError> {
    Ok(AuditEntryId::parse(&format!(
        "notice/{}/{what}",
        r.cycle_key()
    ))?)
}

/// Appends unless an entry with the same id exists (a retry that already wrote it).
pub(crate) async fn append_once(
    store: &dyn SubscriptionStore,
    entry: AuditEntry,
) -> Result<(), NoticeError> {
    match store.append_audit(&entry).await {
        Ok(()) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

type Fetch<T> =
    Box<dyn FnMut(Option<MemberId>) -> BoxFuture<'static, Result<Vec<T>, StoreError>> + Send>;

/// A list read a page at a time in member id order.
struct Pager<T> {
    fetch: Fetch<T>,
    key: fn(&T) -> &MemberId,
    buf: VecDeque<T>,
    after: Option<MemberId>,
    done: bool,
}

impl<T> Pager<T> {
    fn new(
        fetch: impl FnMut(Option<MemberId>) -> BoxFuture<'static, Result<Vec<T>, StoreError>>
        + Send
        + 'static,
        key: fn(&T) -> &MemberId,
    ) -> Self {
        Pager {
            fetch: Box::new(fetch),
            key,
            buf: VecDeque::new(),
            after: None,
            done: false,
        }
    }

    async fn peek_key(&mut self) -> Result<Option<MemberId>, StoreError> {
        if self.buf.is_empty() && !self.done {
            let page = (self.fetch)(self.after.clone()).await?;
            self.done = page.len() < PLAN_PAGE;
            if let Some(last) = page.last() {
                self.after = Some((self.key)(last).clone());
            }
            self.buf.extend(page);
        }
        Ok(self.buf.front().map(|t| (self.key)(t).clone()))
    }

    fn pop(&mut self) -> Option<T> {
        self.buf.pop_front()
    }

    /// The item of `member`, skipping those before it; `None` if the list has none.
    async fn take(&mut self, member: &MemberId) -> Result<Option<T>, StoreError> {
        while let Some(k) = self.peek_key().await? {
            match k.cmp(member) {
                std::cmp::Ordering::Less => {
                    self.pop();
                }
                std::cmp::Ordering::Equal => return Ok(self.pop()),
                std::cmp::Ordering::Greater => return Ok(None),
            }
        }
        Ok(None)
    }
}
