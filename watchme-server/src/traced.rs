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

/// An [`EventBus`] whose every publish is a producer span.
pub struct TracedBus {
    inner: Arc<dyn EventBus>,
    system: &'static str,
    destination: String,
}

impl TracedBus {
    /// Wraps `inner`, which publishes to `destination` of messaging `system` (`kafka`, ...).
    pub fn new(inner: Arc<dyn EventBus>, system: &'static str, destination: impl Into<String>) -> Self {
        Self { inner, system, destination: destination.into() }
    }
}

#[async_trait]
impl EventBus for TracedBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), EventBusError> {
        let span = tracing::info_span!(
            "publish",
            otel.name = %format!("publish {}", self.destination),
            otel.kind = "producer",
            messaging.system = self.system,
            messaging.operation.type = "send",
            messaging.destination.name = %self.destination,
            messaging.batch.message_count = events.len(),
        );
        crate::telemetry::follow_events(&span, events);
        self.inner.publish(events).instrument(span).await
    }
}

/// An [`EventHandler`] whose every batch is a consumer span.
pub struct TracedHandler {
    inner: Arc<dyn EventHandler>,
    system: &'static str,
    destination: String,
}

impl TracedHandler {
    /// Wraps `inner`, which handles events from `destination` of messaging `system`.
    pub fn new(inner: Arc<dyn EventHandler>, system: &'static str, destination: impl Into<String>) -> Self {
        Self { inner, system, destination: destination.into() }
    }
}

#[async_trait]
impl EventHandler for TracedHandler {
    async fn handle(&self, events: &[EventEnvelope]) -> Result<(), StorageError> {
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("process {}", self.destination),
            otel.kind = "consumer",
            messaging.system = self.system,
            messaging.operation.type = "process",
            messaging.destination.name = %self.destination,
            messaging.batch.message_count = events.len(),
        );
        crate::telemetry::follow_events(&span, events);
        self.inner.handle(events).instrument(span).await
    }
}
