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

struct Broker(std::process::Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tansu(dir: &Path, port: u16, secure: bool) -> Broker {
    let url = format!("tcp://localhost:{port}");
    let mut cmd = Command::new(watchme_adapters::contract::fixtures::tansu_bin());
    cmd.arg("broker")
        .args(["--listener-url", &format!("tcp://127.0.0.1:{port}"), "--advertised-listener-url", &url])
        .arg("--storage-engine")
        .arg(format!("sqlite:///{}", dir.join("tansu.db").display()));
    if secure {
        // TLS too would be the managed setup, but tansu 0.6's command line
        // cannot turn it on (its --cert and --key are declared mutually
        // exclusive, and it needs both): SASL is tested over plain TCP.
        cmd.arg("--authentication");
    }
    let log = std::fs::File::create(dir.join(format!("tansu-{secure}.log"))).unwrap();
    let child = cmd.stdout(Stdio::null()).stderr(log).spawn().expect("tansu (scripts/install-broker.sh)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tansu did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker(child)
}

#[tokio::test]
async fn kafka_with_sasl_scram_and_tls_attempted_when_asked() {
    let dir = TempDir::new("kafkasasl");
    let (ca, _, _) = certificates();
    std::fs::write(dir.0.join("ca.pem"), &ca).unwrap();
    // The user is made through a plain broker on the same storage, then the
    // broker comes back with TLS and authentication required.
    let plain_port = free_port();
    {
        let _plain = tansu(&dir.0, plain_port, false);
        let made = Command::new(watchme_adapters::contract::fixtures::tansu_bin())
            .args(["user", "create", "--broker", &format!("tcp://127.0.0.1:{plain_port}"), "--mechanism", "scram256"])
            .args(["watchme", "s3cret-pass"])
            .output()
            .unwrap();
        assert!(made.status.success(), "tansu user create: {}", String::from_utf8_lossy(&made.stderr));
    }
    let port = free_port();
    let _secure = tansu(&dir.0, port, true);
    let http = reqwest::Client::new();
    // The right password; a wrong one; the right one but TLS to a broker that speaks none.
    for (password, tls, up) in [("s3cret-pass", false, true), ("wrong", false, false), ("s3cret-pass", true, false)] {
        let mut envs = vec![
            ("WATCHME_DATABASE_URL", "memory:".to_string()),
            ("WATCHME_KAFKA_BROKERS", format!("localhost:{port}")),
            ("WATCHME_KAFKA_TLS", tls.to_string()),
            ("WATCHME_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256".into()),
            ("WATCHME_KAFKA_SASL_USERNAME", "watchme".into()),
            ("WATCHME_KAFKA_SASL_PASSWORD", password.into()),
            ("WATCHME_KAFKA_CREATE_TOPICS", "false".into()),
            ("WATCHME_READY_REQUIRES", "database,events".into()),
        ];
        if tls {
            envs.push(("WATCHME_KAFKA_CA_FILE", dir.0.join("ca.pem").display().to_string()));
        }
        let server = start(&dir.0.join(format!("data-{}-{tls}", password.len())), &envs).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            let s = http.get(server.url("/health/ready")).send().await.unwrap().status().as_u16();
            if (s == 200) == up || Instant::now() > deadline {
                break s;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(status == 200, up, "password {password:?}, tls {tls}: /health/ready {status}");
        let logs = server.logs.lock().unwrap().join("\n");
        assert!(!logs.contains("s3cret-pass"), "the SASL password is never logged");
        server.stop().await;
    }
}
