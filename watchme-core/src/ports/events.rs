//! The event ports: the bus that publishes events, the outbox that holds
//! them until published, and the handler a consumer hands them to.
//! Adapters: in-process and Kafka buses, memory and SQL outboxes; contracts
//! in `watchme_adapters::contract::{bus, outbox}`.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::EventEnvelope;
use crate::error::{EventBusError, StorageError};

/// Publishes events to consumers (Kafka, or the in-process bus).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes a batch; returns only when the bus has durably accepted every
    /// event of it, so the caller may then mark them delivered. Events with
    /// the same `aggregate_id` keep their order. A retry after an error may
    /// deliver some events twice; consumers deduplicate by `event_id`.
    ///
    /// # Errors
    /// [`EventBusError::Unavailable`] when any event of the batch was not
    /// accepted; the caller must treat the whole batch as undelivered.
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), EventBusError>;
}

/// Receives published events (the analytics consumer behind a bus).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Handles a batch, at least once: handlers must be idempotent by event id.
    ///
    /// # Errors
    /// [`StorageError`] when the batch could not be handled; the bus retries it.
    async fn handle(&self, events: &[EventEnvelope]) -> Result<(), StorageError>;
}

/// An event waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    /// Position in the outbox; increases with insertion order.
    pub id: i64,
    /// The event.
    pub event: EventEnvelope,
    /// How many times a relay claimed it before.
    pub attempts: u32,
}

/// The backlog of the outbox, for metrics and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Events not yet published.
    pub unpublished: u64,
    /// When the oldest unpublished event happened.
    pub oldest_unpublished_at: Option<OffsetDateTime>,
}

/// The transactional outbox: events stored with the state change that caused
/// them, waiting for a relay to publish them.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Appends events that come with no state change (anonymous views).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is appended then.
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StorageError>;

    /// [`Outbox::append`] for events the caller is done with: an adapter that
    /// keeps events in memory takes them as they are instead of copying them.
    ///
    /// # Errors
    /// As [`Outbox::append`].
    async fn append_owned(&self, events: Vec<EventEnvelope>) -> Result<(), StorageError> {
        self.append(&events).await
    }

    /// Claims up to `limit` unpublished events, oldest first, for `lease`:
    /// until the lease expires or the claim is released, no other claim
    /// returns them, so several relays may run without publishing an event twice.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn claim(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxRecord>, StorageError>;

    /// Marks events published; they are never claimed again. Idempotent.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; the events stay claimable then.
    async fn mark_published(&self, ids: &[i64]) -> Result<(), StorageError>;

    /// [`Outbox::mark_published`] for a relay that keeps no published events:
    /// the events are gone afterwards (never claimed again, not counted,
    /// nothing left to prune). Idempotent. The default marks them and then
    /// prunes every published event; an SQL store deletes them in one step.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; the events stay claimable then.
    async fn mark_published_and_drop(&self, ids: &[i64]) -> Result<(), StorageError> {
        self.mark_published(ids).await?;
        self.prune_published(time::OffsetDateTime::now_utc() + time::Duration::seconds(1)).await.map(drop)
    }

    /// Ends the claim on events that could not be published, so the next
    /// claim returns them again.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; the lease then expires by itself.
    async fn release(&self, ids: &[i64]) -> Result<(), StorageError>;

    /// Deletes events published before `before`; returns how many. An
    /// adapter may keep some of them until a later call (the in-memory one
    /// stops at the oldest event still unpublished); unpublished events are
    /// never deleted.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn prune_published(&self, before: OffsetDateTime) -> Result<u64, StorageError>;

    /// Size and age of the backlog.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn stats(&self) -> Result<OutboxStats, StorageError>;
}
