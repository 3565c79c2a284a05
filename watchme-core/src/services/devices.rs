//! The OAuth device flow (RFC 8628) as a use case: a device asks for a
//! code, its user approves it while logged in, and the device's next poll
//! opens a session for that user. The Trakt-compatible API speaks it in
//! Trakt's shapes. Tests: `watchme-adapters/tests/services_devices.rs`.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{ClientInfo, DeviceGrant, DeviceGrantId, DeviceGrantState, RefreshToken, RequestContext, UserCode};
use crate::error::{Cause, StorageError};
use crate::ports::{Clock, DeviceGrantRepo, TokenIssuer};

use super::{AuthError, AuthService, LoginSuccess};

/// How device grants behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    /// How long a code may be approved and polled.
    pub code_ttl: Duration,
    /// Seconds a device waits between polls.
    pub interval_secs: u32,
    /// The client ids allowed to ask; `None` lets any client ask (its id is
    /// recorded on the session).
    pub clients: Option<Vec<String>>,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self { code_ttl: Duration::from_secs(600), interval_secs: 5, clients: None }
    }
}

/// A code handed to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    /// The secret the device polls with (shown only now).
    pub device_code: String,
    /// What its user types.
    pub user_code: UserCode,
    /// How long both are valid.
    pub expires_in: Duration,
    /// Seconds between polls.
    pub interval_secs: u32,
}

/// Why a device-flow step failed: for a poll, what RFC 8628 (and Trakt's
/// status codes) tell the device.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeviceError {
    /// The client id is not on the allow-list.
    #[error("unknown client")]
    UnknownClient,
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// Not a user code, or none waits under it.
    #[error("no pending code matches")]
    NoSuchCode,
    /// Not approved yet.
    #[error("authorization pending")]
    Pending,
    /// Polled faster than the interval.
    #[error("slow down")]
    SlowDown,
    /// No such device code (or another client's).
    #[error("invalid device code")]
    NotFound,
    /// Its tokens were handed out already.
    #[error("code already used")]
    AlreadyUsed,
    /// Expired before it was used.
    #[error("code expired")]
    Expired,
    /// Its user denied it.
    #[error("access denied")]
    Denied,
    /// Opening the session failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Randomness was not to be had.
    #[error("could not make a code")]
    Internal(#[source] Cause),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The device flow.
pub struct DeviceAuthService {
    repo: Arc<dyn DeviceGrantRepo>,
    auth: Arc<AuthService>,
    secrets: Arc<dyn TokenIssuer>,
    clock: Arc<dyn Clock>,
    settings: DeviceSettings,
}

impl DeviceAuthService {
    /// Builds the service.
    pub fn new(
        repo: Arc<dyn DeviceGrantRepo>,
        auth: Arc<AuthService>,
        secrets: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
        settings: DeviceSettings,
    ) -> Self {
        Self { repo, auth, secrets, clock, settings }
    }

    fn hash(&self, device_code: &str) -> String {
        self.secrets.hash_refresh_token(&RefreshToken::new(device_code)).as_str().to_owned()
    }

    fn random(&self) -> Result<String, DeviceError> {
        let (token, _) = self.secrets.new_refresh_token().map_err(|e| DeviceError::Internal(crate::error::cause(e)))?;
        Ok(token.expose().rsplit('_').next().unwrap_or_default().to_owned())
    }

    /// Starts a grant for `client_id`: a device code and a user code.
    ///
    /// # Errors
    /// [`DeviceError::UnknownClient`] off the allow-list, or a failure.
    pub async fn start(&self, client_id: &str) -> Result<DeviceCode, DeviceError> {
        let allowed = self.settings.clients.as_ref().is_none_or(|c| c.iter().any(|id| id == client_id));
        if client_id.is_empty() || client_id.len() > 200 || !allowed {
            return Err(DeviceError::UnknownClient);
        }
        let now = self.clock.now();
        let ttl = time::Duration::try_from(self.settings.code_ttl).unwrap_or(time::Duration::minutes(10));
        for _ in 0..5 {
            let device_code = self.random()?;
            let user_code = UserCode::from_random(self.random()?.as_bytes());
            let grant = DeviceGrant {
                id: DeviceGrantId::new(),
                device_code_hash: self.hash(&device_code),
                user_code: user_code.clone(),
                client_id: client_id.to_owned(),
                created_at: now,
                expires_at: now + ttl,
                interval_secs: self.settings.interval_secs,
                last_polled_at: None,
                state: DeviceGrantState::Pending,
                user_id: None,
            };
            if self.repo.create_grant(&grant).await? {
                let (expires_in, interval_secs) = (self.settings.code_ttl, self.settings.interval_secs);
                return Ok(DeviceCode { device_code, user_code, expires_in, interval_secs });
            }
        }
        Err(DeviceError::Internal(crate::error::cause_msg("no free user code after 5 draws")))
    }

    /// The caller approves (or denies) the device showing `user_code`.
    ///
    /// # Errors
    /// [`DeviceError::NoSuchCode`] when no pending, unexpired grant has
    /// that code; [`DeviceError::Unauthenticated`]; a failure.
    pub async fn decide(&self, ctx: &RequestContext, user_code: &str, approve: bool) -> Result<(), DeviceError> {
        let user = ctx.user_id.ok_or(DeviceError::Unauthenticated)?;
        let code = UserCode::parse(user_code).map_err(|_| DeviceError::NoSuchCode)?;
        let decided = self.repo.decide_grant(&code, user, approve, self.clock.now()).await?;
        let grant = decided.ok_or(DeviceError::NoSuchCode)?;
        tracing::info!(user_id = %user, client_id = %grant.client_id, approve, "device grant decided");
        Ok(())
    }

    /// A device polls with its code: tokens once approved, else why not.
    /// Polls closer together than half the interval are refused as
    /// [`DeviceError::SlowDown`] (timers of clients that poll at exactly
    /// the interval drift by a few milliseconds either way).
    ///
    /// # Errors
    /// Each [`DeviceError`] a poll may meet.
    pub async fn poll(
        &self,
        ctx: &RequestContext,
        device_code: &str,
        client_id: &str,
        client: ClientInfo,
    ) -> Result<LoginSuccess, DeviceError> {
        let now = self.clock.now();
        let hash = self.hash(device_code);
        let grant = self.repo.poll_grant(&hash, now).await?.ok_or(DeviceError::NotFound)?;
        if grant.client_id != client_id {
            return Err(DeviceError::NotFound);
        }
        match grant.state {
            DeviceGrantState::Used => return Err(DeviceError::AlreadyUsed),
            DeviceGrantState::Denied => return Err(DeviceError::Denied),
            _ if now >= grant.expires_at => return Err(DeviceError::Expired),
            DeviceGrantState::Pending => {
                let half = time::Duration::milliseconds(i64::from(grant.interval_secs) * 500);
                return Err(match grant.last_polled_at {
                    Some(last) if now - last < half => DeviceError::SlowDown,
                    _ => DeviceError::Pending,
                });
            }
            DeviceGrantState::Approved => {}
        }
        let user = grant.user_id.ok_or(DeviceError::NotFound)?;
        if !self.repo.redeem_grant(&hash).await? {
            return Err(DeviceError::AlreadyUsed);
        }
        Ok(self.auth.login_approved(ctx, user, client).await?)
    }

    /// Deletes grants that expired more than `grace` ago.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    pub async fn prune(&self, grace: Duration) -> Result<u64, StorageError> {
        let grace = time::Duration::try_from(grace).unwrap_or(time::Duration::days(1));
        self.repo.prune_grants(self.clock.now() - grace).await
    }
}
