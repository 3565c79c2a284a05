//! A client generated from `/openapi.json` by a common generator
//! (openapi-python-client, PyPI, from `scripts/test-tools.sh`) walks the
//! README's first walk against the real binary on the embedded default:
//! register, log in, search, open a movie with the token, set its library
//! status, read the history (`tests/openapi/walk.py`). The generated models
//! parse every answer, so a response that breaks the document fails here.

mod support;

use std::path::Path;

use support::{start, tool, TempDir};

#[tokio::test(flavor = "multi_thread")]
async fn a_client_generated_from_the_spec_walks_the_first_walk() {
    let (generator, python) = (tool("openapi-python-client"), tool("python"));
    let dir = TempDir::new("generated-client");
    let server = start(&dir.0.join("data"), &[]).await;
    let spec = reqwest::get(server.url("/openapi.json")).await.expect("spec").text().await.expect("spec body");
    let spec_file = dir.0.join("openapi.json");
    std::fs::write(&spec_file, spec).expect("write the spec");

    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi");
    let client_dir = dir.0.join("watchme_client");
    let generated = tokio::process::Command::new(&generator)
        .arg("generate")
        .arg("--path")
        .arg(&spec_file)
        .arg("--config")
        .arg(here.join("client-config.yaml"))
        .arg("--output-path")
        .arg(&client_dir)
        .args(["--meta", "none", "--fail-on-warning"])
        .output()
        .await
        .expect("run openapi-python-client");
    assert!(
        generated.status.success(),
        "the generator refused the spec:\n{}\n{}",
        String::from_utf8_lossy(&generated.stdout),
        String::from_utf8_lossy(&generated.stderr)
    );

    let walk = tokio::process::Command::new(&python)
        .arg(here.join("walk.py"))
        .env("PYTHONPATH", &dir.0)
        .env("WATCHME_BASE", &server.base)
        .output()
        .await
        .expect("run the walk");
    let (out, err) = (String::from_utf8_lossy(&walk.stdout), String::from_utf8_lossy(&walk.stderr));
    assert!(walk.status.success(), "the generated client's walk failed:\n{out}\n{err}");
    assert!(out.contains("walked:"), "{out}");
    server.stop().await;
}
