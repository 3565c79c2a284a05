//! The groups the spec sorts operations into.

use poem_openapi::Tags;

/// Groups of operations in the spec.
#[derive(Tags)]
pub enum Tag {
    /// Accounts and tokens.
    Auth,
    /// Browsing and searching movies.
    Movies,
    /// The caller's favorites and library.
    Library,
    /// The caller's watch history (plays, rewatches included) and last activities.
    History,
    /// The caller's own lists, and lists shared with anyone.
    Lists,
    /// Imports from Letterboxd, IMDb, Trakt and WatchMe, and the export.
    Imports,
    /// Media-server webhooks (Plex, Jellyfin, Emby) and what is playing now.
    Webhooks,
    /// Statistics computed from the event stream.
    Analytics,
    /// Liveness and readiness probes.
    Health,
    /// Operator endpoints (admin role).
    Admin,
}
