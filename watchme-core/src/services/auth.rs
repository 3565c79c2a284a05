//! Registration, login and token verification.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::domain::{
    DisplayName, Email, EventEnvelope, EventMeta, EventPayload, Password, PasswordHash, RequestContext, Role, User,
    UserId,
};
use crate::error::{Cause, HashError, StorageError, TokenError, UserRepoError};
use crate::ports::{AccessClaims, Clock, IssuedToken, PasswordHasher, TokenIssuer, UserRepo};

/// Why an authentication use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The email is registered already.
    #[error("email already registered")]
    EmailTaken,
    /// The password is refused for this account (equal to the email).
    #[error("password is too easy to guess")]
    WeakPassword,
    /// Wrong email or password; deliberately does not say which.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The access token is missing, invalid, expired, or its user is gone.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A dependency is down; retry later.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] Cause),
    /// Our bug or misconfiguration.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl From<StorageError> for AuthError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(c) => Self::Unavailable(c),
            StorageError::Internal(c) => Self::Internal(c),
        }
    }
}

impl From<UserRepoError> for AuthError {
    fn from(e: UserRepoError) -> Self {
        match e {
            UserRepoError::EmailTaken => Self::EmailTaken,
            UserRepoError::NotFound => Self::InvalidToken,
            UserRepoError::Storage(s) => s.into(),
        }
    }
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Malformed(c) | HashError::Internal(c) => Self::Internal(c),
        }
    }
}

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

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginSuccess {
    /// Who logged in.
    pub user: User,
    /// Their access token.
    pub access: IssuedToken,
}

/// Registration, login and token checks.
pub struct AuthService {
    users: Arc<dyn UserRepo>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenIssuer>,
    clock: Arc<dyn Clock>,
    admin_emails: HashSet<Email>,
    // Verified against when the email is unknown, so a login takes as long
    // whether or not the account exists (no user enumeration by timing).
    dummy_hash: OnceCell<PasswordHash>,
}

impl AuthService {
    /// Builds the service; accounts whose email is in `admin_emails` get the admin role.
    pub fn new(
        users: Arc<dyn UserRepo>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
        admin_emails: HashSet<Email>,
    ) -> Self {
        Self { users, hasher, tokens, clock, admin_emails, dummy_hash: OnceCell::new() }
    }

    fn role_for(&self, user: &User) -> Role {
        if self.admin_emails.contains(&user.email) {
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
            return Err(AuthError::WeakPassword);
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

    /// Checks credentials, records `UserLoggedIn` and issues an access token.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for an unknown email or a wrong
    /// password alike, or a dependency failure.
    pub async fn login(
        &self,
        ctx: &RequestContext,
        email: &Email,
        password: &Password,
    ) -> Result<LoginSuccess, AuthError> {
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
        let now = self.clock.now();
        let meta = EventMeta { actor: Some(user.id), trace: ctx.trace.clone(), occurred_at: now };
        let event = EventEnvelope::new(EventPayload::UserLoggedIn { user_id: user.id }, &meta);
        self.users.record_login(user.id, now, &[event]).await?;
        user.last_login_at = Some(now);
        user.role = self.role_for(&user);
        let access = self
            .tokens
            .issue(&AccessClaims { user_id: user.id, role: user.role, session_id: None })
            .map_err(token_internal)?;
        Ok(LoginSuccess { user, access })
    }

    /// Verifies an access token.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for any token that is not valid now.
    pub fn authenticate(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.tokens.verify(token).map_err(token_internal)
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
