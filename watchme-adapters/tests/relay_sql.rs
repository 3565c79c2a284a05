//! The outbox relay over the SQL store: a stopped bus loses nothing, and
//! concurrent relays on PostgreSQL publish each event once.

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use support::TestDb;
use watchme_adapters::catalog::CatalogSource;
use watchme_adapters::memory::{InProcessBus, MemoryCache};
use watchme_adapters::sql::SqlStore;
use watchme_core::domain::{EventEnvelope, MovieId, RequestContext, UserId};
use watchme_core::error::EventBusError;
use watchme_core::ports::{EventBus, Outbox, SystemClock};
use watchme_core::services::{AnalyticsService, LibraryService, MoviePolicy, MovieService, OutboxRelay, RelayConfig};

fn services(store: &SqlStore) -> (LibraryService, Arc<AnalyticsService>, InProcessBus, OutboxRelay) {
    let clock = Arc::new(SystemClock);
    let movies = Arc::new(MovieService::new(
        Arc::new(CatalogSource::bundled().unwrap()),
        Arc::new(MemoryCache::default()),
        clock.clone(),
        MoviePolicy::default(),
    ));
    let library = LibraryService::new(Arc::new(store.clone()), movies, clock.clone());
    let analytics = Arc::new(AnalyticsService::new(Arc::new(store.clone()), clock.clone()));
    let bus = InProcessBus::new(vec![analytics.clone()]);
    let relay = OutboxRelay::new(Arc::new(store.clone()), Arc::new(bus.clone()), clock, RelayConfig::default());
    (library, analytics, bus, relay)
}

async fn stopped_bus_loses_nothing(db: TestDb) {
    let (library, analytics, bus, relay) = services(&db.store);
    let movie = CatalogSource::bundled().unwrap();
    let movies: Vec<_> = [550i64, 603, 13].iter().map(|id| MovieId::new(*id).unwrap()).collect();
    bus.set_available(false);
    let users: Vec<_> = (0..4).map(|_| RequestContext::user(UserId::new())).collect();
    for u in &users {
        for m in &movies {
            let details = watchme_core::ports::MovieSource::details(&movie, *m).await.unwrap();
            library.record_view(u, &details).await.expect("user actions succeed while the bus is down");
        }
    }
    assert!(relay.run_once().await.is_err(), "the relay sees the bus failure");
    assert_eq!(db.store.stats().await.unwrap().unpublished, 12, "every event waits in the outbox");
    bus.set_available(true);
    while relay.run_once().await.unwrap() > 0 {}
    assert_eq!(bus.published(), 12, "each event published once");
    assert_eq!(db.store.stats().await.unwrap().unpublished, 0);
    for m in &movies {
        let s = analytics.movie_stats(*m).await.unwrap();
        assert_eq!((s.views, s.unique_viewers), (4, 4));
    }
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_a_stopped_bus_loses_nothing() {
    stopped_bus_loses_nothing(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn postgres_a_stopped_bus_loses_nothing() {
    stopped_bus_loses_nothing(TestDb::postgres().await).await;
}

/// Records every event id it is given, and how many times.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<uuid::Uuid>>,
}

#[async_trait]
impl EventBus for Recorder {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), EventBusError> {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.seen.lock().unwrap().extend(events.iter().map(|e| e.event_id));
        Ok(())
    }
}

#[tokio::test]
async fn postgres_concurrent_relays_publish_each_event_once() {
    let db = TestDb::postgres().await;
    let events: Vec<EventEnvelope> =
        (0..500).map(|i| watchme_adapters::contract::login_event(UserId::new(), i)).collect();
    db.store.append(&events).await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let config = RelayConfig { batch_size: 20, ..RelayConfig::default() };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let relay =
            OutboxRelay::new(Arc::new(db.store.clone()), recorder.clone(), Arc::new(SystemClock), config.clone());
        tasks.spawn(async move { while relay.run_once().await.unwrap() > 0 {} });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let seen = recorder.seen.lock().unwrap().clone();
    let distinct: HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (500, 500), "every event once, none twice");
    db.cleanup().await;
}
