//! The use cases, written only against ports.
//!
//! Each service is cheap to clone behind an `Arc` and holds its ports as
//! `Arc<dyn Port>`; the composition root (the server's wiring, or your own
//! service when you embed the core) builds them once.

mod analytics;
mod auth;
mod auth_errors;
mod decode_memo;
mod devices;
mod export;
mod group_commit;
mod history;
mod imports;
mod library;
mod limits;
mod lists;
mod matching;
mod movies;
mod pages;
mod playback;
mod relay;
mod remembered;
mod single_flight;
mod tokens;
mod webhooks;

pub use analytics::*;
pub use auth::*;
pub use auth_errors::*;
pub use devices::*;
pub use group_commit::{BatchWriter, GroupCommit, GroupCommitConfig};
pub use history::*;
pub use imports::*;
pub use library::*;
pub use limits::*;
pub use lists::*;
pub use matching::{normalise, Match, Matcher};
pub use movies::*;
pub use pages::every_page;
pub use playback::*;
pub use relay::*;
pub use single_flight::SingleFlight;
pub use tokens::*;
pub use webhooks::*;
