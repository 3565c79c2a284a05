//! The composition root: builds adapters and services from the config,
//! binds the listener, runs the server and the background tasks. Nothing
//! else in the workspace constructs adapters.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use poem::listener::{
    Acceptor, AcceptorExt, Listener, RustlsAcceptor, RustlsCertificate, RustlsConfig, TcpAcceptor, TcpListener,
};
use poem::Server;
use watchme_adapters::catalog::CatalogSource;
use watchme_adapters::crypto::{generate_secret, Argon2Hasher, JwtConfig, JwtIssuer, JwtKey};
use watchme_adapters::kafka::{ensure_topics, KafkaBus, KafkaConsumer, SetupError};
use watchme_adapters::memory::{InProcessBus, MemoryAnalyticsStore, MemoryCache, MemoryRateLimiter, MemoryStore};
use watchme_adapters::redis::{RedisCache, RedisRateLimiter, TwoTierCache};
use watchme_adapters::sql::{Backend, SqlStore};
use watchme_adapters::tmdb::{BreakerState, TmdbSource};
use watchme_core::error::StorageError;
use watchme_core::ports::{
    AnalyticsStore, Cache, EventBus, LibraryRepo, MovieSource, Outbox, RateLimiter, SessionRepo, SystemClock, UserRepo,
};
use watchme_core::services::{
    AnalyticsService, AuthService, AuthSettings, LibraryService, MovieService, OutboxRelay, RateLimits, RelayConfig,
};

use crate::api::error::chain;
use crate::config::{Config, Database, PreviousKey, SigningKeySource};
use crate::health::{HealthChecks, Probe};
use crate::security::HttpPolicy;

/// The services the handlers call, built once.
pub struct AppState {
    /// Accounts and tokens.
    pub auth: Arc<AuthService>,
    /// Movies through the cache.
    pub movies: Arc<MovieService>,
    /// Views, favorites, library.
    pub library: Arc<LibraryService>,
    /// Statistics.
    pub analytics: Arc<AnalyticsService>,
    /// Dependency probes.
    pub health: HealthChecks,
    /// Rate limits, when turned on.
    pub limits: Option<Arc<RateLimits>>,
    /// Body limit, client IPs behind proxies, security headers, CORS.
    pub http: HttpPolicy,
    /// How `/metrics` is served, when metrics are on.
    pub metrics: Option<crate::metrics::MetricsMount>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Listening or file access failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A component refused its configuration.
    #[error("{0}")]
    Config(String),
    /// The database could not be used.
    #[error("database {0}")]
    Database(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let context = context.into();
    move |source| StartError::Io { context, source }
}

/// The storage ports, all backed by one store so a change and its events
/// commit together.
#[derive(Clone)]
pub struct Storage {
    /// Accounts.
    pub users: Arc<dyn UserRepo>,
    /// Login sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepo>,
    /// Histories, favorites, library entries.
    pub library: Arc<dyn LibraryRepo>,
    /// The transactional outbox.
    pub outbox: Arc<dyn Outbox>,
    /// Analytics aggregates.
    pub analytics: Arc<dyn AnalyticsStore>,
    /// The SQL store, when storage is SQL (backup, pool metrics).
    pub sql: Option<SqlStore>,
    /// The memory store, when storage is in memory (tests simulate outages with it).
    pub memory: Option<MemoryStore>,
}

impl Storage {
    /// Opens the configured storage: connects (retrying an unreachable
    /// database until the configured start-up timeout) and, when
    /// `migrate`, applies the migrations.
    ///
    /// # Errors
    /// [`StartError::Database`] when the database stays unreachable or a migration fails.
    pub async fn open(config: &Config, migrate: bool) -> Result<Self, StartError> {
        let url = match &config.database {
            Database::Memory => {
                let m = MemoryStore::new();
                return Ok(Self {
                    users: Arc::new(m.clone()),
                    sessions: Arc::new(m.clone()),
                    library: Arc::new(m.clone()),
                    outbox: Arc::new(m.clone()),
                    analytics: Arc::new(MemoryAnalyticsStore::new()),
                    sql: None,
                    memory: Some(m),
                });
            }
            Database::Url(u) => u.expose().to_owned(),
        };
        if url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(io(format!("creating data directory {}", config.data_dir.display())))?;
        }
        let shown = config.database.redacted();
        let store =
            SqlStore::connect_lazy(&url, &config.db).map_err(|e| StartError::Database(format!("{shown}: {e}")))?;
        let deadline = tokio::time::Instant::now() + config.db_startup_timeout;
        let mut delay = Duration::from_millis(250);
        loop {
            let attempt = if migrate { store.migrate().await } else { store.ping().await };
            match attempt {
                Ok(()) => break,
                Err(StorageError::Unavailable(c)) if tokio::time::Instant::now() + delay < deadline => {
                    tracing::warn!(database = %shown, error = %chain(c.as_ref()), retry_in_ms = delay.as_millis() as u64, "database unreachable; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    return Err(StartError::Database(format!(
                        "{shown}: {} ({})",
                        chain(&e),
                        if matches!(e, StorageError::Unavailable(_)) {
                            "gave up retrying; is the database running and reachable?"
                        } else {
                            "check the database and its permissions"
                        }
                    )))
                }
            }
        }
        if migrate {
            tracing::info!(database = %shown, "database ready, migrations applied");
        }
        Ok(Self {
            users: Arc::new(store.clone()),
            sessions: Arc::new(store.clone()),
            library: Arc::new(store.clone()),
            outbox: Arc::new(store.clone()),
            analytics: Arc::new(store.clone()),
            sql: Some(store),
            memory: None,
        })
    }

    async fn ping(&self) -> Result<(), String> {
        match &self.sql {
            Some(s) => s.ping().await.map_err(|e| chain(&e)),
            None => self.outbox.stats().await.map(|_| ()).map_err(|e| chain(&e)),
        }
    }
}

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

/// A definite answer of TMDb about our credential, and when it was given.
type RememberedVerdict = Option<(std::time::Instant, Result<(), String>)>;

/// The `movie_source` probe with TMDb: down while the breaker is open;
/// otherwise TMDb's verdict on our credential. A definite answer (accepted,
/// or 401) is kept for 5 minutes, so a probe storm does not spend TMDb's
/// rate limit; an unreachable TMDb is asked again next time (the breaker
/// keeps that cheap while it is down).
async fn tmdb_health(t: &TmdbSource, credential: &tokio::sync::Mutex<RememberedVerdict>) -> Result<(), String> {
    if t.breaker_state() == BreakerState::Open {
        return Err("TMDb circuit open after repeated failures; serving cached copies".into());
    }
    let mut last = credential.lock().await;
    if let Some((_, verdict)) = last.as_ref().filter(|(at, _)| at.elapsed() < Duration::from_secs(300)) {
        return verdict.clone();
    }
    let verdict = match t.check_credentials().await {
        Ok(()) => Ok(()),
        Err(watchme_core::error::MovieSourceError::Misconfigured(_)) => {
            Err("TMDb refuses our credential (401): check WATCHME_TMDB_API_KEY / WATCHME_TMDB_TOKEN".to_owned())
        }
        Err(e) => return Err(format!("TMDb unreachable: {}", chain(&e))),
    };
    *last = Some((std::time::Instant::now(), verdict.clone()));
    verdict
}

/// The keys access tokens are signed and verified with.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    /// Signs new tokens.
    pub signing: JwtKey,
    /// Retired keys, verify only.
    pub verify_only: Vec<JwtKey>,
}

impl SigningKeys {
    /// One HS256 key and nothing else (tests, and commands that issue no tokens).
    ///
    /// # Errors
    /// [`StartError::Config`] for a secret shorter than 32 bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, StartError> {
        let signing = JwtKey::hs256("primary", secret).map_err(|e| StartError::Config(e.to_string()))?;
        Ok(Self { signing, verify_only: Vec::new() })
    }
}

/// Builds adapters and services over `storage`, signing with `keys`.
///
/// # Errors
/// [`StartError::Config`] when an adapter refuses its configuration.
pub fn build_state(config: &Config, storage: Storage, keys: SigningKeys) -> Result<Wiring, StartError> {
    let clock = Arc::new(SystemClock);
    // With Redis: a short-lived in-process L1 in front of the Redis all
    // replicas share; without: the in-process cache alone.
    let (cache, redis): (Arc<dyn Cache>, Option<RedisCache>) = match &config.redis {
        Some(r) => {
            let l2 = RedisCache::new(r.clone()).map_err(|e| StartError::Config(format!("WATCHME_REDIS_URL: {e}")))?;
            let tiers: Arc<dyn Cache> = if config.cache_l1_ttl.is_zero() {
                Arc::new(l2.clone())
            } else {
                Arc::new(TwoTierCache::start(l2.clone(), config.cache_max_bytes, config.cache_l1_ttl))
            };
            (tiers, Some(l2))
        }
        None => (Arc::new(MemoryCache::new(config.cache_max_bytes)), None),
    };
    let (source, tmdb): (Arc<dyn MovieSource>, Option<Arc<TmdbSource>>) = match &config.tmdb {
        Some(t) => {
            let src = Arc::new(TmdbSource::new(t.clone()).map_err(|e| StartError::Config(e.to_string()))?);
            (src.clone(), Some(src))
        }
        None => (Arc::new(CatalogSource::bundled().map_err(|e| StartError::Config(e.to_string()))?), None),
    };
    let gauge_tmdb = tmdb.clone();
    let analytics = Arc::new(AnalyticsService::new(storage.analytics.clone(), clock.clone()));
    let (bus, kafka): (Arc<dyn EventBus>, Option<KafkaBus>) = match &config.kafka {
        Some(k) => {
            let b = KafkaBus::new(&k.config).map_err(|e| StartError::Config(format!("Kafka settings refused: {e}")))?;
            (Arc::new(crate::traced::TracedBus::new(Arc::new(b.clone()), "kafka", k.config.events_topic())), Some(b))
        }
        None => {
            let handler = Arc::new(crate::traced::TracedHandler::new(analytics.clone(), "in_process", "events"));
            let bus = Arc::new(InProcessBus::new(vec![handler]));
            (Arc::new(crate::traced::TracedBus::new(bus, "in_process", "events")), None)
        }
    };

    let mut hasher =
        Argon2Hasher::new(config.argon2).map_err(|e| StartError::Config(format!("argon2 parameters: {e}")))?;
    if config.argon2_max_concurrent > 0 {
        hasher = hasher.with_max_concurrent(config.argon2_max_concurrent);
    }
    let tokens = JwtIssuer::new(JwtConfig {
        signing: keys.signing,
        verify_only: keys.verify_only,
        issuer: "watchme".into(),
        audience: "watchme-api".into(),
        ttl: config.jwt_ttl,
        leeway: Duration::from_secs(5),
    })
    .map_err(|e| StartError::Config(format!("JWT keys: {e}")))?;
    let auth = Arc::new(AuthService::new(
        storage.users.clone(),
        storage.sessions.clone(),
        Arc::new(hasher),
        Arc::new(tokens),
        clock.clone(),
        AuthSettings {
            admin_emails: config.admin_emails.clone(),
            refresh_ttl: config.security.refresh_ttl,
            session_check_ttl: config.security.session_check_ttl,
            reject_common_passwords: true,
        },
    ));
    // With Redis every replica counts against one shared budget; the
    // in-process limiter is the embedded default and the fallback for
    // credential attempts while Redis is away.
    let limits = config.security.rate_limits.clone().map(|policies| {
        let local: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new());
        let shared: Arc<dyn RateLimiter> = match &redis {
            Some(r) => Arc::new(RedisRateLimiter::new(r.clone())),
            None => local.clone(),
        };
        Arc::new(RateLimits::new(shared, local, policies))
    });
    let movies = Arc::new(MovieService::new(source.clone(), cache.clone(), clock.clone(), config.movie_policy.clone()));
    let library = Arc::new(LibraryService::with_recording(
        storage.library.clone(),
        movies.clone(),
        clock.clone(),
        config.view_recording,
    ));
    let relay_config = RelayConfig {
        idle_interval: config.outbox_poll,
        batch_size: config.relay_batch_size.unwrap_or(match storage.sql.as_ref().map(SqlStore::backend) {
            // One writer: a request's commit waits for the relay's claim and,
            // in-process, for the analytics it applies; small batches keep that wait short.
            Some(Backend::Sqlite) => 200,
            _ => RelayConfig::default().batch_size,
        }),
        // In memory, nothing reads published events again, and keeping them
        // only grows the heap: at tens of thousands of views a second, ten
        // minutes of them were gigabytes, and even one minute of them made
        // the kernel zero fresh pages for about 4 % of a cache hit's time.
        retention: if storage.memory.is_some() { Duration::ZERO } else { config.outbox_retention },
        ..RelayConfig::default()
    };
    let relay = Arc::new(OutboxRelay::new(storage.outbox.clone(), bus, clock, relay_config));

    let required = |name: &str| config.ready_requires.contains(name);
    let probe_storage = storage.clone();
    let mut probes = vec![Probe::new("database", required("database"), move || {
        let s = probe_storage.clone();
        async move { s.ping().await }
    })];
    match redis.clone() {
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
        let credential: Arc<tokio::sync::Mutex<RememberedVerdict>> = Arc::default();
        probes.push(Probe::new("movie_source", required("movie_source"), move || {
            let (t, credential) = (t.clone(), credential.clone());
            async move { tmdb_health(&t, &credential).await }
        }));
    }
    if let Some(k) = kafka.clone() {
        // Not required by default: while Kafka is away events wait in the outbox.
        probes.push(Probe::new("events", required("events"), move || {
            let k = k.clone();
            async move { k.ping(Duration::from_secs(1)).await }
        }));
    }
    let health = HealthChecks::new(probes, Duration::from_secs(2));
    let http = HttpPolicy::from_config(config);
    let metrics = config.metrics.as_ref().map(|m| {
        let gauges = crate::metrics::Gauges {
            outbox: Some(storage.outbox.clone()),
            sql: storage.sql.clone(),
            tmdb: gauge_tmdb,
            limits: limits.clone(),
        };
        crate::metrics::MetricsMount::new(m, gauges)
    });
    let state = Arc::new(AppState { auth, movies, library, analytics, health, limits, http, metrics });
    Ok(Wiring { state, relay, storage, kafka })
}

/// The signing and verification keys from the config: key files are read
/// here, and an HS256 secret that is not configured is generated.
///
/// # Errors
/// [`StartError`] when a key file cannot be read or holds no usable key.
pub fn resolve_signing_keys(config: &Config) -> Result<SigningKeys, StartError> {
    let bad = |what: &str, e: watchme_adapters::crypto::KeyError| StartError::Config(format!("{what}: {e}"));
    let read = |path: &Path| std::fs::read(path).map_err(io(format!("reading key file {}", path.display())));
    let signing = match &config.security.signing {
        SigningKeySource::Hs256 { kid, secret } => {
            let secret = match secret {
                Some(s) => s.expose().as_bytes().to_vec(),
                None => resolve_jwt_secret(config)?,
            };
            JwtKey::hs256(kid, &secret).map_err(|e| bad("WATCHME_JWT_SECRET", e))?
        }
        SigningKeySource::EdDsa { kid, private_key, public_key } => {
            JwtKey::ed25519(kid, &read(private_key)?, &read(public_key)?)
                .map_err(|e| bad("WATCHME_JWT_PRIVATE_KEY_FILE", e))?
        }
    };
    let mut verify_only = Vec::new();
    for k in &config.security.previous_keys {
        verify_only.push(match k {
            PreviousKey::Hs256 { kid, secret } => {
                JwtKey::hs256(kid, secret.expose().as_bytes()).map_err(|e| bad("WATCHME_JWT_PREVIOUS_KEYS", e))?
            }
            PreviousKey::EdDsa { kid, public_key } => {
                JwtKey::ed25519_public(kid, &read(public_key)?).map_err(|e| bad("WATCHME_JWT_PREVIOUS_KEYS", e))?
            }
        });
    }
    Ok(SigningKeys { signing, verify_only })
}

/// The HS256 secret kept in `<data dir>/jwt_secret`, generated there on
/// first start so tokens survive a restart.
///
/// # Errors
/// [`StartError`] when the file cannot be read or written, or is too short.
pub fn resolve_jwt_secret(config: &Config) -> Result<Vec<u8>, StartError> {
    let path = config.data_dir.join("jwt_secret");
    if path.exists() {
        let s = std::fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
        let s = s.trim();
        if s.len() < 32 {
            return Err(StartError::Config(format!(
                "{} holds fewer than 32 bytes; delete it to generate a new one",
                path.display()
            )));
        }
        return Ok(s.as_bytes().to_vec());
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(io(format!("creating data directory {}", config.data_dir.display())))?;
    let secret = generate_secret().map_err(|e| StartError::Config(format!("no randomness for a JWT secret: {e}")))?;
    write_private(&path, &secret).map_err(io(format!("writing {}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a JWT signing secret and kept it in the data directory; set WATCHME_JWT_SECRET to manage it yourself");
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

/// Creates the Kafka topics when Kafka is configured and topic creation is
/// on. A broker that refuses stops the start-up with its reason; one that
/// does not answer does not (events wait in the outbox meanwhile): creation
/// is retried in the background.
///
/// # Errors
/// [`StartError::Config`] when the broker refuses to create a topic.
pub async fn prepare_topics(config: &Config) -> Result<(), StartError> {
    let Some(kafka) = config.kafka.as_ref().filter(|k| k.create_topics) else {
        return Ok(());
    };
    match ensure_topics(&kafka.config).await {
        Ok(()) => Ok(()),
        Err(e @ SetupError::Refused { .. }) => Err(StartError::Config(e.to_string())),
        Err(e) => {
            tracing::warn!(error = %e, "Kafka unreachable at start-up; events wait in the outbox, topics will be created when it answers");
            let config = kafka.config.clone();
            tokio::spawn(async move {
                let mut failures = 0;
                loop {
                    failures += 1;
                    tokio::time::sleep(watchme_core::services::backoff(
                        Duration::from_secs(1),
                        Duration::from_secs(60),
                        failures,
                    ))
                    .await;
                    match ensure_topics(&config).await {
                        Ok(()) => break,
                        Err(e @ SetupError::Refused { .. }) => {
                            tracing::error!(error = %e, "Kafka refused to create the topics");
                            break;
                        }
                        Err(_) => {}
                    }
                }
            });
            Ok(())
        }
    }
}

/// The bound listener, plain or TLS. Not a `BoxAcceptor`: poem boxes the
/// acceptor it is given, and one boxed twice splits every connection
/// twice, a lock and two dynamic calls more on every read and write.
enum Bound {
    Plain(TcpAcceptor),
    Tls(
        RustlsAcceptor<
            FirstAcceptYields<TcpAcceptor>,
            futures_util::stream::Iter<std::array::IntoIter<RustlsConfig, 1>>,
        >,
    ),
}

/// A built server, bound and ready to run.
pub struct App {
    acceptor: Bound,
    addr: SocketAddr,
    wiring: Wiring,
    config: Config,
}

impl App {
    /// Builds everything and binds the listener (port 0 picks a free port).
    ///
    /// # Errors
    /// [`StartError`] when a component cannot be built or the address cannot be bound.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let keys = resolve_signing_keys(&config)?;
        let storage = Storage::open(&config, config.auto_migrate).await?;
        let wiring = build_state(&config, storage, keys)?;
        prepare_topics(&config).await?;
        let listener = TcpListener::bind(config.bind);
        let bound = io(format!("binding {}", config.bind));
        let acceptor = match &config.security.tls {
            None => Bound::Plain(listener.into_acceptor().await.map_err(bound)?),
            Some((cert, key)) => {
                install_crypto_provider();
                let cert_pem =
                    std::fs::read(cert).map_err(io(format!("reading WATCHME_TLS_CERT {}", cert.display())))?;
                let key_pem = std::fs::read(key).map_err(io(format!("reading WATCHME_TLS_KEY {}", key.display())))?;
                check_tls_pair(&cert_pem, &key_pem)?;
                let tls = RustlsConfig::new().fallback(RustlsCertificate::new().cert(cert_pem).key(key_pem));
                let tcp = FirstAcceptYields { inner: listener.into_acceptor().await.map_err(bound)?, first: true };
                Bound::Tls(tcp.rustls(futures_util::stream::iter([tls])))
            }
        };
        let addr = match &acceptor {
            Bound::Plain(a) => a.local_addr(),
            Bound::Tls(a) => a.local_addr(),
        };
        let addr = addr
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .ok_or_else(|| StartError::Config("listener has no socket address".into()))?;
        Ok(Self { acceptor, addr, wiring, config })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then lets in-flight requests
    /// finish (up to the configured grace) and flushes the outbox.
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let mut tasks = Vec::new();
        if self.config.relay {
            let relay = self.wiring.relay.clone();
            let stop = stopped();
            tasks.push(tokio::spawn(async move { relay.run(stop).await }));
        }
        {
            // Counted anonymous views: written every WATCHME_ANON_VIEWS_FLUSH_MS
            // and once more when the server stops, before the relay's last pass.
            let library = self.wiring.state.library.clone();
            let stop = stopped();
            tasks.push(tokio::spawn(async move { library.run_view_flusher(stop).await }));
        }
        {
            // Ended sessions are kept a day (for the owner's and an operator's
            // questions), then deleted; any replica may do it. So are the ids
            // of applied events past the dedup window.
            let auth = self.wiring.state.auth.clone();
            let analytics = self.wiring.state.analytics.clone();
            let mut stop = Box::pin(stopped());
            tasks.push(tokio::spawn(async move {
                loop {
                    match auth.prune_sessions(Duration::from_secs(86_400)).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(sessions = n, "pruned ended sessions"),
                        Err(e) => tracing::warn!(error = %chain(&e), "could not prune ended sessions"),
                    }
                    prune_applied(&analytics).await;
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(Duration::from_secs(3600)) => {}
                    }
                }
            }));
        }
        if let (Some(k), true) = (&self.config.kafka, self.config.analytics_consumer) {
            let handler = Arc::new(crate::traced::TracedHandler::new(
                self.wiring.state.analytics.clone(),
                "kafka",
                k.config.events_topic(),
            ));
            let consumer = KafkaConsumer::new(&k.config, k.consumer.clone(), handler)
                .map_err(|e| std::io::Error::other(format!("Kafka consumer settings refused: {e}")))?;
            let stop = stopped();
            tasks.push(tokio::spawn(async move { consumer.run(stop).await }));
        }
        let events = match &self.config.kafka {
            None => "in-process bus".to_owned(),
            Some(k) => format!(
                "Kafka {} topic {} (analytics consumer {})",
                k.config.brokers,
                k.config.events_topic(),
                if self.config.analytics_consumer { "in-process" } else { "in `watchme consume`" }
            ),
        };
        tracing::info!(
            addr = %self.addr,
            storage = %match &self.config.database {
                Database::Memory => "memory (data is lost on restart)".to_owned(),
                d => d.redacted(),
            },
            cache = if self.config.redis.is_some() { "in-process L1 + Redis" } else { "in-process" },
            events,
            relay = self.config.relay,
            movies = if self.config.tmdb.is_some() { "TMDb" } else { "bundled catalog (no TMDb credential set)" },
            scheme = if self.config.security.tls.is_some() { "https" } else { "http" },
            rate_limits = match (&self.config.security.rate_limits, &self.config.redis) {
                (None, _) => "off",
                (Some(_), Some(_)) => "shared in Redis",
                (Some(_), None) => "in-process",
            },
            "listening"
        );
        // /metrics on its own port (e.g. only reachable from the monitoring network).
        let metrics_listener =
            match (self.wiring.state.metrics.clone(), self.config.metrics.as_ref().and_then(|m| m.bind)) {
                (Some(mount), Some(addr)) => Some(crate::metrics::spawn_listener(addr, mount)),
                _ => None,
            };
        let endpoint = crate::api::app(self.wiring.state.clone());
        let grace = Some(self.config.shutdown_grace);
        let result = match self.acceptor {
            Bound::Plain(a) => Server::new_with_acceptor(a).run_with_graceful_shutdown(endpoint, shutdown, grace).await,
            Bound::Tls(a) => Server::new_with_acceptor(a).run_with_graceful_shutdown(endpoint, shutdown, grace).await,
        };
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        if let Some(l) = metrics_listener {
            l.abort();
        }
        // Publish what the last requests produced before the process ends.
        if self.config.relay {
            for _ in 0..100 {
                match self.wiring.relay.run_once().await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        if let Some(sql) = &self.wiring.storage.sql {
            sql.close().await;
        }
        tracing::info!("stopped");
        result
    }
}

/// Picks ring as the process-wide TLS provider: the build carries two
/// (ring through reqwest, aws-lc-rs through poem's listener) and rustls
/// refuses to guess between them.
pub fn install_crypto_provider() {
    // Err means one is installed already, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Fails start-up with a clear message when the certificate and key cannot
/// serve TLS (poem would only log it and then drop every connection).
fn check_tls_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), StartError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, e: &dyn std::fmt::Display| StartError::Config(format!("{what}: {e}"));
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("WATCHME_TLS_CERT is not a PEM certificate chain", &e))?;
    if certs.is_empty() {
        return Err(StartError::Config("WATCHME_TLS_CERT holds no certificate".into()));
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad("WATCHME_TLS_KEY is not a PEM private key", &e))?;
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("WATCHME_TLS_CERT and WATCHME_TLS_KEY do not make a usable pair", &e))?;
    Ok(())
}

/// Makes the first `accept` wait one scheduler turn. poem's TLS acceptor
/// races "load the TLS config" against "accept a connection" on its first
/// call; a client already waiting in the backlog could win and be dropped
/// for want of a config. Yielding once lets the config load first.
struct FirstAcceptYields<A> {
    inner: A,
    first: bool,
}

impl<A: Acceptor> Acceptor for FirstAcceptYields<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<poem::web::LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, poem::web::LocalAddr, poem::web::RemoteAddr, poem::http::uri::Scheme)> {
        if std::mem::take(&mut self.first) {
            tokio::task::yield_now().await;
        }
        self.inner.accept().await
    }
}

/// How long the ids of applied events are remembered to skip redelivered
/// copies: Kafka's default retention, so no copy the broker can still
/// deliver is counted twice.
pub const ANALYTICS_DEDUP_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Forgets the ids of events applied before the dedup window; runs hourly
/// in the server and in `watchme consume`.
pub async fn prune_applied(analytics: &AnalyticsService) {
    match analytics.prune_applied(ANALYTICS_DEDUP_WINDOW).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(event_ids = n, "forgot the ids of events applied before the dedup window"),
        Err(e) => tracing::warn!(error = %chain(&e), "could not prune the ids of applied events"),
    }
}
