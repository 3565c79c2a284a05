//! The [`Cache`] port over Redis, the two-tier cache (in-process L1 in
//! front of Redis) that production replicas share, and the shared rate limiter.
//!
//! Redis is an optimisation, never a dependency a request waits on: every
//! operation is bounded by a short timeout, a Redis that is down at start-up
//! is connected to lazily (at most one attempt per second), and the
//! connection manager reconnects by itself after an outage. After a failed
//! operation, operations fail at once for a second but for one probe, so a
//! Redis that is down costs requests nothing rather than a timeout each. All keys are
//! prefixed with a namespace, so two deployments (or two tests) sharing a
//! Redis never see each other's keys.

mod limiter;
mod two_tier;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::Mutex;
use watchme_core::error::{cause, cause_msg, CacheError};
use watchme_core::ports::Cache;

pub use limiter::RedisRateLimiter;
pub use two_tier::TwoTierCache;

/// Connection settings. `Debug` hides the URL, which may hold a password.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://host:port/db`, or `rediss://` for TLS.
    pub url: String,
    /// PEM certificate(s) of the CA that signed the server's certificate,
    /// for `rediss://` to a server whose CA is not in the system's store
    /// (managed Redis with a private CA).
    pub ca_pem: Option<Vec<u8>>,
    /// Prefix of every key, e.g. `prod:`; keeps deployments sharing a Redis apart.
    pub namespace: String,
    /// Longest any one operation may take before it counts as a failure.
    pub op_timeout: Duration,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &"<redacted>")
            .field("namespace", &self.namespace)
            .field("op_timeout", &self.op_timeout)
            .finish()
    }
}

impl RedisConfig {
    /// Defaults for `url`: no namespace, 250 ms operations.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), ca_pem: None, namespace: String::new(), op_timeout: Duration::from_millis(250) }
    }
}

struct Conn {
    manager: Option<ConnectionManager>,
    last_attempt: Option<Instant>,
}

/// How often operations probe a Redis that just failed; the rest fail at once.
const PROBE_EVERY_MS: u64 = 1000;

/// When the last operation failed, in milliseconds since `epoch` plus one
/// (0: the last one succeeded); an atomic, so the hot path takes no lock.
struct Health {
    epoch: Instant,
    failed_at_ms: AtomicU64,
}

impl Health {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Whether an operation may go to Redis: yes when it is healthy, and for
    /// one caller a second (the probe) when it failed.
    fn admit(&self) -> bool {
        let failed = self.failed_at_ms.load(Ordering::Relaxed);
        if failed == 0 {
            return true;
        }
        let now = self.now_ms();
        now.saturating_sub(failed) >= PROBE_EVERY_MS
            && self.failed_at_ms.compare_exchange(failed, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    fn record(&self, ok: bool) {
        if ok {
            if self.failed_at_ms.load(Ordering::Relaxed) != 0 {
                self.failed_at_ms.store(0, Ordering::Relaxed);
            }
        } else {
            self.failed_at_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }
}

/// A byte cache in Redis. Clones share the connection.
#[derive(Clone)]
pub struct RedisCache {
    client: ::redis::Client,
    config: RedisConfig,
    conn: Arc<Mutex<Conn>>,
    health: Arc<Health>,
}

impl RedisCache {
    /// A cache for `config`; connects on first use.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the URL is malformed.
    pub fn new(config: RedisConfig) -> Result<Self, CacheError> {
        let client = match &config.ca_pem {
            Some(ca) => ::redis::Client::build_with_tls(
                config.url.as_str(),
                ::redis::TlsCertificates { client_tls: None, root_cert: Some(ca.clone()) },
            ),
            None => ::redis::Client::open(config.url.as_str()),
        }
        .map_err(|e| CacheError::Unavailable(cause(e)))?;
        let health = Arc::new(Health { epoch: Instant::now(), failed_at_ms: AtomicU64::new(0) });
        Ok(Self { client, config, conn: Arc::new(Mutex::new(Conn { manager: None, last_attempt: None })), health })
    }

    /// The client, for pub/sub.
    pub(crate) fn client(&self) -> &::redis::Client {
        &self.client
    }

    /// The full key of `key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.config.namespace)
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// Records how an operation went (see [`Health`]).
    pub(crate) fn record<T, E>(&self, outcome: &Result<T, E>) {
        self.health.record(outcome.is_ok());
    }

    async fn manager(&self) -> Result<ConnectionManager, CacheError> {
        if !self.health.admit() {
            return Err(CacheError::Unavailable(cause_msg("redis failed just now (probing once a second)")));
        }
        let connected = self.connect().await;
        if connected.is_err() {
            self.record(&connected);
        }
        connected
    }

    async fn connect(&self) -> Result<ConnectionManager, CacheError> {
        let mut c = self.conn.lock().await;
        if let Some(m) = &c.manager {
            return Ok(m.clone());
        }
        if c.last_attempt.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return Err(CacheError::Unavailable(cause_msg("redis unreachable (retrying at most once a second)")));
        }
        c.last_attempt = Some(Instant::now());
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(self.config.op_timeout * 4)
            .set_response_timeout(self.config.op_timeout)
            .set_number_of_retries(1);
        let m = tokio::time::timeout(self.config.op_timeout * 4, self.client.get_connection_manager_with_config(cfg))
            .await
            .map_err(|_| CacheError::Unavailable(cause_msg("redis connect timed out")))?
            .map_err(|e| CacheError::Unavailable(cause(e)))?;
        c.manager = Some(m.clone());
        Ok(m)
    }

    /// The GET both reads of the port send (an inherent fn, so neither
    /// wraps the other's boxed future).
    async fn get_value(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.run(::redis::cmd("GET").arg(self.key(key))).await
    }

    async fn run<T: ::redis::FromRedisValue>(&self, cmd: &::redis::Cmd) -> Result<T, CacheError> {
        let mut m = self.manager().await?;
        let done = match tokio::time::timeout(self.config.op_timeout, cmd.query_async::<T>(&mut m)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(CacheError::Unavailable(cause(e))),
            Err(_) => Err(CacheError::Unavailable(cause_msg("redis operation timed out"))),
        };
        self.record(&done);
        done
    }

    /// Answers PING.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when Redis does not answer in time.
    pub async fn ping(&self) -> Result<(), CacheError> {
        self.run::<String>(&::redis::cmd("PING")).await.map(|_| ())
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        Ok(self.get_value(key).await?.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let ms = ttl.as_millis().max(1) as u64;
        self.run::<()>(::redis::cmd("SET").arg(self.key(key)).arg(value).arg("PX").arg(ms)).await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.run::<()>(::redis::cmd("DEL").arg(self.key(key))).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64, CacheError> {
        // SCAN, not KEYS: it never blocks Redis for long, whatever its size.
        let pattern = format!("{}*", escape_glob(&self.key(prefix)));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<String>) =
                self.run(::redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(500)).await?;
            if !keys.is_empty() {
                removed += self.run::<u64>(::redis::cmd("UNLINK").arg(&keys)).await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}

fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
