//! The ports: what the services need from the outside world, as
//! `Send + Sync` async traits used as `Arc<dyn Port>`.
//!
//! Dispatch is dynamic because adapters are chosen at run time from config
//! (SQLite or PostgreSQL, in-process or Redis cache ...); the cost of a
//! virtual call is nothing next to the I/O behind it. Each method's rustdoc
//! is a contract that every adapter is tested against (see the contract
//! suites in `watchme-adapters`): what it guarantees, and under `# Errors`
//! which variant it must return when.
//!
//! With the `mock` feature every port also has a mockall mock (`MockUserRepo`
//! ...), for code that embeds the core and wants to count calls.

mod analytics;
mod cache;
mod clock;
mod devices;
mod events;
mod history;
mod imports;
mod library;
mod limits;
mod lists;
mod movies;
mod playback;
mod security;
mod sessions;
mod tokens;
mod users;
mod webhooks;

pub use analytics::*;
pub use cache::*;
pub use clock::*;
pub use devices::*;
pub use events::*;
pub use history::*;
pub use imports::*;
pub use library::*;
pub use limits::*;
pub use lists::*;
pub use movies::*;
pub use playback::*;
pub use security::*;
pub use sessions::*;
pub use tokens::*;
pub use users::*;
pub use webhooks::*;
