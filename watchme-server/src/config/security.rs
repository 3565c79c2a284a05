//! Security settings: signing keys, sessions, rate limits, client IPs
//! behind proxies, TLS, CORS.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;
use watchme_adapters::crypto::JwtAlgorithm;
use watchme_core::ports::RatePolicy;
use watchme_core::services::RatePolicies;

use super::check::{Check, Secret};

const DEFAULT_JWT_KID: &str = "primary";
const DEFAULT_JWT_ALGORITHM: &str = "HS256";
const DEFAULT_REFRESH_TTL_SECS: &str = "2592000";
const DEFAULT_SESSION_CHECK_SECS: &str = "10";
const DEFAULT_RATE_LIMIT: &str = "true";
const DEFAULT_RATE_ANONYMOUS: &str = "300/60";
const DEFAULT_RATE_USER: &str = "600/60";
const DEFAULT_RATE_AUTH_IP: &str = "20/900";
const DEFAULT_RATE_AUTH_ACCOUNT: &str = "10/900";
const DEFAULT_HSTS: &str = "false";
const DEFAULT_JWT_TTL_SECS: &str = "900";

/// Raw security settings; flattened into the main config.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Security")]
pub struct RawSecurity {
    /// HMAC secret for access tokens (32+ bytes); unset = generated and kept in the data directory.
    #[arg(long, env = "WATCHME_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Access token lifetime in seconds.
    #[arg(long, env = "WATCHME_JWT_TTL_SECS", default_value = DEFAULT_JWT_TTL_SECS)]
    pub jwt_ttl_secs: String,
    /// Id (`kid`) of the key new access tokens are signed with.
    #[arg(long, env = "WATCHME_JWT_KID", default_value = DEFAULT_JWT_KID)]
    pub jwt_kid: String,
    /// Signing algorithm: `HS256` (WATCHME_JWT_SECRET) or `EdDSA` (Ed25519 key files).
    #[arg(long, env = "WATCHME_JWT_ALGORITHM", default_value = DEFAULT_JWT_ALGORITHM)]
    pub jwt_algorithm: String,
    /// EdDSA: PEM file of the Ed25519 private key (PKCS#8).
    #[arg(long, env = "WATCHME_JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: Option<PathBuf>,
    /// EdDSA: PEM file of the matching public key.
    #[arg(long, env = "WATCHME_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Retired keys still accepted until their tokens expire, comma-separated
    /// `kid=HS256:<secret>` or `kid=EdDSA:<public key PEM file>`.
    #[arg(long, env = "WATCHME_JWT_PREVIOUS_KEYS", default_value = "", hide_env_values = true)]
    pub jwt_previous_keys: String,
    /// Seconds a refresh token stays valid unused (each refresh starts it again).
    #[arg(long, env = "WATCHME_REFRESH_TTL_SECS", default_value = DEFAULT_REFRESH_TTL_SECS)]
    pub refresh_ttl_secs: String,
    /// Seconds a replica trusts its last look at a session before checking again.
    #[arg(long, env = "WATCHME_SESSION_CHECK_SECS", default_value = DEFAULT_SESSION_CHECK_SECS)]
    pub session_check_secs: String,
    /// Rate limiting on or off.
    #[arg(long, env = "WATCHME_RATE_LIMIT", default_value = DEFAULT_RATE_LIMIT)]
    pub rate_limit: String,
    /// Anonymous requests per client IP, as `requests/seconds`.
    #[arg(long, env = "WATCHME_RATE_ANONYMOUS", default_value = DEFAULT_RATE_ANONYMOUS)]
    pub rate_anonymous: String,
    /// Authenticated requests per user, as `requests/seconds`.
    #[arg(long, env = "WATCHME_RATE_USER", default_value = DEFAULT_RATE_USER)]
    pub rate_user: String,
    /// Login, register and refresh attempts per client IP (each), as `requests/seconds`.
    #[arg(long, env = "WATCHME_RATE_AUTH_IP", default_value = DEFAULT_RATE_AUTH_IP)]
    pub rate_auth_ip: String,
    /// Login and register attempts per account email, as `requests/seconds`.
    #[arg(long, env = "WATCHME_RATE_AUTH_ACCOUNT", default_value = DEFAULT_RATE_AUTH_ACCOUNT)]
    pub rate_auth_account: String,
    /// Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed.
    #[arg(long, env = "WATCHME_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// PEM certificate chain; with WATCHME_TLS_KEY the server speaks HTTPS.
    #[arg(long, env = "WATCHME_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "WATCHME_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Send Strict-Transport-Security even without WATCHME_TLS_* (TLS ends at a proxy).
    #[arg(long, env = "WATCHME_HSTS", default_value = DEFAULT_HSTS)]
    pub hsts: String,
    /// Comma-separated origins allowed by CORS (e.g. `https://app.example.com`); empty = no CORS.
    #[arg(long, env = "WATCHME_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
}

impl RawSecurity {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            jwt_secret: None,
            jwt_ttl_secs: DEFAULT_JWT_TTL_SECS.into(),
            jwt_kid: DEFAULT_JWT_KID.into(),
            jwt_algorithm: DEFAULT_JWT_ALGORITHM.into(),
            jwt_private_key_file: None,
            jwt_public_key_file: None,
            jwt_previous_keys: String::new(),
            refresh_ttl_secs: DEFAULT_REFRESH_TTL_SECS.into(),
            session_check_secs: DEFAULT_SESSION_CHECK_SECS.into(),
            rate_limit: DEFAULT_RATE_LIMIT.into(),
            rate_anonymous: DEFAULT_RATE_ANONYMOUS.into(),
            rate_user: DEFAULT_RATE_USER.into(),
            rate_auth_ip: DEFAULT_RATE_AUTH_IP.into(),
            rate_auth_account: DEFAULT_RATE_AUTH_ACCOUNT.into(),
            trusted_proxies: String::new(),
            tls_cert: None,
            tls_key: None,
            hsts: DEFAULT_HSTS.into(),
            cors_origins: String::new(),
        }
    }
}

/// Where the key that signs access tokens comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeySource {
    /// HS256 with WATCHME_JWT_SECRET, or (unset) a secret generated in the data directory.
    Hs256 {
        /// Key id.
        kid: String,
        /// The configured secret.
        secret: Option<Secret>,
    },
    /// EdDSA with Ed25519 PEM files.
    EdDsa {
        /// Key id.
        kid: String,
        /// Private key file.
        private_key: PathBuf,
        /// Public key file.
        public_key: PathBuf,
    },
}

/// A retired key, accepted for verification only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousKey {
    /// An HS256 secret.
    Hs256 {
        /// Key id.
        kid: String,
        /// The secret.
        secret: Secret,
    },
    /// An Ed25519 public key file.
    EdDsa {
        /// Key id.
        kid: String,
        /// Public key file.
        public_key: PathBuf,
    },
}

/// The validated security settings.
#[derive(Debug, Clone)]
pub struct Security {
    /// Access token lifetime.
    pub jwt_ttl: Duration,
    /// The signing key.
    pub signing: SigningKeySource,
    /// Retired keys still verified.
    pub previous_keys: Vec<PreviousKey>,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
    /// How long a replica trusts a session check.
    pub session_check_ttl: Duration,
    /// Rate limits, or `None` when turned off.
    pub rate_limits: Option<RatePolicies>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Certificate and key files, when the server speaks HTTPS itself.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Send HSTS.
    pub hsts: bool,
    /// CORS origins; empty = CORS off.
    pub cors_origins: Vec<String>,
}

impl Check {
    /// A comma-separated list of IP addresses and CIDR ranges.
    pub(super) fn ip_nets(&mut self, key: &'static str, raw: &str) -> Vec<IpNet> {
        let mut nets = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.parse::<IpNet>().or_else(|_| item.parse::<IpAddr>().map(IpNet::from)) {
                Ok(net) => nets.push(net),
                Err(_) => self.fail(key, format!("{item:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8)")),
            }
        }
        nets
    }

    /// A rate as `requests/seconds`.
    fn rate(&mut self, key: &'static str, raw: &str, name: &str) -> RatePolicy {
        let parsed = raw.trim().split_once('/').and_then(|(n, s)| {
            let n: u32 = n.trim().parse().ok()?;
            let s: u64 = s.trim().parse().ok()?;
            ((1..=1_000_000).contains(&n) && (1..=86_400).contains(&s)).then_some((n, s))
        });
        match parsed {
            Some((n, s)) => RatePolicy::new(name, n, Duration::from_secs(s)),
            None => {
                self.fail(
                    key,
                    format!("expected requests/seconds such as 20/900 (1-1000000 per 1-86400 s), got {raw:?}"),
                );
                RatePolicy::new(name, 1, Duration::from_secs(1))
            }
        }
    }
}

impl RawSecurity {
    pub(super) fn validate(&self, c: &mut Check) -> Security {
        let jwt_ttl = c.secs("WATCHME_JWT_TTL_SECS", &self.jwt_ttl_secs, 30, 86_400);
        let signing = self.signing_key(c);
        let previous_keys = self.previous_keys(c, signing.kid());
        let refresh_ttl = c.secs("WATCHME_REFRESH_TTL_SECS", &self.refresh_ttl_secs, 60, 365 * 86_400);
        let session_check_ttl = c.secs("WATCHME_SESSION_CHECK_SECS", &self.session_check_secs, 0, 300);
        let limits_on = c.boolean("WATCHME_RATE_LIMIT", &self.rate_limit);
        let policies = RatePolicies {
            anonymous: c.rate("WATCHME_RATE_ANONYMOUS", &self.rate_anonymous, "anon"),
            user: c.rate("WATCHME_RATE_USER", &self.rate_user, "user"),
            auth_per_ip: c.rate("WATCHME_RATE_AUTH_IP", &self.rate_auth_ip, "auth-ip"),
            auth_per_account: c.rate("WATCHME_RATE_AUTH_ACCOUNT", &self.rate_auth_account, "auth-account"),
        };
        let trusted_proxies = c.ip_nets("WATCHME_TRUSTED_PROXIES", &self.trusted_proxies);
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            _ => {
                c.fail("WATCHME_TLS_CERT", "set both WATCHME_TLS_CERT and WATCHME_TLS_KEY, or neither");
                None
            }
        };
        let hsts = c.boolean("WATCHME_HSTS", &self.hsts) || tls.is_some();
        Security {
            jwt_ttl,
            signing,
            previous_keys,
            refresh_ttl,
            session_check_ttl,
            rate_limits: limits_on.then_some(policies),
            trusted_proxies,
            tls,
            hsts,
            cors_origins: self.cors_origins(c),
        }
    }

    /// The key new tokens are signed with: its id, algorithm and secret or files.
    fn signing_key(&self, c: &mut Check) -> SigningKeySource {
        let jwt_secret = match self.jwt_secret.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) if s.len() < 32 => {
                c.fail("WATCHME_JWT_SECRET", "must be at least 32 bytes long (e.g. 64 hex characters)");
                None
            }
            Some(s) => Some(Secret::new(s)),
        };
        let kid = self.jwt_kid.trim().to_owned();
        if kid.is_empty() || kid.len() > 64 || !kid.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            c.fail("WATCHME_JWT_KID", "must be 1 to 64 letters, digits, `-`, `_` or `.`");
        }
        match self.jwt_algorithm.parse::<JwtAlgorithm>() {
            Ok(JwtAlgorithm::Hs256) => SigningKeySource::Hs256 { kid, secret: jwt_secret },
            Ok(JwtAlgorithm::EdDsa) => match (&self.jwt_private_key_file, &self.jwt_public_key_file) {
                (Some(p), Some(q)) => SigningKeySource::EdDsa { kid, private_key: p.clone(), public_key: q.clone() },
                _ => {
                    c.fail(
                        "WATCHME_JWT_PRIVATE_KEY_FILE",
                        "EdDSA needs WATCHME_JWT_PRIVATE_KEY_FILE and WATCHME_JWT_PUBLIC_KEY_FILE",
                    );
                    SigningKeySource::Hs256 { kid, secret: None }
                }
            },
            Err(e) => {
                c.fail("WATCHME_JWT_ALGORITHM", e.to_string());
                SigningKeySource::Hs256 { kid, secret: None }
            }
        }
    }

    /// Retired keys still accepted; none may reuse the signing key's id `kid`.
    fn previous_keys(&self, c: &mut Check, kid: &str) -> Vec<PreviousKey> {
        let mut previous_keys = Vec::new();
        for item in self.jwt_previous_keys.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let parsed = item.split_once('=').and_then(|(k, rest)| {
                let (alg, material) = rest.split_once(':')?;
                Some((k.trim().to_owned(), alg.parse::<JwtAlgorithm>().ok()?, material.trim().to_owned()))
            });
            match parsed {
                Some((k, _, _)) if k == kid => {
                    c.fail("WATCHME_JWT_PREVIOUS_KEYS", format!("key id `{k}` is the current signing key's id"));
                }
                Some((k, JwtAlgorithm::Hs256, secret)) if secret.len() >= 32 => {
                    previous_keys.push(PreviousKey::Hs256 { kid: k, secret: Secret::new(secret) });
                }
                Some((k, JwtAlgorithm::EdDsa, path)) if !path.is_empty() => {
                    previous_keys.push(PreviousKey::EdDsa { kid: k, public_key: path.into() });
                }
                _ => {
                    // The item may hold a secret: name only its key id.
                    let shown = item.split('=').next().unwrap_or("");
                    c.fail(
                        "WATCHME_JWT_PREVIOUS_KEYS",
                        format!(
                            "entry for `{shown}` must be kid=HS256:<secret of 32+ bytes> or kid=EdDSA:<public key file>"
                        ),
                    );
                }
            }
        }
        previous_keys
    }

    fn cors_origins(&self, c: &mut Check) -> Vec<String> {
        let mut cors_origins = Vec::new();
        for o in self.cors_origins.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let well_formed = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.ends_with('/')
                && !o.contains('*')
                && o.split("://").nth(1).is_some_and(|h| !h.is_empty() && !h.contains('/'));
            if well_formed {
                cors_origins.push(o.to_owned());
            } else {
                c.fail(
                    "WATCHME_CORS_ORIGINS",
                    format!("{o:?} is not an origin: use scheme://host[:port], no path, no wildcard"),
                );
            }
        }
        cors_origins
    }
}

impl SigningKeySource {
    /// The key id.
    pub fn kid(&self) -> &str {
        match self {
            Self::Hs256 { kid, .. } | Self::EdDsa { kid, .. } => kid,
        }
    }
}
