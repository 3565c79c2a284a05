//! Real services for tests: a fresh database on the local PostgreSQL, and a
//! redis-server of a test's own on a spare port (for outage tests that must
//! not stop the shared one). Used by this workspace's tests; adapters of
//! your own can use them to run the contract suites the same way.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The PostgreSQL that tests create their databases on: `WATCHME_TEST_PG_URL`,
/// else the local server (127.0.0.1:5432, user postgres).
pub fn pg_admin_url() -> String {
    std::env::var("WATCHME_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// An empty database created for one test; [`PgDatabase::drop_db`] removes it.
#[cfg(feature = "postgres")]
pub struct PgDatabase {
    /// Its URL.
    pub url: String,
    /// Its name.
    pub name: String,
}

#[cfg(feature = "postgres")]
impl PgDatabase {
    /// Creates a database named `<tag>_<random>`.
    ///
    /// # Panics
    /// When PostgreSQL cannot be reached: these tests are never skipped silently.
    pub async fn create(tag: &str) -> Self {
        let admin = admin();
        let name = format!("{tag}_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .expect("PostgreSQL must be running on 127.0.0.1:5432 (user postgres) for these tests");
        admin.close().await;
        let base = pg_admin_url();
        let url = format!("{}/{name}", base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b));
        Self { url, name }
    }

    /// Drops the database, closing any connection still open to it.
    pub async fn drop_db(self) {
        let admin = admin();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(admin.pool()).await;
        admin.close().await;
    }
}

#[cfg(feature = "postgres")]
fn admin() -> crate::sql::SqlStore {
    crate::sql::SqlStore::connect_lazy(&pg_admin_url(), &crate::sql::SqlOptions::default()).expect("admin URL")
}

/// A redis-server of the test's own; killed on drop.
pub struct OwnRedis {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl OwnRedis {
    /// Starts one on a free port.
    pub fn start() -> Self {
        Self::start_on(
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port(),
        )
    }

    /// Starts one on `port` (again, after [`OwnRedis::stop`]), keeping nothing on disk.
    ///
    /// # Panics
    /// When redis-server is missing or does not come up within 5 s.
    pub fn start_on(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on the PATH");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "own redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (an outage).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The shared Kafka-protocol broker tests publish to: `WATCHME_TEST_KAFKA_BROKERS`,
/// else 127.0.0.1:9092 (started by `scripts/test-services.sh`).
pub fn kafka_brokers() -> String {
    std::env::var("WATCHME_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// The tansu binary: `WATCHME_TANSU`, else `tansu` in cargo's bin directory
/// (where `scripts/install-broker.sh` puts it), else on the PATH.
pub fn tansu_bin() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("WATCHME_TANSU") {
        return p.into();
    }
    let home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    match home.map(|h| h.join("bin").join("tansu")) {
        Ok(p) if p.exists() => p,
        _ => "tansu".into(),
    }
}

/// A Kafka-protocol broker (tansu) of the test's own, on a spare port, with
/// its messages in a SQLite file that survives [`OwnBroker::stop`] and
/// [`OwnBroker::restart`]; killed on drop.
pub struct OwnBroker {
    child: Option<Child>,
    dir: std::path::PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl OwnBroker {
    /// Starts one on a free port.
    ///
    /// # Panics
    /// When tansu is missing (run `scripts/install-broker.sh`) or does not come up within 20 s.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let dir = std::env::temp_dir().join(format!("watchme-broker-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("broker directory");
        let mut b = Self { child: None, dir, port };
        b.restart();
        b
    }

    /// Its bootstrap address.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills it (an outage); what it stored stays.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    ///
    /// # Panics
    /// When it does not come up within 20 s.
    pub fn restart(&mut self) {
        self.stop();
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.dir.join("tansu.log")).expect("broker log");
        let child = Command::new(tansu_bin())
            .arg("broker")
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .arg("--storage-engine")
            // tansu reads the path after `sqlite://` as relative unless it starts with another slash.
            .arg(format!("sqlite:///{}", self.dir.join("tansu.db").display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("tansu (install it with scripts/install-broker.sh)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "own tansu broker did not start; see {}", self.dir.display());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.stop();
        // WATCHME_TEST_LOG_DIR keeps the broker's files, for debugging a failed run.
        if std::env::var_os("WATCHME_TEST_LOG_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A consumer in a group of its own that reads `topic` from the beginning,
/// for tests that check what was published.
///
/// # Panics
/// When librdkafka refuses the settings or the subscription.
#[cfg(feature = "kafka")]
pub fn topic_reader(brokers: &str, topic: &str) -> rdkafka::consumer::StreamConsumer {
    use rdkafka::consumer::Consumer;
    let consumer: rdkafka::consumer::StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4().simple()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a topic reader");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// The value of a message's header `key`, as text.
#[cfg(feature = "kafka")]
pub fn header(m: &rdkafka::message::OwnedMessage, key: &str) -> Option<String> {
    use rdkafka::message::{Headers, Message};
    m.headers()?.iter().find(|h| h.key == key).and_then(|h| h.value).map(|v| String::from_utf8_lossy(v).into_owned())
}
