//! Managed PostgreSQL as hosted providers run it: TLS required, verified
//! against the provider's CA. A throwaway cluster (initdb, as the
//! `postgres` user) with a certificate made here, whose pg_hba.conf refuses
//! any connection without TLS: WatchMe migrates and serves with
//! `sslmode=verify-full&sslrootcert=`, and is refused without TLS and with
//! another CA. Redis likewise over `rediss://`, and Kafka with SASL SCRAM,
//! over plain TCP and over TLS (terminated by socat in front of tansu).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
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

/// A child process killed when dropped: a broker or its TLS front.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA, and a certificate for localhost signed by it: (ca pem, cert pem, key pem).
fn certificates() -> (String, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Names of their own: with rcgen's one default name for both, OpenSSL
    // (librdkafka's) takes the leaf for self-signed and stops there.
    ca.distinguished_name.push(DnType::CommonName, "WatchMe test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

/// Writes `ca.pem`, `other-ca.pem` (a CA that signed nothing of this
/// server's) and the server's certificate and key as `cert` and `key` into `dir`.
fn write_tls_files(dir: &Path, cert: &str, key: &str) {
    let (ca, leaf, leaf_key) = certificates();
    let (other_ca, _, _) = certificates();
    for (name, pem) in [("ca.pem", &ca), ("other-ca.pem", &other_ca), (cert, &leaf), (key, &leaf_key)] {
        std::fs::write(dir.join(name), pem).unwrap();
    }
}

#[tokio::test]
async fn postgresql_over_tls_verified_against_its_ca() {
    let dir = TempDir::new("pgtls");
    let data = dir.0.join("pgdata");
    write_tls_files(&dir.0, "server.crt", "server.key");
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
    let _pg = Child(
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

#[tokio::test]
async fn redis_over_tls_verified_against_its_ca() {
    let dir = TempDir::new("redistls");
    write_tls_files(&dir.0, "redis.crt", "redis.key");
    let port = free_port();
    let _redis = Child(
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
            // Redis counts for readiness only when required (not by default).
            ("WATCHME_READY_REQUIRES", "database,redis".into()),
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

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// tansu on `port`, telling clients to connect to `advertised` (the TLS
/// front's port when there is one), with SASL required when `secure`.
fn tansu(dir: &Path, port: u16, advertised: u16, secure: bool) -> Child {
    let mut cmd = Command::new(watchme_adapters::contract::fixtures::tansu_bin());
    cmd.arg("broker")
        .args(["--listener-url", &format!("tcp://127.0.0.1:{port}")])
        .args(["--advertised-listener-url", &format!("tcp://localhost:{advertised}")])
        .arg("--storage-engine")
        .arg(format!("sqlite:///{}", dir.join("tansu.db").display()));
    if secure {
        cmd.arg("--authentication");
    }
    let log = std::fs::File::create(dir.join(format!("tansu-{port}.log"))).unwrap();
    let child = cmd.stdout(Stdio::null()).stderr(log).spawn().expect("tansu (scripts/test-services.sh)");
    let child = Child(child);
    wait_listening(port, "tansu");
    child
}

/// TLS terminated in front of the broker, the way a managed Kafka's load
/// balancer does it: tansu 0.6's command line cannot enable TLS itself (its
/// `--cert` and `--key` are declared mutually exclusive, and it needs both),
/// so socat speaks TLS on `port` with the certificate and forwards to `to`.
fn tls_front(dir: &Path, port: u16, to: u16) -> Child {
    let listen = format!(
        "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    let child = Command::new("socat")
        .args([listen, format!("TCP:127.0.0.1:{to}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("socat-{port}.log"))).unwrap())
        .spawn()
        .expect("socat (scripts/test-services.sh)");
    let child = Child(child);
    wait_listening(port, "socat");
    child
}

/// Whether a server with these Kafka settings becomes ready (the events
/// probe needs the broker), and that it never logs the SASL password.
async fn ready_with(dir: &Path, port: u16, password: &str, tls: Option<&Path>, up: bool) {
    let mut envs = vec![
        ("WATCHME_DATABASE_URL", "memory:".to_string()),
        ("WATCHME_KAFKA_BROKERS", format!("localhost:{port}")),
        ("WATCHME_KAFKA_TLS", tls.is_some().to_string()),
        ("WATCHME_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256".into()),
        ("WATCHME_KAFKA_SASL_USERNAME", "watchme".into()),
        ("WATCHME_KAFKA_SASL_PASSWORD", password.into()),
        ("WATCHME_KAFKA_CREATE_TOPICS", "false".into()),
        ("WATCHME_READY_REQUIRES", "database,events".into()),
    ];
    if let Some(ca) = tls {
        envs.push(("WATCHME_KAFKA_CA_FILE", ca.display().to_string()));
    }
    let server = start(&dir.join(format!("data-{}", uuid::Uuid::new_v4().simple())), &envs).await;
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = http.get(server.url("/health/ready")).send().await.unwrap().status().as_u16();
        if (s == 200) == up || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let what = format!("port {port}, password {password:?}, CA {tls:?}");
    let logs = server.logs.lock().unwrap().join("\n");
    let kafka: Vec<&str> = logs.lines().filter(|l| l.contains("librdkafka")).take(5).collect();
    assert_eq!(status == 200, up, "{what}: /health/ready {status}; {kafka:#?}");
    assert!(!logs.contains("s3cret-pass"), "the SASL password is never logged");
    server.stop().await;
}

#[tokio::test]
async fn kafka_with_sasl_scram_over_tls_verified_against_its_ca() {
    let dir = TempDir::new("kafkasasl");
    write_tls_files(&dir.0, "cert.pem", "key.pem");
    let (ca, other_ca) = (dir.0.join("ca.pem"), dir.0.join("other-ca.pem"));
    // The user is made through a plain broker on the same storage, then the
    // broker comes back with authentication required.
    let plain_port = free_port();
    {
        let _plain = tansu(&dir.0, plain_port, plain_port, false);
        let made = Command::new(watchme_adapters::contract::fixtures::tansu_bin())
            .args(["user", "create", "--broker", &format!("tcp://127.0.0.1:{plain_port}"), "--mechanism", "scram256"])
            .args(["watchme", "s3cret-pass"])
            .output()
            .unwrap();
        assert!(made.status.success(), "tansu user create: {}", String::from_utf8_lossy(&made.stderr));
    }
    // SASL over plain TCP: the right password; a wrong one; TLS asked of a
    // broker that speaks none.
    let port = free_port();
    {
        let _broker = tansu(&dir.0, port, port, true);
        ready_with(&dir.0, port, "s3cret-pass", None, true).await;
        ready_with(&dir.0, port, "wrong", None, false).await;
        ready_with(&dir.0, port, "s3cret-pass", Some(&ca), false).await;
    }
    // SASL_SSL, the managed setup: TLS verified against the CA (and refused
    // with another CA, or without TLS), then SCRAM inside it.
    let (inner, tls_port) = (free_port(), free_port());
    let _broker = tansu(&dir.0, inner, tls_port, true);
    let _front = tls_front(&dir.0, tls_port, inner);
    ready_with(&dir.0, tls_port, "s3cret-pass", Some(&ca), true).await;
    ready_with(&dir.0, tls_port, "s3cret-pass", Some(&other_ca), false).await;
    ready_with(&dir.0, tls_port, "wrong", Some(&ca), false).await;
    ready_with(&dir.0, tls_port, "s3cret-pass", None, false).await;
}
