//! The "keep my license" link of a notice: `{public url}{console base}/keep/{token}`.
//!
//! Token (k1): `k1.{org}.{member}.{cycle}.{expires_unix}.{hex hmac-sha256(key, "keep.k1.{org}.{member}.{cycle}.{expires_unix}")}`,
//! URL-safe as is (ids are digits, the rest hex and digits). What it binds and why:
//! - org, member and cycle: the link keeps exactly the seat of the notice it came in, and only in that notice's
//!   cycle. A later cycle (the member was reclaimed, or dropped out and became a candidate again) needs a new
//!   notice, so an old email can never keep a seat in a cycle it was not sent for.
//! - expiry: the end of the reclaim date (midnight UTC after it). The email says "on DATE"; the link works
//!   through that day, or until the seat is actually freed, whichever comes first.
//! - single use: the cycle is the use. The first POST ends the cycle as kept (or asks an admin); any later POST
//!   answers what the first one did and changes nothing (`miro_sam_core::notices::keep_seat`), so no nonce store
//!   is needed.
//!
//! The MAC body starts with `keep.` so a keep token can never pass for another kind of signed link made with the
//! same key. Only the console verifies; the notice run mints ([`SignedKeepLinks`]).

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use hmac::{Hmac, Mac};
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::notices::{KeepLinks, NoticeRecord};
use secrecy::SecretString;
use sha2::Sha256;

use crate::sign::keyed_mac;

const VERSION: &str = "k1";
/// Domain separation of the MAC (see the module docs).
const PURPOSE: &str = "keep";
/// The route the console serves the keep page at, under its base path.
pub const KEEP_PATH: &str = "/keep";

/// Why a keep link does not work. Each message tells the member what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeepLinkError {
    #[error(
        "this link is damaged: open it again from the email, or copy the whole address; if it still fails, reply \
         to the email or ask your Miro administrator"
    )]
    Malformed,
    #[error(
        "this link was not issued by this organisation's license tool: open it again from the email, or ask your \
         Miro administrator"
    )]
    Forged,
    #[error(
        "this link expired at {expired_at}: the date to keep your license has passed; ask your Miro administrator \
         if you still need it"
    )]
    Expired { expired_at: DateTime<Utc> },
}

/// What a good keep link is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepTarget {
    pub org: OrgId,
    pub member: MemberId,
    pub cycle: u32,
    pub expires_at: DateTime<Utc>,
}

/// When a keep link for a cycle with this reclaim date stops working: midnight UTC after the reclaim date.
pub fn expiry_for(reclaim_on: NaiveDate) -> DateTime<Utc> {
    let next = reclaim_on
        .checked_add_days(Days::new(1))
        .unwrap_or(reclaim_on);
    Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The token of the record's cycle (see the module docs for what it binds).
pub fn issue_keep_token(key: &SecretString, record: &NoticeRecord) -> String {
    let body = format!(
        "{VERSION}.{}.{}.{}.{}",
        record.org_id,
        record.member_id,
        record.cycle,
        expiry_for(record.reclaim_on).timestamp()
    );
    format!(
        "{body}.{}",
        hex::encode(mac(key, &body).finalize().into_bytes())
    )
}

/// Checks the token's form, signature (in constant time) and expiry. Whether the cycle can still be kept is the
/// notice record's to say.
pub fn verify_keep_token(
    key: &SecretString,
    token: &str,
    now: DateTime<Utc>,
) -> Result<KeepTarget, KeepLinkError> {
    let (body, sig) = token
        .trim()
        .rsplit_once('.')
        .ok_or(KeepLinkError::Malformed)?;
    let mut parts = body.split('.');
    let (Some(VERSION), Some(org), Some(member), Some(cycle), Some(exp), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(KeepLinkError::Malformed);
    };
    let org = OrgId::parse(org).map_err(|_| KeepLinkError::Malformed)?;
    let member = MemberId::parse(member).map_err(|_| KeepLinkError::Malformed)?;
    let cycle: u32 = cycle.parse().map_err(|_| KeepLinkError::Malformed)?;
    let exp: i64 = exp.parse().map_err(|_| KeepLinkError::Malformed)?;
    let sig = hex::decode(sig).map_err(|_| KeepLinkError::Malformed)?;
    mac(key, body)
        .verify_slice(&sig)
        .map_err(|_| KeepLinkError::Forged)?;
    let expires_at = Utc
        .timestamp_opt(exp, 0)
        .single()
        .ok_or(KeepLinkError::Malformed)?;
    if now >= expires_at {
        return Err(KeepLinkError::Expired {
            expired_at: expires_at,
        });
    }
    Ok(KeepTarget {
        org,
        member,
        cycle,
        expires_at,
    })
}

fn mac(key: &SecretString, body: &str) -> Hmac<Sha256> {
    let mut m = keyed_mac(key);
    m.update(PURPOSE.as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    m
}

/// The notice run's [`KeepLinks`]: a signed link to the console's keep page for each cycle.
pub struct SignedKeepLinks {
    key: SecretString,
    /// `{public url}{console base}`, no trailing slash.
    console_url: String,
}

impl SignedKeepLinks {
    /// `console_url` is where members reach the console (e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`,
    /// or `http://127.0.0.1:8080/console`); the keep page is at `{console_url}/keep/{token}`.
    pub fn new(key: SecretString, console_url: &str) -> Self {
        SignedKeepLinks {
            key,
            console_url: console_url.trim_end_matches('/').to_owned(),
        }
    }
}

impl std::fmt::Debug for SignedKeepLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedKeepLinks")
            .field("console_url", &self.console_url)
            .finish_non_exhaustive()
    }
}

impl KeepLinks for SignedKeepLinks {
    fn keep_url(&self, record: &NoticeRecord) -> Option<String> {
        Some(format!(
            "{}{KEEP_PATH}/{}",
            self.console_url,
            issue_keep_token(&self.key, record)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use miro_sam_core::domain::{Email, PlanId};
    use miro_sam_core::notices::NoticeState;

    fn key(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn record(cycle: u32, reclaim_on: NaiveDate) -> NoticeRecord {
        NoticeRecord {
            org_id: OrgId::parse("3074457345821140934").unwrap(),
            member_id: MemberId::parse("3458764517517819001").unwrap(),
            email: Email::parse("ann@example.com").unwrap(),
            cycle,
            version: 2,
            state: NoticeState::Notified,
            plan_id: PlanId::new(),
            days_inactive: 120,
            notified_on: reclaim_on - Duration::days(7),
            reclaim_on,
            reminders: vec![],
            updated_at: Utc::now(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_token_carries_its_cycle_and_works_through_the_reclaim_date() {
        let r = record(3, day("2026-12-10"));
        let t = issue_keep_token(&key("k"), &r);
        let on_the_day = Utc.with_ymd_and_hms(2026, 12, 10, 23, 59, 59).unwrap();
        let got = verify_keep_token(&key("k"), &t, on_the_day).expect("valid on the reclaim date");
        assert_eq!(
            (got.org, got.member, got.cycle),
            (r.org_id.clone(), r.member_id.clone(), 3)
        );
        let after = Utc.with_ymd_and_hms(2026, 12, 11, 0, 0, 0).unwrap();
        assert_eq!(
            verify_keep_token(&key("k"), &t, after),
            Err(KeepLinkError::Expired { expired_at: after })
        );
    }

    #[test]
    fn another_key_or_any_changed_field_is_refused() {
        let r = record(1, day("2026-12-10"));
        let t = issue_keep_token(&key("k"), &r);
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap();
        assert_eq!(
            verify_keep_token(&key("other"), &t, now),
            Err(KeepLinkError::Forged)
        );
        // Another member, another cycle or a later expiry under the same signature.
        let parts: Vec<&str> = t.split('.').collect();
        for (i, v) in [(2, "3458764517517819002"), (3, "2"), (4, "1999999999")] {
            let mut p = parts.clone();
            p[i] = v;
            assert_eq!(
                verify_keep_token(&key("k"), &p.join("."), now),
                Err(KeepLinkError::Forged),
                "field {i} changed"
            );
        }
        for bad in ["", "k1", "k1.a.b.c.d.e", "v2.1.2.3.4.ab", &format!("{t}.x")] {
            assert_eq!(
                verify_keep_token(&key("k"), bad, now),
                Err(KeepLinkError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_link_is_the_console_keep_route_and_debug_hides_the_key() {
        let links = SignedKeepLinks::new(key("s3cret-key"), "http://127.0.0.1:8080/console/");
        let r = record(1, day("2026-12-10"));
        let url = links.keep_url(&r).unwrap();
        let token = url
            .strip_prefix("http://127.0.0.1:8080/console/keep/")
            .expect(&url);
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap();
        assert_eq!(
            verify_keep_token(&key("s3cret-key"), token, now)
                .unwrap()
                .cycle,
            1
        );
        assert!(!format!("{links:?}").contains("s3cret"));
    }
}
