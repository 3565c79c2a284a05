//! A [`MovieSource`] over TMDb's HTTP API (v3 endpoints).
//!
//! Resilience lives here, where TMDb's behaviour is known: connect and total
//! timeouts; bounded retries with exponential backoff and full jitter on
//! timeouts, connection errors and 5xx; `429` honours `Retry-After`; a
//! client-side rate limit below TMDb's ~50 requests/s; a circuit breaker.
//! Errors map to the port's variants: 404 → `NotFound`, 401 →
//! `Misconfigured` (logged loudly), anything else → `Unavailable`. A body
//! that is not the expected JSON is an upstream error, logged with its first
//! bytes, never a panic.

mod breaker;
mod wire;

use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use watchme_core::domain::{ImdbId, MovieDetails, MovieId, MovieSummary, Page, PageRequest, SearchQuery};
use watchme_core::error::{cause, cause_msg, chain, MovieSourceError};
use watchme_core::ports::MovieSource;

pub use breaker::{Breaker, BreakerState, Permit};

/// TMDb's fixed page size.
const TMDB_PAGE: u64 = 20;
/// TMDb serves at most 500 pages of any list.
const TMDB_MAX_PAGES: u64 = 500;

/// How requests authenticate.
#[derive(Clone)]
pub enum TmdbAuth {
    /// v3 API key, sent as the `api_key` query parameter.
    ApiKey(String),
    /// v4 read access token, sent as `Authorization: Bearer`.
    Token(String),
}

impl std::fmt::Debug for TmdbAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ApiKey(_) => "ApiKey(<redacted>)",
            Self::Token(_) => "Token(<redacted>)",
        })
    }
}

/// Everything the adapter needs to know.
#[derive(Debug, Clone)]
pub struct TmdbConfig {
    /// API base, `https://api.themoviedb.org/3` (tests point it at a local server).
    pub base_url: String,
    /// Credentials.
    pub auth: TmdbAuth,
    /// `language` parameter, e.g. `en-US`.
    pub language: String,
    /// `region` parameter for popular lists, e.g. `US`.
    pub region: Option<String>,
    /// Image base, `https://image.tmdb.org/t/p`.
    pub image_base_url: String,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First retry delay; doubles per retry, with full jitter.
    pub backoff_base: Duration,
    /// Longest `Retry-After` honoured; a longer one fails the call.
    pub max_retry_after: Duration,
    /// Requests per second we allow ourselves.
    pub rate_limit_per_sec: u32,
    /// Consecutive failed calls that open the circuit.
    pub breaker_threshold: u32,
    /// How long the circuit stays open.
    pub breaker_cooldown: Duration,
}

impl TmdbConfig {
    /// Production defaults for the given credentials.
    pub fn new(auth: TmdbAuth) -> Self {
        Self {
            base_url: "https://api.themoviedb.org/3".into(),
            auth,
            language: "en-US".into(),
            region: None,
            image_base_url: "https://image.tmdb.org/t/p".into(),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_retries: 2,
            backoff_base: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(10),
            rate_limit_per_sec: 40,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(10),
        }
    }
}

/// Why building the client failed.
#[derive(Debug, thiserror::Error)]
#[error("could not build the TMDb HTTP client: {0}")]
pub struct TmdbBuildError(#[from] reqwest::Error);

/// Movies from TMDb.
pub struct TmdbSource {
    http: reqwest::Client,
    config: TmdbConfig,
    limiter: DefaultDirectRateLimiter,
    breaker: Breaker,
    // TMDb's last definite answer about our credential, and when it came.
    verdict: tokio::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
}

enum Attempt<T> {
    Done(Result<T, MovieSourceError>),
    Retry { error: MovieSourceError, wait: Option<Duration> },
}

impl TmdbSource {
    /// A source for `config`.
    ///
    /// # Errors
    /// [`TmdbBuildError`] when the TLS stack cannot be initialised.
    pub fn new(config: TmdbConfig) -> Result<Self, TmdbBuildError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("watchme/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let per_sec = NonZeroU32::new(config.rate_limit_per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::direct(Quota::per_second(per_sec));
        let breaker = Breaker::new(config.breaker_threshold, config.breaker_cooldown);
        Ok(Self { http, config, limiter, breaker, verdict: tokio::sync::Mutex::default() })
    }

    /// Asks TMDb's `/configuration` (cheap, needs a valid credential): `Ok`
    /// when TMDb accepts our credential.
    ///
    /// # Errors
    /// [`MovieSourceError::Misconfigured`] when TMDb refuses it (401),
    /// [`MovieSourceError::Unavailable`] when TMDb cannot be asked.
    pub async fn check_credentials(&self) -> Result<(), MovieSourceError> {
        self.get::<serde_json::Value>("/configuration", &[]).await.map(|_| ())
    }

    /// The circuit breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// The readiness verdict on TMDb: down while the breaker is open;
    /// otherwise TMDb's answer about our credential. A definite answer
    /// (accepted, or 401) is kept for 5 minutes, so a probe storm does not
    /// spend TMDb's rate limit; an unreachable TMDb is asked again next time
    /// (the breaker keeps that cheap while it is down).
    ///
    /// # Errors
    /// Why TMDb is not usable, for the health report.
    pub async fn health(&self) -> Result<(), String> {
        if self.breaker_state() == BreakerState::Open {
            return Err("TMDb circuit open after repeated failures; serving cached copies".into());
        }
        let mut last = self.verdict.lock().await;
        if let Some((_, verdict)) = last.as_ref().filter(|(at, _)| at.elapsed() < Duration::from_secs(300)) {
            return verdict.clone();
        }
        let verdict = match self.check_credentials().await {
            Ok(()) => Ok(()),
            Err(MovieSourceError::Misconfigured(_)) => {
                Err("TMDb refuses our credential (401): check WATCHME_TMDB_API_KEY / WATCHME_TMDB_TOKEN".to_owned())
            }
            Err(e) => return Err(format!("TMDb unreachable: {}", watchme_core::error::chain(&e))),
        };
        *last = Some((std::time::Instant::now(), verdict.clone()));
        verdict
    }

    /// The configured language (part of cache keys).
    pub fn language(&self) -> &str {
        &self.config.language
    }

    fn backoff(&self, retry: u32) -> Duration {
        let cap = self.config.backoff_base.saturating_mul(1 << retry.min(10));
        // Full jitter: uniformly random in [0, cap].
        Duration::from_millis(fastrand::u64(0..=cap.as_millis() as u64))
    }

    #[tracing::instrument(
        name = "tmdb.get",
        skip_all,
        fields(otel.name = "GET tmdb", otel.kind = "client", http.request.method = "GET", url.path = path, server.address = %self.config.base_url, tmdb.retries = tracing::field::Empty)
    )]
    async fn get<T: DeserializeOwned>(&self, path: &str, params: &[(&str, String)]) -> Result<T, MovieSourceError> {
        let Some(permit) = self.breaker.allow() else {
            metrics::counter!("watchme_tmdb_requests_total", "outcome" => "breaker_open").increment(1);
            return Err(MovieSourceError::Unavailable(cause_msg("TMDb circuit open: recent calls failed")));
        };
        let mut retry = 0;
        loop {
            self.limiter.until_ready().await;
            match self.attempt(path, params).await {
                Attempt::Done(result) => {
                    let outcome = match &result {
                        Ok(_) => "ok",
                        Err(MovieSourceError::NotFound) => "not_found",
                        Err(MovieSourceError::Misconfigured(_)) => "misconfigured",
                        Err(MovieSourceError::Unavailable(_)) => "error",
                    };
                    metrics::counter!("watchme_tmdb_requests_total", "outcome" => outcome).increment(1);
                    match &result {
                        Err(MovieSourceError::Unavailable(_)) => permit.failure(),
                        _ => permit.success(),
                    }
                    return result;
                }
                Attempt::Retry { error, wait } => {
                    if retry >= self.config.max_retries {
                        metrics::counter!("watchme_tmdb_requests_total", "outcome" => "error").increment(1);
                        permit.failure();
                        return Err(error);
                    }
                    metrics::counter!("watchme_tmdb_retries_total").increment(1);
                    tracing::Span::current().record("tmdb.retries", retry + 1);
                    let wait = wait.unwrap_or_else(|| self.backoff(retry));
                    tracing::debug!(path, retry, wait_ms = wait.as_millis() as u64, error = %chain(&error), "retrying TMDb");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
            }
        }
    }

    async fn attempt<T: DeserializeOwned>(&self, path: &str, params: &[(&str, String)]) -> Attempt<T> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut req = self.http.get(&url).query(params).query(&[("language", self.config.language.as_str())]);
        req = match &self.config.auth {
            TmdbAuth::ApiKey(k) => req.query(&[("api_key", k.as_str())]),
            TmdbAuth::Token(t) => req.bearer_auth(t),
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                // Timeouts and connection failures are worth another try.
                let e = e.without_url();
                return Attempt::Retry { error: MovieSourceError::Unavailable(cause(e)), wait: None };
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry { error: MovieSourceError::Unavailable(cause(e.without_url())), wait: None }
            }
        };
        match status {
            s if s.is_success() => Attempt::Done(serde_json::from_slice::<T>(&body).map_err(|e| {
                tracing::warn!(path, error = %e, body_start = %first_bytes(&body), "TMDb answered malformed JSON");
                MovieSourceError::Unavailable(cause_msg(format!("malformed TMDb response: {e}")))
            })),
            StatusCode::NOT_FOUND => Attempt::Done(Err(MovieSourceError::NotFound)),
            StatusCode::UNAUTHORIZED => {
                tracing::error!(path, body_start = %first_bytes(&body), "TMDb refused our credentials (401): check WATCHME_TMDB_API_KEY / WATCHME_TMDB_TOKEN");
                Attempt::Done(Err(MovieSourceError::Misconfigured(cause_msg("TMDb answered 401: invalid credentials"))))
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let error = MovieSourceError::Unavailable(cause_msg("TMDb rate limit (429)"));
                match retry_after {
                    Some(w) if w > self.config.max_retry_after => Attempt::Done(Err(error)),
                    w => Attempt::Retry { error, wait: Some(w.unwrap_or(Duration::from_secs(1))) },
                }
            }
            s if s.is_server_error() => Attempt::Retry {
                error: MovieSourceError::Unavailable(cause_msg(format!("TMDb answered {s}"))),
                wait: None,
            },
            s => {
                tracing::warn!(path, status = s.as_u16(), body_start = %first_bytes(&body), "TMDb refused the request");
                Attempt::Done(Err(MovieSourceError::Unavailable(cause_msg(format!("TMDb answered {s}")))))
            }
        }
    }

    /// Fetches the TMDb pages that cover `req` and slices our page out of them.
    async fn list(
        &self,
        path: &str,
        params: &[(&str, String)],
        req: PageRequest,
    ) -> Result<Page<MovieSummary>, MovieSourceError> {
        let first_item = req.offset();
        let last_item = first_item + req.per_page() as u64 - 1;
        let first_page = first_item / TMDB_PAGE + 1;
        // Past TMDb's last page there are no items, but the totals still come
        // from a page it serves: then only that last page is fetched.
        let fetch_from = first_page.min(TMDB_MAX_PAGES);
        let fetch_to = (last_item / TMDB_PAGE + 1).clamp(fetch_from, TMDB_MAX_PAGES);
        let mut items = Vec::new();
        let mut total = 0;
        for page in fetch_from..=fetch_to {
            let mut p = params.to_vec();
            p.push(("page", page.to_string()));
            // A list endpoint never answers 404 for a valid request: treat it as TMDb misbehaving.
            let got: wire::ListPage = self.get(path, &p).await.map_err(|e| match e {
                MovieSourceError::NotFound => {
                    MovieSourceError::Unavailable(cause_msg(format!("TMDb answered 404 for {path}")))
                }
                other => other,
            })?;
            total = got.total_results.min(got.total_pages.min(TMDB_MAX_PAGES) * TMDB_PAGE);
            items.extend(got.results.into_iter().filter_map(|m| m.into_summary(&self.config.image_base_url)));
            if page >= got.total_pages {
                break;
            }
        }
        if first_page > TMDB_MAX_PAGES {
            return Ok(req.page_of(Vec::new(), total));
        }
        let skip = (first_item - (first_page - 1) * TMDB_PAGE) as usize;
        let items: Vec<_> = items.into_iter().skip(skip).take(req.per_page() as usize).collect();
        Ok(req.page_of(items, total))
    }
}

fn first_bytes(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

#[async_trait]
impl MovieSource for TmdbSource {
    async fn popular(&self, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        let params: Vec<(&str, String)> = self.config.region.iter().map(|r| ("region", r.clone())).collect();
        self.list("/movie/popular", &params, page).await
    }

    async fn search(&self, query: &SearchQuery, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        let mut params = vec![("query", query.text().to_owned()), ("include_adult", "false".to_owned())];
        if let Some(y) = query.year() {
            params.push(("year", y.to_string()));
        }
        self.list("/search/movie", &params, page).await
    }

    async fn details(&self, id: MovieId) -> Result<MovieDetails, MovieSourceError> {
        let d: wire::Details =
            self.get(&format!("/movie/{id}"), &[("append_to_response", "credits".to_owned())]).await?;
        d.into_details(&self.config.image_base_url)
            .ok_or_else(|| MovieSourceError::Unavailable(cause_msg("TMDb answered a movie with an invalid id")))
    }

    async fn find_by_imdb(&self, imdb: &ImdbId) -> Result<MovieId, MovieSourceError> {
        let params = [("external_source", "imdb_id".to_owned())];
        let found: wire::Found = self.get(&format!("/find/{}", imdb.as_str()), &params).await?;
        let first = found.movie_results.first().ok_or(MovieSourceError::NotFound)?;
        MovieId::new(first.id)
            .map_err(|_| MovieSourceError::Unavailable(cause_msg("TMDb found a movie with an invalid id")))
    }
}
