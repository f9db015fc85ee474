//! The one-shot commands' output into a pipe whose reader has gone.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn faces() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/faces")
}

#[test]
fn a_report_into_a_closed_pipe_ends_quietly() {
    // `faceswap swap ... --report | head -1`: the reader leaves before the report is written. The
    // write's broken pipe used to be a panic (exit 101 and a backtrace on stderr).
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_faceswap"))
        .args(["swap", "--report", "--image"])
        .arg(faces().join("rose_1.jpg"))
        .arg("--template")
        .arg(faces().join("portrait_f1.jpg"))
        .arg("--out")
        .arg(out.path().join("result.png"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{:?}: {stderr}", done.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.path().join("result.png").exists());
}
