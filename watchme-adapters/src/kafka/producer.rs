//! The Kafka `EventBus`: an idempotent producer whose `publish` returns only
//! when the broker acknowledged every event of the batch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use watchme_core::domain::EventEnvelope;
use watchme_core::error::{cause, cause_msg, EventBusError};
use watchme_core::ports::EventBus;

use super::{headers, KafkaConfig};

/// Publishes events to `<prefix>.events`, keyed by aggregate id so one
/// user's events stay in order in one partition. Clones share the producer.
#[derive(Clone)]
pub struct KafkaBus {
    producer: Renewable,
    topic: String,
    published: Arc<AtomicU64>,
}

impl KafkaBus {
    /// Creates the producer; it connects lazily, so this succeeds while the
    /// broker is down (publishing then fails until it is back).
    ///
    /// # Errors
    /// [`KafkaError`] when librdkafka refuses the settings.
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: Renewable::new(config)?,
            topic: config.events_topic(),
            published: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The topic events go to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Events the broker acknowledged so far through this bus.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Asks the broker for the topic's metadata, for health checks.
    ///
    /// # Errors
    /// The reason, when the broker does not answer within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), String> {
        let (producer, topic) = (self.producer.current(), self.topic.clone());
        // fetch_metadata blocks its thread until the broker answers.
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&topic), timeout))
            .await
            .map_err(|e| e.to_string())?
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Waits up to the request timeout for queued events to be sent.
    pub fn flush(&self) {
        let _ = self.producer.current().flush(self.producer.config.request_timeout);
    }
}

/// A producer that is replaced by a fresh one after a failed send. After
/// delivery timeouts librdkafka bumps the idempotent producer's epoch,
/// which some Kafka-protocol brokers mishandle (tansu 0.6 loses its storage
/// task on the next produce); a fresh producer id is accepted by every
/// broker and costs one InitProducerId request. Failed sends are retried
/// whole anyway, so no sequence continuity is lost.
#[derive(Clone)]
pub(super) struct Renewable {
    slot: Arc<RwLock<FutureProducer>>,
    config: Arc<KafkaConfig>,
}

impl Renewable {
    pub(super) fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self { slot: Arc::new(RwLock::new(config.producer().create()?)), config: Arc::new(config.clone()) })
    }

    /// The producer to send with now.
    pub(super) fn current(&self) -> FutureProducer {
        self.slot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces `failed` with a fresh producer, unless another caller already did.
    pub(super) fn renew(&self, failed: &FutureProducer) {
        let mut slot = self.slot.write().unwrap_or_else(|e| e.into_inner());
        if std::ptr::eq(slot.client().native_ptr(), failed.client().native_ptr()) {
            match self.config.producer().create() {
                Ok(p) => *slot = p,
                Err(e) => tracing::warn!(error = %e, "could not renew the Kafka producer; keeping the old one"),
            }
        }
    }
}

/// The headers every event message carries (docs/events.md).
pub(super) fn event_headers(ev: &EventEnvelope) -> OwnedHeaders {
    let version = ev.schema_version.to_string();
    let id = ev.event_id.to_string();
    let mut h = OwnedHeaders::new_with_capacity(6)
        .insert(Header { key: headers::EVENT_TYPE, value: Some(ev.event_type()) })
        .insert(Header { key: headers::SCHEMA_VERSION, value: Some(version.as_str()) })
        .insert(Header { key: headers::EVENT_ID, value: Some(id.as_str()) })
        .insert(Header { key: headers::CONTENT_TYPE, value: Some("application/json") });
    if let Some(t) = &ev.trace_context {
        h = h.insert(Header { key: headers::TRACEPARENT, value: Some(t.traceparent.as_str()) });
        if let Some(s) = &t.tracestate {
            h = h.insert(Header { key: headers::TRACESTATE, value: Some(s.as_str()) });
        }
    }
    h
}

#[async_trait]
impl EventBus for KafkaBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), EventBusError> {
        // Enqueue all first (in order: the idempotent producer keeps that
        // order per partition), then wait for every delivery report.
        let producer = self.producer.current();
        let mut pending = Vec::with_capacity(events.len());
        for ev in events {
            let payload = ev.to_json();
            let record = FutureRecord::to(&self.topic)
                .key(ev.aggregate_id.as_bytes())
                .payload(&payload)
                .headers(event_headers(ev));
            match producer.send_result(record) {
                Ok(delivery) => pending.push(delivery),
                // Already enqueued events may still arrive: a retry then
                // delivers them twice, which consumers deduplicate.
                Err((e, _)) => return Err(EventBusError::Unavailable(cause(e))),
            }
        }
        let mut failed = None;
        for delivery in pending {
            match delivery.await {
                Ok(Ok(_)) => {
                    self.published.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err((e, _))) => {
                    failed.get_or_insert_with(|| cause(e));
                }
                Err(_) => {
                    failed.get_or_insert_with(|| cause_msg("Kafka producer dropped a delivery report"));
                }
            }
        }
        match failed {
            None => Ok(()),
            Some(c) => {
                self.producer.renew(&producer);
                Err(EventBusError::Unavailable(c))
            }
        }
    }
}
