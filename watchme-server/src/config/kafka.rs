//! Kafka settings: the brokers and topics of the event bus, the producer,
//! and the analytics consumer group. Without brokers, events go to the
//! in-process bus.

use clap::Args;
use watchme_adapters::kafka::{ConsumerConfig, KafkaConfig, KafkaSasl, KafkaSecurity};

use super::check::Check;

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

/// Raw Kafka settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Kafka")]
pub struct RawKafka {
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
    /// Speak TLS to the brokers (`true`/`false`).
    #[arg(long, env = "WATCHME_KAFKA_TLS", default_value = "false")]
    pub kafka_tls: String,
    /// PEM file of the CA that signed the brokers' certificates; unset: the system's CAs.
    #[arg(long, env = "WATCHME_KAFKA_CA_FILE")]
    pub kafka_ca_file: Option<std::path::PathBuf>,
    /// SASL mechanism: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`; unset: no SASL.
    #[arg(long, env = "WATCHME_KAFKA_SASL_MECHANISM")]
    pub kafka_sasl_mechanism: Option<String>,
    /// SASL user.
    #[arg(long, env = "WATCHME_KAFKA_SASL_USERNAME")]
    pub kafka_sasl_username: Option<String>,
    /// SASL password (never logged).
    #[arg(long, env = "WATCHME_KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub kafka_sasl_password: Option<String>,
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
}

/// The Kafka event bus and its analytics consumer.
#[derive(Debug, Clone)]
pub struct Kafka {
    /// Brokers, topics, producer.
    pub config: KafkaConfig,
    /// The analytics consumer's group, batches and retries.
    pub consumer: ConsumerConfig,
    /// Create missing topics at start-up.
    pub create_topics: bool,
    /// Run the analytics consumer inside the server.
    pub analytics_consumer: bool,
}

impl RawKafka {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
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
            kafka_tls: "false".into(),
            kafka_ca_file: None,
            kafka_sasl_mechanism: None,
            kafka_sasl_username: None,
            kafka_sasl_password: None,
            analytics_consumer: DEFAULT_ANALYTICS_CONSUMER.into(),
            consumer_group: DEFAULT_CONSUMER_GROUP.into(),
            consumer_batch_size: DEFAULT_CONSUMER_BATCH_SIZE.into(),
            consumer_max_attempts: DEFAULT_CONSUMER_MAX_ATTEMPTS.into(),
        }
    }

    /// Validates; `None` without brokers (the in-process bus).
    pub(super) fn validate(&self, c: &mut Check) -> Option<Kafka> {
        let analytics_consumer = c.boolean("WATCHME_ANALYTICS_CONSUMER", &self.analytics_consumer);
        let Some(brokers) = self.kafka_brokers.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            if analytics_consumer {
                c.fail(
                    "WATCHME_ANALYTICS_CONSUMER",
                    "needs WATCHME_KAFKA_BROKERS: without Kafka, analytics are applied in-process already",
                );
            }
            return None;
        };
        if brokers
            .split(',')
            .any(|b| b.trim().rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()))
        {
            c.fail("WATCHME_KAFKA_BROKERS", format!("expected host:port[,host:port...], got {brokers:?}"));
        }
        let config = self.producer(c, brokers);
        let consumer = self.consumer(c);
        let create_topics = c.boolean("WATCHME_KAFKA_CREATE_TOPICS", &self.kafka_create_topics);
        Some(Kafka { config, consumer, create_topics, analytics_consumer })
    }

    fn producer(&self, c: &mut Check, brokers: &str) -> KafkaConfig {
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
        KafkaConfig {
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
            security: self.security(c),
            ..KafkaConfig::new(brokers)
        }
    }

    fn security(&self, c: &mut Check) -> KafkaSecurity {
        let tls = c.boolean("WATCHME_KAFKA_TLS", &self.kafka_tls);
        let ca_file = self.kafka_ca_file.clone();
        if let Some(ca) = &ca_file {
            if !tls {
                c.fail("WATCHME_KAFKA_CA_FILE", "a CA file needs WATCHME_KAFKA_TLS=true");
            } else if let Err(e) = std::fs::metadata(ca) {
                c.fail("WATCHME_KAFKA_CA_FILE", format!("{}: {e}", ca.display()));
            }
        }
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let sasl = match text(&self.kafka_sasl_mechanism) {
            None => None,
            Some(m) if matches!(m.as_str(), "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512") => {
                match (text(&self.kafka_sasl_username), self.kafka_sasl_password.clone().filter(|p| !p.is_empty())) {
                    (Some(username), Some(password)) => Some(KafkaSasl { mechanism: m, username, password }),
                    _ => {
                        c.fail(
                            "WATCHME_KAFKA_SASL_USERNAME",
                            "SASL needs WATCHME_KAFKA_SASL_USERNAME and WATCHME_KAFKA_SASL_PASSWORD",
                        );
                        None
                    }
                }
            }
            Some(m) => {
                c.fail(
                    "WATCHME_KAFKA_SASL_MECHANISM",
                    format!("expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got {m:?}"),
                );
                None
            }
        };
        KafkaSecurity { tls, ca_file, sasl }
    }

    fn consumer(&self, c: &mut Check) -> ConsumerConfig {
        let group = self.consumer_group.trim();
        if group.is_empty() {
            c.fail("WATCHME_CONSUMER_GROUP", "must not be empty");
        }
        let consumer = ConsumerConfig {
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
            ..ConsumerConfig::default()
        };
        if consumer.max_poll_interval < consumer.session_timeout {
            c.fail("WATCHME_KAFKA_MAX_POLL_INTERVAL_MS", "must be at least WATCHME_KAFKA_SESSION_TIMEOUT_MS");
        }
        consumer
    }
}
