//! Signed, expiring connect links: the deployment's `/oauth/start` is not an open door. An operator creates a link
//! (`miro-sam connect-link`) with the key kept in Secrets Manager; `/oauth/start` refuses a missing, forged or
//! expired one.
//!
//! Format: `v1.{expires_unix}.{nonce}.{hex hmac-sha256(key, "v1.{expires_unix}.{nonce}")}`, URL-safe as is.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

const VERSION: &str = "v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error(
        "this address needs a connect link; ask the operator for one (`miro-sam connect-link`)"
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
}

/// Creates a link valid for `valid_for` from `now`.
pub fn issue(key: &SecretString, now: DateTime<Utc>, valid_for: Duration) -> String {
    let nonce: [u8; 8] = rand::rng().random();
    let body = format!(
        "{VERSION}.{}.{}",
        (now + valid_for).timestamp(),
        hex::encode(nonce)
    );
    format!(
        "{body}.{}",
        hex::encode(mac(key, &body).finalize().into_bytes())
    )
}

/// Checks a link's signature (in constant time) and expiry.
pub fn verify(key: &SecretString, link: Option<&str>, now: DateTime<Utc>) -> Result<(), LinkError> {
    let link = link
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or(LinkError::Missing)?;
    let (body, sig) = link.rsplit_once('.').ok_or(LinkError::Malformed)?;
    let mut parts = body.split('.');
    let (Some(VERSION), Some(exp), Some(nonce), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Malformed);
    };
    let exp: i64 = exp.parse().map_err(|_| LinkError::Malformed)?;
    if nonce.is_empty() {
        return Err(LinkError::Malformed);
    }
    let sig = hex::decode(sig).map_err(|_| LinkError::Malformed)?;
    mac(key, body)
        .verify_slice(&sig)
        .map_err(|_| LinkError::Forged)?;
    let expired_at = Utc
        .timestamp_opt(exp, 0)
        .single()
        .ok_or(LinkError::Malformed)?;
    if now >= expired_at {
        return Err(LinkError::Expired { expired_at });
    }
    Ok(())
}

fn mac(key: &SecretString, body: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
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
        assert_eq!(verify(&key("k1"), Some(&link), now), Ok(()));
        assert_eq!(
            verify(&key("k1"), Some(&link), now + Duration::minutes(59)),
            Ok(())
        );
        assert!(matches!(
            verify(&key("k1"), Some(&link), now + Duration::hours(1)),
            Err(LinkError::Expired { .. })
        ));
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
        for bad in [
            "x",
            "v1.1.2",
            "v2.1.ab.cd",
            "v1.x.ab.cd",
            "v1.1.ab.zz",
            "v1.1..00",
        ] {
            assert_eq!(
                verify(&key("k1"), Some(bad), now),
                Err(LinkError::Malformed),
                "{bad}"
            );
        }
    }
}
