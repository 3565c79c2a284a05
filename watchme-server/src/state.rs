//! The state every handler shares: the use-case services and the HTTP
//! policy, built once by the composition root (`app`). It depends on no
//! handler, middleware or wiring module, so all of them may depend on it.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use watchme_core::services::{
    AnalyticsService, ApiTokenService, AuthError, AuthService, DeviceAuthService, HistoryService, ImportService,
    LibraryService, ListService, MovieService, RateLimits, ScrobbleService, WebhookService,
};

use crate::config::Config;
use crate::health::HealthChecks;

/// The services the handlers call, built once.
pub struct AppState {
    /// Accounts and tokens.
    pub auth: Arc<AuthService>,
    /// Personal API tokens.
    pub tokens: Arc<ApiTokenService>,
    /// Movies through the cache.
    pub movies: Arc<MovieService>,
    /// Views, favorites, library.
    pub library: Arc<LibraryService>,
    /// Plays and activity.
    pub history: Arc<HistoryService>,
    /// Users' lists.
    pub lists: Arc<ListService>,
    /// Scrobbles, check-ins, what is playing.
    pub scrobbles: Arc<ScrobbleService>,
    /// The OAuth device flow.
    pub devices: Arc<DeviceAuthService>,
    /// Imports and exports.
    pub imports: Arc<ImportService>,
    /// Media-server webhooks.
    pub webhooks: Arc<WebhookService>,
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

/// What the HTTP layer enforces, from the config.
#[derive(Debug, Clone, Default)]
pub struct HttpPolicy {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Send Strict-Transport-Security.
    pub hsts: bool,
    /// CORS origins; empty = CORS off.
    pub cors_origins: Vec<String>,
    /// Requests slower than this are logged at warn.
    pub slow_request: std::time::Duration,
    /// Where the Trakt-compatible API is mounted, when it is on.
    pub trakt_prefix: Option<String>,
    /// Largest import upload, in bytes.
    pub import_max_bytes: usize,
}

impl HttpPolicy {
    /// The policy the config asks for.
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_body_bytes: config.server.max_body_bytes,
            trusted_proxies: config.security.trusted_proxies.clone(),
            hsts: config.security.hsts,
            cors_origins: config.security.cors_origins.clone(),
            slow_request: config.server.slow_request,
            trakt_prefix: config.trakt.prefix.clone(),
            import_max_bytes: config.accounts.import_max_bytes,
        }
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy,
    /// the right-most X-Forwarded-For entry that is not itself a trusted
    /// proxy (entries further left are written by the client and can be forged).
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|n| n.contains(ip));
        let peer = peer?;
        if !trusted(&peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> =
            forwarded_for.unwrap_or("").split(',').filter_map(|h| h.trim().parse::<IpAddr>().ok()).collect();
        hops.iter().rev().find(|ip| !trusted(ip)).or(hops.first()).copied().or(Some(peer))
    }
}

impl AppState {
    /// What a bearer token asserts: a personal API token (`wmp_...`) or a
    /// login's JWT, each checked by its own service. The one place both the
    /// guard (for the rate limit) and the handlers (for the caller) ask.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for a token that is not valid now;
    /// [`AuthError::Unavailable`] when it cannot be checked.
    pub async fn authenticate(&self, bearer: &str) -> Result<watchme_core::ports::AccessClaims, AuthError> {
        if ApiTokenService::is_api_token(bearer) {
            self.tokens.authenticate(bearer).await
        } else {
            self.auth.authenticate(bearer).await
        }
    }
}
