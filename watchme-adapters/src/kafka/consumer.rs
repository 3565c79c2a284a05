//! The Kafka consumer that feeds events to an `EventHandler` (the analytics
//! service), at least once, with the handler deduplicating by event id.
//!
//! Per batch: decode every message; apply the valid ones in one call (one
//! database transaction); dead-letter what cannot be applied; then commit
//! the batch's offsets. Offsets are committed only after the events they
//! cover were applied or dead-lettered, so a crash at any point means
//! redelivery, never loss, and redelivery changes nothing (idempotence).
//!
//! Failure policy:
//! - bad bytes (not JSON, unknown type or schema version, invalid payload)
//!   cannot get better: dead-lettered at once, attempt count 1;
//! - the store unavailable (database down) is not the message's fault:
//!   retried with backoff for as long as it lasts, holding the batch, so
//!   the partition's place is kept;
//! - any other failure is retried `max_attempts` times; then the batch is
//!   applied event by event and each event that still fails is dead-lettered.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use watchme_core::domain::EventEnvelope;
use watchme_core::error::{chain, StorageError};
use watchme_core::ports::EventHandler;
use watchme_core::services::backoff;

use super::producer::Renewable;
use super::{headers, KafkaConfig};

/// How the consumer batches and retries.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Consumer group; every process of the group shares the partitions.
    pub group_id: String,
    /// Most messages applied in one batch (one transaction).
    pub batch_size: usize,
    /// How long a batch waits to fill up after its first message.
    pub batch_wait: Duration,
    /// Attempts at an event that fails for a reason other than the store
    /// being unavailable, before it goes to the dead-letter topic.
    pub max_attempts: u32,
    /// First retry delay; doubles per failure.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How long the group waits for a silent member before giving its partitions to others.
    pub session_timeout: Duration,
    /// Longest time between two polls before the consumer counts as stuck
    /// and leaves the group (`max.poll.interval.ms`); also how long a
    /// rebalance waits for members that vanished to rejoin.
    pub max_poll_interval: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            group_id: "watchme-analytics".into(),
            batch_size: 2000,
            batch_wait: Duration::from_millis(50),
            max_attempts: 5,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            session_timeout: Duration::from_secs(45),
            max_poll_interval: Duration::from_secs(300),
        }
    }
}

/// What a consumer has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Messages received.
    pub consumed: u64,
    /// Events handed to the handler successfully (duplicates included).
    pub applied: u64,
    /// Messages moved to the dead-letter topic.
    pub dead_lettered: u64,
    /// Handler calls that failed and were retried.
    pub retries: u64,
    /// Batches whose offsets were committed.
    pub committed_batches: u64,
}

#[derive(Default)]
struct Counters {
    consumed: AtomicU64,
    applied: AtomicU64,
    dead_lettered: AtomicU64,
    retries: AtomicU64,
    committed_batches: AtomicU64,
    // When consumer lag was last measured.
    lag_checked: std::sync::Mutex<Option<std::time::Instant>>,
}

/// Logs rebalances; offsets need no saving there because a batch is
/// committed before the next poll, and polls are where rebalances run.
struct GroupContext;

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => tracing::info!(partitions = tpl.count(), "Kafka partitions revoked"),
            Rebalance::Assign(tpl) => tracing::info!(partitions = tpl.count(), "Kafka partitions assigned"),
            Rebalance::Error(e) => tracing::warn!(error = %e, "Kafka rebalance failed"),
        }
    }
}

enum Applied {
    Yes,
    Failed(String),
    Stopped,
}

type Shutdown<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Consumes `<prefix>.events` in a consumer group and hands batches to a handler.
pub struct KafkaConsumer {
    consumer: Arc<StreamConsumer<GroupContext>>,
    dlq: Renewable,
    dlq_topic: String,
    handler: Arc<dyn EventHandler>,
    config: ConsumerConfig,
    counters: Arc<Counters>,
}

impl KafkaConsumer {
    /// Joins the group and subscribes to the events topic; connects lazily.
    ///
    /// # Errors
    /// [`KafkaError`] when librdkafka refuses the settings.
    pub fn new(
        kafka: &KafkaConfig,
        config: ConsumerConfig,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Self, KafkaError> {
        let session_ms = config.session_timeout.as_millis().max(1);
        let consumer: StreamConsumer<GroupContext> = kafka
            .client()
            .set("group.id", &config.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", session_ms.to_string())
            .set("heartbeat.interval.ms", (session_ms / 3).max(1).to_string())
            .set("max.poll.interval.ms", config.max_poll_interval.as_millis().max(session_ms).to_string())
            .create_with_context(GroupContext)?;
        consumer.subscribe(&[&kafka.events_topic()])?;
        Ok(Self {
            consumer: Arc::new(consumer),
            dlq: Renewable::new(kafka)?,
            dlq_topic: kafka.dlq_topic(),
            handler,
            config,
            counters: Arc::default(),
        })
    }

    /// What the consumer has done so far.
    pub fn stats(&self) -> ConsumerStats {
        let c = &self.counters;
        ConsumerStats {
            consumed: c.consumed.load(Ordering::Relaxed),
            applied: c.applied.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            committed_batches: c.committed_batches.load(Ordering::Relaxed),
        }
    }

    /// Consumes until `shutdown` completes. A batch being applied when it
    /// does is finished and committed first; one waiting in a retry is
    /// left uncommitted, for the next consumer to redeliver.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) {
        let mut shutdown: Shutdown<'_> = Box::pin(shutdown);
        tracing::info!(group = %self.config.group_id, "Kafka consumer running");
        loop {
            let batch = tokio::select! {
                _ = &mut shutdown => break,
                b = self.next_batch() => b,
            };
            if !self.process(&batch, &mut shutdown).await {
                break;
            }
            self.commit(&batch).await;
            self.record_lag(&batch);
        }
        self.consumer.unsubscribe();
        tracing::info!(stats = ?self.stats(), "Kafka consumer stopped");
    }

    /// Sets `watchme_consumer_lag_messages{partition}` for the partitions of
    /// `batch`: the partition's high watermark minus the next offset this
    /// group reads. Asking for watermarks is a broker round trip, so it runs
    /// off the async threads and at most every 5 seconds.
    fn record_lag(&self, batch: &[OwnedMessage]) {
        {
            let mut last = self.counters.lag_checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let mut next: std::collections::BTreeMap<(String, i32), i64> = std::collections::BTreeMap::new();
        for m in batch {
            let e = next.entry((m.topic().to_owned(), m.partition())).or_insert(m.offset() + 1);
            *e = (*e).max(m.offset() + 1);
        }
        let consumer = self.consumer.clone();
        tokio::task::spawn_blocking(move || {
            for ((topic, partition), next) in next {
                if let Ok((_, high)) = consumer.fetch_watermarks(&topic, partition, Duration::from_secs(1)) {
                    let lag = (high - next).max(0) as f64;
                    metrics::gauge!("watchme_consumer_lag_messages", "partition" => partition.to_string()).set(lag);
                }
            }
        });
    }

    /// Waits for one message, then takes what else arrives within the batch wait.
    async fn next_batch(&self) -> Vec<OwnedMessage> {
        let mut failures = 0u32;
        let first = loop {
            match self.consumer.recv().await {
                Ok(m) => break m.detach(),
                Err(e) => {
                    failures += 1;
                    // The broker being away shows up here, once per reconnect attempt.
                    if failures == 1 {
                        tracing::warn!(error = %e, "Kafka consumer error; retrying");
                    }
                    // librdkafka reconnects by itself, and rebalances only
                    // progress inside recv(): keep polling, never slower than 1/s.
                    let pause = backoff(self.config.backoff_base, self.config.backoff_max, failures);
                    tokio::time::sleep(pause.min(Duration::from_secs(1))).await;
                }
            }
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + self.config.batch_wait;
        while batch.len() < self.config.batch_size {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(m)) => batch.push(m.detach()),
                Ok(Err(_)) | Err(_) => break,
            }
        }
        self.counters.consumed.fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch
    }

    /// Applies or dead-letters every message; `false` when shutdown came first.
    async fn process(&self, batch: &[OwnedMessage], shutdown: &mut Shutdown<'_>) -> bool {
        let mut good = Vec::with_capacity(batch.len());
        let mut dead = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            match m.payload().map(EventEnvelope::from_json) {
                Some(Ok(ev)) => good.push((i, ev)),
                Some(Err(e)) => dead.push((i, e.to_string(), 1)),
                None => dead.push((i, "message has no value".to_owned(), 1)),
            }
        }
        if !good.is_empty() {
            let events: Vec<EventEnvelope> = good.iter().map(|(_, e)| e.clone()).collect();
            match self.apply(&events, shutdown).await {
                Applied::Yes => {}
                Applied::Stopped => return false,
                // Find the events to blame: apply one at a time.
                Applied::Failed(_) => {
                    for (i, ev) in &good {
                        match self.apply(std::slice::from_ref(ev), shutdown).await {
                            Applied::Yes => {}
                            Applied::Stopped => return false,
                            Applied::Failed(err) => dead.push((*i, err, self.config.max_attempts)),
                        }
                    }
                }
            }
        }
        for (i, err, attempts) in dead {
            if !self.dead_letter(&batch[i], &err, attempts, shutdown).await {
                return false;
            }
        }
        true
    }

    async fn apply(&self, events: &[EventEnvelope], shutdown: &mut Shutdown<'_>) -> Applied {
        let (mut attempts, mut failures) = (0u32, 0u32);
        loop {
            let started = std::time::Instant::now();
            let err = match self.handler.handle(events).await {
                Ok(()) => {
                    self.counters.applied.fetch_add(events.len() as u64, Ordering::Relaxed);
                    metrics::counter!("watchme_consumer_events_applied_total").increment(events.len() as u64);
                    metrics::histogram!("watchme_consumer_apply_duration_seconds")
                        .record(started.elapsed().as_secs_f64());
                    return Applied::Yes;
                }
                Err(e) => e,
            };
            failures += 1;
            let transient = matches!(err, StorageError::Unavailable(_));
            if !transient {
                attempts += 1;
                if attempts >= self.config.max_attempts {
                    return Applied::Failed(chain(&err));
                }
            }
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("watchme_consumer_retries_total").increment(1);
            let delay = backoff(self.config.backoff_base, self.config.backoff_max, failures);
            tracing::warn!(error = %chain(&err), events = events.len(), transient, attempts, retry_in_ms = delay.as_millis() as u64, "applying events failed; retrying");
            if !sleep_or_stop(delay, shutdown).await {
                return Applied::Stopped;
            }
        }
    }

    /// Writes the message to the dead-letter topic with headers saying where
    /// it came from and why; retries until the broker has it.
    async fn dead_letter(&self, m: &OwnedMessage, error: &str, attempts: u32, shutdown: &mut Shutdown<'_>) -> bool {
        let (partition, offset, attempts_s) = (m.partition().to_string(), m.offset().to_string(), attempts.to_string());
        let mut failures = 0u32;
        loop {
            let mut h = OwnedHeaders::new();
            if let Some(orig) = m.headers() {
                for o in orig.iter() {
                    h = h.insert(Header { key: o.key, value: o.value });
                }
            }
            h = h
                .insert(Header { key: headers::DLQ_TOPIC, value: Some(m.topic()) })
                .insert(Header { key: headers::DLQ_PARTITION, value: Some(partition.as_str()) })
                .insert(Header { key: headers::DLQ_OFFSET, value: Some(offset.as_str()) })
                .insert(Header { key: headers::DLQ_ERROR, value: Some(error) })
                .insert(Header { key: headers::DLQ_ATTEMPTS, value: Some(attempts_s.as_str()) });
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.dlq_topic).headers(h);
            if let Some(k) = m.key() {
                record = record.key(k);
            }
            if let Some(p) = m.payload() {
                record = record.payload(p);
            }
            let producer = self.dlq.current();
            let sent = match producer.send_result(record) {
                Ok(delivery) => match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((e, _))) => Err(e.to_string()),
                    Err(_) => Err("delivery report dropped".to_owned()),
                },
                Err((e, _)) => Err(e.to_string()),
            };
            match sent {
                Ok(()) => {
                    self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("watchme_events_dead_lettered_total").increment(1);
                    tracing::warn!(topic = m.topic(), partition = m.partition(), offset = m.offset(), error, attempts, dlq = %self.dlq_topic, "message dead-lettered");
                    return true;
                }
                Err(e) => {
                    failures += 1;
                    self.dlq.renew(&producer);
                    let delay = backoff(self.config.backoff_base, self.config.backoff_max, failures);
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "writing to the dead-letter topic failed; retrying");
                    if !sleep_or_stop(delay, shutdown).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Commits, per partition, the offset after the batch's last message.
    async fn commit(&self, batch: &[OwnedMessage]) {
        let mut next: HashMap<(&str, i32), i64> = HashMap::new();
        for m in batch {
            let e = next.entry((m.topic(), m.partition())).or_insert(0);
            *e = (*e).max(m.offset() + 1);
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(e) = tpl.add_partition_offset(topic, partition, Offset::Offset(offset)) {
                tracing::warn!(error = %e, "bad offset; not committed");
            }
        }
        let consumer = self.consumer.clone();
        // A synchronous commit blocks its thread until the coordinator answers.
        let result = tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync)).await;
        match result {
            Ok(Ok(())) => {
                self.counters.committed_batches.fetch_add(1, Ordering::Relaxed);
            }
            // After a rebalance took the partitions away, their new owner
            // redelivers the batch and deduplication skips it.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "offset commit failed; the batch will be redelivered and deduplicated")
            }
            Err(e) => tracing::warn!(error = %e, "offset commit task failed"),
        }
    }
}

async fn sleep_or_stop(delay: Duration, shutdown: &mut Shutdown<'_>) -> bool {
    tokio::select! {
        _ = shutdown.as_mut() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}
