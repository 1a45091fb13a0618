//! The key that signs the keep links of notices sent from this machine. `plan` signs with it and `serve`'s
//! console verifies with it, so it lives in the data directory beside the store: made once (32 random bytes,
//! hex), private to the user (0600), and the same for every later run. Why on disk and not per run like the
//! session key: a keep link must still work days after the notice went out, across restarts of `serve`.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use secrecy::SecretString;

use crate::exit;
use crate::failure::{CmdResult, Failure};

/// The key's file in the data directory.
pub const KEEP_LINK_KEY_FILE: &str = "keep-link.key";
/// 32 bytes as hex digits.
const KEY_HEX_LEN: usize = 64;

/// The data directory's keep-link key, made on first use.
pub fn keep_link_key(data_dir: &Path) -> CmdResult<SecretString> {
    let path = data_dir.join(KEEP_LINK_KEY_FILE);
    match read_key(&path)? {
        Some(key) => Ok(key),
        None => create_key(&path),
    }
}

fn read_key(path: &Path) -> CmdResult<Option<SecretString>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(path, &e)),
    };
    let key = text.trim();
    if key.len() != KEY_HEX_LEN || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        // Never quote the content: it may be most of a key.
        return Err(Failure::new(
            exit::FAILURE,
            format!(
                "the keep-link key {} is damaged (expected {KEY_HEX_LEN} hex digits); remove the file and a new \
                 key is made on the next `miro-sam plan` or `serve` (keep links already sent then stop working)",
                path.display()
            ),
        ));
    }
    Ok(Some(SecretString::from(key.to_owned())))
}

fn create_key(path: &Path) -> CmdResult<SecretString> {
    let mut bytes = [0u8; KEY_HEX_LEN / 2];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(hex.as_bytes())
                .and_then(|()| f.write_all(b"\n"))
                .and_then(|()| f.sync_all())
                .map_err(|e| unwritable(path, &e))?;
            Ok(SecretString::from(hex))
        }
        // `serve` and `plan` made it at the same moment: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path)?.ok_or_else(|| unreadable(path, &std::io::Error::other("it vanished")))
        }
        Err(e) => Err(unwritable(path, &e)),
    }
}

fn unreadable(path: &Path, e: &std::io::Error) -> Failure {
    Failure::new(
        exit::FAILURE,
        format!(
            "cannot read the keep-link key {}: {e}; check the data directory's permissions",
            path.display()
        ),
    )
}

fn unwritable(path: &Path, e: &std::io::Error) -> Failure {
    Failure::new(
        exit::FAILURE,
        format!(
            "cannot write the keep-link key {}: {e}; check the data directory's permissions",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_key_is_made_once_private_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let first = keep_link_key(dir.path()).unwrap();
        assert_eq!(first.expose_secret().len(), KEY_HEX_LEN);
        let again = keep_link_key(dir.path()).unwrap();
        assert_eq!(first.expose_secret(), again.expose_secret());
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            keep_link_key(other.path()).unwrap().expose_secret(),
            first.expose_secret(),
            "each data directory has its own key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEEP_LINK_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_key_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEEP_LINK_KEY_FILE), "deadbeefsecretish").unwrap();
        let e = keep_link_key(dir.path()).unwrap_err();
        assert!(e.message.contains("is damaged"), "{}", e.message);
        assert!(!e.message.contains("deadbeef"), "{}", e.message);
    }
}
