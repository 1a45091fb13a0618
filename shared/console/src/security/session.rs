//! The session cookie: who signed in (Miro user id, email), for which org, until when, signed with
//! HMAC-SHA256 under the console's key.
//!
//! Why a signed cookie and no server-side session table: the console runs as a Lambda (no memory between
//! invocations) and as `miro-sam serve` (one process); a signed value needs nothing stored, and an 8-hour expiry
//! inside the signed payload bounds a stolen cookie. The payload holds no secret (ids and an email), so it is
//! signed, not encrypted. Format: `v1.<base64url JSON>.<base64url MAC>`; the MAC covers the version and payload.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use miro_sam_core::domain::OrgId;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How long a session lasts from sign-in.
pub const SESSION_LENGTH: Duration = Duration::hours(8);

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "miro_sam_console";

const VERSION: &str = "v1";
/// Domain separation: the same key signs sessions and derives CSRF tokens, never interchangeably.
const SESSION_CONTEXT: &[u8] = b"miro-sam console session\0";
const CSRF_CONTEXT: &[u8] = b"miro-sam console csrf\0";

type HmacSha256 = Hmac<Sha256>;

/// The keyed MACs, built once from the configured key.
pub(crate) struct SessionKeys {
    mac: HmacSha256,
}

impl SessionKeys {
    pub fn new(key: &SecretBox<[u8; 32]>) -> Self {
        let mac =
            HmacSha256::new_from_slice(key.expose_secret()).expect("HMAC takes any key length");
        SessionKeys { mac }
    }

    fn tag(&self, context: &[u8], data: &[u8]) -> HmacSha256 {
        let mut m = self.mac.clone();
        m.update(context);
        m.update(data);
        m
    }

    /// The cookie value for `session`.
    pub fn seal(&self, session: &Session) -> String {
        let payload = B64.encode(serde_json::to_vec(session).expect("a session serializes"));
        let signed = format!("{VERSION}.{payload}");
        let mac = self
            .tag(SESSION_CONTEXT, signed.as_bytes())
            .finalize()
            .into_bytes();
        format!("{signed}.{}", B64.encode(mac))
    }

    /// The session a cookie value carries, if its signature is ours and it has not expired at `now`.
    pub fn open(&self, value: &str, now: DateTime<Utc>) -> Result<Session, SessionError> {
        let (signed, mac) = value.rsplit_once('.').ok_or(SessionError::Invalid)?;
        let mac = B64.decode(mac).map_err(|_| SessionError::Invalid)?;
        // Constant-time comparison: a timing difference must not reveal how much of a forged MAC was right.
        self.tag(SESSION_CONTEXT, signed.as_bytes())
            .verify_slice(&mac)
            .map_err(|_| SessionError::Invalid)?;
        let payload = signed
            .strip_prefix(VERSION)
            .and_then(|p| p.strip_prefix('.'))
            .ok_or(SessionError::Invalid)?;
        let json = B64.decode(payload).map_err(|_| SessionError::Invalid)?;
        let session: Session = serde_json::from_slice(&json).map_err(|_| SessionError::Invalid)?;
        if now >= session.expires_at {
            return Err(SessionError::Expired {
                at: session.expires_at,
            });
        }
        Ok(session)
    }

    /// The CSRF token of a session: an HMAC of its random id, so it is bound to that session and to this key.
    pub fn csrf_token(&self, session: &Session) -> String {
        B64.encode(
            self.tag(CSRF_CONTEXT, session.sid.as_bytes())
                .finalize()
                .into_bytes(),
        )
    }

    /// Whether `token` is the CSRF token of `session` (constant time).
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        match B64.decode(token.trim()) {
            Ok(t) => self
                .tag(CSRF_CONTEXT, session.sid.as_bytes())
                .verify_slice(&t)
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// Who is signed in. Everything a page needs to know about the admin; nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Random per sign-in: what the CSRF token is derived from.
    pub sid: String,
    /// The Miro user id (`"local"` for a one-time login link).
    pub user_id: String,
    pub email: String,
    /// The org this session may see and change; the only one.
    pub org: OrgId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    pub fn new(user_id: String, email: String, org: OrgId, now: DateTime<Utc>) -> Self {
        Session {
            sid: crate::security::cookies::random_token(),
            user_id,
            email,
            org,
            issued_at: now,
            expires_at: now + SESSION_LENGTH,
        }
    }

    /// How the admin appears in the audit log.
    pub fn actor(&self) -> String {
        if self.user_id == "local" {
            format!("{} (console, local login)", self.email)
        } else {
            format!("{} (console, Miro user {})", self.email, self.user_id)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// No session cookie.
    Missing,
    /// Not a cookie we signed: changed, truncated, or signed with another key.
    Invalid,
    Expired {
        at: DateTime<Utc>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(b: u8) -> SessionKeys {
        SessionKeys::new(&SecretBox::new(Box::new([b; 32])))
    }

    fn session(now: DateTime<Utc>) -> Session {
        Session::new(
            "3458764517517852417".into(),
            "admin@example.com".into(),
            OrgId::parse("3074457345821141000").unwrap(),
            now,
        )
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires() {
        let now = Utc::now();
        let k = keys(1);
        let s = session(now);
        let v = k.seal(&s);
        assert_eq!(k.open(&v, now).unwrap(), s);
        assert_eq!(
            k.open(&v, now + SESSION_LENGTH),
            Err(SessionError::Expired { at: s.expires_at })
        );
    }

    #[test]
    fn tampered_and_foreign_cookies_are_refused() {
        let now = Utc::now();
        let (k, other) = (keys(1), keys(2));
        let v = k.seal(&session(now));
        assert_eq!(other.open(&v, now), Err(SessionError::Invalid));
        // Change the org inside the payload and keep the MAC.
        let (signed, mac) = v.rsplit_once('.').unwrap();
        let payload = signed.strip_prefix("v1.").unwrap();
        let json = String::from_utf8(B64.decode(payload).unwrap()).unwrap();
        let forged = json.replace("3074457345821141000", "3074457345821141001");
        let forged = format!("v1.{}.{mac}", B64.encode(forged));
        assert_eq!(k.open(&forged, now), Err(SessionError::Invalid));
        for junk in ["", "v1", "v1..", "a.b.c", "v1.e30.AAAA"] {
            assert_eq!(k.open(junk, now), Err(SessionError::Invalid), "{junk:?}");
        }
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session_and_key() {
        let now = Utc::now();
        let (k, other) = (keys(1), keys(2));
        let (a, b) = (session(now), session(now));
        let t = k.csrf_token(&a);
        assert!(k.csrf_ok(&a, &t));
        assert!(!k.csrf_ok(&b, &t), "another session's token");
        assert!(!other.csrf_ok(&a, &t), "another key");
        assert!(!k.csrf_ok(&a, ""));
        assert!(!k.csrf_ok(&a, "not base64!"));
    }
}
