//! Events on Kafka, over rdkafka with its bundled librdkafka (2.12): the
//! [`KafkaBus`] publishes outbox events with an idempotent producer, the
//! [`KafkaConsumer`] feeds them to an [`EventHandler`](watchme_core::ports::EventHandler)
//! (the analytics service) with manual offset commits, retries and a
//! dead-letter topic, and [`ensure_topics`] creates the topics at start-up.
//!
//! The wire format is the one of docs/events.md: key = the event's
//! `aggregate_id`, value = the envelope's JSON, and the headers of [`headers`].

mod consumer;
mod producer;

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

pub use consumer::{ConsumerConfig, ConsumerStats, KafkaConsumer};
pub use producer::KafkaBus;

/// Header names on every event message (docs/events.md).
pub mod headers {
    /// The event type name, e.g. `movie_viewed`.
    pub const EVENT_TYPE: &str = "event_type";
    /// The envelope's schema version, as decimal text.
    pub const SCHEMA_VERSION: &str = "schema_version";
    /// The event id (UUID); consumers deduplicate on it.
    pub const EVENT_ID: &str = "event_id";
    /// Always `application/json`.
    pub const CONTENT_TYPE: &str = "content-type";
    /// W3C trace context of the request that caused the event, when there was one.
    pub const TRACEPARENT: &str = "traceparent";
    /// W3C `tracestate`, passed through when the request had one.
    pub const TRACESTATE: &str = "tracestate";
    /// Dead-letter header: the topic the message was first written to.
    pub const DLQ_TOPIC: &str = "dlq.original.topic";
    /// Dead-letter header: its partition there.
    pub const DLQ_PARTITION: &str = "dlq.original.partition";
    /// Dead-letter header: its offset there.
    pub const DLQ_OFFSET: &str = "dlq.original.offset";
    /// Dead-letter header: why it could not be applied.
    pub const DLQ_ERROR: &str = "dlq.error";
    /// Dead-letter header: how many times applying it was attempted.
    pub const DLQ_ATTEMPTS: &str = "dlq.attempts";
}

/// Where the broker is and how the topics and the producer are set up.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Topic names are `<prefix>.events` and `<prefix>.events.dlq`.
    pub topic_prefix: String,
    /// Partitions of a topic created at start-up.
    pub partitions: i32,
    /// Replication factor of a topic created at start-up.
    pub replication_factor: i32,
    /// `client.id`, shown in the broker's logs.
    pub client_id: String,
    /// How long the producer waits to fill a batch (`linger.ms`).
    pub linger: Duration,
    /// Producer compression codec (`none`, `lz4`, `snappy`).
    pub compression: String,
    /// How long a produced event may wait for the broker's acknowledgement
    /// (`message.timeout.ms`) before its batch counts as not published.
    pub delivery_timeout: Duration,
    /// Timeout of admin and metadata requests.
    pub request_timeout: Duration,
    /// librdkafka debug contexts (its `debug` setting, e.g. `cgrp,topic`),
    /// logged at debug level under the target `librdkafka`; `None` = off.
    pub debug: Option<String>,
    /// TLS and SASL, for managed brokers.
    pub security: KafkaSecurity,
}

/// How clients reach a managed broker: TLS (verified against the system's
/// CAs or a CA file) and SASL (PLAIN or SCRAM).
#[derive(Debug, Clone, Default)]
pub struct KafkaSecurity {
    /// Speak TLS to the brokers.
    pub tls: bool,
    /// PEM file of the CA that signed the brokers' certificates.
    pub ca_file: Option<std::path::PathBuf>,
    /// SASL credentials, when the brokers ask for them.
    pub sasl: Option<KafkaSasl>,
}

/// SASL credentials.
#[derive(Clone)]
pub struct KafkaSasl {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    /// The user.
    pub username: String,
    /// The password (never printed: see the `Debug` impl).
    pub password: String,
}

impl std::fmt::Debug for KafkaSasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSasl")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl KafkaConfig {
    /// Defaults for everything but the brokers: prefix `watchme`, 6
    /// partitions, replication factor 1, lz4, 5 ms linger, 30 s delivery timeout.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_prefix: "watchme".into(),
            partitions: 6,
            replication_factor: 1,
            client_id: "watchme".into(),
            linger: Duration::from_millis(5),
            compression: "lz4".into(),
            delivery_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            debug: None,
            security: KafkaSecurity::default(),
        }
    }

    /// The topic every event is published to.
    pub fn events_topic(&self) -> String {
        format!("{}.events", self.topic_prefix)
    }

    /// The topic messages that cannot be applied are moved to.
    pub fn dlq_topic(&self) -> String {
        format!("{}.events.dlq", self.topic_prefix)
    }

    /// The client settings shared by producers, consumers and the admin client.
    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("socket.timeout.ms", self.request_timeout.as_millis().max(10).to_string());
        match &self.debug {
            Some(contexts) => c.set("debug", contexts).set("log_level", "7"),
            // Warnings and errors only: the rest is noise in production.
            None => c.set("log_level", "4"),
        };
        let s = &self.security;
        let protocol = match (s.tls, &s.sasl) {
            (false, None) => "plaintext",
            (true, None) => "ssl",
            (false, Some(_)) => "sasl_plaintext",
            (true, Some(_)) => "sasl_ssl",
        };
        c.set("security.protocol", protocol);
        if let Some(ca) = &s.ca_file {
            c.set("ssl.ca.location", ca.display().to_string());
        }
        if let Some(sasl) = &s.sasl {
            c.set("sasl.mechanisms", &sasl.mechanism)
                .set("sasl.username", &sasl.username)
                .set("sasl.password", &sasl.password);
        }
        c
    }

    /// The producer settings: idempotent, acks from all in-sync replicas,
    /// compressed, with a bounded linger.
    fn producer(&self) -> ClientConfig {
        let mut c = self.client();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", &self.compression)
            .set("linger.ms", self.linger.as_millis().to_string())
            .set("message.timeout.ms", self.delivery_timeout.as_millis().max(1).to_string());
        c
    }
}

/// Why the topics could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The client could not be created or the broker did not answer.
    #[error("Kafka at {brokers} did not answer: {source}")]
    Unreachable {
        /// The bootstrap servers tried.
        brokers: String,
        /// The client's error.
        source: KafkaError,
    },
    /// The broker answered but refused to create a topic.
    #[error("Kafka refused to create topic {topic:?}: {code} (create it by hand with the partitions and replication factor you want, or grant this client the right to create topics)")]
    Refused {
        /// The topic.
        topic: String,
        /// The broker's error code.
        code: RDKafkaErrorCode,
    },
}

/// Creates the events and dead-letter topics when they are missing, with
/// the configured partition count and replication factor; existing topics
/// are left as they are.
///
/// # Errors
/// [`SetupError`] when the broker cannot be reached or refuses.
pub async fn ensure_topics(config: &KafkaConfig) -> Result<(), SetupError> {
    let unreachable = |source| SetupError::Unreachable { brokers: config.brokers.clone(), source };
    let admin: AdminClient<DefaultClientContext> = config.client().create().map_err(unreachable)?;
    let names = [config.events_topic(), config.dlq_topic()];
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|n| NewTopic::new(n, config.partitions, TopicReplication::Fixed(config.replication_factor)))
        .collect();
    let opts = AdminOptions::new()
        .request_timeout(Some(config.request_timeout))
        .operation_timeout(Some(config.request_timeout));
    let results = admin.create_topics(&topics, &opts).await.map_err(unreachable)?;
    for r in results {
        match r {
            Ok(topic) => tracing::info!(topic, partitions = config.partitions, "Kafka topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(SetupError::Refused { topic, code }),
        }
    }
    Ok(())
}
