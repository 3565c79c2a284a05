//! The [`MovieSource`] contract: a movie is found and an unknown one is
//! not, a search narrows by release year, pages cut a list consistently;
//! and, for a source behind a network, a source that is down is
//! `Unavailable` and one that refuses our credential is `Misconfigured`.
//! Each scenario names what it needs of the source's data in a
//! [`KnownMovies`], so one suite serves a bundled catalog and a server.

use watchme_core::domain::{ImdbId, MovieId, PageRequest, SearchQuery};
use watchme_core::error::MovieSourceError;
use watchme_core::ports::MovieSource;

/// What a source under test is known to hold.
#[derive(Debug, Clone)]
pub struct KnownMovies {
    /// A movie it has, and that movie's title.
    pub found: (i64, &'static str),
    /// An id it has no movie for.
    pub missing: i64,
    /// A search that finds `found` in its year...
    pub search: &'static str,
    /// ... which is this year.
    pub year: i32,
    /// A year in which that search does not find `found`.
    pub other_year: i32,
    /// The IMDb id of `found`.
    pub imdb: &'static str,
}

fn id(n: i64) -> MovieId {
    MovieId::new(n).expect("positive id")
}

/// A known movie is found by its IMDb id (in any letter case); an IMDb
/// id the source does not know is `NotFound`.
pub async fn movie_source_finds_by_imdb_id(source: &dyn MovieSource, known: &KnownMovies) {
    let imdb = ImdbId::parse(known.imdb).expect("an IMDb id");
    assert_eq!(source.find_by_imdb(&imdb).await.expect("a known IMDb id"), id(known.found.0));
    let upper = ImdbId::parse(&known.imdb.to_uppercase()).expect("an IMDb id");
    assert_eq!(source.find_by_imdb(&upper).await.expect("the same id"), id(known.found.0), "`TT` is `tt`");
    let unknown = ImdbId::parse("tt0000001").expect("an IMDb id");
    assert!(matches!(source.find_by_imdb(&unknown).await, Err(MovieSourceError::NotFound)), "unknown: NotFound");
}

/// A known movie is found with its title; an unknown id is `NotFound`.
pub async fn movie_source_finds_and_misses(source: &dyn MovieSource, known: &KnownMovies) {
    let m = source.details(id(known.found.0)).await.expect("a known movie");
    assert_eq!((m.id.get() as i64, m.title.as_str()), known.found, "details of the known movie");
    assert!(
        matches!(source.details(id(known.missing)).await, Err(MovieSourceError::NotFound)),
        "an unknown movie is NotFound"
    );
}

/// A search finds the movie in its year and not in another.
pub async fn movie_source_searches_by_year(source: &dyn MovieSource, known: &KnownMovies) {
    let ids = |p: watchme_core::domain::Page<watchme_core::domain::MovieSummary>| {
        p.items.iter().map(|m| m.id.get() as i64).collect::<Vec<_>>()
    };
    let in_year = SearchQuery::new(known.search, Some(known.year)).expect("query");
    let found = source.search(&in_year, PageRequest::first()).await.expect("search");
    assert!(ids(found).contains(&known.found.0), "the search finds the movie in its year");
    let elsewhere = SearchQuery::new(known.search, Some(known.other_year)).expect("query");
    let missed = source.search(&elsewhere, PageRequest::first()).await.expect("search");
    assert!(!ids(missed).contains(&known.found.0), "and not in another year");
}

/// Popular pages: the size asked for, consecutive pages that do not
/// overlap, and the same totals on each.
pub async fn movie_source_pages(source: &dyn MovieSource) {
    let page = |n| PageRequest::new(Some(n), Some(5)).expect("page");
    let (first, second) =
        (source.popular(page(1)).await.expect("page 1"), source.popular(page(2)).await.expect("page 2"));
    assert_eq!((first.items.len(), second.items.len()), (5, 5), "pages of the size asked for");
    assert!(first.items.iter().all(|a| second.items.iter().all(|b| a.id != b.id)), "pages do not overlap");
    assert_eq!(first.total_items, second.total_items, "the same total on every page");
    assert!(first.total_pages >= 2 && first.total_items >= 10);
}

/// A source whose backend is down answers `Unavailable`, on every method.
pub async fn movie_source_down_is_unavailable(source: &dyn MovieSource) {
    let unavailable = |r: Result<(), MovieSourceError>| matches!(r, Err(MovieSourceError::Unavailable(_)));
    assert!(unavailable(source.details(id(550)).await.map(drop)), "details");
    assert!(unavailable(source.popular(PageRequest::first()).await.map(drop)), "popular");
    let q = SearchQuery::new("anything", None).expect("query");
    assert!(unavailable(source.search(&q, PageRequest::first()).await.map(drop)), "search");
}

/// A source that refuses our credential answers `Misconfigured`.
pub async fn movie_source_refused_credential_is_misconfigured(source: &dyn MovieSource) {
    assert!(
        matches!(source.details(id(550)).await, Err(MovieSourceError::Misconfigured(_))),
        "a refused credential is Misconfigured, not NotFound nor Unavailable"
    );
}
