//! The TMDb adapter against a local HTTP server speaking TMDb's API shapes
//! (wiremock): every endpoint, both auth forms, and every failure mode.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use watchme_adapters::contract;
use watchme_adapters::tmdb::{BreakerState, TmdbAuth, TmdbConfig, TmdbSource};
use watchme_core::domain::{MovieId, PageRequest, SearchQuery};
use watchme_core::error::MovieSourceError;
use watchme_core::ports::MovieSource;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(server: &MockServer, auth: TmdbAuth) -> TmdbConfig {
    TmdbConfig {
        base_url: server.uri(),
        timeout: Duration::from_millis(500),
        backoff_base: Duration::from_millis(10),
        rate_limit_per_sec: 1000,
        ..TmdbConfig::new(auth)
    }
}

fn source(server: &MockServer) -> TmdbSource {
    TmdbSource::new(config(server, TmdbAuth::ApiKey("test-key".into()))).unwrap()
}

/// `/movie/550?append_to_response=credits`, shaped as TMDb documents it.
fn fight_club() -> Value {
    json!({
        "adult": false,
        "backdrop_path": "/hZkgoQYus5vegHoetLkCJzb17zJ.jpg",
        "belongs_to_collection": null,
        "budget": 63000000,
        "genres": [{"id": 18, "name": "Drama"}, {"id": 53, "name": "Thriller"}],
        "homepage": "http://www.foxmovies.com/movies/fight-club",
        "id": 550,
        "imdb_id": "tt0137523",
        "original_language": "en",
        "original_title": "Fight Club",
        "overview": "A ticking-time-bomb insomniac and a slippery soap salesman channel primal male aggression into a shocking new form of therapy.",
        "popularity": 61.416,
        "poster_path": "/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
        "production_companies": [{"id": 508, "logo_path": "/7cxRWzi4LsVm4Utfpr1hfARNurT.png", "name": "Regency Enterprises", "origin_country": "US"}],
        "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "release_date": "1999-10-15",
        "revenue": 100853753,
        "runtime": 139,
        "spoken_languages": [{"english_name": "English", "iso_639_1": "en", "name": "English"}],
        "status": "Released",
        "tagline": "Mischief. Mayhem. Soap.",
        "title": "Fight Club",
        "video": false,
        "vote_average": 8.433,
        "vote_count": 26280,
        "credits": {
            "cast": [
                {"adult": false, "gender": 2, "id": 819, "known_for_department": "Acting", "name": "Edward Norton", "original_name": "Edward Norton", "popularity": 26.99, "profile_path": "/8nytsqL59SFJTVYVrN72k6qkGgJ.jpg", "cast_id": 4, "character": "The Narrator", "credit_id": "52fe4250c3a36847f80149f3", "order": 0},
                {"adult": false, "gender": 2, "id": 287, "known_for_department": "Acting", "name": "Brad Pitt", "original_name": "Brad Pitt", "popularity": 50.87, "profile_path": "/cckcYc2v0yh1tc9QjRelptcOBko.jpg", "cast_id": 5, "character": "Tyler Durden", "credit_id": "52fe4250c3a36847f80149f7", "order": 1}
            ],
            "crew": [
                {"adult": false, "gender": 2, "id": 7467, "known_for_department": "Directing", "name": "David Fincher", "original_name": "David Fincher", "popularity": 21.8, "profile_path": "/tpEczFclQZeKAiCeKZZ0adRvtfz.jpg", "credit_id": "631f0289568463007bbe28a3", "department": "Directing", "job": "Director"},
                {"adult": false, "gender": 2, "id": 7474, "known_for_department": "Writing", "name": "Jim Uhls", "original_name": "Jim Uhls", "popularity": 2.4, "profile_path": null, "credit_id": "52fe4250c3a36847f8014a05", "department": "Writing", "job": "Screenplay"}
            ]
        }
    })
}

fn list_movie(id: i64, title: &str) -> Value {
    json!({
        "adult": false, "backdrop_path": "/b.jpg", "genre_ids": [28, 12], "id": id,
        "original_language": "en", "original_title": title, "overview": "An overview.",
        "popularity": 100.5, "poster_path": "/p.jpg", "release_date": "2024-02-27",
        "title": title, "video": false, "vote_average": 8.2, "vote_count": 5000
    })
}

fn list_page(page: u64, total_results: u64) -> Value {
    let results: Vec<Value> =
        (0..20).map(|i| list_movie((page * 100 + i) as i64, &format!("Movie {page}-{i}"))).collect();
    json!({"page": page, "results": results, "total_pages": total_results.div_ceil(20), "total_results": total_results})
}

fn tmdb_error(code: u64, message: &str) -> Value {
    json!({"status_code": code, "status_message": message, "success": false})
}

#[tokio::test]
async fn details_with_credits_and_image_urls_using_the_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/movie/550"))
        .and(query_param("api_key", "test-key"))
        .and(query_param("append_to_response", "credits"))
        .and(query_param("language", "en-US"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()))
        .expect(1)
        .mount(&server)
        .await;
    let m = source(&server).details(MovieId::new(550).unwrap()).await.unwrap();
    assert_eq!(
        (m.title.as_str(), m.runtime, m.tagline.as_deref()),
        ("Fight Club", Some(139), Some("Mischief. Mayhem. Soap."))
    );
    assert_eq!(m.genres.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["Drama", "Thriller"]);
    assert_eq!(m.poster_url.as_deref(), Some("https://image.tmdb.org/t/p/w500/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg"));
    assert_eq!(m.backdrop_url.as_deref(), Some("https://image.tmdb.org/t/p/w1280/hZkgoQYus5vegHoetLkCJzb17zJ.jpg"));
    assert_eq!((m.cast[0].name.as_str(), m.cast[0].character.as_deref()), ("Edward Norton", Some("The Narrator")));
    assert_eq!(m.directors, vec!["David Fincher"]);
    assert_eq!(m.imdb_id.as_deref(), Some("tt0137523"));
    assert_eq!(m.release_date.map(|d| d.year()), Some(1999));
}

#[tokio::test]
async fn the_v4_token_goes_in_the_authorization_header_not_the_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/movie/550"))
        .and(header("authorization", "Bearer v4-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()))
        .expect(1)
        .mount(&server)
        .await;
    let src = TmdbSource::new(config(&server, TmdbAuth::Token("v4-token".into()))).unwrap();
    src.details(MovieId::new(550).unwrap()).await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.iter().all(|r| !r.url.query().unwrap_or_default().contains("api_key")));
}

#[tokio::test]
async fn popular_pages_are_cut_out_of_tmdb_pages_of_twenty() {
    let server = MockServer::start().await;
    for page in 1..=2 {
        Mock::given(method("GET"))
            .and(path("/movie/popular"))
            .and(query_param("page", page.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(list_page(page, 45)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let p = source(&server).popular(PageRequest::new(Some(1), Some(30)).unwrap()).await.unwrap();
    assert_eq!((p.items.len(), p.total_items, p.total_pages), (30, 45, 2));
    assert_eq!((p.items[0].id.get(), p.items[29].id.get()), (100, 209));
    assert_eq!(p.items[0].poster_url.as_deref(), Some("https://image.tmdb.org/t/p/w500/p.jpg"));
}

#[tokio::test]
async fn search_sends_query_and_year() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/search/movie"))
        .and(query_param("query", "Dune Part Two"))
        .and(query_param("year", "2024"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "page": 1, "results": [list_movie(693134, "Dune: Part Two")], "total_pages": 1, "total_results": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    let q = SearchQuery::new("Dune  Part Two", Some(2024)).unwrap();
    let p = source(&server).search(&q, PageRequest::first()).await.unwrap();
    assert_eq!((p.items[0].id.get(), p.total_items), (693134, 1));
}

#[tokio::test]
async fn not_found_and_bad_credentials_map_to_their_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/movie/1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(tmdb_error(34, "The resource you requested could not be found.")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/movie/2"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(tmdb_error(7, "Invalid API key: You must be granted a valid key.")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let src = source(&server);
    assert!(matches!(src.details(MovieId::new(1).unwrap()).await, Err(MovieSourceError::NotFound)));
    assert!(matches!(src.details(MovieId::new(2).unwrap()).await, Err(MovieSourceError::Misconfigured(_))));
    assert_eq!(src.breaker_state(), BreakerState::Closed, "answers from TMDb do not trip the breaker");
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/movie/550"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(tmdb_error(25, "Your request count is over the allowed limit.")),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/movie/550"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()))
        .mount(&server)
        .await;
    let started = Instant::now();
    source(&server).details(MovieId::new(550).unwrap()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for Retry-After");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_500_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/movie/550")).respond_with(ResponseTemplate::new(500)).up_to_n_times(1).mount(&server).await;
    Mock::given(path("/movie/550"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()))
        .mount(&server)
        .await;
    assert_eq!(source(&server).details(MovieId::new(550).unwrap()).await.unwrap().id.get(), 550);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_unavailable_after_bounded_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/movie/550"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = source(&server).details(MovieId::new(550).unwrap()).await.unwrap_err();
    assert!(matches!(err, MovieSourceError::Unavailable(_)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3, "first try + 2 retries");
    assert!(started.elapsed() < Duration::from_secs(3), "each try is cut at the timeout");
}

#[tokio::test]
async fn malformed_json_is_an_upstream_error_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/movie/550"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>gateway hiccup</html>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(path("/movie/popular"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"page": 1, "results": "nope"})))
        .mount(&server)
        .await;
    let src = source(&server);
    assert!(matches!(src.details(MovieId::new(550).unwrap()).await, Err(MovieSourceError::Unavailable(_))));
    assert!(matches!(src.popular(PageRequest::first()).await, Err(MovieSourceError::Unavailable(_))));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn repeated_failures_open_the_circuit_and_spare_tmdb() {
    let server = MockServer::start().await;
    Mock::given(path("/movie/550")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let cfg = TmdbConfig {
        max_retries: 0,
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_secs(60),
        ..config(&server, TmdbAuth::ApiKey("k".into()))
    };
    let src = TmdbSource::new(cfg).unwrap();
    for _ in 0..2 {
        assert!(src.details(MovieId::new(550).unwrap()).await.is_err());
    }
    assert_eq!(src.breaker_state(), BreakerState::Open);
    assert!(matches!(src.details(MovieId::new(550).unwrap()).await, Err(MovieSourceError::Unavailable(_))));
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "no call while the circuit is open");
}

/// Found by the soak test: the readiness probe's own timeout dropped the
/// half-open circuit's one trial call while TMDb was slow, and the circuit
/// then stayed open for good (every later call refused, TMDb never asked
/// again). A dropped trial now gives the trial back.
#[tokio::test]
async fn a_trial_call_cancelled_by_its_caller_does_not_keep_the_circuit_open() {
    let server = MockServer::start().await;
    let slow = Mock::given(path("/movie/550"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()).set_delay(Duration::from_secs(2)))
        .mount_as_scoped(&server)
        .await;
    let cfg = TmdbConfig {
        max_retries: 0,
        breaker_threshold: 1,
        breaker_cooldown: Duration::from_millis(100),
        ..config(&server, TmdbAuth::ApiKey("k".into()))
    };
    let src = TmdbSource::new(cfg).unwrap();
    let id = MovieId::new(550).unwrap();
    assert!(src.details(id).await.is_err(), "timed out: the circuit opens");
    tokio::time::sleep(Duration::from_millis(150)).await;
    // The trial, abandoned by a caller that stops waiting (as a probe's timeout does).
    assert!(tokio::time::timeout(Duration::from_millis(50), src.details(id)).await.is_err());
    drop(slow);
    Mock::given(path("/movie/550"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()))
        .mount(&server)
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while src.details(id).await.is_err() {
        assert!(Instant::now() < deadline, "TMDb is back but the circuit stays open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(src.breaker_state(), BreakerState::Closed);
}

// The MovieSource contract against the TMDb-shaped server.

const KNOWN: contract::KnownMovies = contract::KnownMovies {
    found: (550, "Fight Club"),
    missing: 1,
    search: "Fight Club",
    year: 1999,
    other_year: 2005,
    imdb: "tt0137523",
};

/// A server holding what [`KNOWN`] says, and popular pages of 45 movies.
async fn tmdb_shaped_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/movie/550"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fight_club()))
        .mount(&server)
        .await;
    Mock::given(path("/movie/1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(tmdb_error(34, "The resource you requested could not be found.")),
        )
        .mount(&server)
        .await;
    let hits = json!({"page": 1, "results": [list_movie(550, "Fight Club")], "total_pages": 1, "total_results": 1});
    let none = json!({"page": 1, "results": [], "total_pages": 1, "total_results": 0});
    for (year, body) in [("1999", hits), ("2005", none)] {
        Mock::given(path("/search/movie"))
            .and(query_param("query", "Fight Club"))
            .and(query_param("year", year))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let found = json!({"movie_results": [list_movie(550, "Fight Club")], "person_results": [], "tv_results": []});
    let nothing = json!({"movie_results": [], "person_results": [], "tv_results": []});
    for (imdb, body) in [("tt0137523", found), ("tt0000001", nothing)] {
        Mock::given(path(format!("/find/{imdb}")))
            .and(query_param("external_source", "imdb_id"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    for page in 1..=3 {
        Mock::given(path("/movie/popular"))
            .and(query_param("page", page.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(list_page(page, 45)))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn tmdb_finds_and_misses() {
    let server = tmdb_shaped_server().await;
    contract::movie_source_finds_and_misses(&source(&server), &KNOWN).await;
}

#[tokio::test]
async fn tmdb_searches_by_year() {
    let server = tmdb_shaped_server().await;
    contract::movie_source_searches_by_year(&source(&server), &KNOWN).await;
}

#[tokio::test]
async fn tmdb_finds_by_imdb_id() {
    let server = tmdb_shaped_server().await;
    contract::movie_source_finds_by_imdb_id(&source(&server), &KNOWN).await;
}

#[tokio::test]
async fn tmdb_pages() {
    let server = tmdb_shaped_server().await;
    contract::movie_source_pages(&source(&server)).await;
}

#[tokio::test]
async fn tmdb_down_is_unavailable() {
    // A port nothing listens on (a dropped MockServer goes back to
    // wiremock's pool and keeps answering 404).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = TmdbConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        timeout: Duration::from_millis(500),
        backoff_base: Duration::from_millis(10),
        ..TmdbConfig::new(TmdbAuth::ApiKey("test-key".into()))
    };
    contract::movie_source_down_is_unavailable(&TmdbSource::new(config).unwrap()).await;
}

#[tokio::test]
async fn tmdb_refusing_the_credential_is_misconfigured() {
    let server = MockServer::start().await;
    Mock::given(path("/movie/550"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(tmdb_error(7, "Invalid API key: You must be granted a valid key.")),
        )
        .mount(&server)
        .await;
    contract::movie_source_refused_credential_is_misconfigured(&source(&server)).await;
}
