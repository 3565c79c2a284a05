//! Spans around the event flow, added by wrapping the ports (the core and
//! the adapters stay free of OpenTelemetry): publishing a batch to the bus
//! and applying a batch to the analytics, each in the trace of the requests
//! whose events it carries (messaging semantic conventions).

use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;
use watchme_core::domain::EventEnvelope;
use watchme_core::error::{EventBusError, StorageError};
use watchme_core::ports::{EventBus, EventHandler};

/// Where a batch of events goes or comes from: messaging `system` (`kafka`,
/// `in_process`) and `destination` (the topic).
struct Channel {
    system: &'static str,
    destination: String,
}

/// Which side of the channel a span is on.
#[derive(Clone, Copy)]
enum Side {
    /// Sending a batch (the relay to the bus).
    Publish,
    /// Applying a batch (the bus to the analytics).
    Process,
}

impl Channel {
    /// A span for one batch on `side`, in the trace of the batch's first event.
    fn span(&self, side: Side, events: &[EventEnvelope]) -> tracing::Span {
        // Span name verb, messaging.operation.type, span kind.
        let (verb, operation, kind) = match side {
            Side::Publish => ("publish", "send", "producer"),
            Side::Process => ("process", "process", "consumer"),
        };
        let span = tracing::info_span!(
            "messaging",
            otel.name = %format!("{verb} {}", self.destination),
            otel.kind = kind,
            messaging.system = self.system,
            messaging.operation.type = operation,
            messaging.destination.name = %self.destination,
            messaging.batch.message_count = events.len(),
        );
        crate::telemetry::follow_events(&span, events);
        span
    }
}

/// An [`EventBus`] whose every publish is a producer span.
pub struct TracedBus {
    inner: Arc<dyn EventBus>,
    channel: Channel,
}

impl TracedBus {
    /// Wraps `inner`, which publishes to `destination` of messaging `system` (`kafka`, ...).
    pub fn new(inner: Arc<dyn EventBus>, system: &'static str, destination: impl Into<String>) -> Self {
        Self { inner, channel: Channel { system, destination: destination.into() } }
    }
}

#[async_trait]
impl EventBus for TracedBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), EventBusError> {
        let span = self.channel.span(Side::Publish, events);
        self.inner.publish(events).instrument(span).await
    }
}

/// An [`EventHandler`] whose every batch is a consumer span.
pub struct TracedHandler {
    inner: Arc<dyn EventHandler>,
    channel: Channel,
}

impl TracedHandler {
    /// Wraps `inner`, which handles events from `destination` of messaging `system`.
    pub fn new(inner: Arc<dyn EventHandler>, system: &'static str, destination: impl Into<String>) -> Self {
        Self { inner, channel: Channel { system, destination: destination.into() } }
    }
}

#[async_trait]
impl EventHandler for TracedHandler {
    async fn handle(&self, events: &[EventEnvelope]) -> Result<(), StorageError> {
        let span = self.channel.span(Side::Process, events);
        self.inner.handle(events).instrument(span).await
    }
}
