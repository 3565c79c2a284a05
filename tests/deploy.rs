//! The deployment artefacts against the code they deploy: every file
//! parses (YAML with PyYAML from the test tools' venv, JSON with serde);
//! every `WATCHME_*` key they set is one the binary reads (`watchme
//! --help` lists each flag's variable); every probe path is a route of the
//! server; every metric the alerts and the dashboard query is one the code
//! exports (docs/observability.md lists them); and `watchme healthcheck`,
//! the image's health check, tells a live server from a dead port.
//!
//! What cannot run here (no container engine) is checked by the tools that
//! read it: the compose file rendered by `docker-compose config` (Debian's),
//! every Kubernetes manifest rendered by `kubectl kustomize` and validated
//! against the Kubernetes schemas (kubernetes-validate, offline, strict),
//! and the alert rules and scrape configurations by `promtool`, whose rule
//! unit tests (`alerts.test.yaml`) show each alert firing when it should.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
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
    for y in &yamls {
        yaml_docs(y);
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

/// A program of the machine (not of the tools' venv), installed by scripts/test-tools.sh.
fn system(name: &str) -> std::process::Command {
    let found = std::env::var("PATH").unwrap_or_default().split(':').any(|dir| Path::new(dir).join(name).is_file());
    assert!(found, "{name} is not installed (scripts/test-tools.sh installs it)");
    std::process::Command::new(name)
}

/// Runs `cmd`, panicking with its output unless it succeeds; returns stdout.
fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every YAML document in the file at `path`, as JSON (through PyYAML);
/// panics, naming the file, when it is not YAML.
fn yaml_docs(path: &Path) -> Vec<Value> {
    let mut cmd = std::process::Command::new(tool("python"));
    cmd.args(["-c", "import sys, yaml, json; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"])
        .arg(path);
    serde_json::from_str(&run(&mut cmd)).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn the_compose_stack_renders_with_its_secrets_from_files() {
    let dir = TempDir::new("compose");
    copy_dir(&root().join("deploy"), &dir.0.join("deploy"));
    let compose = dir.0.join("deploy/compose");
    let _ = std::fs::remove_dir_all(compose.join("secrets"));
    let _ = std::fs::remove_file(compose.join(".env"));
    // Without the secrets the stack refuses to render, naming the script.
    let refused = system("docker-compose").arg("config").current_dir(&compose).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("gen-secrets.sh"), "{refused:?}");
    run(std::process::Command::new(compose.join("gen-secrets.sh")).current_dir(&compose));
    let rendered = run(system("docker-compose").arg("config").current_dir(&compose));
    std::fs::write(dir.0.join("rendered.yaml"), &rendered).unwrap();
    let doc = &yaml_docs(&dir.0.join("rendered.yaml"))[0];
    let services = doc["services"].as_object().unwrap();
    for name in [
        "postgres",
        "redis",
        "kafka",
        "migrate",
        "api",
        "consumer",
        "proxy",
        "otel-collector",
        "jaeger",
        "prometheus",
        "grafana",
    ] {
        assert!(services.contains_key(name), "compose has no {name}");
    }
    assert_eq!(doc["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"], "broker,controller", "KRaft");
    for (name, command) in [("api", "serve"), ("consumer", "consume")] {
        let s = &doc["services"][name];
        assert_eq!(s["deploy"]["replicas"], 2, "{name}");
        assert_eq!(s["command"][0], command);
        assert_eq!(s["depends_on"]["migrate"]["condition"], "service_completed_successfully", "{name}");
        assert_eq!(s["environment"]["WATCHME_AUTO_MIGRATE"], "false", "only the migrate job migrates");
        assert_eq!(s["secrets"].as_array().unwrap().len(), 2, "JWT keys are mounted files");
    }
    assert_eq!(doc["services"]["migrate"]["command"][0], "migrate");
    let key = std::fs::read_to_string(compose.join("secrets/jwt_private_key.pem")).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(!rendered.contains(key_body), "the private key is a file, never in the environment");
    let caddy = std::fs::read_to_string(compose.join("Caddyfile")).unwrap();
    assert!(caddy.contains("api:8080"), "the proxy sends to the API replicas");
}

#[test]
fn the_kubernetes_manifests_validate_against_the_schemas() {
    let dir = TempDir::new("k8s");
    let mut rendered = Vec::new();
    for overlay in ["base", "overlays/production"] {
        let text = run(system("kubectl").args(["kustomize"]).arg(root().join("deploy/k8s").join(overlay)));
        let file = dir.0.join(format!("{}.yaml", overlay.replace('/', "-")));
        std::fs::write(&file, &text).unwrap();
        rendered.push(file);
    }
    // The oldest version with the preStop sleep action, and the newest the validator knows.
    for version in ["1.30.0", "1.37.0"] {
        let mut cmd = std::process::Command::new(tool("kubernetes-validate"));
        cmd.args(["--strict", "--quiet", "-k", version]).args(&rendered);
        run(&mut cmd);
    }
    let docs = yaml_docs(&rendered[1]);
    let kinds: BTreeSet<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    for kind in [
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
        "Ingress",
        "Job",
        "CronJob",
        "ConfigMap",
    ] {
        assert!(kinds.contains(kind), "the production overlay has no {kind}: {kinds:?}");
    }
    let config = docs.iter().find(|d| d["metadata"]["name"] == "watchme-config").unwrap();
    let drain: u64 = config["data"]["WATCHME_SHUTDOWN_GRACE_SECS"].as_str().unwrap().parse().unwrap();
    let api = docs.iter().find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "watchme-api").unwrap();
    let pod = &api["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/health/ready");
    let probe_timeout = container["readinessProbe"]["timeoutSeconds"].as_u64().unwrap_or(1);
    assert!(probe_timeout > 2, "the readiness probe waits longer than the server's own 2 s probe timeout");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health/live");
    let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64().unwrap();
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(grace > drain + pause, "termination grace {grace} s outlasts the drain {drain} s + preStop {pause} s");
    assert!(
        container["resources"]["limits"]["memory"].is_string() && container["resources"]["requests"]["cpu"].is_string()
    );
    assert_eq!(api["spec"]["replicas"], 3, "the overlay's patches apply");
}

#[test]
fn promtool_checks_the_rules_their_tests_and_the_scrape_configs() {
    let obs = root().join("deploy/observability/prometheus");
    run(system("promtool").args(["check", "rules"]).arg(obs.join("alerts.yaml")));
    run(system("promtool").args(["test", "rules"]).arg(obs.join("alerts.test.yaml")));
    // Every alert has a unit test that shows it firing.
    let rules = std::fs::read_to_string(obs.join("alerts.yaml")).unwrap();
    let tests = std::fs::read_to_string(obs.join("alerts.test.yaml")).unwrap();
    for line in rules.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(tests.contains(&format!("alertname: {line}")), "{line} has no rule test in alerts.test.yaml");
    }
    // The compose Prometheus, with the rules where the container mounts them.
    let dir = TempDir::new("promtool");
    let compose = std::fs::read_to_string(root().join("deploy/compose/prometheus.yml")).unwrap();
    let compose = compose.replace("/etc/prometheus/alerts.yaml", &obs.join("alerts.yaml").display().to_string());
    std::fs::write(dir.0.join("compose.yml"), compose).unwrap();
    run(system("promtool").args(["check", "config"]).arg(dir.0.join("compose.yml")));
    // The Kubernetes scrape job, as the scrape_configs of a Prometheus.
    // Debian builds promtool without Kubernetes service discovery, so its
    // relabelling is checked over a static target instead.
    let map = &yaml_docs(&root().join("deploy/k8s/base/prometheus-scrape.yaml"))[0];
    let jobs = map["data"]["watchme.yml"].as_str().unwrap();
    assert!(jobs.contains("kubernetes_sd_configs:\n    - role: pod\n"), "{jobs}");
    let jobs =
        jobs.replace("kubernetes_sd_configs:\n    - role: pod\n", "static_configs:\n    - targets: [\"pod:8080\"]\n");
    let indented: String = jobs.lines().map(|l| format!("  {l}\n")).collect();
    std::fs::write(dir.0.join("k8s.yml"), format!("scrape_configs:\n{indented}")).unwrap();
    run(system("promtool").args(["check", "config"]).arg(dir.0.join("k8s.yml")));
}
