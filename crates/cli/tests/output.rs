//! The one-shot commands' output: into a pipe whose reader has gone, and a bench over pairs of
//! which one cannot be fused.

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

#[test]
fn a_bench_skips_a_pair_without_a_face_and_measures_and_writes_the_others() {
    // The middle pair's template is a photo of horses: it used to stop the bench, the results of
    // the pairs after it unwritten and no figure printed.
    let out = tempfile::tempdir().unwrap();
    let pairs = out.path().join("pairs.tsv");
    let face = |name: &str| faces().join(name).display().to_string();
    std::fs::write(
        &pairs,
        format!(
            "id\tsource\ttemplate\nfirst\t{}\t{}\nnone\t{}\t{}\nlast\t{}\t{}\n",
            face("rose_1.jpg"),
            face("portrait_f1.jpg"),
            face("rose_1.jpg"),
            face("noface_horses.jpg"),
            face("obama_1.jpg"),
            face("portrait_f1.jpg"),
        ),
    )
    .unwrap();
    let done = Command::new(env!("CARGO_BIN_EXE_faceswap"))
        .args([
            "bench",
            "--rounds",
            "1",
            "--threads",
            "1",
            "--cache",
            "none",
            "--pairs",
        ])
        .arg(&pairs)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr),
    );
    assert_eq!(done.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("skipped: pair none: no face"), "{stderr}");
    assert!(stderr.contains("1 of 3 pairs skipped"), "{stderr}");
    // The bench ran to its end: the content filter is measured last.
    assert!(stdout.contains("content filter:"), "{stdout}");
    for id in ["first", "last"] {
        assert!(out.path().join(format!("{id}.png")).exists(), "{id}");
    }
    assert!(!out.path().join("none.png").exists());
    // Each fused pair has its own time, in order, and the skipped one none.
    let times = std::fs::read_to_string(out.path().join("times.tsv")).unwrap();
    let rows: Vec<(&str, f64)> = times
        .lines()
        .skip(1)
        .map(|l| {
            let (id, secs) = l.split_once('\t').unwrap();
            (id, secs.parse().unwrap())
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ["first", "last"]
    );
    assert!(rows.iter().all(|r| r.1 > 0.0 && r.1.is_finite()), "{times}");
}
