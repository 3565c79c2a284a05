//! In-memory adapters for every port: the unit-test kit for code that embeds
//! the core, and the in-process cache and event bus of the embedded default.
//!
//! Everything lives behind one mutex per adapter, so each write is atomic
//! the way a database transaction is; the contract suites hold these
//! adapters to the same rules as the SQL ones.

mod analytics;
mod bus;
mod cache;
mod history;
mod limiter;
mod lists;
mod playback;
mod store;
mod tokens;

pub use analytics::MemoryAnalyticsStore;
pub use bus::InProcessBus;
pub use cache::MemoryCache;
pub use limiter::MemoryRateLimiter;
pub use store::MemoryStore;
