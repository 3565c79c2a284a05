//! Registration, login, refresh-token rotation, sessions and token verification.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::domain::{
    is_common_password, ClientInfo, DisplayName, Email, EventEnvelope, EventMeta, EventPayload, Password, PasswordHash,
    RefreshToken, RequestContext, Role, Session, SessionId, User, UserId,
};
use crate::error::{HashError, TokenError};
use crate::ports::{AccessClaims, Clock, IssuedToken, PasswordHasher, Rotation, SessionRepo, TokenIssuer, UserRepo};

use super::auth_errors::{AuthError, WeakPassword};
use super::remembered::Remembered;

/// A new account's details, already validated.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Login email.
    pub email: Email,
    /// Password.
    pub password: Password,
    /// Name shown; defaults to the email's local part.
    pub display_name: Option<DisplayName>,
}

/// An access token and the refresh token that renews it, both of one session.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The short-lived JWT.
    pub access: IssuedToken,
    /// The opaque refresh token; valid once.
    pub refresh: RefreshToken,
    /// How long the refresh token stays valid if not used.
    pub refresh_expires_in: Duration,
    /// The session both belong to.
    pub session: Session,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginSuccess {
    /// Who logged in.
    pub user: User,
    /// Their tokens.
    pub tokens: TokenPair,
}

/// Settings of [`AuthService`].
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Accounts with these emails get the admin role.
    pub admin_emails: HashSet<Email>,
    /// How long a refresh token stays valid unused (each rotation starts it again).
    pub refresh_ttl: Duration,
    /// How long a replica trusts its last look at a session: a session
    /// revoked elsewhere stops being honoured here within this time (at once
    /// on the replica that revoked it).
    pub session_check_ttl: Duration,
    /// Refuse passwords from the bundled list of common passwords.
    pub reject_common_passwords: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            admin_emails: HashSet::new(),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            session_check_ttl: Duration::from_secs(10),
            reject_common_passwords: true,
        }
    }
}

/// Most sessions a replica remembers a check of (see [`Remembered`]).
const SESSION_CHECKS: usize = 100_000;

/// Registration, login, sessions and token checks.
pub struct AuthService {
    users: Arc<dyn UserRepo>,
    sessions: Arc<dyn SessionRepo>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenIssuer>,
    clock: Arc<dyn Clock>,
    settings: AuthSettings,
    // Sessions this replica looked at recently: id -> active.
    checks: Remembered<SessionId, bool>,
    // Verified against when the email is unknown, so a login takes as long
    // whether or not the account exists (no user enumeration by timing).
    dummy_hash: OnceCell<PasswordHash>,
}

impl AuthService {
    /// Builds the service over its ports.
    pub fn new(
        users: Arc<dyn UserRepo>,
        sessions: Arc<dyn SessionRepo>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
    ) -> Self {
        Self {
            users,
            sessions,
            hasher,
            tokens,
            clock,
            settings,
            checks: Remembered::new(SESSION_CHECKS),
            dummy_hash: OnceCell::new(),
        }
    }

    fn role_for(&self, user: &User) -> Role {
        if self.settings.admin_emails.contains(&user.email) {
            Role::Admin
        } else {
            user.role
        }
    }

    /// Creates an account and records `UserRegistered` with it.
    ///
    /// # Errors
    /// [`AuthError::EmailTaken`], [`AuthError::WeakPassword`], or a dependency failure.
    pub async fn register(&self, ctx: &RequestContext, reg: Registration) -> Result<User, AuthError> {
        if reg.password.expose().trim().to_lowercase() == reg.email.as_str() {
            return Err(AuthError::WeakPassword(WeakPassword::EqualsEmail));
        }
        if self.settings.reject_common_passwords && is_common_password(reg.password.expose()) {
            return Err(AuthError::WeakPassword(WeakPassword::Common));
        }
        let password_hash = self.hasher.hash(&reg.password).await?;
        let now = self.clock.now();
        let display_name = match reg.display_name {
            Some(n) => n,
            None => {
                DisplayName::parse(reg.email.local_part()).map_err(|e| AuthError::Internal(crate::error::cause(e)))?
            }
        };
        let mut user = User {
            id: UserId::new(),
            email: reg.email,
            display_name,
            role: Role::User,
            password_hash,
            created_at: now,
            last_login_at: None,
        };
        user.role = self.role_for(&user);
        let meta = EventMeta { actor: Some(user.id), trace: ctx.trace.clone(), occurred_at: now };
        let event = EventEnvelope::new(
            EventPayload::UserRegistered { user_id: user.id, display_name: user.display_name.to_string() },
            &meta,
        );
        self.users.create(&user, &[event]).await?;
        tracing::info!(user_id = %user.id, "user registered");
        Ok(user)
    }

    /// Checks credentials, records `UserLoggedIn`, opens a session and
    /// issues its access and refresh tokens.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for an unknown email or a wrong
    /// password alike, or a dependency failure.
    pub async fn login(
        &self,
        ctx: &RequestContext,
        email: &Email,
        password: &Password,
        client: ClientInfo,
    ) -> Result<LoginSuccess, AuthError> {
        let result = self.check_and_open(ctx, email, password, client).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(AuthError::InvalidCredentials) => "failure",
            Err(_) => "error",
        };
        metrics::counter!("watchme_logins_total", "outcome" => outcome).increment(1);
        result
    }

    async fn check_and_open(
        &self,
        ctx: &RequestContext,
        email: &Email,
        password: &Password,
        client: ClientInfo,
    ) -> Result<LoginSuccess, AuthError> {
        let user = self.verify_credentials(email, password).await?;
        self.open_session(ctx, user, client).await
    }

    /// The user these credentials belong to, without opening a session (a
    /// page that approves a device asks for the password once and needs no
    /// session of its own). Unknown emails and wrong passwords take the same time.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for an unknown email or a wrong
    /// password alike, or a dependency failure.
    pub async fn verify_credentials(&self, email: &Email, password: &Password) -> Result<User, AuthError> {
        let Some(mut user) = self.users.find_by_email(email).await? else {
            let dummy = self
                .dummy_hash
                .get_or_try_init(|| async {
                    let p = Password::parse("watchme-dummy-password")
                        .map_err(|e| HashError::Internal(crate::error::cause(e)))?;
                    self.hasher.hash(&p).await
                })
                .await?;
            let _ = self.hasher.verify(password, dummy).await;
            return Err(AuthError::InvalidCredentials);
        };
        if !self.hasher.verify(password, &user.password_hash).await? {
            return Err(AuthError::InvalidCredentials);
        }
        if self.hasher.needs_rehash(&user.password_hash) {
            // Best effort: a failed re-hash must not fail a correct login.
            match self.hasher.hash(password).await {
                Ok(h) => match self.users.update_password_hash(user.id, &h).await {
                    Ok(()) => user.password_hash = h,
                    Err(e) => tracing::warn!(error = %e, "could not store re-hashed password"),
                },
                Err(e) => tracing::warn!(error = %e, "could not re-hash password"),
            }
        }
        Ok(user)
    }

    /// Logs in a user someone else vouched for (a device the user approved
    /// while logged in): records `UserLoggedIn`, opens a session and issues
    /// its tokens, as a password login does.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] when the user no longer exists, or
    /// a dependency failure.
    pub async fn login_approved(
        &self,
        ctx: &RequestContext,
        user: UserId,
        client: ClientInfo,
    ) -> Result<LoginSuccess, AuthError> {
        let user = self.users.find_by_id(user).await?.ok_or(AuthError::InvalidCredentials)?;
        let result = self.open_session(ctx, user, client).await;
        metrics::counter!("watchme_logins_total", "outcome" => if result.is_ok() { "device" } else { "error" })
            .increment(1);
        result
    }

    async fn open_session(
        &self,
        ctx: &RequestContext,
        mut user: User,
        client: ClientInfo,
    ) -> Result<LoginSuccess, AuthError> {
        let now = self.clock.now();
        let meta = EventMeta { actor: Some(user.id), trace: ctx.trace.clone(), occurred_at: now };
        let event = EventEnvelope::new(EventPayload::UserLoggedIn { user_id: user.id }, &meta);
        self.users.record_login(user.id, now, &[event]).await?;
        user.last_login_at = Some(now);
        user.role = self.role_for(&user);
        let (refresh, hash) = self.tokens.new_refresh_token().map_err(token_internal)?;
        let session = Session {
            id: SessionId::new(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + self.settings.refresh_ttl,
            client,
            revoked_at: None,
        };
        self.sessions.create_session(&session, &hash).await?;
        let access = self.access_token(&user, session.id)?;
        tracing::info!(user_id = %user.id, session_id = %session.id, "logged in");
        let tokens = TokenPair { access, refresh, refresh_expires_in: self.settings.refresh_ttl, session };
        Ok(LoginSuccess { user, tokens })
    }

    fn access_token(&self, user: &User, session: SessionId) -> Result<IssuedToken, AuthError> {
        self.tokens
            .issue(&AccessClaims {
                user_id: user.id,
                role: self.role_for(user),
                session_id: Some(session),
                api_token: None,
            })
            .map_err(token_internal)
    }

    /// Rotates a refresh token: the presented one stops working and a new
    /// pair of the same session is returned. Presenting a token that was
    /// already rotated revokes its whole session (someone else holds a copy)
    /// and is logged as a security event.
    ///
    /// # Errors
    /// [`AuthError::InvalidRefreshToken`] for an unknown, expired, revoked or
    /// reused token, or a dependency failure.
    pub async fn refresh(&self, presented: &RefreshToken) -> Result<TokenPair, AuthError> {
        let now = self.clock.now();
        let old = self.tokens.hash_refresh_token(presented);
        let (refresh, next) = self.tokens.new_refresh_token().map_err(token_internal)?;
        let rotation = self.sessions.rotate(&old, &next, now, now + self.settings.refresh_ttl).await?;
        let outcome = match &rotation {
            Rotation::Rotated(_) => "rotated",
            Rotation::Reused(_) => "reused",
            Rotation::Inactive(_) | Rotation::Unknown => "refused",
        };
        metrics::counter!("watchme_token_refreshes_total", "outcome" => outcome).increment(1);
        let session = match rotation {
            Rotation::Rotated(s) => s,
            Rotation::Reused(s) => {
                self.sessions.revoke_session(s.id, now).await?;
                self.checks.put(s.id, false, now);
                tracing::warn!(
                    security_event = "refresh_token_reuse",
                    user_id = %s.user_id,
                    session_id = %s.id,
                    "a rotated refresh token was presented again; the session is revoked"
                );
                return Err(AuthError::InvalidRefreshToken);
            }
            Rotation::Inactive(_) | Rotation::Unknown => return Err(AuthError::InvalidRefreshToken),
        };
        let user = self.users.find_by_id(session.user_id).await?.ok_or(AuthError::InvalidRefreshToken)?;
        let access = self.access_token(&user, session.id)?;
        Ok(TokenPair { access, refresh, refresh_expires_in: self.settings.refresh_ttl, session })
    }

    /// Ends the session of the caller's access token (logout).
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for a token without a session, or a dependency failure.
    pub async fn logout(&self, caller: &AccessClaims) -> Result<(), AuthError> {
        let id = caller.session_id.ok_or(AuthError::InvalidToken)?;
        self.revoke_session(caller.user_id, id).await.map_err(|e| match e {
            AuthError::SessionNotFound => AuthError::InvalidToken,
            other => other,
        })
    }

    /// The user's active sessions, most recently used first.
    ///
    /// # Errors
    /// A dependency failure.
    pub async fn sessions(&self, user: UserId) -> Result<Vec<Session>, AuthError> {
        Ok(self.sessions.active_sessions(user, self.clock.now()).await?)
    }

    /// Revokes one of the user's sessions; another user's session is "not found".
    ///
    /// # Errors
    /// [`AuthError::SessionNotFound`] when `user` has no such session, or a dependency failure.
    pub async fn revoke_session(&self, user: UserId, id: SessionId) -> Result<(), AuthError> {
        let now = self.clock.now();
        match self.sessions.find_session(id).await? {
            Some(s) if s.user_id == user && s.is_active(now) => {
                self.sessions.revoke_session(id, now).await?;
                self.checks.put(id, false, now);
                tracing::info!(user_id = %user, session_id = %id, "session revoked");
                Ok(())
            }
            _ => Err(AuthError::SessionNotFound),
        }
    }

    /// Deletes sessions that ended (expired or revoked) more than `grace`
    /// ago; returns how many. Run periodically; any replica may.
    ///
    /// # Errors
    /// A dependency failure.
    pub async fn prune_sessions(&self, grace: Duration) -> Result<u64, AuthError> {
        Ok(self.sessions.prune_sessions(self.clock.now() - grace).await?)
    }

    /// Verifies an access token and that its session is still active.
    ///
    /// The session is looked up at most once per
    /// [`AuthSettings::session_check_ttl`] per replica; if the store is down
    /// the last answer is used, and without one the check fails as unavailable.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for any token that is not valid now, or
    /// whose session is revoked; [`AuthError::Unavailable`] when the session
    /// cannot be checked.
    pub async fn authenticate(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let claims = self.tokens.verify(token).map_err(token_internal)?;
        let sid = claims.session_id.ok_or(AuthError::InvalidToken)?;
        let now = self.clock.now();
        let cached = self.checks.get(&sid);
        let fresh = cached.filter(|(_, at)| now - *at < self.settings.session_check_ttl);
        let active = match fresh {
            Some((active, _)) => active,
            None => match self.sessions.find_session(sid).await {
                Ok(found) => {
                    let active = found.is_some_and(|s| s.user_id == claims.user_id && s.is_active(now));
                    self.checks.put(sid, active, now);
                    active
                }
                Err(e) => match cached {
                    Some((active, _)) => active,
                    None => return Err(e.into()),
                },
            },
        };
        if active {
            Ok(claims)
        } else {
            Err(AuthError::InvalidToken)
        }
    }

    /// The account behind a verified token.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] when the user no longer exists, or a dependency failure.
    pub async fn current_user(&self, id: UserId) -> Result<User, AuthError> {
        let mut user = self.users.find_by_id(id).await?.ok_or(AuthError::InvalidToken)?;
        user.role = self.role_for(&user);
        Ok(user)
    }
}

fn token_internal(e: TokenError) -> AuthError {
    match e {
        TokenError::Invalid => AuthError::InvalidToken,
        TokenError::Internal(c) => AuthError::Internal(c),
    }
}
