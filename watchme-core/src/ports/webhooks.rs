//! The webhook port: users' webhook endpoints by their secret's hash, and
//! their delivery counts. Adapters: memory and SQL; contract in
//! `watchme_adapters::contract::webhooks`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{DeliveryOutcome, UserId, Webhook, WebhookId};
use crate::error::StorageError;

/// Stores webhooks: the webhook and its secret's hash, never the secret.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookRepo: Send + Sync + 'static {
    /// Stores a new webhook under `hash`.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn create_webhook(&self, webhook: &Webhook, hash: &str) -> Result<(), StorageError>;

    /// The webhook whose secret hashes to `hash`, unless it was revoked.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn webhook_by_hash(&self, hash: &str) -> Result<Option<Webhook>, StorageError>;

    /// The user's webhooks that were not revoked, newest first.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn webhooks_of(&self, user: UserId) -> Result<Vec<Webhook>, StorageError>;

    /// Revokes one of the user's webhooks; whether it did (`false`: no
    /// such webhook of theirs, or revoked before).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn revoke_webhook(&self, user: UserId, id: WebhookId, at: OffsetDateTime) -> Result<bool, StorageError>;

    /// Counts a delivery's outcome and its time.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn record_delivery(
        &self,
        id: WebhookId,
        outcome: DeliveryOutcome,
        at: OffsetDateTime,
    ) -> Result<(), StorageError>;
}
