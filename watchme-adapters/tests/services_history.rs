//! HistoryService over memory adapters: batches validated whole, movies
//! looked up once, unknown movies reported, plays counted by the analytics.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use watchme_adapters::catalog::CatalogSource;
use watchme_core::domain::{
    HistoryFilter, ImdbId, MovieDetails, MovieId, MovieSummary, Page, PageRequest, PlayAction, PlaySource,
    RequestContext, SearchQuery, TrendingBy, TrendingWindow, UserId, MAX_PLAYS_PER_BATCH,
};
use watchme_core::error::{cause_msg, MovieSourceError};
use watchme_core::ports::MovieSource;
use watchme_core::services::{HistoryError, PlayRequest};

fn id(n: i64) -> MovieId {
    MovieId::new(n).unwrap()
}

fn item(movie: i64, ago_days: Option<i64>) -> PlayRequest {
    PlayRequest {
        movie_id: id(movie),
        watched_at: ago_days.map(|d| time::OffsetDateTime::now_utc() - time::Duration::days(d)),
        action: PlayAction::Watch,
        source: PlaySource::Api,
    }
}

/// The catalog, counting details lookups; or down.
struct Counting {
    inner: CatalogSource,
    details: AtomicUsize,
    down: bool,
}

#[async_trait]
impl MovieSource for Counting {
    async fn popular(&self, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        self.inner.popular(page).await
    }
    async fn search(&self, q: &SearchQuery, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        self.inner.search(q, page).await
    }
    async fn details(&self, id: MovieId) -> Result<MovieDetails, MovieSourceError> {
        self.details.fetch_add(1, Ordering::SeqCst);
        if self.down {
            return Err(MovieSourceError::Unavailable(cause_msg("down for the test")));
        }
        self.inner.details(id).await
    }
    async fn find_by_imdb(&self, imdb: &ImdbId) -> Result<MovieId, MovieSourceError> {
        self.inner.find_by_imdb(imdb).await
    }
}

fn counting(down: bool) -> Arc<Counting> {
    Arc::new(Counting { inner: CatalogSource::bundled().unwrap(), details: AtomicUsize::new(0), down })
}

#[tokio::test]
async fn a_batch_adds_new_plays_reports_existing_and_unknown_and_looks_each_movie_up_once() {
    let source = counting(false);
    let k = common::kit_with_source(source.clone());
    let ctx = RequestContext::user(UserId::new());
    let batch =
        [item(550, Some(3)), item(550, Some(2)), item(999_999_999, Some(1)), item(13, None), item(550, Some(3))];
    let out = k.history.add_plays(&ctx, &batch).await.unwrap();
    assert_eq!(out.added.len(), 3);
    assert_eq!(out.existing.len(), 1, "the repeat inside the batch");
    assert_eq!(out.not_found, vec![id(999_999_999)]);
    assert_eq!(source.details.load(Ordering::SeqCst), 3, "three distinct movies, one lookup each");
    assert_eq!(out.added[0].movie.title, "Fight Club");
    assert_eq!(out.added[0].movie.year, Some(1999));
    let again = k.history.add_plays(&ctx, &batch[..2]).await.unwrap();
    assert_eq!((again.added.len(), again.existing.len()), (0, 2), "a batch sent twice adds nothing");
    let page = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(page.total_items, 3);
}

#[tokio::test]
async fn plays_feed_plays_per_movie_and_trending_by_plays() {
    let k = common::kit();
    let (ada, bob) = (RequestContext::user(UserId::new()), RequestContext::user(UserId::new()));
    k.history.add_plays(&ada, &[item(550, None), item(13, None)]).await.unwrap();
    k.history.add_plays(&bob, &[item(550, None), item(550, Some(30))]).await.unwrap();
    while k.relay.run_once().await.unwrap() > 0 {}
    assert_eq!(k.analytics.movie_stats(id(550)).await.unwrap().plays, 3);
    let week = k.analytics.trending(TrendingWindow::Week, 10, TrendingBy::Plays).await.unwrap();
    let got: Vec<(u64, u64)> = week.iter().map(|t| (t.movie_id.get(), t.plays)).collect();
    assert_eq!(got, vec![(550, 2), (13, 1)], "the play of a month ago is outside the week");
    let gone = k.history.remove_plays_of(&bob, id(550)).await.unwrap();
    assert_eq!(gone.len(), 2);
    while k.relay.run_once().await.unwrap() > 0 {}
    assert_eq!(k.analytics.movie_stats(id(550)).await.unwrap().plays, 1, "removals are counted back");
}

#[tokio::test]
async fn a_future_play_refuses_the_whole_batch_naming_it() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let batch = [item(550, Some(1)), item(13, Some(-1)), item(603, Some(-2))];
    let Err(HistoryError::Invalid(problems)) = k.history.add_plays(&ctx, &batch).await else {
        panic!("a play in the future is refused")
    };
    assert_eq!(
        problems.iter().map(|p| (p.index, p.field)).collect::<Vec<_>>(),
        vec![(1, "watched_at"), (2, "watched_at")]
    );
    let page = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(page.total_items, 0, "nothing of the batch is stored");
}

#[tokio::test]
async fn too_many_items_anonymous_callers_and_a_source_outage_are_errors() {
    let k = common::kit_with_source(counting(true));
    let ctx = RequestContext::user(UserId::new());
    let many: Vec<_> = (0..=MAX_PLAYS_PER_BATCH).map(|_| item(550, None)).collect();
    assert!(matches!(k.history.add_plays(&ctx, &many).await, Err(HistoryError::TooMany { max: 1000, got: 1001 })));
    let anon = RequestContext::anonymous();
    assert!(matches!(k.history.add_plays(&anon, &[item(550, None)]).await, Err(HistoryError::Unauthenticated)));
    assert!(matches!(k.history.activity(&anon).await, Err(HistoryError::Unauthenticated)));
    assert!(matches!(
        k.history.add_plays(&ctx, &[item(550, None)]).await,
        Err(HistoryError::MovieSourceUnavailable(_))
    ));
    let page = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(page.total_items, 0, "nothing is stored when movies cannot be looked up");
}
