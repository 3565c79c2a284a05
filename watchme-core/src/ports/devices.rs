//! The device-grant port: OAuth device codes (RFC 8628) between a device's
//! request and its tokens. Adapters: memory and SQL; contract in
//! `watchme_adapters::contract::devices`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{DeviceGrant, UserCode, UserId};
use crate::error::StorageError;

/// Stores device grants; every state change is a single atomic step, so
/// two replicas can never hand out one grant's tokens twice.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DeviceGrantRepo: Send + Sync + 'static {
    /// Stores a new grant; returns `false` (storing nothing) when its user
    /// code is held by a stored grant, so the caller draws another.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn create_grant(&self, grant: &DeviceGrant) -> Result<bool, StorageError>;

    /// Records a poll at `now` of the grant whose device code hashes to
    /// `hash`; returns the grant as it was before this poll.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn poll_grant(&self, hash: &str, now: OffsetDateTime) -> Result<Option<DeviceGrant>, StorageError>;

    /// Approves (or denies) the pending, unexpired grant with `code` for
    /// `user`; returns the grant as decided, `None` when no such grant waits.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn decide_grant(
        &self,
        code: &UserCode,
        user: UserId,
        approve: bool,
        now: OffsetDateTime,
    ) -> Result<Option<DeviceGrant>, StorageError>;

    /// Marks the approved grant whose device code hashes to `hash` used;
    /// returns whether this call did (only one caller ever does).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn redeem_grant(&self, hash: &str) -> Result<bool, StorageError>;

    /// Deletes grants that expired before `before`; returns how many.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn prune_grants(&self, before: OffsetDateTime) -> Result<u64, StorageError>;
}
