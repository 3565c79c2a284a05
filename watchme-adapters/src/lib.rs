//! Adapters for the ports of `watchme-core`, one module per technology,
//! each behind a cargo feature so an embedding service compiles only what
//! it uses.
//!
//! | feature | module | ports |
//! |---|---|---|
//! | `memory` (default) | [`memory`] | every storage port, cache, event bus |
//! | `crypto` | [`crypto`] | `PasswordHasher` (argon2id), `TokenIssuer` (JWT) |
//! | `catalog` | [`catalog`] | `MovieSource` over a bundled offline catalog |
//! | `postgres`, `sqlite` | [`sql`] | every storage port over PostgreSQL / SQLite, embedded migrations |
//! | `redis` | [`redis`] | `Cache` over Redis, and the two-tier cache (in-process L1 + Redis, pub/sub invalidation) |
//! | `tmdb` | [`tmdb`] | `MovieSource` over TMDb's HTTP API, with retries, rate limit, circuit breaker |
//! | `kafka` | [`kafka`] | `EventBus` over Kafka (idempotent producer), the analytics consumer with dead-letter topic |
//! | `imports` | [`imports`] | `ImportReader` (Letterboxd, IMDb, Trakt, WatchMe files and ZIPs), `ExportWriter` (the export ZIP) |
//! | `contract` | [`contract`] | reusable contract suites every adapter must pass |

#[cfg(feature = "catalog")]
pub mod catalog;
#[cfg(feature = "contract")]
pub mod contract;
#[cfg(feature = "crypto")]
pub mod crypto;
#[cfg(feature = "imports")]
pub mod imports;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "_sql")]
pub mod sql;
#[cfg(feature = "tmdb")]
pub mod tmdb;
