//! The server against its own OpenAPI document: schemathesis (PyPI, from
//! `scripts/test-tools.sh`) generates requests from `/openapi.json` in every
//! phase (the spec's examples, boundary values, random fuzzing, and stateful
//! sequences that follow the document's links) against the real binary on
//! the embedded default (SQLite), logged in (schemathesis logs in itself, and
//! again after a 401: the stateful phase logs out), with rate limits relaxed.
//! Every check runs (tests/openapi/schemathesis.toml says which statuses
//! count as accepting schema-valid data); any failure fails the test, and so
//! does a run of fewer than 2,000 cases.

mod support;

use std::path::Path;
use std::process::Stdio;

use serde_json::json;
use support::{json_of, register, start, tool, TempDir};

const EMAIL: &str = "conformance@example.com";
const PASSWORD: &str = "conformance walk";

#[tokio::test(flavor = "multi_thread")]
async fn the_server_answers_as_its_openapi_document_says() {
    let schemathesis = tool("schemathesis");
    let dir = TempDir::new("conformance");
    let relaxed = "1000000/60".to_string();
    let server = start(
        &dir.0.join("data"),
        &[
            ("WATCHME_ADMIN_EMAILS", EMAIL.into()),
            ("WATCHME_RATE_AUTH_IP", relaxed.clone()),
            ("WATCHME_RATE_AUTH_ACCOUNT", relaxed.clone()),
            ("WATCHME_RATE_ANONYMOUS", relaxed.clone()),
            ("WATCHME_RATE_USER", relaxed),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    register(&http, &server.base, EMAIL, PASSWORD).await;
    // Lists with something in them, so the links from a list to its items resolve.
    let login = json_of(
        http.post(server.url("/auth/login")).json(&json!({"email": EMAIL, "password": PASSWORD})).send().await.unwrap(),
        200,
    )
    .await;
    let token = login["access_token"].as_str().expect("access_token");
    for (path, body) in [("/me/favorites/603", None), ("/me/library/550", Some(json!({"status": "watched"})))] {
        let put = http.put(server.url(path)).bearer_auth(token);
        let put = if let Some(b) = body { put.json(&b) } else { put };
        assert!(put.send().await.unwrap().status().is_success(), "{path}");
    }
    http.get(server.url("/movies/13")).bearer_auth(token).send().await.unwrap();

    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi");
    let report = dir.0.join("report.json");
    let out = tokio::process::Command::new(&schemathesis)
        .arg("--config-file")
        .arg(here.join("schemathesis.toml"))
        .args(["run", &server.url("/openapi.json"), "--report", "json", "--report-json-path"])
        .arg(&report)
        .env("WATCHME_CONFORMANCE_BASE", &server.base)
        .env("WATCHME_CONFORMANCE_EMAIL", EMAIL)
        .env("WATCHME_CONFORMANCE_PASSWORD", PASSWORD)
        .env("NO_COLOR", "1")
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = text.lines().skip_while(|l| !l.contains("SUMMARY")).collect();
    assert!(out.status.success(), "schemathesis found problems:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    println!("{}", summary.join("\n"));
    let cases = cases_generated(&report);
    assert!(cases >= 2000, "only {cases} cases were generated:\n{text}");
    server.stop().await;
}

/// How many test cases the run generated, from its JSON report.
fn cases_generated(report: &Path) -> u64 {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("schemathesis wrote its report")).expect("report is JSON");
    json.pointer("/test_cases/generated").and_then(serde_json::Value::as_u64).unwrap_or_else(|| {
        panic!("no case count in the report: {json}");
    })
}
