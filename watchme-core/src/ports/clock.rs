//! The clock port: the time, behind a trait so tests can pin it.

use time::OffsetDateTime;

/// Tells the time; a port so tests can pin it.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// The current time, UTC.
    fn now(&self) -> OffsetDateTime;

    /// The current time in milliseconds since the Unix epoch, which is what
    /// cache freshness is kept in; the default converts [`Clock::now`].
    fn now_unix_ms(&self) -> i128 {
        self.now().unix_timestamp_nanos() / 1_000_000
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    // Read directly: building a calendar date only to count milliseconds
    // again was 300 instructions of every cache hit.
    fn now_unix_ms(&self) -> i128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i128)
    }
}
