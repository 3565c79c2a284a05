//! Value types that validate themselves, and the domain events.
//!
//! Rule: a value of one of these types is valid by construction. Services
//! accept only these types, so invalid input is refused at the edge and can
//! never reach a repository.

mod analytics;
mod common_passwords;
mod context;
mod device;
mod event;
mod history;
mod imports;
mod library;
mod lists;
mod movie;
mod page;
mod playback;
mod session;
mod token;
mod trace;
mod user;
mod webhooks;

pub use analytics::*;
pub use common_passwords::*;
pub use context::*;
pub use device::*;
pub use event::*;
pub use history::*;
pub use imports::*;
pub use library::*;
pub use lists::*;
pub use movie::*;
pub use page::*;
pub use playback::*;
pub use session::*;
pub use token::*;
pub use trace::*;
pub use user::*;
pub use webhooks::*;
