//! Wiring shared by the service tests: the core over memory adapters.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Arc;

use watchme_adapters::catalog::CatalogSource;
use watchme_adapters::crypto::{Argon2Hasher, Argon2Params, JwtConfig, JwtIssuer, JwtKey};
use watchme_adapters::imports::{FileReader, ImportLimits, ZipExportWriter};
use watchme_adapters::memory::{InProcessBus, MemoryAnalyticsStore, MemoryCache, MemoryStore};
use watchme_core::domain::Email;
use watchme_core::ports::{MovieSource, SystemClock};
use watchme_core::services::{
    AnalyticsService, ApiTokenService, AuthService, AuthSettings, DeviceAuthService, DeviceSettings, HistoryService,
    ImportDeps, ImportService, LibraryService, ListLimits, ListService, MoviePolicy, MovieService, OutboxRelay,
    RelayConfig, ScrobbleService, ScrobbleSettings, WebhookService,
};

pub struct Kit {
    pub store: MemoryStore,
    pub cache: MemoryCache,
    pub bus: InProcessBus,
    pub auth: Arc<AuthService>,
    pub movies: Arc<MovieService>,
    pub library: Arc<LibraryService>,
    pub lists: Arc<ListService>,
    pub imports: ImportService,
    pub history: Arc<HistoryService>,
    pub scrobbles: Arc<ScrobbleService>,
    pub webhooks: WebhookService,
    pub devices: DeviceAuthService,
    pub tokens: ApiTokenService,
    pub analytics: Arc<AnalyticsService>,
    pub relay: OutboxRelay,
}

pub fn cheap_hasher() -> Argon2Hasher {
    Argon2Hasher::new(Argon2Params { memory_kib: 256, iterations: 1, parallelism: 1 }).unwrap()
}

/// HS256 tokens with a fixed test key.
pub fn test_issuer() -> JwtIssuer {
    JwtIssuer::new(JwtConfig {
        signing: JwtKey::hs256("test", b"test-secret-test-secret-test-secret").unwrap(),
        verify_only: vec![],
        issuer: "watchme".into(),
        audience: "watchme-api".into(),
        ttl: std::time::Duration::from_secs(900),
        leeway: std::time::Duration::from_secs(0),
    })
    .unwrap()
}

pub fn kit_with_source(source: Arc<dyn MovieSource>) -> Kit {
    let store = MemoryStore::new();
    let cache = MemoryCache::default();
    let clock = Arc::new(SystemClock);
    let analytics = Arc::new(AnalyticsService::new(Arc::new(MemoryAnalyticsStore::new()), clock.clone()));
    let bus = InProcessBus::new(vec![analytics.clone()]);
    let tokens = test_issuer();
    let admins: HashSet<Email> = [Email::parse("root@example.com").unwrap()].into();
    let auth = Arc::new(AuthService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(cheap_hasher()),
        Arc::new(tokens),
        clock.clone(),
        AuthSettings { admin_emails: admins, ..AuthSettings::default() },
    ));
    let movies = Arc::new(MovieService::new(source, Arc::new(cache.clone()), clock.clone(), MoviePolicy::default()));
    let library = Arc::new(LibraryService::new(Arc::new(store.clone()), movies.clone(), clock.clone()));
    let lists =
        Arc::new(ListService::new(Arc::new(store.clone()), movies.clone(), clock.clone(), ListLimits::default()));
    let tokens = ApiTokenService::new(
        Arc::new(store.clone()),
        Arc::new(test_issuer()),
        clock.clone(),
        std::time::Duration::from_secs(30),
    );
    let history = Arc::new(HistoryService::new(Arc::new(store.clone()), movies.clone(), clock.clone()));
    let scrobbles = Arc::new(ScrobbleService::new(
        Arc::new(store.clone()),
        history.clone(),
        movies.clone(),
        clock.clone(),
        ScrobbleSettings::default(),
    ));
    let webhooks = WebhookService::new(
        Arc::new(store.clone()),
        scrobbles.clone(),
        library.clone(),
        movies.clone(),
        Arc::new(test_issuer()),
        clock.clone(),
    );
    let devices = DeviceAuthService::new(
        Arc::new(store.clone()),
        auth.clone(),
        Arc::new(test_issuer()),
        clock.clone(),
        DeviceSettings { interval_secs: 1, ..DeviceSettings::default() },
    );
    let deps =
        ImportDeps { movies: movies.clone(), history: history.clone(), library: library.clone(), lists: lists.clone() };
    let imports = ImportService::new(
        Arc::new(store.clone()),
        Arc::new(FileReader::new(ImportLimits::default())),
        Arc::new(ZipExportWriter),
        deps,
        clock.clone(),
    );
    let relay = OutboxRelay::new(Arc::new(store.clone()), Arc::new(bus.clone()), clock, RelayConfig::default());
    Kit {
        store,
        cache,
        bus,
        auth,
        movies,
        library,
        lists,
        imports,
        history,
        scrobbles,
        webhooks,
        devices,
        tokens,
        analytics,
        relay,
    }
}

pub fn kit() -> Kit {
    kit_with_source(Arc::new(CatalogSource::bundled().unwrap()))
}
