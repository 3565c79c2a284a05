//! The one typed configuration, from `WATCHME_*` environment variables and
//! matching command-line flags, validated at start-up.
//!
//! One module per section (server, database, writes, cache, TMDb, Kafka,
//! accounts, security, telemetry, logging): each declares its flags (under
//! its own heading in `watchme --help`), holds its defaults and validates
//! itself. Raw values are read as strings by clap and validated here, all
//! at once, so an operator sees every bad value in one run, each with a
//! clear message; this module only collects them.

use clap::Args;

mod accounts;
mod cache;
mod check;
mod database;
mod kafka;
mod logging;
mod security;
mod server;
mod telemetry;
mod tmdb;
mod trakt;
mod writes;

pub use accounts::{Accounts, RawAccounts};
pub use cache::{CacheSettings, RawCache};
use check::Check;
pub use check::{redact_url, ConfigError, Secret};
pub use database::{Database, DatabaseSettings, RawDatabase};
pub use kafka::{Kafka, RawKafka};
pub use logging::{LogFiles, LogFormat, LogRotation, Logging, RawLogging};
pub use security::{PreviousKey, RawSecurity, Security, SigningKeySource};
pub use server::{RawServer, Server};
pub use telemetry::{Metrics, Otlp, RawTelemetry, Telemetry};
pub use tmdb::RawTmdb;
pub use trakt::{RawTrakt, Trakt};
pub use writes::{RawWrites, Writes};

/// Raw settings as given, by section; see `.env.example` for every key.
#[derive(Debug, Clone, Args)]
pub struct RawConfig {
    /// Listening, files, request limits, shutdown, readiness.
    #[command(flatten)]
    pub server: RawServer,
    /// The store and its pool.
    #[command(flatten)]
    pub database: RawDatabase,
    /// The relay, group commit and counted views.
    #[command(flatten)]
    pub writes: RawWrites,
    /// Redis, the L1 and freshness.
    #[command(flatten)]
    pub cache: RawCache,
    /// TMDb.
    #[command(flatten)]
    pub tmdb: RawTmdb,
    /// Kafka and the analytics consumer.
    #[command(flatten)]
    pub kafka: RawKafka,
    /// Admins and password hashing.
    #[command(flatten)]
    pub accounts: RawAccounts,
    /// Keys, sessions, rate limits, proxies, TLS, CORS.
    #[command(flatten)]
    pub security: RawSecurity,
    /// Traces and metrics.
    #[command(flatten)]
    pub telemetry: RawTelemetry,
    /// Logs.
    #[command(flatten)]
    pub logging: RawLogging,
    /// The Trakt-compatible API and scrobbling.
    #[command(flatten)]
    pub trakt: RawTrakt,
}

/// The validated configuration, by section.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listening, files, request limits, shutdown, readiness.
    pub server: Server,
    /// Where users, library, outbox and analytics live.
    pub database: DatabaseSettings,
    /// The relay, group commit and counted views.
    pub writes: Writes,
    /// Redis, the L1 and freshness.
    pub cache: CacheSettings,
    /// TMDb, when a credential is configured; else the bundled catalog is served.
    pub tmdb: Option<watchme_adapters::tmdb::TmdbConfig>,
    /// Cache policy of movie data (from the cache and TMDb sections).
    pub movie_policy: watchme_core::services::MoviePolicy,
    /// Kafka, when the event bus is Kafka.
    pub kafka: Option<Kafka>,
    /// Admins and password hashing.
    pub accounts: Accounts,
    /// Keys, sessions, rate limits, proxies, TLS, CORS.
    pub security: Security,
    /// Traces and metrics.
    pub telemetry: Telemetry,
    /// Logs.
    pub logging: Logging,
    /// The Trakt-compatible API and scrobbling.
    pub trakt: Trakt,
}

impl RawConfig {
    /// The documented defaults, with nothing from the environment.
    pub fn defaults() -> Self {
        Self {
            server: RawServer::defaults(),
            database: RawDatabase::defaults(),
            writes: RawWrites::defaults(),
            cache: RawCache::defaults(),
            tmdb: RawTmdb::defaults(),
            kafka: RawKafka::defaults(),
            accounts: RawAccounts::defaults(),
            security: RawSecurity::defaults(),
            telemetry: RawTelemetry::defaults(),
            logging: RawLogging::defaults(),
            trakt: RawTrakt::defaults(),
        }
    }

    /// Validates every section; returns all problems at once.
    ///
    /// # Errors
    /// One [`ConfigError`] per bad value.
    pub fn validate(&self) -> Result<Config, Vec<ConfigError>> {
        let mut c = Check(Vec::new());
        let server = self.server.validate(&mut c);
        let database = self.database.validate(&mut c, &server.data_dir);
        let writes = self.writes.validate(&mut c);
        let cache = self.cache.validate(&mut c);
        let tmdb = self.tmdb.validate(&mut c);
        let kafka = self.kafka.validate(&mut c);
        let accounts = self.accounts.validate(&mut c);
        let security = self.security.validate(&mut c);
        let telemetry = self.telemetry.validate(&mut c);
        let logging = self.logging.validate(&mut c);
        let trakt = self.trakt.validate(&mut c);
        if !c.0.is_empty() {
            return Err(c.0);
        }
        let movie_policy = watchme_core::services::MoviePolicy {
            key_prefix: "watchme:v1".into(),
            // The catalog has one language; TMDb's is part of every key.
            language: tmdb.as_ref().map_or_else(|| "catalog".into(), |t| t.language.clone()),
            details_ttl: cache.details_ttl,
            popular_ttl: cache.popular_ttl,
            search_ttl: cache.search_ttl,
            stale_grace: cache.stale_grace,
        };
        Ok(Config {
            server,
            database,
            writes,
            cache,
            tmdb,
            movie_policy,
            kafka,
            accounts,
            security,
            telemetry,
            logging,
            trakt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchme_core::domain::Email;

    #[test]
    fn defaults_are_valid_and_match_the_docs() {
        let c = RawConfig::defaults().validate().unwrap();
        assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!((c.security.jwt_ttl.as_secs(), c.logging.format), (900, LogFormat::Auto));
        assert_eq!((c.logging.files, c.server.slow_request.as_millis()), (None, 1000));
        assert_eq!(c.accounts.argon2, watchme_adapters::crypto::Argon2Params::OWASP);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_key() {
        let mut raw = RawConfig::defaults();
        raw.server.bind = "localhost".into();
        raw.security.jwt_secret = Some("short".into());
        raw.security.jwt_ttl_secs = "-5".into();
        raw.accounts.admin_emails = "root@example.com, not-an-email".into();
        raw.logging.log = "info,[".into();
        raw.logging.log_format = "xml".into();
        raw.accounts.argon2_memory_kib = "lots".into();
        raw.tmdb.tmdb_base_url = "ftp://x".into();
        raw.database.database_url = Some("mysql://root:hunter2@localhost/watchme".into());
        raw.database.auto_migrate = "maybe".into();
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
        raw.telemetry.metrics_allow = "everyone".into();
        raw.telemetry.metrics_bind = Some("localhost:9090".into());
        raw.server.ready_requires = "database,kafka".into();
        raw.logging.log_rotation = "weekly".into();
        raw.server.slow_request_ms = "0".into();
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
        assert_eq!(c.database.url.redacted(), "sqlite://data/watchme.db");
        let mut raw = RawConfig::defaults();
        raw.database.database_url = Some("postgres://watchme:s3cret@db:5432/watchme".into());
        assert_eq!(raw.validate().unwrap().database.url.redacted(), "postgres://watchme:***@db:5432/watchme");
    }

    #[test]
    fn admin_emails_are_normalised() {
        let mut raw = RawConfig::defaults();
        raw.accounts.admin_emails = " Root@Example.com ,ops@example.com".into();
        let c = raw.validate().unwrap();
        assert!(c.accounts.admin_emails.contains(&Email::parse("root@example.com").unwrap()));
        assert_eq!(c.accounts.admin_emails.len(), 2);
    }

    #[test]
    fn kafka_security_is_validated_and_its_password_never_printed() {
        let mut raw = RawConfig::defaults();
        raw.kafka.kafka_brokers = Some("kafka:9093".into());
        raw.kafka.kafka_sasl_mechanism = Some("GSSAPI".into());
        raw.kafka.kafka_ca_file = Some("/nonexistent/ca.pem".into());
        let keys: Vec<&str> = raw.validate().unwrap_err().iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            ["WATCHME_KAFKA_CA_FILE", "WATCHME_KAFKA_SASL_MECHANISM"],
            "CA without TLS, unknown mechanism"
        );
        raw.kafka.kafka_ca_file = None;
        raw.kafka.kafka_sasl_mechanism = Some("SCRAM-SHA-512".into());
        let keys: Vec<&str> = raw.validate().unwrap_err().iter().map(|e| e.key).collect();
        assert_eq!(keys, ["WATCHME_KAFKA_SASL_USERNAME"], "SASL needs a user and a password");
        raw.kafka.kafka_sasl_username = Some("watchme".into());
        raw.kafka.kafka_sasl_password = Some("hunter2-kafka".into());
        raw.kafka.kafka_tls = "true".into();
        let c = raw.validate().unwrap();
        let security = &c.kafka.as_ref().unwrap().config.security;
        assert!(security.tls && security.sasl.as_ref().is_some_and(|s| s.mechanism == "SCRAM-SHA-512"));
        assert!(!format!("{c:?}").contains("hunter2-kafka"), "the password is redacted in Debug");
    }

    #[test]
    fn kafka_settings_are_validated_together() {
        let mut raw = RawConfig::defaults();
        raw.kafka.kafka_brokers = Some("kafka1:9092,nohost".into());
        raw.kafka.kafka_topic_prefix = "bad prefix".into();
        raw.kafka.kafka_compression = "gzip".into();
        raw.kafka.kafka_partitions = "0".into();
        raw.kafka.kafka_session_timeout_ms = "60000".into();
        raw.kafka.kafka_max_poll_interval_ms = "10000".into();
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
        raw.kafka.analytics_consumer = "true".into();
        let keys: Vec<&str> = raw.validate().unwrap_err().iter().map(|e| e.key).collect();
        assert_eq!(keys, ["WATCHME_ANALYTICS_CONSUMER"], "a consumer without Kafka is refused");

        raw.kafka.kafka_brokers = Some("127.0.0.1:9092".into());
        let c = raw.validate().unwrap();
        let k = c.kafka.unwrap();
        assert_eq!(
            (k.config.events_topic(), k.config.dlq_topic()),
            ("watchme.events".into(), "watchme.events.dlq".into())
        );
        assert_eq!(
            (k.consumer.group_id.as_str(), k.config.partitions, k.analytics_consumer),
            ("watchme-analytics", 6, true)
        );
    }
}
