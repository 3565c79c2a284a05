//! The soak test's short mode (`scripts/soak.sh --short`, docs/reliability.md):
//! about a minute of mixed load over the real stack (its own PostgreSQL,
//! Redis, tansu, two API replicas, a relay, two consumers) with every fault
//! of the ten-minute schedule, compressed; it passes only when the verdict
//! computed from the database finds nothing lost and nothing counted twice.

mod support;

use support::TempDir;

#[test]
fn a_short_soak_with_every_fault_loses_nothing_and_counts_nothing_twice() {
    let dir = TempDir::new("soak");
    let out = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/soak.sh"))
        .arg("--short")
        .env("SOAK_BINARY", env!("CARGO_BIN_EXE_watchme"))
        .env("SOAK_OUT", &dir.0)
        .output()
        .expect("scripts/soak.sh");
    let report = std::fs::read_to_string(dir.0.join("report.md")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the soak failed:\n{report}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.starts_with("# Soak report: PASSED"), "{report}");
}
