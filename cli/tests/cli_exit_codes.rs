//! The binary's contract with scripts: messages on stderr, documented exit codes.

mod common;

fn miro_sam(data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    common::miro_sam(
        args,
        &[("MIRO_SAM_DATA_DIR", data_dir.display().to_string())],
    )
}

#[test]
fn sync_without_a_connected_org_says_to_connect_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = miro_sam(dir.path(), &["sync"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("miro-sam connect"), "{err}");
}

#[test]
fn apply_of_a_malformed_plan_id_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = miro_sam(dir.path(), &["apply", "not-a-plan", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a plan id"), "{err}");
}

#[test]
fn an_unknown_org_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = miro_sam(dir.path(), &["--org", "abc", "report"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a Miro id"), "{err}");
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = miro_sam(dir.path(), &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"), "{out}");
}
