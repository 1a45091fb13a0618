//! The console's session key: read once per cold start from its Secrets Manager secret, whose string value is
//! at least 32 random bytes, base64-encoded. The template generates it (64 letters and digits, which is valid
//! base64 for 48 bytes); an operator rotating it may put `openssl rand -base64 32` or longer.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

/// The least key material accepted: the HMAC-SHA256 key the console signs cookies with is 32 bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Base64 with or without `=` padding: generated keys have none, `openssl rand -base64` adds it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Domain separation: the same secret value used elsewhere would not give the same key.
const LABEL: &[u8] = b"miro-sam console session key v1\0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionKeyError {
    #[error(
        "the console session key in secret {name:?} is not base64 ({why}); put at least {MIN_KEY_BYTES} random \
         bytes, base64-encoded, e.g. `aws secretsmanager put-secret-value --secret-id {name} --secret-string \
         \"$(openssl rand -base64 48)\"`"
    )]
    NotBase64 { name: String, why: String },
    #[error(
        "the console session key in secret {name:?} is {got} bytes; it needs at least {MIN_KEY_BYTES} random \
         bytes, base64-encoded, e.g. `aws secretsmanager put-secret-value --secret-id {name} --secret-string \
         \"$(openssl rand -base64 48)\"`"
    )]
    TooShort { name: String, got: usize },
}

/// The 32-byte key the console signs with, derived (SHA-256) from the secret's decoded bytes. Neither the
/// value nor the bytes appear in an error.
pub fn decode(name: &str, value: &SecretString) -> Result<SecretBox<[u8; 32]>, SessionKeyError> {
    let bytes = SecretBox::new(Box::new(
        BASE64
            .decode(value.expose_secret().trim())
            .map_err(|e| SessionKeyError::NotBase64 {
                name: name.to_owned(),
                // The decoder names the offending byte's offset, never the value.
                why: match e {
                    base64::DecodeError::InvalidByte(at, _) => {
                        format!("a character at offset {at} is not base64")
                    }
                    base64::DecodeError::InvalidLength(n) => {
                        format!("{n} characters cannot be base64")
                    }
                    base64::DecodeError::InvalidLastSymbol(at, _) => {
                        format!("the last symbol at offset {at}")
                    }
                    base64::DecodeError::InvalidPadding => "bad padding".to_owned(),
                },
            })?,
    ));
    let got = bytes.expose_secret().len();
    if got < MIN_KEY_BYTES {
        return Err(SessionKeyError::TooShort {
            name: name.to_owned(),
            got,
        });
    }
    let mut hash = Sha256::new();
    hash.update(LABEL);
    hash.update(bytes.expose_secret());
    Ok(SecretBox::new(Box::new(hash.finalize().into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> Result<SecretBox<[u8; 32]>, SessionKeyError> {
        decode(
            "stack/console-session-key",
            &SecretString::from(value.to_owned()),
        )
    }

    #[test]
    fn a_generated_key_and_an_openssl_key_are_accepted() {
        // What GenerateSecretString (64, no punctuation) makes: letters and digits, base64 for 48 bytes.
        let generated = "Q3vT9kLw2XpZ4cHd7FjB6mGs1EaVq3yN8rT2kLw9XpZ4cHd7FjB6mGs1EaVq3yN8";
        assert_eq!(generated.len(), 64);
        let a = key(generated).unwrap();
        // `openssl rand -base64 32`: 44 characters with padding.
        let c = key("q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=").unwrap();
        assert_ne!(a.expose_secret(), c.expose_secret());
        // Stable: the same secret signs the same cookies after a cold start.
        assert_eq!(key(generated).unwrap().expose_secret(), a.expose_secret());
        // Surrounding whitespace (a trailing newline from a file) is not part of the key.
        assert_eq!(
            key(&format!(" {generated}\n")).unwrap().expose_secret(),
            a.expose_secret()
        );
    }

    #[test]
    fn short_or_garbled_keys_are_refused_without_showing_them() {
        let short = "c2hvcnQta2V5";
        let err = key(short).map(|_| ()).unwrap_err();
        assert_eq!(
            err,
            SessionKeyError::TooShort {
                name: "stack/console-session-key".into(),
                got: 9
            }
        );
        assert!(err.to_string().contains("openssl rand -base64"), "{err}");
        let garbled = "this is not base64 at all, it has spaces and punctuation!";
        let err = key(garbled).map(|_| ()).unwrap_err();
        assert!(matches!(err, SessionKeyError::NotBase64 { .. }), "{err}");
        assert!(
            !err.to_string().contains("punctuation"),
            "the value stays out of the error: {err}"
        );
        assert!(!err.to_string().contains(short));
    }
}
