//! Signed, expiring, single-use connect links: the deployment's `/oauth/start` is not an open door. An operator
//! creates a link (`miro-sam aws connect-link [--org ORG]`) with the key kept in Secrets Manager; `/oauth/start`
//! refuses a missing, forged, expired or outdated one, and then consumes its nonce so it works once (the store
//! side is `miro_sam_aws::OAuthStateStore::use_link`).
//!
//! Format (v2): `v2.{expires_unix}.{nonce}.{org}.{hex hmac-sha256(key, "v2.{expires_unix}.{nonce}.{org}")}`, URL-safe
//! as is. `nonce` is 128 random bits in hex (the single-use key); `org` is the Miro org id the link may connect, or
//! `any` for an unbound link (the deployment's allow-list still applies).
//!
//! v1 links (`v1.{expires}.{nonce}.{sig}`, before links were single use and could name an org) are refused with
//! [`LinkError::Outdated`]: they were valid for at most seven days, so refusing them costs at most a new link,
//! while accepting them would keep a reusable link working after the upgrade.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use miro_sam_core::domain::OrgId;
use rand::Rng;
use secrecy::SecretString;
use sha2::Sha256;

use crate::sign::keyed_mac;

const VERSION: &str = "v2";
const OLD_VERSION: &str = "v1";
/// What the org field says when the link is not bound to an org.
const ANY_ORG: &str = "any";
const NONCE_HEX_LEN: usize = 32;

/// How long a link works unless the operator says otherwise: long enough to reach an admin in another time zone.
pub const DEFAULT_VALIDITY: Duration = Duration::hours(24);
/// The longest validity `miro-sam aws connect-link` issues.
pub const MAX_VALIDITY: Duration = Duration::days(7);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error(
        "this address needs a connect link; ask the operator for one (`miro-sam aws connect-link`)"
    )]
    Missing,
    #[error(
        "this connect link is damaged; copy the whole link again or ask the operator for a new one"
    )]
    Malformed,
    #[error("this connect link was not issued by this deployment; ask the operator for a new one")]
    Forged,
    #[error("this connect link expired at {expired_at}; ask the operator for a new one")]
    Expired { expired_at: DateTime<Utc> },
    #[error(
        "this connect link was made by an older version of miro-sam, before links became single-use; ask the \
         operator for a new one"
    )]
    Outdated,
}

/// What a good link carries.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedLink {
    /// Single-use key of the link; consumed at `/oauth/start`. Not secret on its own (the signature is what
    /// makes a link), but kept out of `Debug` and logs all the same.
    nonce: String,
    pub expires_at: DateTime<Utc>,
    /// The only org this link may connect; `None`: any org the allow-list accepts.
    pub org: Option<OrgId>,
}

impl VerifiedLink {
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
}

impl std::fmt::Debug for VerifiedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedLink")
            .field("expires_at", &self.expires_at)
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

/// Creates a link for any org, valid for `valid_for` from `now`.
pub fn issue(key: &SecretString, now: DateTime<Utc>, valid_for: Duration) -> String {
    issue_for(key, now, valid_for, None)
}

/// Creates a link valid for `valid_for` from `now` that connects only `org` (any org when `None`).
pub fn issue_for(
    key: &SecretString,
    now: DateTime<Utc>,
    valid_for: Duration,
    org: Option<&OrgId>,
) -> String {
    let nonce: [u8; NONCE_HEX_LEN / 2] = rand::rng().random();
    let body = format!(
        "{VERSION}.{}.{}.{}",
        (now + valid_for).timestamp(),
        hex::encode(nonce),
        org.map_or(ANY_ORG, OrgId::as_str)
    );
    format!(
        "{body}.{}",
        hex::encode(mac(key, &body).finalize().into_bytes())
    )
}

/// Checks a link's version, signature (in constant time) and expiry, and returns what it carries. Whether it was
/// used before is for the store to say.
pub fn verify(
    key: &SecretString,
    link: Option<&str>,
    now: DateTime<Utc>,
) -> Result<VerifiedLink, LinkError> {
    let link = link
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or(LinkError::Missing)?;
    let (body, sig) = link.rsplit_once('.').ok_or(LinkError::Malformed)?;
    let mut parts = body.split('.');
    let version = parts.next();
    if version == Some(OLD_VERSION) {
        return Err(LinkError::Outdated);
    }
    let (Some(VERSION), Some(exp), Some(nonce), Some(org), None) = (
        version,
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(LinkError::Malformed);
    };
    let exp: i64 = exp.parse().map_err(|_| LinkError::Malformed)?;
    if nonce.len() != NONCE_HEX_LEN || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LinkError::Malformed);
    }
    let org = match org {
        ANY_ORG => None,
        id => Some(OrgId::parse(id).map_err(|_| LinkError::Malformed)?),
    };
    let sig = hex::decode(sig).map_err(|_| LinkError::Malformed)?;
    mac(key, body)
        .verify_slice(&sig)
        .map_err(|_| LinkError::Forged)?;
    let expires_at = Utc
        .timestamp_opt(exp, 0)
        .single()
        .ok_or(LinkError::Malformed)?;
    if now >= expires_at {
        return Err(LinkError::Expired {
            expired_at: expires_at,
        });
    }
    Ok(VerifiedLink {
        nonce: nonce.to_owned(),
        expires_at,
        org,
    })
}

fn mac(key: &SecretString, body: &str) -> Hmac<Sha256> {
    let mut m = keyed_mac(key);
    m.update(body.as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn a_fresh_link_verifies_until_it_expires() {
        let now = Utc::now();
        let link = issue(&key("k1"), now, Duration::hours(1));
        let ok = verify(&key("k1"), Some(&link), now).expect("valid");
        assert_eq!(ok.org, None);
        assert_eq!(
            ok.expires_at.timestamp(),
            (now + Duration::hours(1)).timestamp()
        );
        assert!(verify(&key("k1"), Some(&link), now + Duration::minutes(59)).is_ok());
        assert!(matches!(
            verify(&key("k1"), Some(&link), now + Duration::hours(1)),
            Err(LinkError::Expired { .. })
        ));
    }

    #[test]
    fn links_carry_their_org_and_distinct_nonces() {
        let now = Utc::now();
        let org = OrgId::parse("3074457345821140934").unwrap();
        let a = issue_for(&key("k1"), now, DEFAULT_VALIDITY, Some(&org));
        let b = issue_for(&key("k1"), now, DEFAULT_VALIDITY, Some(&org));
        let (va, vb) = (
            verify(&key("k1"), Some(&a), now).unwrap(),
            verify(&key("k1"), Some(&b), now).unwrap(),
        );
        assert_eq!(va.org.as_ref(), Some(&org));
        assert_ne!(va.nonce(), vb.nonce(), "every link is its own single use");
        assert!(!format!("{va:?}").contains(va.nonce()));
    }

    #[test]
    fn the_org_cannot_be_changed_or_removed() {
        let now = Utc::now();
        let org = OrgId::parse("3074457345821140934").unwrap();
        let link = issue_for(&key("k1"), now, DEFAULT_VALIDITY, Some(&org));
        for other in ["3074457345821140999", ANY_ORG] {
            let changed = link.replace("3074457345821140934", other);
            assert_eq!(
                verify(&key("k1"), Some(&changed), now),
                Err(LinkError::Forged),
                "{other}"
            );
        }
    }

    #[test]
    fn v1_links_are_refused_as_outdated() {
        let now = Utc::now();
        // A v1 link exactly as the previous release signed it.
        let body = format!(
            "v1.{}.0011223344556677",
            (now + Duration::hours(1)).timestamp()
        );
        let v1 = format!(
            "{body}.{}",
            hex::encode(mac(&key("k1"), &body).finalize().into_bytes())
        );
        assert_eq!(verify(&key("k1"), Some(&v1), now), Err(LinkError::Outdated));
        assert!(
            LinkError::Outdated
                .to_string()
                .contains("ask the operator for a new one")
        );
    }

    #[test]
    fn forged_tampered_and_missing_links_are_refused() {
        let now = Utc::now();
        let link = issue(&key("k1"), now, Duration::hours(1));
        assert_eq!(
            verify(&key("other"), Some(&link), now),
            Err(LinkError::Forged)
        );
        // Extending the expiry by hand breaks the signature.
        let mut parts: Vec<&str> = link.split('.').collect();
        let later = (now + Duration::days(365)).timestamp().to_string();
        parts[1] = &later;
        assert_eq!(
            verify(&key("k1"), Some(&parts.join(".")), now),
            Err(LinkError::Forged)
        );
        assert_eq!(verify(&key("k1"), None, now), Err(LinkError::Missing));
        assert_eq!(verify(&key("k1"), Some(""), now), Err(LinkError::Missing));
        let nonce = "00112233445566778899aabbccddeeff";
        for bad in [
            "x".to_owned(),
            "v2.1.ab.cd".to_owned(),
            "v3.1.ab.any.cd".to_owned(),
            format!("v2.x.{nonce}.any.cd"),
            format!("v2.1.{nonce}.any.zz"),
            "v2.1..any.00".to_owned(),
            "v2.1.ab.any.00".to_owned(),
            format!("v2.1.{nonce}.not-an-org.00"),
            format!("v2.1.{nonce}..00"),
            format!("v2.1.{nonce}.any.extra.00"),
        ] {
            assert_eq!(
                verify(&key("k1"), Some(&bad), now),
                Err(LinkError::Malformed),
                "{bad}"
            );
        }
    }
}
