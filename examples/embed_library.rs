//! Embedding the WatchMe core in your own service, with no HTTP at all:
//! the in-memory adapters, a `LibraryService`, and the analytics fed by the
//! outbox relay.
//!
//! Run with `cargo run --example embed_library`.

use std::sync::Arc;

use watchme_adapters::catalog::CatalogSource;
use watchme_adapters::memory::{InProcessBus, MemoryAnalyticsStore, MemoryCache, MemoryStore};
use watchme_core::domain::{LibraryUpdate, MovieId, PageRequest, Rating, RequestContext, UserId, WatchStatus};
use watchme_core::ports::SystemClock;
use watchme_core::services::{AnalyticsService, LibraryService, MoviePolicy, MovieService, OutboxRelay, RelayConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(SystemClock);
    let store = MemoryStore::new();
    let movies = Arc::new(MovieService::new(
        Arc::new(CatalogSource::bundled()?),
        Arc::new(MemoryCache::default()),
        clock.clone(),
        MoviePolicy::default(),
    ));
    let library = LibraryService::new(Arc::new(store.clone()), movies.clone(), clock.clone());
    let analytics = Arc::new(AnalyticsService::new(Arc::new(MemoryAnalyticsStore::new()), clock.clone()));
    let bus = InProcessBus::new(vec![analytics.clone()]);
    let relay = OutboxRelay::new(Arc::new(store.clone()), Arc::new(bus), clock, RelayConfig::default());

    // Your service decides who the user is; the core only needs their id.
    let me = RequestContext::user(UserId::new());
    let matrix = MovieId::new(603)?;
    library.add_favorite(&me, matrix).await?;
    library.update_entry(&me, matrix, LibraryUpdate::new(Some(WatchStatus::Watched), Some(Rating::new(9)?))?).await?;
    let details = movies.details(MovieId::new(27205)?).await?.value;
    library.record_view(&me, &details).await?;

    for entry in library.entries(&me, None, PageRequest::first()).await?.items {
        println!("library: {} status={:?} rating={:?}", entry.movie.title, entry.status, entry.rating.map(|r| r.get()));
    }

    // Events were stored with each change; the relay hands them to analytics.
    while relay.run_once().await? > 0 {}
    let stats = analytics.movie_stats(matrix).await?;
    println!(
        "The Matrix: {} favorite(s), {} watched, average rating {:?}",
        stats.favorites,
        stats.watched,
        stats.rating_average()
    );
    Ok(())
}
