//! The Kafka bus and consumer against a real Kafka-protocol broker (tansu,
//! shared on 127.0.0.1:9092, started by scripts/test-services.sh). Every
//! test uses topics of its own, so they run in parallel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use watchme_adapters::contract::fixtures::{header, kafka_brokers, topic_reader};
use watchme_adapters::contract::{self, meta};
use watchme_adapters::kafka::{ensure_topics, headers, ConsumerConfig, KafkaBus, KafkaConfig, KafkaConsumer};
use watchme_adapters::memory::MemoryAnalyticsStore;
use watchme_core::domain::{EventEnvelope, EventPayload, MovieId, TraceContext, UserId};
use watchme_core::error::{cause_msg, StorageError};
use watchme_core::ports::{EventBus, EventHandler, SystemClock};
use watchme_core::services::AnalyticsService;

async fn config(tag: &str, partitions: i32) -> KafkaConfig {
    let mut c = KafkaConfig::new(kafka_brokers());
    c.topic_prefix = format!("test-{tag}-{}", uuid::Uuid::new_v4().simple());
    c.partitions = partitions;
    ensure_topics(&c).await.expect("a Kafka-protocol broker must run on 127.0.0.1:9092 (scripts/test-services.sh)");
    c
}

fn view(movie: i64, user: Option<UserId>) -> EventEnvelope {
    let payload = EventPayload::MovieViewed {
        movie_id: MovieId::new(movie).unwrap(),
        title: format!("Movie {movie}"),
        user_id: user,
    };
    EventEnvelope::new(payload, &meta(user, 0))
}

/// Reads every message of `topic` from the beginning until `n` arrived.
async fn read_topic(brokers: &str, topic: &str, n: usize) -> Vec<OwnedMessage> {
    let consumer = topic_reader(brokers, topic);
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while out.len() < n {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => out.push(m.detach()),
            Ok(Err(e)) => panic!("reading {topic}: {e}"),
            Err(_) => panic!("only {} of {n} messages arrived on {topic}", out.len()),
        }
    }
    out
}

fn analytics() -> (Arc<AnalyticsService>, Arc<MemoryAnalyticsStore>) {
    let store = Arc::new(MemoryAnalyticsStore::new());
    (Arc::new(AnalyticsService::new(store.clone(), Arc::new(SystemClock))), store)
}

fn fast() -> ConsumerConfig {
    ConsumerConfig {
        group_id: format!("g-{}", uuid::Uuid::new_v4().simple()),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        session_timeout: Duration::from_secs(6),
        max_poll_interval: Duration::from_secs(15),
        ..ConsumerConfig::default()
    }
}

/// Runs a consumer in the background until the returned sender is dropped or fired.
fn spawn(consumer: Arc<KafkaConsumer>) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        consumer
            .run(async move {
                let _ = rx.await;
            })
            .await
    });
    (tx, task)
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn views(store: &MemoryAnalyticsStore, movie: i64) -> u64 {
    use watchme_core::ports::AnalyticsStore;
    store.movie_stats(MovieId::new(movie).unwrap()).await.unwrap().views
}

#[tokio::test]
async fn published_events_carry_key_headers_and_the_documented_json() {
    let cfg = config("publish", 3).await;
    let bus = KafkaBus::new(&cfg).unwrap();
    let user = UserId::new();
    let mut traced = view(550, Some(user));
    traced.trace_context = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Some("k=v"));
    let events = vec![
        traced,
        view(13, None),
        EventEnvelope::new(EventPayload::UserLoggedIn { user_id: user }, &meta(Some(user), 1)),
    ];
    bus.publish(&events).await.unwrap();
    assert_eq!(bus.published(), 3);

    let got = read_topic(&cfg.brokers, &cfg.events_topic(), 3).await;
    let by_id: HashMap<String, &OwnedMessage> =
        got.iter().map(|m| (header(m, headers::EVENT_ID).unwrap(), m)).collect();
    for ev in &events {
        let m = by_id[&ev.event_id.to_string()];
        assert_eq!(m.key(), Some(ev.aggregate_id.as_bytes()), "key = aggregate id");
        assert_eq!(header(m, headers::EVENT_TYPE).as_deref(), Some(ev.event_type()));
        assert_eq!(header(m, headers::SCHEMA_VERSION).as_deref(), Some("1"));
        assert_eq!(header(m, headers::CONTENT_TYPE).as_deref(), Some("application/json"));
        assert_eq!(header(m, headers::TRACEPARENT), ev.trace_context.as_ref().map(|t| t.traceparent.clone()));
        assert_eq!(EventEnvelope::from_json(m.payload().unwrap()).unwrap(), *ev, "payload is the documented JSON");
    }
    assert_eq!(header(by_id[&events[0].event_id.to_string()], headers::TRACESTATE).as_deref(), Some("k=v"));
    // One user's events share a partition, so they stay in order.
    let p = |i: usize| by_id[&events[i].event_id.to_string()].partition();
    assert_eq!(p(0), p(2));
}

#[tokio::test]
async fn topics_are_created_once_with_the_configured_partitions() {
    let cfg = config("topics", 4).await;
    ensure_topics(&cfg).await.expect("existing topics are fine");
    let bus = KafkaBus::new(&cfg).unwrap();
    bus.ping(Duration::from_secs(5)).await.unwrap();
    let consumer: StreamConsumer =
        ClientConfig::new().set("bootstrap.servers", &cfg.brokers).set("group.id", "meta").create().unwrap();
    for topic in [cfg.events_topic(), cfg.dlq_topic()] {
        let md = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).unwrap();
        assert_eq!(md.topics()[0].partitions().len(), 4, "{topic}");
    }
}

#[tokio::test]
async fn publishing_to_an_unreachable_broker_fails_within_the_delivery_timeout() {
    let mut cfg = KafkaConfig::new("127.0.0.1:1");
    cfg.delivery_timeout = Duration::from_secs(2);
    let bus = KafkaBus::new(&cfg).unwrap();
    let started = Instant::now();
    assert!(bus.publish(&[view(1, None)]).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(bus.ping(Duration::from_millis(500)).await.is_err());
}

#[tokio::test]
async fn consumer_applies_each_event_once_and_dead_letters_malformed_messages() {
    let cfg = config("consume", 3).await;
    let bus = KafkaBus::new(&cfg).unwrap();
    let events: Vec<_> = (0..20).map(|_| view(680, Some(UserId::new()))).collect();
    bus.publish(&events[..10]).await.unwrap();
    // A duplicate delivery (a relay retry) and garbage written by someone else.
    bus.publish(&events[..3]).await.unwrap();
    let raw: FutureProducer = ClientConfig::new().set("bootstrap.servers", &cfg.brokers).create().unwrap();
    raw.send(FutureRecord::to(&cfg.events_topic()).key("junk").payload("{not json"), Duration::from_secs(5))
        .await
        .unwrap();
    bus.publish(&events[10..]).await.unwrap();

    let (service, store) = analytics();
    let consumer = Arc::new(KafkaConsumer::new(&cfg, fast(), service).unwrap());
    let (stop, task) = spawn(consumer.clone());
    eventually("20 views", async || views(&store, 680).await == 20).await;
    let dead = read_topic(&cfg.brokers, &cfg.dlq_topic(), 1).await;
    assert_eq!(dead[0].payload(), Some(&b"{not json"[..]));
    assert_eq!(dead[0].key(), Some(&b"junk"[..]));
    assert_eq!(header(&dead[0], headers::DLQ_TOPIC), Some(cfg.events_topic()));
    assert!(header(&dead[0], headers::DLQ_PARTITION).unwrap().parse::<i32>().is_ok());
    assert!(header(&dead[0], headers::DLQ_OFFSET).unwrap().parse::<i64>().is_ok());
    assert!(header(&dead[0], headers::DLQ_ERROR).unwrap().contains("malformed"));
    assert_eq!(header(&dead[0], headers::DLQ_ATTEMPTS).as_deref(), Some("1"));
    stop.send(()).unwrap();
    task.await.unwrap();
    let stats = consumer.stats();
    assert_eq!((stats.consumed, stats.dead_lettered), (24, 1));
    assert_eq!(views(&store, 680).await, 20, "duplicates changed nothing");
}

/// Fails the first `unavailable` calls as if the database were down, and
/// every call containing `poison` as a bug would.
struct Flaky {
    inner: Arc<AnalyticsService>,
    unavailable: AtomicU32,
    poison: Option<uuid::Uuid>,
    calls: Mutex<Vec<usize>>,
}

#[async_trait]
impl EventHandler for Flaky {
    async fn handle(&self, events: &[EventEnvelope]) -> Result<(), StorageError> {
        self.calls.lock().unwrap().push(events.len());
        if self.unavailable.load(Ordering::SeqCst) > 0 {
            self.unavailable.fetch_sub(1, Ordering::SeqCst);
            return Err(StorageError::Unavailable(cause_msg("database down")));
        }
        if events.iter().any(|e| Some(e.event_id) == self.poison) {
            return Err(StorageError::Internal(cause_msg("cannot apply this one")));
        }
        self.inner.handle(events).await
    }
}

#[tokio::test]
async fn an_unavailable_store_is_retried_until_it_is_back_and_nothing_is_lost() {
    let cfg = config("transient", 1).await;
    let events: Vec<_> = (0..5).map(|_| view(11, None)).collect();
    KafkaBus::new(&cfg).unwrap().publish(&events).await.unwrap();
    let (service, store) = analytics();
    let flaky =
        Arc::new(Flaky { inner: service, unavailable: AtomicU32::new(12), poison: None, calls: Mutex::default() });
    let consumer = Arc::new(KafkaConsumer::new(&cfg, fast(), flaky.clone()).unwrap());
    let (_stop, _task) = spawn(consumer.clone());
    eventually("5 views", async || views(&store, 11).await == 5).await;
    // More failures than max_attempts, yet nothing was dead-lettered.
    assert!(flaky.calls.lock().unwrap().len() > 12);
    assert_eq!(consumer.stats().dead_lettered, 0);
}

#[tokio::test]
async fn an_event_that_keeps_failing_goes_to_the_dead_letter_topic_and_the_rest_is_applied() {
    let cfg = config("poison", 1).await;
    let events: Vec<_> = (0..6).map(|_| view(12, None)).collect();
    KafkaBus::new(&cfg).unwrap().publish(&events).await.unwrap();
    let (service, store) = analytics();
    let poison = events[2].event_id;
    let flaky = Arc::new(Flaky {
        inner: service,
        unavailable: AtomicU32::new(0),
        poison: Some(poison),
        calls: Mutex::default(),
    });
    let consumer = Arc::new(KafkaConsumer::new(&cfg, fast(), flaky).unwrap());
    let (_stop, _task) = spawn(consumer.clone());
    let dead = read_topic(&cfg.brokers, &cfg.dlq_topic(), 1).await;
    assert_eq!(header(&dead[0], headers::EVENT_ID), Some(poison.to_string()), "original headers kept");
    assert_eq!(header(&dead[0], headers::DLQ_ATTEMPTS).as_deref(), Some("5"));
    assert!(header(&dead[0], headers::DLQ_ERROR).unwrap().contains("cannot apply this one"));
    eventually("5 views", async || views(&store, 12).await == 5).await;
}

/// Applies, then hangs: a consumer that dies between applying a batch and
/// committing its offsets.
struct DiesAfterApply(Arc<AnalyticsService>, tokio::sync::mpsc::Sender<()>);

#[async_trait]
impl EventHandler for DiesAfterApply {
    async fn handle(&self, events: &[EventEnvelope]) -> Result<(), StorageError> {
        self.0.handle(events).await?;
        let _ = self.1.send(()).await;
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_consumer_killed_between_apply_and_commit_double_counts_nothing() {
    let cfg = config("killed", 2).await;
    let events: Vec<_> = (0..30).map(|i| view(20 + i % 3, Some(UserId::new()))).collect();
    KafkaBus::new(&cfg).unwrap().publish(&events).await.unwrap();
    let (service, store) = analytics();
    let group = fast();
    let (applied_tx, mut applied_rx) = tokio::sync::mpsc::channel(1);
    let doomed = Arc::new(
        KafkaConsumer::new(&cfg, group.clone(), Arc::new(DiesAfterApply(service.clone(), applied_tx))).unwrap(),
    );
    let (_stop, task) = spawn(doomed.clone());
    applied_rx.recv().await.expect("the first batch was applied");
    task.abort();
    let _ = task.await;
    drop(doomed);
    let applied = views(&store, 20).await + views(&store, 21).await + views(&store, 22).await;
    assert!(applied > 0, "the doomed consumer applied a batch it never committed");

    let successor = Arc::new(KafkaConsumer::new(&cfg, group, service).unwrap());
    let (_stop2, _task2) = spawn(successor.clone());
    eventually("30 views", async || views(&store, 20).await + views(&store, 21).await + views(&store, 22).await == 30)
        .await;
    assert_eq!([views(&store, 20).await, views(&store, 21).await, views(&store, 22).await], [10, 10, 10]);
}

#[tokio::test]
async fn two_consumers_of_one_group_share_the_partitions_and_count_each_event_once() {
    let cfg = config("group", 4).await;
    let bus = KafkaBus::new(&cfg).unwrap();
    let (service, store) = analytics();
    let group = fast();
    let a = Arc::new(KafkaConsumer::new(&cfg, group.clone(), service.clone()).unwrap());
    let (_sa, _ta) = spawn(a.clone());
    for _ in 0..5 {
        let batch: Vec<_> = (0..40).map(|_| view(30, Some(UserId::new()))).collect();
        bus.publish(&batch).await.unwrap();
    }
    // A second member joins mid-stream: a rebalance while events flow.
    let b = Arc::new(KafkaConsumer::new(&cfg, group, service).unwrap());
    let (_sb, _tb) = spawn(b.clone());
    for _ in 0..5 {
        let batch: Vec<_> = (0..40).map(|_| view(30, Some(UserId::new()))).collect();
        bus.publish(&batch).await.unwrap();
    }
    eventually("400 views", async || views(&store, 30).await == 400).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(views(&store, 30).await, 400);
}

// The EventBus contract on Kafka: delivered events are read back from the topic.

struct FromTopic {
    brokers: String,
    topic: String,
}

#[async_trait]
impl contract::Delivered for FromTopic {
    async fn delivered(&self, n: usize) -> Vec<EventEnvelope> {
        let messages = read_topic(&self.brokers, &self.topic, n).await;
        let mut events = Vec::with_capacity(messages.len());
        for m in &messages {
            let ev = EventEnvelope::from_json(m.payload().expect("payload")).expect("an event");
            // The key and headers are what a consumer routes and filters
            // by without decoding the payload: they must match it.
            assert_eq!(m.key(), Some(ev.aggregate_id.as_bytes()), "keyed by aggregate");
            assert_eq!(header(m, headers::EVENT_TYPE).as_deref(), Some(ev.event_type()));
            assert_eq!(header(m, headers::EVENT_ID), Some(ev.event_id.to_string()));
            assert_eq!(header(m, headers::SCHEMA_VERSION), Some(ev.schema_version.to_string()));
            let trace = ev.trace_context.as_ref();
            assert_eq!(header(m, headers::TRACEPARENT), trace.map(|t| t.traceparent.clone()));
            assert_eq!(header(m, headers::TRACESTATE), trace.and_then(|t| t.tracestate.clone()));
            events.push(ev);
        }
        events
    }
}

#[tokio::test]
async fn the_kafka_bus_delivers_whole_batches_in_order() {
    let cfg = config("contract", 3).await;
    let delivered = FromTopic { brokers: cfg.brokers.clone(), topic: cfg.events_topic() };
    contract::event_bus_delivers(&KafkaBus::new(&cfg).unwrap(), &delivered).await;
}

#[tokio::test]
async fn the_kafka_bus_fails_in_time_when_it_cannot_deliver() {
    let mut cfg = KafkaConfig::new("127.0.0.1:1");
    cfg.delivery_timeout = Duration::from_secs(2);
    contract::event_bus_that_cannot_deliver_fails_in_time(&KafkaBus::new(&cfg).unwrap(), Duration::from_secs(10)).await;
}
