//! WatchMe's domain core: validated value types ([`domain`]), the ports every
//! adapter implements ([`ports`]) and the use cases written only against them
//! ([`services`]).
//!
//! Rule of this crate: it names no infrastructure. No database driver, HTTP
//! client or server, cache client or message broker appears in its dependency
//! tree, so the same services run over in-memory adapters in a unit test and
//! over PostgreSQL, Redis and Kafka in production.

pub mod domain;
pub mod error;
pub mod ports;
pub mod services;
