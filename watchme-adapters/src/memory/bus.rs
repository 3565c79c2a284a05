//! The in-process event bus of the embedded default: hands each published
//! batch to its handlers (the analytics service) directly.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use watchme_core::domain::EventEnvelope;
use watchme_core::error::{cause, cause_msg, EventBusError};
use watchme_core::ports::{EventBus, EventHandler};

/// Publishes to in-process handlers; a batch counts as accepted once every
/// handler handled it. Clones share handlers and counters.
#[derive(Clone, Default)]
pub struct InProcessBus {
    handlers: Arc<Vec<Arc<dyn EventHandler>>>,
    // Lets tests stop the bus to prove nothing is lost while it is down.
    down: Arc<AtomicBool>,
    published: Arc<AtomicU64>,
}

impl InProcessBus {
    /// A bus delivering to `handlers`, in order.
    pub fn new(handlers: Vec<Arc<dyn EventHandler>>) -> Self {
        Self { handlers: Arc::new(handlers), ..Self::default() }
    }

    /// Stops (`false`) or restarts (`true`) the bus: while stopped every
    /// publish fails with `EventBusError::Unavailable`.
    pub fn set_available(&self, available: bool) {
        self.down.store(!available, Ordering::SeqCst);
    }

    /// Events accepted so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), EventBusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(EventBusError::Unavailable(cause_msg("in-process bus stopped")));
        }
        for h in self.handlers.iter() {
            h.handle(events).await.map_err(|e| EventBusError::Unavailable(cause(e)))?;
        }
        self.published.fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}
