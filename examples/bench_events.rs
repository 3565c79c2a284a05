//! Events per second from the outbox to the analytics tables through Kafka,
//! next to the broker's raw produce rate with the same message size, in one
//! run. Run by `scripts/bench-events.sh`, which prints its arguments:
//!
//! `bench_events <brokers> <postgres admin url> <events>`

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use watchme_adapters::kafka::{ensure_topics, ConsumerConfig, KafkaBus, KafkaConfig, KafkaConsumer};
use watchme_adapters::sql::{SqlOptions, SqlStore};
use watchme_core::domain::{EventEnvelope, EventMeta, EventPayload, MovieId, UserId};
use watchme_core::ports::{AnalyticsStore, Outbox, SystemClock};
use watchme_core::services::{AnalyticsService, OutboxRelay, RelayConfig};

const MOVIES: i64 = 50;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_env_filter("warn").with_writer(std::io::stderr).init();
    let args: Vec<String> = std::env::args().collect();
    let brokers = args.get(1).cloned().unwrap_or_else(|| "127.0.0.1:9092".into());
    let pg = args.get(2).cloned().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let tag = uuid::Uuid::new_v4().simple().to_string();

    let mut kafka = KafkaConfig::new(&brokers);
    kafka.topic_prefix = format!("bench-{tag}");
    kafka.partitions = 6;
    ensure_topics(&kafka).await.expect("broker");
    let events: Vec<EventEnvelope> = (0..n)
        .map(|i| {
            let user = UserId::new();
            let meta = EventMeta { actor: Some(user), trace: None, occurred_at: time::OffsetDateTime::now_utc() };
            let movie = MovieId::new(1 + (i as i64 % MOVIES)).unwrap();
            EventEnvelope::new(
                EventPayload::MovieViewed { movie_id: movie, title: "A Movie Title".into(), user_id: Some(user) },
                &meta,
            )
        })
        .collect();
    let size = events[0].to_json().len();

    // 1. The broker's raw produce rate: same producer settings, same bytes.
    let mut raw_cfg = ClientConfig::new();
    raw_cfg
        .set("bootstrap.servers", &brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", "5");
    let raw: FutureProducer = raw_cfg.create().unwrap();
    let raw_topic = format!("bench-raw-{tag}");
    let mut raw_kafka = kafka.clone();
    raw_kafka.topic_prefix = raw_topic.clone();
    ensure_topics(&raw_kafka).await.unwrap();
    let raw_topic = raw_kafka.events_topic();
    let started = Instant::now();
    let mut pending = Vec::with_capacity(n);
    for ev in &events {
        let payload = ev.to_json();
        let rec = FutureRecord::to(&raw_topic).key(ev.aggregate_id.as_bytes()).payload(&payload);
        pending.push(raw.send_result(rec).map_err(|(e, _)| e).unwrap());
    }
    for p in pending {
        p.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    let raw_secs = started.elapsed().as_secs_f64();

    // 2. Outbox → relay → Kafka → consumer → analytics tables (PostgreSQL).
    let db = format!("bench_{tag}");
    let admin = SqlStore::connect_lazy(&format!("{pg}/postgres"), &SqlOptions::default()).unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(admin.pool()).await.unwrap();
    let store =
        SqlStore::connect_lazy(&format!("{pg}/{db}"), &SqlOptions { max_connections: 8, ..SqlOptions::default() })
            .unwrap();
    store.migrate().await.unwrap();
    for chunk in events.chunks(1000) {
        store.append(chunk).await.unwrap();
    }
    let clock = Arc::new(SystemClock);
    let bus = Arc::new(KafkaBus::new(&kafka).unwrap());
    let relay = Arc::new(OutboxRelay::new(
        Arc::new(store.clone()),
        bus,
        clock.clone(),
        RelayConfig { batch_size: 2000, idle_interval: Duration::from_millis(20), ..RelayConfig::default() },
    ));
    let analytics = Arc::new(AnalyticsService::new(Arc::new(store.clone()), clock));
    let consumer = Arc::new(
        KafkaConsumer::new(&kafka, ConsumerConfig { batch_size: 2000, ..ConsumerConfig::default() }, analytics)
            .unwrap(),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let started = Instant::now();
    let r = relay.clone();
    let relay_task = tokio::spawn({
        let s = stopped(stop_rx.clone());
        async move { r.run(s).await }
    });
    let c = consumer.clone();
    let consumer_task = tokio::spawn({
        let s = stopped(stop_rx.clone());
        async move { c.run(s).await }
    });
    let mut relay_done = None;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if relay_done.is_none() && store.stats().await.unwrap().unpublished == 0 {
            relay_done = Some(started.elapsed().as_secs_f64());
        }
        let mut views = 0;
        for m in 1..=MOVIES {
            views += store.movie_stats(MovieId::new(m).unwrap()).await.unwrap().views;
        }
        if views as usize >= n {
            assert_eq!(views as usize, n, "counted twice");
            break;
        }
    }
    let total_secs = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    let _ = relay_task.await;
    let _ = consumer_task.await;
    store.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(admin.pool()).await;

    println!("events: {n}, message size: {size} bytes, partitions: 6");
    println!("raw produce (same producer settings): {:.0} msg/s ({raw_secs:.2} s)", n as f64 / raw_secs);
    let relay_secs = relay_done.unwrap_or(total_secs);
    println!(
        "outbox -> Kafka (relay, batches of {}): {:.0} events/s ({relay_secs:.2} s)",
        RelayConfig::default().batch_size,
        n as f64 / relay_secs
    );
    println!(
        "outbox -> aggregates (relay + consumer, PostgreSQL): {:.0} events/s ({total_secs:.2} s)",
        n as f64 / total_secs
    );
    println!("ratio end-to-end / raw produce: {:.2}", raw_secs / total_secs);
}
