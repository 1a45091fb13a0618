//! The admins' digest: what the notices mean for the org's seats ("12 seats will be reclaimed on 9 March; 4
//! kept"), counted from the notice records a page at a time, and said as one line for a chat webhook and as an
//! email.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};

use super::error::NoticeError;
use super::record::{NoticeRecord, NoticeState};
use crate::domain::{Email, MemberId, OrgId};
use crate::plan::PLAN_PAGE;
use crate::ports::{NoticeStore, OutgoingEmail};

/// The org's notices as they stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeDigest {
    /// Members told (and not yet due), by the date their seat may be reclaimed.
    pub upcoming: BTreeMap<NaiveDate, u32>,
    /// Cycles due: their reclaim waits for the approval gate.
    pub due: u32,
    /// Members whose keep still holds them.
    pub kept: u32,
    /// Keep requests waiting for an admin.
    pub keep_requests: u32,
    /// Open cycles whose member was not (certainly) told: bounced, refused, or cut off mid-send.
    pub not_delivered: u32,
}

impl NoticeDigest {
    fn add(&mut self, r: &NoticeRecord, now: DateTime<Utc>) {
        match &r.state {
            NoticeState::Notified | NoticeState::Reminded => {
                *self.upcoming.entry(r.reclaim_on).or_default() += 1;
            }
            NoticeState::Due => self.due += 1,
            NoticeState::Kept { hold_until, .. } if *hold_until > now => self.kept += 1,
            NoticeState::KeepRequested { .. } => self.keep_requests += 1,
            NoticeState::Bounced { .. } | NoticeState::Unconfirmed => self.not_delivered += 1,
            _ => {}
        }
    }

    /// Nothing to say: no member is told, due, kept or waiting.
    pub fn is_empty(&self) -> bool {
        *self == NoticeDigest::default()
    }

    /// One line for a chat webhook, e.g. "Acme: 12 seats will be reclaimed on 2026-03-09; 4 kept."
    pub fn line(&self, org_name: &str) -> String {
        let mut parts: Vec<String> = self
            .upcoming
            .iter()
            .map(|(day, n)| format!("{} will be reclaimed on {day}", seats(*n)))
            .collect();
        if self.due > 0 {
            parts.push(format!(
                "{} due now (waiting for approval)",
                seats(self.due)
            ));
        }
        if self.kept > 0 {
            parts.push(format!("{} kept", self.kept));
        }
        if self.keep_requests > 0 {
            parts.push(format!(
                "{} keep {} waiting for an admin",
                self.keep_requests,
                if self.keep_requests == 1 {
                    "request"
                } else {
                    "requests"
                }
            ));
        }
        if self.not_delivered > 0 {
            parts.push(format!(
                "{} {} not reach the member (not reclaimed without notice)",
                self.not_delivered,
                if self.not_delivered == 1 {
                    "notice did"
                } else {
                    "notices did"
                }
            ));
        }
        if parts.is_empty() {
            return format!("{org_name}: no seat is set to be reclaimed.");
        }
        format!("{org_name}: {}.", parts.join("; "))
    }

    /// The digest as an email to `to`.
    pub fn email(&self, org_name: &str, to: &Email, today: NaiveDate) -> OutgoingEmail {
        let line = self.line(org_name);
        let mut text = format!("{line}\n\n");
        let _ = writeln!(
            text,
            "Review the plan, approve or reject the due reclaims, and decide keep requests in the miro-sam \
             console. Members who keep their seat are held out of plans; nothing is reclaimed before its date."
        );
        let html = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>miro-sam digest</title></head>\
             <body style=\"font-family: sans-serif\"><p>{}</p><p>Review the plan, approve or reject the due \
             reclaims, and decide keep requests in the miro-sam console.</p></body></html>",
            escape(&line)
        );
        OutgoingEmail {
            to: to.clone(),
            subject: format!("miro-sam: {org_name} seats, {today}").replace(['\r', '\n'], " "),
            text,
            html,
            reference: format!("digest/{today}"),
        }
    }
}

fn seats(n: u32) -> String {
    if n == 1 {
        "1 seat".into()
    } else {
        format!("{n} seats")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Counts the org's notice records into a digest, a page at a time.
pub async fn notice_digest(
    notices: &dyn NoticeStore,
    org: &OrgId,
    now: DateTime<Utc>,
) -> Result<NoticeDigest, NoticeError> {
    let mut digest = NoticeDigest::default();
    for_each_notice(notices, org, |r| digest.add(r, now)).await?;
    Ok(digest)
}

/// Calls `f` with each of the org's notice records, a page at a time in member id order: what the counts read
/// grows with a page, never with the org.
pub(super) async fn for_each_notice(
    notices: &dyn NoticeStore,
    org: &OrgId,
    mut f: impl FnMut(&NoticeRecord),
) -> Result<(), NoticeError> {
    let mut after: Option<MemberId> = None;
    loop {
        let page = notices
            .list_notices_page(org, after.as_ref(), PLAN_PAGE)
            .await?;
        page.iter().for_each(&mut f);
        if page.len() < PLAN_PAGE {
            return Ok(());
        }
        after = page.last().map(|r| r.member_id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_how_many_seats_go_when_and_who_kept() {
        let d = NoticeDigest {
            upcoming: [
                (NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(), 12),
                (NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(), 1),
            ]
            .into(),
            due: 2,
            kept: 4,
            keep_requests: 1,
            not_delivered: 1,
        };
        assert_eq!(
            d.line("Acme"),
            "Acme: 12 seats will be reclaimed on 2026-03-09; 1 seat will be reclaimed on 2026-03-10; \
             2 seats due now (waiting for approval); 4 kept; 1 keep request waiting for an admin; \
             1 notice did not reach the member (not reclaimed without notice)."
        );
        assert_eq!(
            NoticeDigest::default().line("Acme"),
            "Acme: no seat is set to be reclaimed."
        );
        let mail = d.email(
            "Acme <R&D>",
            &Email::parse("it@example.com").unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        );
        assert!(mail.html.contains("Acme &lt;R&amp;D&gt;"), "{}", mail.html);
        assert!(mail.text.starts_with("Acme <R&D>: 12 seats"));
    }
}
