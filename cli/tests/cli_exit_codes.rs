//! The binary's contract with scripts: messages on stderr, documented exit codes.

mod common;

fn miro_sam(data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    common::miro_sam(
        args,
        &[("MIRO_SAM_DATA_DIR", data_dir.display().to_string())],
    )
}

/// Each mistake in a fresh data directory: its documented exit code (3: something to do first, 2: a usage
/// error) and, on stderr, what to do.
#[test]
fn mistakes_exit_with_their_code_and_say_what_to_do() {
    let cases: [(&[&str], i32, &str); 3] = [
        // Sync without a connected org says to connect.
        (&["sync"], 3, "miro-sam connect"),
        // Apply of a malformed plan id.
        (&["apply", "not-a-plan", "--yes"], 2, "not a plan id"),
        // An unknown org flag.
        (&["--org", "abc", "report"], 2, "not a Miro id"),
    ];
    for (args, want, words) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (code, _, err) = miro_sam(dir.path(), args);
        assert_eq!(code, want, "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = miro_sam(dir.path(), &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"), "{out}");
}
