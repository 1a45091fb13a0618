//! The environment names of earlier builds still work through the binary, with a warning naming the new one,
//! and the new name wins when both are set.

use std::process::Command;

use miro_sam_cli::env;

/// `miro-sam plan` on an empty data directory with only `vars` of the CLI's names set: (exit code, stderr).
/// A base URL that is not a URL fails before anything else, so its error shows which variable was read.
fn plan_with(vars: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_miro-sam"));
    cmd.arg("plan").env(env::DATA_DIR, dir.path());
    // The caller's shell must not decide which name is read.
    for (old, new) in env::DEPRECATED {
        cmd.env_remove(old).env_remove(new);
    }
    cmd.env_remove(env::ORG);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_old_name_is_read_with_a_warning_naming_the_new_one() {
    let (code, err) = plan_with(&[("MIRO_API_BASE_URL", "old value")]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("\"old value\" is not a URL"), "{err}");
    assert!(
        err.contains(&format!(
            "MIRO_API_BASE_URL is deprecated; rename it to {}",
            env::MIRO_API_BASE_URL
        )),
        "{err}"
    );
}

#[test]
fn the_new_name_wins_and_nothing_is_deprecated() {
    let (code, err) = plan_with(&[
        ("MIRO_API_BASE_URL", "old value"),
        (env::MIRO_API_BASE_URL, "new value"),
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("\"new value\" is not a URL"), "{err}");
    assert!(!err.contains("deprecated"), "{err}");
}
