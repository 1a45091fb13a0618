//! The keyed HMAC-SHA256 that signs every link, so both kinds are signed (and checked) the same way.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// A MAC keyed with the deployment's link key, ready for the link's body. Each kind of link has its own key (the
/// connect-link key and the keep-link key are separate secrets) and its own version prefix in the body.
pub(crate) fn keyed_mac(key: &SecretString) -> Hmac<Sha256> {
    // HMAC hashes keys longer than its block and pads shorter ones, so no key is refused.
    Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length")
}
