//! The one typed configuration, from `WATCHME_*` environment variables and
//! matching command-line flags, validated at start-up.
//!
//! Raw values are read as strings by clap and validated here, all at once,
//! so an operator sees every bad value in one run, each with a clear message.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use watchme_core::domain::Email;

mod security;

pub use security::{PreviousKey, RawSecurity, Security, SigningKeySource};

const DEFAULT_DB_MAX_CONNECTIONS: &str = "10";
const DEFAULT_DB_ACQUIRE_TIMEOUT_MS: &str = "3000";
const DEFAULT_DB_STATEMENT_TIMEOUT_MS: &str = "5000";
const DEFAULT_DB_STARTUP_TIMEOUT_SECS: &str = "30";
const DEFAULT_AUTO_MIGRATE: &str = "true";
const DEFAULT_RELAY: &str = "true";
const DEFAULT_OUTBOX_RETENTION_HOURS: &str = "0";
const DEFAULT_TMDB_IMAGE_BASE_URL: &str = "https://image.tmdb.org/t/p";
const DEFAULT_TMDB_LANGUAGE: &str = "en-US";
const DEFAULT_TMDB_TIMEOUT_MS: &str = "5000";
const DEFAULT_TMDB_RATE_LIMIT: &str = "40";
const DEFAULT_CACHE_DETAILS_TTL_SECS: &str = "86400";
const DEFAULT_CACHE_POPULAR_TTL_SECS: &str = "3600";
const DEFAULT_CACHE_SEARCH_TTL_SECS: &str = "900";
const DEFAULT_CACHE_STALE_GRACE_SECS: &str = "604800";
const DEFAULT_CACHE_L1_TTL_SECS: &str = "10";
const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "data";
const DEFAULT_TMDB_BASE_URL: &str = "https://api.themoviedb.org/3";
const DEFAULT_JWT_TTL_SECS: &str = "900";
const DEFAULT_LOG: &str = "info";
const DEFAULT_LOG_FORMAT: &str = "auto";
const DEFAULT_ARGON2_MEMORY_KIB: &str = "19456";
const DEFAULT_ARGON2_ITERATIONS: &str = "2";
const DEFAULT_ARGON2_PARALLELISM: &str = "1";
const DEFAULT_ARGON2_MAX_CONCURRENT: &str = "0";
const DEFAULT_CACHE_MAX_MB: &str = "64";
const DEFAULT_MAX_BODY_KIB: &str = "64";
const DEFAULT_OUTBOX_POLL_MS: &str = "200";
const DEFAULT_WRITE_BATCH_MAX: &str = "512";
const DEFAULT_WRITE_WINDOW_MS: &str = "0";
const DEFAULT_WRITE_CONCURRENCY: &str = "2";
const DEFAULT_ANON_VIEWS_FLUSH_MS: &str = "1000";
const DEFAULT_ANON_VIEWS_MAX: &str = "10000";
const DEFAULT_SHUTDOWN_GRACE_SECS: &str = "10";
const DEFAULT_KAFKA_TOPIC_PREFIX: &str = "watchme";
const DEFAULT_KAFKA_PARTITIONS: &str = "6";
const DEFAULT_KAFKA_REPLICATION_FACTOR: &str = "1";
const DEFAULT_KAFKA_CREATE_TOPICS: &str = "true";
const DEFAULT_KAFKA_COMPRESSION: &str = "lz4";
const DEFAULT_KAFKA_LINGER_MS: &str = "5";
const DEFAULT_KAFKA_DELIVERY_TIMEOUT_MS: &str = "30000";
const DEFAULT_KAFKA_SESSION_TIMEOUT_MS: &str = "45000";
const DEFAULT_KAFKA_MAX_POLL_INTERVAL_MS: &str = "300000";
const DEFAULT_ANALYTICS_CONSUMER: &str = "false";
const DEFAULT_CONSUMER_GROUP: &str = "watchme-analytics";
const DEFAULT_CONSUMER_BATCH_SIZE: &str = "2000";
const DEFAULT_CONSUMER_MAX_ATTEMPTS: &str = "5";

/// Raw settings as given; see `.env.example` for every key.
#[derive(Debug, Clone, Args)]
pub struct RawConfig {
    /// Address to listen on (host:port; port 0 picks a free one).
    #[arg(long, env = "WATCHME_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,
    /// Directory for the embedded default's files (generated JWT secret ...).
    #[arg(long, env = "WATCHME_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Database URL: postgres://..., sqlite://FILE, or memory: (nothing kept);
    /// unset = SQLite file `watchme.db` in the data directory.
    #[arg(long, env = "WATCHME_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most connections in the database pool.
    #[arg(long, env = "WATCHME_DB_MAX_CONNECTIONS", default_value = DEFAULT_DB_MAX_CONNECTIONS)]
    pub db_max_connections: String,
    /// Milliseconds a request waits for a database connection before a 503.
    #[arg(long, env = "WATCHME_DB_ACQUIRE_TIMEOUT_MS", default_value = DEFAULT_DB_ACQUIRE_TIMEOUT_MS)]
    pub db_acquire_timeout_ms: String,
    /// Longest a database statement may run, in milliseconds.
    #[arg(long, env = "WATCHME_DB_STATEMENT_TIMEOUT_MS", default_value = DEFAULT_DB_STATEMENT_TIMEOUT_MS)]
    pub db_statement_timeout_ms: String,
    /// How long start-up keeps retrying an unreachable database, in seconds.
    #[arg(long, env = "WATCHME_DB_STARTUP_TIMEOUT_SECS", default_value = DEFAULT_DB_STARTUP_TIMEOUT_SECS)]
    pub db_startup_timeout_secs: String,
    /// Run database migrations at start-up (`true`/`false`).
    #[arg(long, env = "WATCHME_AUTO_MIGRATE", default_value = DEFAULT_AUTO_MIGRATE)]
    pub auto_migrate: String,
    /// Run the outbox relay inside the server (`true`/`false`); turn it off
    /// when `watchme relay` runs as its own process.
    #[arg(long, env = "WATCHME_RELAY", default_value = DEFAULT_RELAY)]
    pub relay: String,
    /// Hours published events stay in the outbox before pruning (0: deleted as they are published).
    #[arg(long, env = "WATCHME_OUTBOX_RETENTION_HOURS", default_value = DEFAULT_OUTBOX_RETENTION_HOURS)]
    pub outbox_retention_hours: String,
    /// Redis URL for the shared cache (two-tier: in-process L1 + Redis); unset = in-process cache only.
    #[arg(long, env = "WATCHME_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, to share one Redis between deployments.
    #[arg(long, env = "WATCHME_REDIS_NAMESPACE", default_value = "")]
    pub redis_namespace: String,
    /// Seconds an entry lives in the in-process L1 in front of Redis (0 = no L1).
    #[arg(long, env = "WATCHME_CACHE_L1_TTL_SECS", default_value = DEFAULT_CACHE_L1_TTL_SECS)]
    pub cache_l1_ttl_secs: String,
    /// Kafka bootstrap brokers (host:port,...); unset = in-process event bus.
    #[arg(long, env = "WATCHME_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// Topics are `<prefix>.events` and `<prefix>.events.dlq`.
    #[arg(long, env = "WATCHME_KAFKA_TOPIC_PREFIX", default_value = DEFAULT_KAFKA_TOPIC_PREFIX)]
    pub kafka_topic_prefix: String,
    /// Create missing topics at start-up (`true`/`false`).
    #[arg(long, env = "WATCHME_KAFKA_CREATE_TOPICS", default_value = DEFAULT_KAFKA_CREATE_TOPICS)]
    pub kafka_create_topics: String,
    /// Partitions of a topic created at start-up.
    #[arg(long, env = "WATCHME_KAFKA_PARTITIONS", default_value = DEFAULT_KAFKA_PARTITIONS)]
    pub kafka_partitions: String,
    /// Replication factor of a topic created at start-up.
    #[arg(long, env = "WATCHME_KAFKA_REPLICATION_FACTOR", default_value = DEFAULT_KAFKA_REPLICATION_FACTOR)]
    pub kafka_replication_factor: String,
    /// Producer compression: `lz4`, `snappy` or `none`.
    #[arg(long, env = "WATCHME_KAFKA_COMPRESSION", default_value = DEFAULT_KAFKA_COMPRESSION)]
    pub kafka_compression: String,
    /// Milliseconds the producer waits to fill a batch.
    #[arg(long, env = "WATCHME_KAFKA_LINGER_MS", default_value = DEFAULT_KAFKA_LINGER_MS)]
    pub kafka_linger_ms: String,
    /// Milliseconds an event may wait for the broker's acknowledgement before its batch is retried.
    #[arg(long, env = "WATCHME_KAFKA_DELIVERY_TIMEOUT_MS", default_value = DEFAULT_KAFKA_DELIVERY_TIMEOUT_MS)]
    pub kafka_delivery_timeout_ms: String,
    /// Milliseconds the consumer group waits for a silent consumer before rebalancing.
    #[arg(long, env = "WATCHME_KAFKA_SESSION_TIMEOUT_MS", default_value = DEFAULT_KAFKA_SESSION_TIMEOUT_MS)]
    pub kafka_session_timeout_ms: String,
    /// Milliseconds a consumer may spend on one batch (retries included) before it leaves the group;
    /// also how long a rebalance waits for vanished members.
    #[arg(long, env = "WATCHME_KAFKA_MAX_POLL_INTERVAL_MS", default_value = DEFAULT_KAFKA_MAX_POLL_INTERVAL_MS)]
    pub kafka_max_poll_interval_ms: String,
    /// librdkafka debug contexts (e.g. `cgrp,topic,msg`), logged under target `librdkafka`; unset = off.
    #[arg(long, env = "WATCHME_KAFKA_DEBUG")]
    pub kafka_debug: Option<String>,
    /// Run the analytics consumer inside the server (`true`/`false`), for
    /// single-node setups; otherwise run `watchme consume`.
    #[arg(long, env = "WATCHME_ANALYTICS_CONSUMER", default_value = DEFAULT_ANALYTICS_CONSUMER)]
    pub analytics_consumer: String,
    /// Kafka consumer group of the analytics consumers.
    #[arg(long, env = "WATCHME_CONSUMER_GROUP", default_value = DEFAULT_CONSUMER_GROUP)]
    pub consumer_group: String,
    /// Most events the consumer applies in one transaction.
    #[arg(long, env = "WATCHME_CONSUMER_BATCH_SIZE", default_value = DEFAULT_CONSUMER_BATCH_SIZE)]
    pub consumer_batch_size: String,
    /// Attempts at an event that keeps failing before it goes to the dead-letter topic.
    #[arg(long, env = "WATCHME_CONSUMER_MAX_ATTEMPTS", default_value = DEFAULT_CONSUMER_MAX_ATTEMPTS)]
    pub consumer_max_attempts: String,
    /// TMDb v3 API key.
    #[arg(long, env = "WATCHME_TMDB_API_KEY", hide_env_values = true)]
    pub tmdb_api_key: Option<String>,
    /// TMDb v4 read access token.
    #[arg(long, env = "WATCHME_TMDB_TOKEN", hide_env_values = true)]
    pub tmdb_token: Option<String>,
    /// TMDb API base URL.
    #[arg(long, env = "WATCHME_TMDB_BASE_URL", default_value = DEFAULT_TMDB_BASE_URL)]
    pub tmdb_base_url: String,
    /// TMDb image base URL (posters and backdrops).
    #[arg(long, env = "WATCHME_TMDB_IMAGE_BASE_URL", default_value = DEFAULT_TMDB_IMAGE_BASE_URL)]
    pub tmdb_image_base_url: String,
    /// Language of TMDb texts (ISO 639-1, optionally with region: en-US).
    #[arg(long, env = "WATCHME_TMDB_LANGUAGE", default_value = DEFAULT_TMDB_LANGUAGE)]
    pub tmdb_language: String,
    /// Region for popular lists (ISO 3166-1, e.g. US); unset = worldwide.
    #[arg(long, env = "WATCHME_TMDB_REGION")]
    pub tmdb_region: Option<String>,
    /// Total timeout of one TMDb request, in milliseconds.
    #[arg(long, env = "WATCHME_TMDB_TIMEOUT_MS", default_value = DEFAULT_TMDB_TIMEOUT_MS)]
    pub tmdb_timeout_ms: String,
    /// Requests per second we allow ourselves towards TMDb (TMDb allows about 50).
    #[arg(long, env = "WATCHME_TMDB_RATE_LIMIT", default_value = DEFAULT_TMDB_RATE_LIMIT)]
    pub tmdb_rate_limit: String,
    /// Seconds movie details stay fresh in the cache.
    #[arg(long, env = "WATCHME_CACHE_DETAILS_TTL_SECS", default_value = DEFAULT_CACHE_DETAILS_TTL_SECS)]
    pub cache_details_ttl_secs: String,
    /// Seconds a popular page stays fresh.
    #[arg(long, env = "WATCHME_CACHE_POPULAR_TTL_SECS", default_value = DEFAULT_CACHE_POPULAR_TTL_SECS)]
    pub cache_popular_ttl_secs: String,
    /// Seconds a search result stays fresh.
    #[arg(long, env = "WATCHME_CACHE_SEARCH_TTL_SECS", default_value = DEFAULT_CACHE_SEARCH_TTL_SECS)]
    pub cache_search_ttl_secs: String,
    /// Seconds past its TTL an entry is kept, to be served (X-Cache: STALE) when TMDb fails.
    #[arg(long, env = "WATCHME_CACHE_STALE_GRACE_SECS", default_value = DEFAULT_CACHE_STALE_GRACE_SECS)]
    pub cache_stale_grace_secs: String,
    /// HMAC secret for access tokens (32+ bytes); unset = generated and kept in the data directory.
    #[arg(long, env = "WATCHME_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Access token lifetime in seconds.
    #[arg(long, env = "WATCHME_JWT_TTL_SECS", default_value = DEFAULT_JWT_TTL_SECS)]
    pub jwt_ttl_secs: String,
    /// Comma-separated emails that get the admin role.
    #[arg(long, env = "WATCHME_ADMIN_EMAILS", default_value = "")]
    pub admin_emails: String,
    /// Log filter in RUST_LOG syntax (e.g. `info,watchme_server=debug`).
    #[arg(long, env = "WATCHME_LOG", default_value = DEFAULT_LOG)]
    pub log: String,
    /// Log format: `json`, `pretty`, or `auto` (pretty on a terminal, JSON otherwise).
    #[arg(long, env = "WATCHME_LOG_FORMAT", default_value = DEFAULT_LOG_FORMAT)]
    pub log_format: String,
    /// Also write JSON logs to rotating files in this directory.
    #[arg(long, env = "WATCHME_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// Log file rotation: `daily`, `hourly` or `never`.
    #[arg(long, env = "WATCHME_LOG_ROTATION", default_value = "daily")]
    pub log_rotation: String,
    /// Log files kept (older ones are deleted).
    #[arg(long, env = "WATCHME_LOG_KEEP", default_value = "7")]
    pub log_keep: String,
    /// OTLP/HTTP endpoint spans are exported to (e.g. http://collector:4318);
    /// unset: OTEL_EXPORTER_OTLP_ENDPOINT, else nothing is exported.
    #[arg(long, env = "WATCHME_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Share of new traces sampled (0.0 to 1.0); a caller's sampling decision is followed.
    #[arg(long, env = "WATCHME_TRACE_SAMPLE_RATIO", default_value = "1.0")]
    pub trace_sample_ratio: String,
    /// Requests slower than this many milliseconds are logged at warn.
    #[arg(long, env = "WATCHME_SLOW_REQUEST_MS", default_value = "1000")]
    pub slow_request_ms: String,
    /// argon2id memory cost in KiB.
    #[arg(long, env = "WATCHME_ARGON2_MEMORY_KIB", default_value = DEFAULT_ARGON2_MEMORY_KIB)]
    pub argon2_memory_kib: String,
    /// argon2id passes.
    #[arg(long, env = "WATCHME_ARGON2_ITERATIONS", default_value = DEFAULT_ARGON2_ITERATIONS)]
    pub argon2_iterations: String,
    /// argon2id lanes.
    #[arg(long, env = "WATCHME_ARGON2_PARALLELISM", default_value = DEFAULT_ARGON2_PARALLELISM)]
    pub argon2_parallelism: String,
    /// Most argon2id hashes computed at once; 0 = one fewer than the CPU cores (at least 1).
    #[arg(long, env = "WATCHME_ARGON2_MAX_CONCURRENT", default_value = DEFAULT_ARGON2_MAX_CONCURRENT)]
    pub argon2_max_concurrent: String,
    /// In-process cache size bound in MiB.
    #[arg(long, env = "WATCHME_CACHE_MAX_MB", default_value = DEFAULT_CACHE_MAX_MB)]
    pub cache_max_mb: String,
    /// Largest accepted request body in KiB.
    #[arg(long, env = "WATCHME_MAX_BODY_KIB", default_value = DEFAULT_MAX_BODY_KIB)]
    pub max_body_kib: String,
    /// How often the outbox relay looks for new events when idle, in ms.
    #[arg(long, env = "WATCHME_OUTBOX_POLL_MS", default_value = DEFAULT_OUTBOX_POLL_MS)]
    pub outbox_poll_ms: String,
    /// Events the outbox relay claims and publishes per batch (default: 1000, 200 on SQLite).
    #[arg(long, env = "WATCHME_RELAY_BATCH_SIZE")]
    pub relay_batch_size: Option<String>,
    /// Most page views (and their events) written in one transaction (group commit).
    #[arg(long, env = "WATCHME_WRITE_BATCH_MAX", default_value = DEFAULT_WRITE_BATCH_MAX)]
    pub write_batch_max: String,
    /// Longest a view waits for others to join its transaction, in ms (0: only those already waiting).
    #[arg(long, env = "WATCHME_WRITE_WINDOW_MS", default_value = DEFAULT_WRITE_WINDOW_MS)]
    pub write_window_ms: String,
    /// Group-commit transactions written at once (while one commits, the next gathers).
    #[arg(long, env = "WATCHME_WRITE_CONCURRENCY", default_value = DEFAULT_WRITE_CONCURRENCY)]
    pub write_concurrency: String,
    /// Anonymous views are counted in memory and written this often, in ms: the most a crash can lose (0: each is written before its page is answered).
    #[arg(long, env = "WATCHME_ANON_VIEWS_FLUSH_MS", default_value = DEFAULT_ANON_VIEWS_FLUSH_MS)]
    pub anon_views_flush_ms: String,
    /// Most anonymous views counted in memory before they are written at once.
    #[arg(long, env = "WATCHME_ANON_VIEWS_MAX", default_value = DEFAULT_ANON_VIEWS_MAX)]
    pub anon_views_max: String,
    /// Seconds in-flight requests get to finish on shutdown.
    #[arg(long, env = "WATCHME_SHUTDOWN_GRACE_SECS", default_value = DEFAULT_SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: String,
    /// Keys, sessions, rate limits, proxies, TLS, CORS.
    #[command(flatten)]
    pub security: RawSecurity,
    /// Dependencies that must be up for /health/ready to answer 200 (others only degrade it).
    #[arg(long, env = "WATCHME_READY_REQUIRES", default_value = "database,redis")]
    pub ready_requires: String,
    /// Serve Prometheus metrics at /metrics.
    #[arg(long, env = "WATCHME_METRICS", default_value = "true")]
    pub metrics: String,
    /// Serve /metrics on this address instead of the API's (e.g. 127.0.0.1:9090).
    #[arg(long, env = "WATCHME_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Comma-separated addresses/CIDRs allowed to scrape /metrics; empty = anyone who reaches it.
    #[arg(long, env = "WATCHME_METRICS_ALLOW", default_value = "")]
    pub metrics_allow: String,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (for log shippers).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
    /// Pretty when stdout is a terminal, JSON otherwise (default).
    Auto,
}

/// How often log files are rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRotation {
    /// A new file every day (UTC).
    Daily,
    /// A new file every hour.
    Hourly,
    /// One file, never rotated.
    Never,
}

/// Where spans are exported and how many.
#[derive(Debug, Clone, PartialEq)]
pub struct Otlp {
    /// OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`.
    pub endpoint: String,
    /// Share of new traces sampled.
    pub sample_ratio: f64,
}

/// Log files next to stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFiles {
    /// Directory of the files (`watchme.<date>.log`).
    pub dir: PathBuf,
    /// Rotation period.
    pub rotation: LogRotation,
    /// Files kept.
    pub keep: usize,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Where users, library, outbox and analytics live.
    pub database: Database,
    /// Database pool and timeouts.
    pub db: watchme_adapters::sql::SqlOptions,
    /// How long start-up retries an unreachable database.
    pub db_startup_timeout: Duration,
    /// Run migrations at start-up.
    pub auto_migrate: bool,
    /// Run the outbox relay in the server process.
    pub relay: bool,
    /// How long published events stay in the outbox.
    pub outbox_retention: Duration,
    /// Access token lifetime.
    pub jwt_ttl: Duration,
    /// Emails granted the admin role.
    pub admin_emails: HashSet<Email>,
    /// Log filter.
    pub log: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Rotating log files, when configured.
    pub log_files: Option<LogFiles>,
    /// Requests slower than this are logged at warn.
    pub slow_request: Duration,
    /// Span export, when an OTLP endpoint is configured.
    pub otlp: Option<Otlp>,
    /// argon2id cost.
    pub argon2: watchme_adapters::crypto::Argon2Params,
    /// Most hashes at once (0 = the hasher's default, cores - 1).
    pub argon2_max_concurrent: usize,
    /// In-process cache bound in bytes.
    pub cache_max_bytes: u64,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Outbox relay idle poll interval.
    pub outbox_poll: Duration,
    /// Events per relay batch; `None`: the default of the database.
    pub relay_batch_size: Option<u32>,
    /// How page views are written (group commit, anonymous counting).
    pub view_recording: watchme_core::services::ViewRecording,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// TMDb, when a credential is configured; else the bundled catalog is served.
    pub tmdb: Option<watchme_adapters::tmdb::TmdbConfig>,
    /// Cache policy of movie data.
    pub movie_policy: watchme_core::services::MoviePolicy,
    /// The shared Redis tier, when configured.
    pub redis: Option<watchme_adapters::redis::RedisConfig>,
    /// TTL of the in-process L1 in front of Redis.
    pub cache_l1_ttl: Duration,
    /// Kafka, when the event bus is Kafka.
    pub kafka: Option<Kafka>,
    /// Run the analytics consumer inside the server.
    pub analytics_consumer: bool,
    /// Keys, sessions, rate limits, proxies, TLS, CORS.
    pub security: Security,
    /// Prometheus metrics, when on.
    pub metrics: Option<Metrics>,
    /// Dependencies whose failure makes the instance unready.
    pub ready_requires: HashSet<String>,
}

/// Where and to whom `/metrics` is served.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// A separate listen address; `None` = on the API's own.
    pub bind: Option<SocketAddr>,
    /// Who may scrape; empty = anyone.
    pub allow: Vec<ipnet::IpNet>,
}

/// The Kafka event bus and its analytics consumer.
#[derive(Debug, Clone)]
pub struct Kafka {
    /// Brokers, topics, producer.
    pub config: watchme_adapters::kafka::KafkaConfig,
    /// The analytics consumer's group, batches and retries.
    pub consumer: watchme_adapters::kafka::ConsumerConfig,
    /// Create missing topics at start-up.
    pub create_topics: bool,
}

/// The storage backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A database URL (postgres://..., postgresql://... or sqlite:...).
    Url(Secret),
    /// In memory: nothing survives a restart (demos and tests).
    Memory,
}

impl Database {
    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Memory => "memory:".into(),
            Self::Url(u) => redact_url(u.expose()),
        }
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((creds, host)) = rest.split_once('@') else { return url.to_owned() };
    match creds.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A secret string whose `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One bad setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable (and so the flag) at fault.
    pub key: &'static str,
    /// What is wrong and what is expected.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

struct Check(Vec<ConfigError>);

impl Check {
    fn fail(&mut self, key: &'static str, message: impl Into<String>) {
        self.0.push(ConfigError { key, message: message.into() });
    }

    fn boolean(&mut self, key: &'static str, raw: &str) -> bool {
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                self.fail(key, format!("expected true or false, got {raw:?}"));
                false
            }
        }
    }

    fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        key: &'static str,
        raw: &str,
        min: T,
        max: T,
    ) -> T {
        match raw.trim().parse::<T>() {
            Ok(v) if v >= min && v <= max => v,
            _ => {
                self.fail(key, format!("expected a whole number from {min} to {max}, got {raw:?}"));
                min
            }
        }
    }

    /// A whole number of milliseconds within `min..=max`.
    fn millis(&mut self, key: &'static str, raw: &str, min: u64, max: u64) -> Duration {
        Duration::from_millis(self.number(key, raw, min, max))
    }

    /// A whole number of seconds within `min..=max`.
    fn secs(&mut self, key: &'static str, raw: &str, min: u64, max: u64) -> Duration {
        Duration::from_secs(self.number(key, raw, min, max))
    }
}

impl RawConfig {
    /// Validates every value; returns all problems at once.
    ///
    /// # Errors
    /// One [`ConfigError`] per bad value.
    pub fn validate(&self) -> Result<Config, Vec<ConfigError>> {
        let mut c = Check(Vec::new());
        let bind = self.bind.trim().parse::<SocketAddr>().unwrap_or_else(|_| {
            c.fail(
                "WATCHME_BIND",
                format!("expected host:port with an IP host, e.g. 127.0.0.1:8080 or 0.0.0.0:8080, got {:?}", self.bind),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        if self.data_dir.as_os_str().is_empty() {
            c.fail("WATCHME_DATA_DIR", "must not be empty");
        }
        let kafka = self.kafka(&mut c);
        let analytics_consumer = c.boolean("WATCHME_ANALYTICS_CONSUMER", &self.analytics_consumer);
        if analytics_consumer && kafka.is_none() {
            c.fail(
                "WATCHME_ANALYTICS_CONSUMER",
                "needs WATCHME_KAFKA_BROKERS: without Kafka, analytics are applied in-process already",
            );
        }
        let database = match self.database_url.as_deref().map(str::trim) {
            None | Some("") => {
                let path = self.data_dir.join("watchme.db");
                Database::Url(Secret::new(format!("sqlite://{}", path.display())))
            }
            Some("memory:") => Database::Memory,
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") || u.starts_with("sqlite:") => {
                Database::Url(Secret::new(u))
            }
            Some(u) => {
                c.fail(
                    "WATCHME_DATABASE_URL",
                    format!("expected postgres://..., sqlite://FILE or memory:, got {:?}", redact_url(u)),
                );
                Database::Memory
            }
        };
        let db = watchme_adapters::sql::SqlOptions {
            max_connections: c.number("WATCHME_DB_MAX_CONNECTIONS", &self.db_max_connections, 1u32, 1000),
            acquire_timeout: c.millis("WATCHME_DB_ACQUIRE_TIMEOUT_MS", &self.db_acquire_timeout_ms, 10, 600_000),
            statement_timeout: c.millis(
                "WATCHME_DB_STATEMENT_TIMEOUT_MS",
                &self.db_statement_timeout_ms,
                10,
                3_600_000,
            ),
        };
        let db_startup_timeout = c.secs("WATCHME_DB_STARTUP_TIMEOUT_SECS", &self.db_startup_timeout_secs, 0, 3600);
        let auto_migrate = c.boolean("WATCHME_AUTO_MIGRATE", &self.auto_migrate);
        let relay = c.boolean("WATCHME_RELAY", &self.relay);
        let outbox_retention = Duration::from_secs(
            3600 * c.number("WATCHME_OUTBOX_RETENTION_HOURS", &self.outbox_retention_hours, 0u64, 24 * 365),
        );
        if !(self.tmdb_base_url.starts_with("http://") || self.tmdb_base_url.starts_with("https://")) {
            c.fail(
                "WATCHME_TMDB_BASE_URL",
                format!("expected an http:// or https:// URL, got {:?}", self.tmdb_base_url),
            );
        }
        let jwt_secret = match self.jwt_secret.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) if s.len() < 32 => {
                c.fail("WATCHME_JWT_SECRET", "must be at least 32 bytes long (e.g. 64 hex characters)");
                None
            }
            Some(s) => Some(Secret::new(s)),
        };
        let jwt_ttl = c.secs("WATCHME_JWT_TTL_SECS", &self.jwt_ttl_secs, 30, 86_400);
        let mut admin_emails = HashSet::new();
        for raw in self.admin_emails.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match Email::parse(raw) {
                Ok(e) => {
                    admin_emails.insert(e);
                }
                Err(e) => c.fail("WATCHME_ADMIN_EMAILS", format!("{raw:?} is not a valid email: {e}")),
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            c.fail(
                "WATCHME_LOG",
                format!("not a valid filter ({e}); use RUST_LOG syntax such as `info` or `info,watchme_server=debug`"),
            );
        }
        let log_format = match self.log_format.trim() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            "auto" => LogFormat::Auto,
            other => {
                c.fail("WATCHME_LOG_FORMAT", format!("expected `json`, `pretty` or `auto`, got {other:?}"));
                LogFormat::Json
            }
        };
        let rotation = match self.log_rotation.trim() {
            "daily" => LogRotation::Daily,
            "hourly" => LogRotation::Hourly,
            "never" => LogRotation::Never,
            other => {
                c.fail("WATCHME_LOG_ROTATION", format!("expected `daily`, `hourly` or `never`, got {other:?}"));
                LogRotation::Daily
            }
        };
        let keep = c.number("WATCHME_LOG_KEEP", &self.log_keep, 1usize, 10_000);
        let log_files = self.log_dir.as_ref().filter(|d| !d.as_os_str().is_empty()).map(|dir| LogFiles {
            dir: dir.clone(),
            rotation,
            keep,
        });
        let slow_request = c.millis("WATCHME_SLOW_REQUEST_MS", &self.slow_request_ms, 1, 3_600_000);
        let sample_ratio = match self.trace_sample_ratio.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                c.fail(
                    "WATCHME_TRACE_SAMPLE_RATIO",
                    format!("expected a number from 0.0 to 1.0, got {:?}", self.trace_sample_ratio),
                );
                1.0
            }
        };
        let endpoint = self
            .otlp_endpoint
            .clone()
            .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty());
        let otlp = endpoint.map(|endpoint| {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                c.fail("WATCHME_OTLP_ENDPOINT", format!("expected an http:// or https:// URL, got {endpoint:?}"));
            }
            Otlp { endpoint, sample_ratio }
        });
        let argon2 = watchme_adapters::crypto::Argon2Params {
            memory_kib: c.number("WATCHME_ARGON2_MEMORY_KIB", &self.argon2_memory_kib, 8u32, 4 * 1024 * 1024),
            iterations: c.number("WATCHME_ARGON2_ITERATIONS", &self.argon2_iterations, 1u32, 100),
            parallelism: c.number("WATCHME_ARGON2_PARALLELISM", &self.argon2_parallelism, 1u32, 64),
        };
        let argon2_max_concurrent =
            c.number("WATCHME_ARGON2_MAX_CONCURRENT", &self.argon2_max_concurrent, 0usize, 1024);
        let cache_max_bytes = c.number("WATCHME_CACHE_MAX_MB", &self.cache_max_mb, 1u64, 65_536) * 1024 * 1024;
        let max_body_bytes = c.number("WATCHME_MAX_BODY_KIB", &self.max_body_kib, 1usize, 10 * 1024) * 1024;
        let outbox_poll = c.millis("WATCHME_OUTBOX_POLL_MS", &self.outbox_poll_ms, 10, 60_000);
        let relay_batch_size = self
            .relay_batch_size
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| c.number("WATCHME_RELAY_BATCH_SIZE", s, 1u32, 10_000));
        let view_recording = watchme_core::services::ViewRecording {
            group_commit: watchme_core::services::GroupCommitConfig {
                max_batch: c.number("WATCHME_WRITE_BATCH_MAX", &self.write_batch_max, 1usize, 10_000),
                window: c.millis("WATCHME_WRITE_WINDOW_MS", &self.write_window_ms, 0, 1_000),
                writers: c.number("WATCHME_WRITE_CONCURRENCY", &self.write_concurrency, 1usize, 64),
            },
            anonymous_flush: c.millis("WATCHME_ANON_VIEWS_FLUSH_MS", &self.anon_views_flush_ms, 0, 3_600_000),
            anonymous_max: c.number("WATCHME_ANON_VIEWS_MAX", &self.anon_views_max, 1u64, 100_000_000),
        };
        let shutdown_grace = c.secs("WATCHME_SHUTDOWN_GRACE_SECS", &self.shutdown_grace_secs, 0, 600);
        let nonempty = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let auth = match (nonempty(&self.tmdb_api_key), nonempty(&self.tmdb_token)) {
            (Some(_), Some(_)) => {
                c.fail("WATCHME_TMDB_TOKEN", "set either WATCHME_TMDB_API_KEY or WATCHME_TMDB_TOKEN, not both");
                None
            }
            (Some(k), None) => Some(watchme_adapters::tmdb::TmdbAuth::ApiKey(k)),
            (None, Some(t)) => Some(watchme_adapters::tmdb::TmdbAuth::Token(t)),
            (None, None) => None,
        };
        let language = self.tmdb_language.trim().to_owned();
        if language.is_empty()
            || language.len() > 10
            || !language.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        {
            c.fail("WATCHME_TMDB_LANGUAGE", format!("expected a language tag such as en-US, got {language:?}"));
        }
        let region = nonempty(&self.tmdb_region);
        if region.as_deref().is_some_and(|r| r.len() != 2 || !r.chars().all(|ch| ch.is_ascii_alphabetic())) {
            c.fail("WATCHME_TMDB_REGION", "expected a two-letter country code such as US");
        }
        if !(self.tmdb_image_base_url.starts_with("http://") || self.tmdb_image_base_url.starts_with("https://")) {
            c.fail(
                "WATCHME_TMDB_IMAGE_BASE_URL",
                format!("expected an http(s) URL, got {:?}", self.tmdb_image_base_url),
            );
        }
        let tmdb_timeout = c.millis("WATCHME_TMDB_TIMEOUT_MS", &self.tmdb_timeout_ms, 100, 60_000);
        let tmdb_rate = c.number("WATCHME_TMDB_RATE_LIMIT", &self.tmdb_rate_limit, 1u32, 1000);
        let tmdb = auth.map(|auth| watchme_adapters::tmdb::TmdbConfig {
            base_url: self.tmdb_base_url.trim().to_owned(),
            language: language.clone(),
            region: region.clone(),
            image_base_url: self.tmdb_image_base_url.trim().to_owned(),
            timeout: tmdb_timeout,
            rate_limit_per_sec: tmdb_rate,
            ..watchme_adapters::tmdb::TmdbConfig::new(auth)
        });
        let redis = match self.redis_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(u) if u.starts_with("redis://") || u.starts_with("rediss://") || u.starts_with("redis+unix://") => {
                let mut r = watchme_adapters::redis::RedisConfig::new(u);
                r.namespace = self.redis_namespace.trim().to_owned();
                Some(r)
            }
            Some(u) => {
                c.fail("WATCHME_REDIS_URL", format!("expected redis://host:port, got {:?}", redact_url(u)));
                None
            }
        };
        let cache_l1_ttl = c.secs("WATCHME_CACHE_L1_TTL_SECS", &self.cache_l1_ttl_secs, 0, 3600);
        let movie_policy = watchme_core::services::MoviePolicy {
            key_prefix: "watchme:v1".into(),
            // The catalog has one language; TMDb's is part of every key.
            language: if tmdb.is_some() { language } else { "catalog".into() },
            details_ttl: c.secs("WATCHME_CACHE_DETAILS_TTL_SECS", &self.cache_details_ttl_secs, 1, 30 * 86_400),
            popular_ttl: c.secs("WATCHME_CACHE_POPULAR_TTL_SECS", &self.cache_popular_ttl_secs, 1, 30 * 86_400),
            search_ttl: c.secs("WATCHME_CACHE_SEARCH_TTL_SECS", &self.cache_search_ttl_secs, 1, 30 * 86_400),
            stale_grace: c.secs("WATCHME_CACHE_STALE_GRACE_SECS", &self.cache_stale_grace_secs, 0, 90 * 86_400),
        };
        let security = self.security.validate(&mut c, jwt_secret);
        let mut ready_requires = HashSet::new();
        for name in self.ready_requires.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if ["database", "redis", "events", "movie_source"].contains(&name) {
                ready_requires.insert(name.to_owned());
            } else {
                c.fail(
                    "WATCHME_READY_REQUIRES",
                    format!("unknown dependency {name:?}: use database, redis, events or movie_source"),
                );
            }
        }
        let metrics = c.boolean("WATCHME_METRICS", &self.metrics).then(|| Metrics {
            bind: self.metrics_bind.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| {
                s.parse::<SocketAddr>().unwrap_or_else(|_| {
                    c.fail("WATCHME_METRICS_BIND", format!("expected host:port with an IP host, got {s:?}"));
                    bind
                })
            }),
            allow: c.ip_nets("WATCHME_METRICS_ALLOW", &self.metrics_allow),
        });
        if !c.0.is_empty() {
            return Err(c.0);
        }
        Ok(Config {
            bind,
            data_dir: self.data_dir.clone(),
            database,
            db,
            db_startup_timeout,
            auto_migrate,
            relay,
            outbox_retention,
            jwt_ttl,
            admin_emails,
            log: self.log.clone(),
            log_format,
            log_files,
            slow_request,
            otlp,
            argon2,
            argon2_max_concurrent,
            cache_max_bytes,
            max_body_bytes,
            outbox_poll,
            relay_batch_size,
            view_recording,
            shutdown_grace,
            tmdb,
            movie_policy,
            redis,
            cache_l1_ttl,
            kafka,
            analytics_consumer,
            security,
            metrics,
            ready_requires,
        })
    }

    fn kafka(&self, c: &mut Check) -> Option<Kafka> {
        let brokers = self.kafka_brokers.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        if brokers
            .split(',')
            .any(|b| b.trim().rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()))
        {
            c.fail("WATCHME_KAFKA_BROKERS", format!("expected host:port[,host:port...], got {brokers:?}"));
        }
        let prefix = self.kafka_topic_prefix.trim();
        if prefix.is_empty()
            || prefix.len() > 200
            || !prefix.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
        {
            c.fail("WATCHME_KAFKA_TOPIC_PREFIX", format!("expected letters, digits, '.', '_' or '-', got {prefix:?}"));
        }
        let compression = self.kafka_compression.trim();
        if !matches!(compression, "lz4" | "snappy" | "none") {
            c.fail("WATCHME_KAFKA_COMPRESSION", format!("expected lz4, snappy or none, got {compression:?}"));
        }
        let group = self.consumer_group.trim();
        if group.is_empty() {
            c.fail("WATCHME_CONSUMER_GROUP", "must not be empty");
        }
        let config = watchme_adapters::kafka::KafkaConfig {
            topic_prefix: prefix.to_owned(),
            partitions: c.number("WATCHME_KAFKA_PARTITIONS", &self.kafka_partitions, 1i32, 10_000),
            replication_factor: c.number("WATCHME_KAFKA_REPLICATION_FACTOR", &self.kafka_replication_factor, 1i32, 100),
            compression: compression.to_owned(),
            linger: c.millis("WATCHME_KAFKA_LINGER_MS", &self.kafka_linger_ms, 0, 10_000),
            delivery_timeout: c.millis(
                "WATCHME_KAFKA_DELIVERY_TIMEOUT_MS",
                &self.kafka_delivery_timeout_ms,
                1_000,
                3_600_000,
            ),
            debug: self.kafka_debug.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            ..watchme_adapters::kafka::KafkaConfig::new(brokers)
        };
        let consumer = watchme_adapters::kafka::ConsumerConfig {
            group_id: group.to_owned(),
            batch_size: c.number("WATCHME_CONSUMER_BATCH_SIZE", &self.consumer_batch_size, 1usize, 10_000),
            max_attempts: c.number("WATCHME_CONSUMER_MAX_ATTEMPTS", &self.consumer_max_attempts, 1u32, 100),
            session_timeout: c.millis(
                "WATCHME_KAFKA_SESSION_TIMEOUT_MS",
                &self.kafka_session_timeout_ms,
                1_000,
                3_600_000,
            ),
            max_poll_interval: c.millis(
                "WATCHME_KAFKA_MAX_POLL_INTERVAL_MS",
                &self.kafka_max_poll_interval_ms,
                1_000,
                86_400_000,
            ),
            ..watchme_adapters::kafka::ConsumerConfig::default()
        };
        if consumer.max_poll_interval < consumer.session_timeout {
            c.fail("WATCHME_KAFKA_MAX_POLL_INTERVAL_MS", "must be at least WATCHME_KAFKA_SESSION_TIMEOUT_MS");
        }
        let create_topics = c.boolean("WATCHME_KAFKA_CREATE_TOPICS", &self.kafka_create_topics);
        Some(Kafka { config, consumer, create_topics })
    }
}

impl RawConfig {
    /// The documented defaults, with nothing from the environment.
    pub fn defaults() -> Self {
        Self {
            bind: DEFAULT_BIND.into(),
            data_dir: DEFAULT_DATA_DIR.into(),
            database_url: None,
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS.into(),
            db_acquire_timeout_ms: DEFAULT_DB_ACQUIRE_TIMEOUT_MS.into(),
            db_statement_timeout_ms: DEFAULT_DB_STATEMENT_TIMEOUT_MS.into(),
            db_startup_timeout_secs: DEFAULT_DB_STARTUP_TIMEOUT_SECS.into(),
            auto_migrate: DEFAULT_AUTO_MIGRATE.into(),
            relay: DEFAULT_RELAY.into(),
            outbox_retention_hours: DEFAULT_OUTBOX_RETENTION_HOURS.into(),
            redis_url: None,
            redis_namespace: String::new(),
            cache_l1_ttl_secs: DEFAULT_CACHE_L1_TTL_SECS.into(),
            kafka_brokers: None,
            kafka_topic_prefix: DEFAULT_KAFKA_TOPIC_PREFIX.into(),
            kafka_create_topics: DEFAULT_KAFKA_CREATE_TOPICS.into(),
            kafka_partitions: DEFAULT_KAFKA_PARTITIONS.into(),
            kafka_replication_factor: DEFAULT_KAFKA_REPLICATION_FACTOR.into(),
            kafka_compression: DEFAULT_KAFKA_COMPRESSION.into(),
            kafka_linger_ms: DEFAULT_KAFKA_LINGER_MS.into(),
            kafka_delivery_timeout_ms: DEFAULT_KAFKA_DELIVERY_TIMEOUT_MS.into(),
            kafka_session_timeout_ms: DEFAULT_KAFKA_SESSION_TIMEOUT_MS.into(),
            kafka_max_poll_interval_ms: DEFAULT_KAFKA_MAX_POLL_INTERVAL_MS.into(),
            kafka_debug: None,
            analytics_consumer: DEFAULT_ANALYTICS_CONSUMER.into(),
            consumer_group: DEFAULT_CONSUMER_GROUP.into(),
            consumer_batch_size: DEFAULT_CONSUMER_BATCH_SIZE.into(),
            consumer_max_attempts: DEFAULT_CONSUMER_MAX_ATTEMPTS.into(),
            tmdb_api_key: None,
            tmdb_token: None,
            tmdb_base_url: DEFAULT_TMDB_BASE_URL.into(),
            tmdb_image_base_url: DEFAULT_TMDB_IMAGE_BASE_URL.into(),
            tmdb_language: DEFAULT_TMDB_LANGUAGE.into(),
            tmdb_region: None,
            tmdb_timeout_ms: DEFAULT_TMDB_TIMEOUT_MS.into(),
            tmdb_rate_limit: DEFAULT_TMDB_RATE_LIMIT.into(),
            cache_details_ttl_secs: DEFAULT_CACHE_DETAILS_TTL_SECS.into(),
            cache_popular_ttl_secs: DEFAULT_CACHE_POPULAR_TTL_SECS.into(),
            cache_search_ttl_secs: DEFAULT_CACHE_SEARCH_TTL_SECS.into(),
            cache_stale_grace_secs: DEFAULT_CACHE_STALE_GRACE_SECS.into(),
            jwt_secret: None,
            jwt_ttl_secs: DEFAULT_JWT_TTL_SECS.into(),
            admin_emails: String::new(),
            log: DEFAULT_LOG.into(),
            log_format: DEFAULT_LOG_FORMAT.into(),
            log_dir: None,
            log_rotation: "daily".into(),
            log_keep: "7".into(),
            slow_request_ms: "1000".into(),
            otlp_endpoint: None,
            trace_sample_ratio: "1.0".into(),
            argon2_memory_kib: DEFAULT_ARGON2_MEMORY_KIB.into(),
            argon2_iterations: DEFAULT_ARGON2_ITERATIONS.into(),
            argon2_parallelism: DEFAULT_ARGON2_PARALLELISM.into(),
            argon2_max_concurrent: DEFAULT_ARGON2_MAX_CONCURRENT.into(),
            cache_max_mb: DEFAULT_CACHE_MAX_MB.into(),
            max_body_kib: DEFAULT_MAX_BODY_KIB.into(),
            outbox_poll_ms: DEFAULT_OUTBOX_POLL_MS.into(),
            relay_batch_size: None,
            write_batch_max: DEFAULT_WRITE_BATCH_MAX.into(),
            write_window_ms: DEFAULT_WRITE_WINDOW_MS.into(),
            write_concurrency: DEFAULT_WRITE_CONCURRENCY.into(),
            anon_views_flush_ms: DEFAULT_ANON_VIEWS_FLUSH_MS.into(),
            anon_views_max: DEFAULT_ANON_VIEWS_MAX.into(),
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS.into(),
            security: RawSecurity::defaults(),
            ready_requires: "database,redis".into(),
            metrics: "true".into(),
            metrics_bind: None,
            metrics_allow: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_docs() {
        let c = RawConfig::defaults().validate().unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!((c.jwt_ttl.as_secs(), c.log_format), (900, LogFormat::Auto));
        assert_eq!((c.log_files, c.slow_request.as_millis()), (None, 1000));
        assert_eq!(c.argon2, watchme_adapters::crypto::Argon2Params::OWASP);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_key() {
        let mut raw = RawConfig::defaults();
        raw.bind = "localhost".into();
        raw.jwt_secret = Some("short".into());
        raw.jwt_ttl_secs = "-5".into();
        raw.admin_emails = "root@example.com, not-an-email".into();
        raw.log = "info,[".into();
        raw.log_format = "xml".into();
        raw.argon2_memory_kib = "lots".into();
        raw.tmdb_base_url = "ftp://x".into();
        raw.database_url = Some("mysql://root:hunter2@localhost/watchme".into());
        raw.auto_migrate = "maybe".into();
        let errors = raw.validate().unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key).collect();
        for key in [
            "WATCHME_BIND",
            "WATCHME_JWT_SECRET",
            "WATCHME_JWT_TTL_SECS",
            "WATCHME_ADMIN_EMAILS",
            "WATCHME_LOG",
            "WATCHME_LOG_FORMAT",
            "WATCHME_ARGON2_MEMORY_KIB",
            "WATCHME_TMDB_BASE_URL",
            "WATCHME_DATABASE_URL",
            "WATCHME_AUTO_MIGRATE",
        ] {
            assert!(keys.contains(&key), "{key} not reported in {errors:?}");
        }
        assert!(
            errors.iter().all(|e| !e.message.contains("short") && !e.message.contains("hunter2")),
            "secrets are not echoed"
        );
    }

    #[test]
    fn security_observability_settings_are_validated_with_the_rest() {
        let mut raw = RawConfig::defaults();
        raw.security.jwt_algorithm = "RS512".into();
        raw.security.jwt_kid = "bad kid!".into();
        raw.security.jwt_previous_keys = "old=HS256:too-short-secret-xyz".into();
        raw.security.rate_anonymous = "lots".into();
        raw.security.rate_auth_ip = "0/900".into();
        raw.security.trusted_proxies = "10.0.0.0/8, proxy.internal".into();
        raw.security.tls_cert = Some("cert.pem".into());
        raw.security.cors_origins = "https://app.example.com/path".into();
        raw.security.refresh_ttl_secs = "5".into();
        raw.metrics_allow = "everyone".into();
        raw.metrics_bind = Some("localhost:9090".into());
        raw.ready_requires = "database,kafka".into();
        raw.log_rotation = "weekly".into();
        raw.slow_request_ms = "0".into();
        let errors = raw.validate().unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key).collect();
        for key in [
            "WATCHME_JWT_ALGORITHM",
            "WATCHME_JWT_KID",
            "WATCHME_JWT_PREVIOUS_KEYS",
            "WATCHME_RATE_ANONYMOUS",
            "WATCHME_RATE_AUTH_IP",
            "WATCHME_TRUSTED_PROXIES",
            "WATCHME_TLS_CERT",
            "WATCHME_CORS_ORIGINS",
            "WATCHME_REFRESH_TTL_SECS",
            "WATCHME_METRICS_ALLOW",
            "WATCHME_METRICS_BIND",
            "WATCHME_READY_REQUIRES",
            "WATCHME_LOG_ROTATION",
            "WATCHME_SLOW_REQUEST_MS",
        ] {
            assert!(keys.contains(&key), "{key} not reported in {errors:?}");
        }
        assert!(
            errors.iter().all(|e| !e.message.contains("too-short-secret")),
            "a previous key's secret is not echoed"
        );

        let mut raw = RawConfig::defaults();
        raw.security.jwt_algorithm = "EdDSA".into();
        let errors = raw.validate().unwrap_err();
        assert_eq!(errors[0].key, "WATCHME_JWT_PRIVATE_KEY_FILE", "EdDSA needs its key files");
    }

    #[test]
    fn the_default_database_is_a_sqlite_file_in_the_data_directory() {
        let c = RawConfig::defaults().validate().unwrap();
        assert_eq!(c.database.redacted(), "sqlite://data/watchme.db");
        let mut raw = RawConfig::defaults();
        raw.database_url = Some("postgres://watchme:s3cret@db:5432/watchme".into());
        assert_eq!(raw.validate().unwrap().database.redacted(), "postgres://watchme:***@db:5432/watchme");
    }

    #[test]
    fn admin_emails_are_normalised() {
        let mut raw = RawConfig::defaults();
        raw.admin_emails = " Root@Example.com ,ops@example.com".into();
        let c = raw.validate().unwrap();
        assert!(c.admin_emails.contains(&Email::parse("root@example.com").unwrap()));
        assert_eq!(c.admin_emails.len(), 2);
    }

    #[test]
    fn kafka_settings_are_validated_together() {
        let mut raw = RawConfig::defaults();
        raw.kafka_brokers = Some("kafka1:9092,nohost".into());
        raw.kafka_topic_prefix = "bad prefix".into();
        raw.kafka_compression = "gzip".into();
        raw.kafka_partitions = "0".into();
        raw.kafka_session_timeout_ms = "60000".into();
        raw.kafka_max_poll_interval_ms = "10000".into();
        let keys: Vec<&str> = raw.validate().unwrap_err().iter().map(|e| e.key).collect();
        for key in [
            "WATCHME_KAFKA_BROKERS",
            "WATCHME_KAFKA_TOPIC_PREFIX",
            "WATCHME_KAFKA_COMPRESSION",
            "WATCHME_KAFKA_PARTITIONS",
            "WATCHME_KAFKA_MAX_POLL_INTERVAL_MS",
        ] {
            assert!(keys.contains(&key), "{key} not reported: {keys:?}");
        }

        let mut raw = RawConfig::defaults();
        raw.analytics_consumer = "true".into();
        let keys: Vec<&str> = raw.validate().unwrap_err().iter().map(|e| e.key).collect();
        assert_eq!(keys, ["WATCHME_ANALYTICS_CONSUMER"], "a consumer without Kafka is refused");

        raw.kafka_brokers = Some("127.0.0.1:9092".into());
        let c = raw.validate().unwrap();
        let k = c.kafka.unwrap();
        assert_eq!(
            (k.config.events_topic(), k.config.dlq_topic()),
            ("watchme.events".into(), "watchme.events.dlq".into())
        );
        assert_eq!(
            (k.consumer.group_id.as_str(), k.config.partitions, c.analytics_consumer),
            ("watchme-analytics", 6, true)
        );
    }
}
