//! The deployment artefacts against the code they deploy: every file
//! parses (YAML with PyYAML from the test tools' venv, JSON with serde);
//! every `WATCHME_*` key they set is one the binary reads (`watchme
//! --help` lists each flag's variable); every probe path is a route of the
//! server; every metric the alerts and the dashboard query is one the code
//! exports (docs/observability.md lists them); and `watchme healthcheck`,
//! the image's health check, tells a live server from a dead port.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use support::{command, start, tool, TempDir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn files(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| ext.contains(&e)) {
            out.push(p);
        }
    }
}

/// The distinct words of `text` matching `prefix[A-Z0-9_]+` (or lower case for metrics).
fn words(text: &str, prefix: &str, lower: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ok = |c: char| {
        if lower {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        } else {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
        }
    };
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let tail = &rest[i..];
        let end = tail.char_indices().find(|(_, c)| !ok(*c)).map_or(tail.len(), |(n, _)| n);
        out.insert(tail[..end].to_owned());
        rest = &tail[end.max(1)..];
    }
    out
}

#[tokio::test]
async fn the_artefacts_parse_and_name_what_the_code_has() {
    let deploy = root().join("deploy");
    let mut yamls = Vec::new();
    files(&deploy, &["yaml", "yml"], &mut yamls);
    assert!(yamls.len() >= 10, "{yamls:?}");
    let python = tool("python");
    for y in &yamls {
        let out = std::process::Command::new(&python)
            .args(["-c", "import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))"])
            .arg(y)
            .output()
            .unwrap();
        assert!(out.status.success(), "{} is not YAML: {}", y.display(), String::from_utf8_lossy(&out.stderr));
    }
    let dashboard: serde_json::Value =
        serde_json::from_slice(&std::fs::read(deploy.join("observability/grafana/watchme.json")).unwrap()).unwrap();
    assert!(dashboard["panels"].as_array().unwrap().len() >= 8);

    let help = command(&[], &["--help"]).output().await.unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let known = words(&help, "WATCHME_", false);
    let mut artefacts: Vec<PathBuf> = yamls.clone();
    artefacts.push(root().join("Dockerfile"));
    for f in &artefacts {
        let text = std::fs::read_to_string(f).unwrap();
        for key in words(&text, "WATCHME_", false) {
            let ours = ["WATCHME_IMAGE"].contains(&key.as_str()); // compose's own variable, not the binary's
            assert!(ours || known.contains(&key), "{} sets {key}, which the binary does not read", f.display());
        }
        for path in text.split(|c: char| c.is_whitespace() || c == ',' || c == '}').filter(|w| w.starts_with("/health"))
        {
            assert!(["/health/ready", "/health/live", "/health"].contains(&path), "{} probes {path}", f.display());
        }
    }

    let documented = std::fs::read_to_string(root().join("docs/observability.md")).unwrap();
    let exported: BTreeSet<String> =
        words(&documented, "watchme_", true).union(&words(&documented, "http_server_", true)).cloned().collect();
    for f in [deploy.join("observability/prometheus/alerts.yaml"), deploy.join("observability/grafana/watchme.json")] {
        let text = std::fs::read_to_string(&f).unwrap();
        for metric in words(&text, "watchme_", true).union(&words(&text, "http_server_", true)) {
            let base = metric.trim_end_matches("_bucket");
            assert!(exported.contains(base), "{} queries {metric}, which is not exported", f.display());
        }
    }
}

#[tokio::test]
async fn healthcheck_tells_a_live_server_from_a_dead_port() {
    let dir = TempDir::new("healthcheck");
    let server = start(&dir.0, &[("WATCHME_DATABASE_URL", "memory:".into())]).await;
    let bind = server.base.trim_start_matches("http://").to_owned();
    let ok = command(&[("WATCHME_BIND", bind.clone())], &["healthcheck"]).output().await.unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let ready = command(&[("WATCHME_BIND", bind)], &["healthcheck", "--ready"]).output().await.unwrap();
    assert!(ready.status.success(), "{}", String::from_utf8_lossy(&ready.stderr));
    server.stop().await;
    let dead = command(&[("WATCHME_BIND", "127.0.0.1:9".into())], &["healthcheck"]).output().await.unwrap();
    assert!(!dead.status.success(), "nothing listens on port 9");
}
