//! Managed PostgreSQL as hosted providers run it: TLS required, verified
//! against the provider's CA. A throwaway cluster (initdb, as the
//! `postgres` user) with a certificate made here, whose pg_hba.conf refuses
//! any connection without TLS: WatchMe migrates and serves with
//! `sslmode=verify-full&sslrootcert=`, and is refused without TLS and with
//! another CA.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::json;
use support::{command, json_of, start, TempDir};

fn pg_bin(name: &str) -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|_| panic!("PostgreSQL's server binaries are needed (scripts/test-services.sh installs them)"))
        .map(|e| e.unwrap().path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| panic!("{name} not found under /usr/lib/postgresql"))
}

/// Runs `cmd` as the `postgres` user (PostgreSQL refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A CA, and a certificate for localhost signed by it: (ca pem, cert pem, key pem).
fn certificates() -> (String, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

struct Postgres(std::process::Child);

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn postgresql_over_tls_verified_against_its_ca() {
    let dir = TempDir::new("pgtls");
    let data = dir.0.join("pgdata");
    let (ca, cert, key) = certificates();
    let (other_ca, _, _) = certificates();
    std::fs::write(dir.0.join("ca.pem"), &ca).unwrap();
    std::fs::write(dir.0.join("other-ca.pem"), &other_ca).unwrap();
    std::fs::write(dir.0.join("server.crt"), &cert).unwrap();
    std::fs::write(dir.0.join("server.key"), &key).unwrap();
    assert!(Command::new("chown").args(["-R", "postgres"]).arg(&dir.0).status().unwrap().success());
    assert!(Command::new("chmod").arg("600").arg(dir.0.join("server.key")).status().unwrap().success());
    let init = as_postgres(&pg_bin("initdb"))
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
    // TLS or nothing, as hosted PostgreSQL is set up.
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    let port = free_port();
    let _pg = Postgres(
        as_postgres(&pg_bin("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "ssl=on"])
            .arg("-c")
            .arg(format!("ssl_cert_file={}", dir.0.join("server.crt").display()))
            .arg("-c")
            .arg(format!("ssl_key_file={}", dir.0.join("server.key").display()))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.0.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Command::new(pg_bin("pg_isready"))
        .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
        .status()
        .unwrap()
        .success()
    {
        assert!(Instant::now() < deadline, "the TLS cluster did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let url = |mode: &str, ca: &str| {
        format!("postgres://postgres@localhost:{port}/postgres?sslmode={mode}&sslrootcert={}", dir.0.join(ca).display())
    };
    let migrate = |u: String| {
        let env = vec![("WATCHME_DATABASE_URL", u), ("WATCHME_DB_STARTUP_TIMEOUT_SECS", "1".to_string())];
        async move { command(&env, &["migrate"]).output().await.unwrap() }
    };
    let ok = migrate(url("verify-full", "ca.pem")).await;
    assert!(ok.status.success(), "verify-full against its CA: {}", String::from_utf8_lossy(&ok.stderr));
    let plain = migrate(format!("postgres://postgres@localhost:{port}/postgres?sslmode=disable")).await;
    assert!(!plain.status.success(), "without TLS the server refuses");
    let wrong = migrate(url("verify-full", "other-ca.pem")).await;
    assert!(!wrong.status.success(), "a certificate another CA signed is refused");

    let server = start(&dir.0.join("app"), &[("WATCHME_DATABASE_URL", url("verify-full", "ca.pem"))]).await;
    let http = reqwest::Client::new();
    let reg = http
        .post(server.url("/auth/register"))
        .json(&json!({"email": "tls@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    json_of(reg, 201).await;
    json_of(http.get(server.url("/health/ready")).send().await.unwrap(), 200).await;
    server.stop().await;
}

struct Redis(std::process::Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn redis_over_tls_verified_against_its_ca() {
    let dir = TempDir::new("redistls");
    let (ca, cert, key) = certificates();
    let (other_ca, _, _) = certificates();
    for (name, pem) in [("ca.pem", &ca), ("other-ca.pem", &other_ca), ("redis.crt", &cert), ("redis.key", &key)] {
        std::fs::write(dir.0.join(name), pem).unwrap();
    }
    let port = free_port();
    let _redis = Redis(
        Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--tls-cert-file")
            .arg(dir.0.join("redis.crt"))
            .arg("--tls-key-file")
            .arg(dir.0.join("redis.key"))
            .arg("--tls-ca-cert-file")
            .arg(dir.0.join("ca.pem"))
            .args(["--tls-auth-clients", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test-services.sh installs it)"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the TLS Redis did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let http = reqwest::Client::new();
    for (ca_file, ready) in [("ca.pem", true), ("other-ca.pem", false)] {
        let envs = [
            ("WATCHME_DATABASE_URL", "memory:".to_string()),
            ("WATCHME_REDIS_URL", format!("rediss://localhost:{port}")),
            ("WATCHME_REDIS_CA_FILE", dir.0.join(ca_file).display().to_string()),
        ];
        let server = start(&dir.0.join(format!("data-{ca_file}")), &envs).await;
        let answer = http.get(server.url("/health/ready")).send().await.unwrap();
        let status = answer.status().as_u16();
        let body: serde_json::Value = answer.json().await.unwrap();
        let redis = body["dependencies"].as_array().unwrap().iter().find(|c| c["name"] == "redis").cloned().unwrap();
        if ready {
            assert_eq!((status, redis["status"].as_str()), (200, Some("up")), "{body}");
            let page = http.get(server.url("/movies/550")).send().await.unwrap();
            assert_eq!(page.status().as_u16(), 200, "movie pages go through the TLS Redis cache");
        } else {
            assert_eq!(status, 503, "a certificate another CA signed is refused: {body}");
        }
        server.stop().await;
    }
}
