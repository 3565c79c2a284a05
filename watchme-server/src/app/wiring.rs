//! Building the adapters and services from the config: the cache tiers,
//! the movie source, the event bus, authentication, rate limits, the view
//! recording, the relay and the readiness probes. Nothing else in the
//! workspace constructs adapters.

use std::sync::Arc;
use std::time::Duration;

use watchme_adapters::catalog::CatalogSource;
use watchme_adapters::crypto::{Argon2Hasher, JwtConfig, JwtIssuer};
use watchme_adapters::kafka::KafkaBus;
use watchme_adapters::memory::{InProcessBus, MemoryCache, MemoryRateLimiter};
use watchme_adapters::redis::{RedisCache, RedisRateLimiter, TwoTierCache};
use watchme_adapters::sql::{Backend, SqlStore};
use watchme_adapters::tmdb::TmdbSource;
use watchme_core::ports::{Cache, Clock, EventBus, MovieSource, RateLimiter, SystemClock, TokenIssuer};
use watchme_core::services::{
    AnalyticsService, ApiTokenService, AuthService, AuthSettings, DeviceAuthService, HistoryService, ImportDeps,
    ImportService, LibraryService, ListService, MovieService, OutboxRelay, RateLimits, RelayConfig, ScrobbleService,
    WebhookService,
};

use super::error::StartError;
use super::keys::SigningKeys;
use super::storage::Storage;
use crate::config::Config;
use crate::error::chain;
use crate::health::{HealthChecks, Probe};
use crate::state::{AppState, HttpPolicy};
use crate::traced::{TracedBus, TracedHandler};

/// What [`build_state`] returns besides the state: the parts background tasks need.
pub struct Wiring {
    /// The handlers' services.
    pub state: Arc<AppState>,
    /// The outbox relay feeding the event bus.
    pub relay: Arc<OutboxRelay>,
    /// The storage.
    pub storage: Storage,
    /// The Kafka bus, when events go to Kafka (otherwise the in-process bus
    /// hands them to the analytics service directly).
    pub kafka: Option<KafkaBus>,
}

fn config_error(what: &str) -> impl FnOnce(String) -> StartError + '_ {
    move |e| StartError::Config(format!("{what}{e}"))
}

/// With Redis: a short-lived in-process L1 in front of the Redis all
/// replicas share (or Redis alone with a zero L1 TTL); without: the
/// in-process cache alone. The Redis tier is returned too, for its probe
/// and the shared rate limiter.
fn cache(config: &Config) -> Result<(Arc<dyn Cache>, Option<RedisCache>), StartError> {
    let Some(r) = &config.cache.redis else {
        return Ok((Arc::new(MemoryCache::new(config.cache.max_bytes)), None));
    };
    let l2 = RedisCache::new(r.clone()).map_err(|e| config_error("WATCHME_REDIS_URL: ")(e.to_string()))?;
    let tiers: Arc<dyn Cache> = if config.cache.l1_ttl.is_zero() {
        Arc::new(l2.clone())
    } else {
        Arc::new(TwoTierCache::start(l2.clone(), config.cache.max_bytes, config.cache.l1_ttl))
    };
    Ok((tiers, Some(l2)))
}

/// The movie source, and TMDb when that is what it is (for its probe and gauges).
type Source = (Arc<dyn MovieSource>, Option<Arc<TmdbSource>>);

/// TMDb when a credential is configured (returned too, for its probe and
/// gauges), else the bundled catalog.
fn movie_source(config: &Config) -> Result<Source, StartError> {
    match &config.tmdb {
        Some(t) => {
            let src = Arc::new(TmdbSource::new(t.clone()).map_err(|e| StartError::Config(e.to_string()))?);
            Ok((src.clone(), Some(src)))
        }
        None => Ok((Arc::new(CatalogSource::bundled().map_err(|e| StartError::Config(e.to_string()))?), None)),
    }
}

/// Kafka when configured (returned too, for its probe and the consumer),
/// else the in-process bus feeding `analytics`; traced either way.
fn event_bus(
    config: &Config,
    analytics: &Arc<AnalyticsService>,
) -> Result<(Arc<dyn EventBus>, Option<KafkaBus>), StartError> {
    match &config.kafka {
        Some(k) => {
            let b = KafkaBus::new(&k.config).map_err(|e| config_error("Kafka settings refused: ")(e.to_string()))?;
            Ok((Arc::new(TracedBus::new(Arc::new(b.clone()), "kafka", k.config.events_topic())), Some(b)))
        }
        None => {
            let handler = Arc::new(TracedHandler::new(analytics.clone(), "in_process", "events"));
            let bus = Arc::new(InProcessBus::new(vec![handler]));
            Ok((Arc::new(TracedBus::new(bus, "in_process", "events")), None))
        }
    }
}

fn auth(
    config: &Config,
    storage: &Storage,
    keys: SigningKeys,
    clock: Arc<dyn Clock>,
) -> Result<(AuthService, Arc<dyn TokenIssuer>), StartError> {
    let mut hasher =
        Argon2Hasher::new(config.accounts.argon2).map_err(|e| config_error("argon2 parameters: ")(e.to_string()))?;
    if config.accounts.argon2_max_concurrent > 0 {
        hasher = hasher.with_max_concurrent(config.accounts.argon2_max_concurrent);
    }
    let tokens = JwtIssuer::new(JwtConfig {
        signing: keys.signing,
        verify_only: keys.verify_only,
        issuer: "watchme".into(),
        audience: "watchme-api".into(),
        ttl: config.security.jwt_ttl,
        leeway: Duration::from_secs(5),
    })
    .map_err(|e| config_error("JWT keys: ")(e.to_string()))?;
    let tokens: Arc<dyn TokenIssuer> = Arc::new(tokens);
    let service = AuthService::new(
        storage.users.clone(),
        storage.sessions.clone(),
        Arc::new(hasher),
        tokens.clone(),
        clock,
        AuthSettings {
            admin_emails: config.accounts.admin_emails.clone(),
            refresh_ttl: config.security.refresh_ttl,
            session_check_ttl: config.security.session_check_ttl,
            reject_common_passwords: true,
        },
    );
    Ok((service, tokens))
}

/// With Redis every replica counts against one shared budget; the
/// in-process limiter is the embedded default and the fallback for
/// credential attempts while Redis is away.
fn rate_limits(config: &Config, redis: Option<&RedisCache>) -> Option<Arc<RateLimits>> {
    config.security.rate_limits.clone().map(|policies| {
        let local: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new());
        let shared: Arc<dyn RateLimiter> = match redis {
            Some(r) => Arc::new(RedisRateLimiter::new(r.clone())),
            None => local.clone(),
        };
        Arc::new(RateLimits::new(shared, local, policies))
    })
}

fn relay_config(config: &Config, storage: &Storage) -> RelayConfig {
    RelayConfig {
        idle_interval: config.writes.outbox_poll,
        batch_size: config.writes.relay_batch_size.unwrap_or(match storage.sql.as_ref().map(SqlStore::backend) {
            // One writer: a request's commit waits for the relay's claim and,
            // in-process, for the analytics it applies; small batches keep that wait short.
            Some(Backend::Sqlite) => 200,
            _ => RelayConfig::default().batch_size,
        }),
        // In memory, nothing reads published events again, and keeping them
        // only grows the heap: at tens of thousands of views a second, ten
        // minutes of them were gigabytes, and even one minute of them made
        // the kernel zero fresh pages for about 4 % of a cache hit's time.
        retention: if storage.memory.is_some() { Duration::ZERO } else { config.writes.outbox_retention },
        ..RelayConfig::default()
    }
}

/// The dependencies `/health/ready` checks, each required or not as
/// `WATCHME_READY_REQUIRES` says.
fn probes(
    config: &Config,
    storage: &Storage,
    cache: &Arc<dyn Cache>,
    redis: Option<RedisCache>,
    tmdb: Option<Arc<TmdbSource>>,
    kafka: Option<KafkaBus>,
) -> HealthChecks {
    let required = |name: &str| config.server.ready_requires.contains(name);
    let probe_storage = storage.clone();
    let mut probes = vec![Probe::new("database", required("database"), move || {
        let s = probe_storage.clone();
        async move { s.ping().await }
    })];
    match redis {
        // Ask Redis itself: a get could be answered by the L1.
        Some(r) => probes.push(Probe::new("redis", required("redis"), move || {
            let r = r.clone();
            async move { r.ping().await.map_err(|e| chain(&e)) }
        })),
        None => {
            let c = cache.clone();
            probes.push(Probe::new("cache", false, move || {
                let c = c.clone();
                async move { c.get("watchme:health").await.map(|_| ()).map_err(|e| e.to_string()) }
            }));
        }
    }
    if let Some(t) = tmdb {
        probes.push(Probe::new("movie_source", required("movie_source"), move || {
            let t = t.clone();
            async move { t.health().await }
        }));
    }
    if let Some(k) = kafka {
        // Not required by default: while Kafka is away events wait in the outbox.
        probes.push(Probe::new("events", required("events"), move || {
            let k = k.clone();
            async move { k.ping(Duration::from_secs(1)).await }
        }));
    }
    HealthChecks::new(probes, Duration::from_secs(2))
}

/// The services that bring data in from elsewhere: scrobbles, webhooks, imports.
struct Tracking {
    scrobbles: Arc<ScrobbleService>,
    webhooks: Arc<WebhookService>,
    imports: Arc<ImportService>,
}

impl Tracking {
    /// Over the services `deps` names, which imports write through too.
    fn build(
        config: &Config,
        storage: &Storage,
        deps: ImportDeps,
        secrets: Arc<dyn TokenIssuer>,
        clock: &Arc<dyn Clock>,
    ) -> Self {
        let (movies, history, library) = (deps.movies.clone(), deps.history.clone(), deps.library.clone());
        let scrobbles = Arc::new(ScrobbleService::new(
            storage.playback.clone(),
            history,
            movies.clone(),
            clock.clone(),
            config.trakt.scrobble.clone(),
        ));
        let webhooks = Arc::new(WebhookService::new(
            storage.webhooks.clone(),
            scrobbles.clone(),
            library,
            movies,
            secrets,
            clock.clone(),
        ));
        let imports = Arc::new(ImportService::new(
            storage.imports.clone(),
            Arc::new(watchme_adapters::imports::FileReader::new(config.accounts.import_limits)),
            Arc::new(watchme_adapters::imports::ZipExportWriter),
            deps,
            clock.clone(),
        ));
        Self { scrobbles, webhooks, imports }
    }
}

/// Builds adapters and services over `storage`, signing with `keys`.
///
/// # Errors
/// [`StartError::Config`] when an adapter refuses its configuration.
pub fn build_state(config: &Config, storage: Storage, keys: SigningKeys) -> Result<Wiring, StartError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (cache, redis) = cache(config)?;
    let (source, tmdb) = movie_source(config)?;
    let analytics = Arc::new(AnalyticsService::new(storage.analytics.clone(), clock.clone()));
    let (bus, kafka) = event_bus(config, &analytics)?;
    let (auth, issuer) = auth(config, &storage, keys, clock.clone())?;
    let auth = Arc::new(auth);
    let webhook_secrets = issuer.clone();
    let devices = Arc::new(DeviceAuthService::new(
        storage.devices.clone(),
        auth.clone(),
        issuer.clone(),
        clock.clone(),
        config.trakt.devices.clone(),
    ));
    let tokens = Arc::new(ApiTokenService::new(
        storage.tokens.clone(),
        issuer,
        clock.clone(),
        config.security.session_check_ttl,
    ));
    let limits = rate_limits(config, redis.as_ref());
    let movies = Arc::new(MovieService::new(source, cache.clone(), clock.clone(), config.movie_policy.clone()));
    let library = Arc::new(LibraryService::with_recording(
        storage.library.clone(),
        movies.clone(),
        clock.clone(),
        config.writes.view_recording,
    ));
    let lists = Arc::new(ListService::new(storage.lists.clone(), movies.clone(), clock.clone(), config.accounts.lists));
    let history = Arc::new(HistoryService::new(storage.history.clone(), movies.clone(), clock.clone()));
    let deps =
        ImportDeps { movies: movies.clone(), history: history.clone(), library: library.clone(), lists: lists.clone() };
    let tracking = Tracking::build(config, &storage, deps, webhook_secrets, &clock);
    let Tracking { scrobbles, webhooks, imports } = tracking;
    let relay = Arc::new(OutboxRelay::new(storage.outbox.clone(), bus, clock, relay_config(config, &storage)));
    let metrics = config.telemetry.metrics.as_ref().map(|m| {
        let gauges = crate::metrics::Gauges {
            outbox: Some(storage.outbox.clone()),
            sql: storage.sql.clone(),
            tmdb: tmdb.clone(),
            limits: limits.clone(),
        };
        crate::metrics::MetricsMount::new(m, gauges)
    });
    let health = probes(config, &storage, &cache, redis, tmdb, kafka.clone());
    let http = HttpPolicy::from_config(config);
    let state = Arc::new(AppState {
        auth,
        tokens,
        movies,
        library,
        history,
        lists,
        scrobbles,
        devices,
        imports,
        webhooks,
        analytics,
        health,
        limits,
        http,
        metrics,
    });
    Ok(Wiring { state, relay, storage, kafka })
}
