//! Each media server's delivery format, read into a [`MediaEvent`]: Plex
//! (a multipart form whose `payload` part is JSON; the `thumb` part is
//! skipped), Jellyfin (the official webhook plugin's template fields, or
//! the unofficial plugin's default JSON), Emby, and WatchMe's generic JSON.
//! docs/webhooks.md shows a real delivery of each.

use serde_json::Value;
use watchme_core::domain::{ImdbId, MediaAction, MediaEvent, MovieId, MovieKey, Progress, Rating};

/// A field by name, ignoring case (servers disagree on `Tmdb` and `tmdb`).
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A string or a number as text (templates render numbers as strings).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    text(v)?.parse().ok()
}

/// `true`, or `"True"` as a template renders it.
fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn key(tmdb: Option<String>, imdb: Option<String>, title: Option<String>, year: Option<f64>) -> MovieKey {
    MovieKey {
        tmdb: tmdb.and_then(|t| t.parse::<i64>().ok()).and_then(|n| MovieId::new(n).ok()),
        imdb: imdb.and_then(|i| ImdbId::parse(&i).ok()),
        title,
        original_title: None,
        year: year.map(|y| y as i32).filter(|y| (1870..=2100).contains(y)),
    }
}

fn progress(position: Option<f64>, runtime: Option<f64>) -> Option<Progress> {
    let (p, r) = (position?, runtime?);
    (r > 0.0).then(|| Progress::new((p / r * 100.0).clamp(0.0, 100.0)).ok()).flatten()
}

fn film(kind: Option<String>, movie: MovieKey) -> Result<MovieKey, String> {
    match kind {
        Some(k) if k.eq_ignore_ascii_case("movie") => Ok(movie),
        Some(k) => Err(format!("a {}, not a film", k.to_lowercase())),
        None => Err("the delivery names no item".into()),
    }
}

/// Plex: the `payload` part's JSON.
pub fn plex(v: &Value) -> MediaEvent {
    let name = text(field(v, "event")).unwrap_or_default();
    let meta = field(v, "Metadata").cloned().unwrap_or(Value::Null);
    let action = match name.as_str() {
        "media.play" | "media.resume" => Some(MediaAction::Start),
        "media.pause" => Some(MediaAction::Pause),
        "media.stop" => Some(MediaAction::Stop),
        "media.scrobble" => Some(MediaAction::Completed),
        "media.rate" => {
            let r = number(field(v, "rating")).or_else(|| number(field(&meta, "userRating")));
            Some(MediaAction::Rate(r.and_then(|r| Rating::new(r.round() as i64).ok())))
        }
        _ => None,
    };
    let (mut tmdb, mut imdb) = (None, None);
    let guids = field(&meta, "Guid").and_then(Value::as_array).cloned().unwrap_or_default();
    let legacy = text(field(&meta, "guid")).into_iter();
    for id in guids.iter().filter_map(|g| text(field(g, "id"))).chain(legacy) {
        if let Some(rest) = id.strip_prefix("tmdb://").or_else(|| id.strip_prefix("com.plexapp.agents.themoviedb://")) {
            tmdb = tmdb.or(Some(rest.split('?').next().unwrap_or(rest).to_owned()));
        } else if let Some(rest) = id.strip_prefix("imdb://").or_else(|| id.strip_prefix("com.plexapp.agents.imdb://"))
        {
            imdb = imdb.or(Some(rest.split('?').next().unwrap_or(rest).to_owned()));
        }
    }
    let movie = key(tmdb, imdb, text(field(&meta, "title")), number(field(&meta, "year")));
    MediaEvent {
        name,
        action,
        movie: film(text(field(&meta, "type")), movie),
        progress: progress(number(field(&meta, "viewOffset")), number(field(&meta, "duration"))),
        server_user: field(v, "Account").and_then(|a| text(field(a, "title"))),
        watched_at: None,
    }
}

/// Jellyfin: the official plugin's template fields (`NotificationType`
/// ...), or the unofficial plugin's default JSON (`Event`, `Item`, `User`).
pub fn jellyfin(v: &Value) -> MediaEvent {
    if field(v, "NotificationType").is_some() {
        return jellyfin_official(v);
    }
    let name = text(field(v, "Event")).unwrap_or_default();
    let item = field(v, "Item").cloned().unwrap_or(Value::Null);
    let data = field(&item, "UserData").cloned().unwrap_or(Value::Null);
    let action = match name.to_ascii_lowercase().as_str() {
        "play" | "resume" | "playbackstart" | "progress" | "playbackprogress" => Some(MediaAction::Start),
        "pause" => Some(MediaAction::Pause),
        "stop" | "playbackstop" if flag(field(&data, "Played")) => Some(MediaAction::Completed),
        "stop" | "playbackstop" => Some(MediaAction::Stop),
        "scrobble" | "markplayed" => Some(MediaAction::Completed),
        _ => None,
    };
    let position = number(field(&data, "PlaybackPositionTicks"));
    item_event(v, name, action, &item, position)
}

/// The part Emby and the unofficial Jellyfin plugin share (Jellyfin began
/// as Emby): the film from `Item` (`Type`, `Name`, `ProductionYear`,
/// `ProviderIds`, `RunTimeTicks`), the user from `User.Name`.
fn item_event(v: &Value, name: String, action: Option<MediaAction>, item: &Value, position: Option<f64>) -> MediaEvent {
    let ids = field(item, "ProviderIds").cloned().unwrap_or(Value::Null);
    let movie = key(
        text(field(&ids, "Tmdb")),
        text(field(&ids, "Imdb")),
        text(field(item, "Name")),
        number(field(item, "ProductionYear")),
    );
    MediaEvent {
        name,
        action,
        movie: film(text(field(item, "Type")), movie),
        progress: progress(position, number(field(item, "RunTimeTicks"))),
        server_user: field(v, "User").and_then(|u| text(field(u, "Name"))),
        watched_at: None,
    }
}

fn jellyfin_official(v: &Value) -> MediaEvent {
    let name = text(field(v, "NotificationType")).unwrap_or_default();
    let action = match name.as_str() {
        "PlaybackStart" => Some(MediaAction::Start),
        "PlaybackProgress" if flag(field(v, "IsPaused")) => Some(MediaAction::Pause),
        "PlaybackProgress" => Some(MediaAction::Start),
        "PlaybackStop" if flag(field(v, "PlayedToCompletion")) => Some(MediaAction::Completed),
        "PlaybackStop" => Some(MediaAction::Stop),
        "UserDataSaved" if flag(field(v, "Played")) => Some(MediaAction::Completed),
        _ => None,
    };
    let movie = key(
        text(field(v, "Provider_tmdb")),
        text(field(v, "Provider_imdb")),
        text(field(v, "Name")),
        number(field(v, "Year")),
    );
    MediaEvent {
        name,
        action,
        movie: film(text(field(v, "ItemType")), movie),
        progress: progress(number(field(v, "PlaybackPositionTicks")), number(field(v, "RunTimeTicks"))),
        server_user: text(field(v, "NotificationUsername")),
        watched_at: None,
    }
}

/// Emby: `Event` (`playback.start` ...), `Item`, `User`, `PlaybackInfo`.
pub fn emby(v: &Value) -> MediaEvent {
    let name = text(field(v, "Event")).unwrap_or_default();
    let item = field(v, "Item").cloned().unwrap_or(Value::Null);
    let info = field(v, "PlaybackInfo").cloned().unwrap_or(Value::Null);
    let action = match name.as_str() {
        "playback.start" | "playback.unpause" => Some(MediaAction::Start),
        "playback.pause" => Some(MediaAction::Pause),
        "playback.stop" if flag(field(&info, "PlayedToCompletion")) => Some(MediaAction::Completed),
        "playback.stop" => Some(MediaAction::Stop),
        "item.markplayed" => Some(MediaAction::Completed),
        "item.rate" => {
            let r = field(&item, "UserData").and_then(|d| number(field(d, "Rating")));
            Some(MediaAction::Rate(r.and_then(|r| Rating::new(r.round() as i64).ok())))
        }
        _ => None,
    };
    let position = number(field(&info, "PositionTicks"));
    item_event(v, name, action, &item, position)
}

/// WatchMe's generic JSON: `{event: start|pause|stop|scrobble, movie:
/// {tmdb?, imdb?, title?, year?}, progress?, watched_at?, user?}`.
pub fn generic(v: &Value) -> MediaEvent {
    let name = text(field(v, "event")).unwrap_or_default();
    let action = match name.as_str() {
        "start" => Some(MediaAction::Start),
        "pause" => Some(MediaAction::Pause),
        "stop" => Some(MediaAction::Stop),
        "scrobble" => Some(MediaAction::Completed),
        _ => None,
    };
    let movie = match field(v, "movie") {
        Some(m) if m.is_object() => {
            Ok(key(text(field(m, "tmdb")), text(field(m, "imdb")), text(field(m, "title")), number(field(m, "year"))))
        }
        _ => Err("no movie in the delivery".into()),
    };
    MediaEvent {
        name,
        action,
        movie,
        progress: number(field(v, "progress")).and_then(|p| Progress::new(p.clamp(0.0, 100.0)).ok()),
        server_user: text(field(v, "user")),
        watched_at: text(field(v, "watched_at"))
            .and_then(|t| time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plex_reads_guids_progress_and_the_account() {
        let e = plex(&json!({
            "event": "media.stop", "Account": {"title": "ada"},
            "Metadata": {"type": "movie", "title": "Fight Club", "year": 1999, "viewOffset": 4_000_000, "duration": 8_000_000,
                         "Guid": [{"id": "imdb://tt0137523"}, {"id": "tmdb://550"}]}
        }));
        assert_eq!(e.action, Some(MediaAction::Stop));
        let m = e.movie.unwrap();
        assert_eq!(
            (m.tmdb.map(|t| t.get()), m.imdb.map(|i| i.as_str().to_owned())),
            (Some(550), Some("tt0137523".into()))
        );
        assert_eq!((e.progress.map(|p| p.get()), e.server_user.as_deref()), (Some(50.0), Some("ada")));
        let legacy = plex(
            &json!({"event": "media.scrobble", "Metadata": {"type": "movie", "guid": "com.plexapp.agents.imdb://tt0133093?lang=en"}}),
        );
        assert_eq!(legacy.movie.unwrap().imdb.map(|i| i.as_str().to_owned()), Some("tt0133093".into()));
        let episode = plex(&json!({"event": "media.scrobble", "Metadata": {"type": "episode"}}));
        assert_eq!(episode.movie, Err("a episode, not a film".into()));
    }

    #[test]
    fn jellyfin_reads_both_plugins_and_template_strings() {
        let official = jellyfin(&json!({
            "NotificationType": "PlaybackStop", "ItemType": "Movie", "Provider_tmdb": "603", "PlayedToCompletion": "True",
            "PlaybackPositionTicks": "100", "RunTimeTicks": "100", "NotificationUsername": "ada"
        }));
        assert_eq!(official.action, Some(MediaAction::Completed));
        assert_eq!(official.movie.unwrap().tmdb.map(|t| t.get()), Some(603));
        let unofficial = jellyfin(&json!({
            "Event": "Stop", "User": {"Name": "ada"},
            "Item": {"Type": "Movie", "ProviderIds": {"Imdb": "tt0133093"}, "RunTimeTicks": 1000, "UserData": {"Played": false, "PlaybackPositionTicks": 300}}
        }));
        assert_eq!((unofficial.action, unofficial.progress.map(|p| p.get())), (Some(MediaAction::Stop), Some(30.0)));
    }

    #[test]
    fn emby_and_generic_deliveries() {
        let e = emby(
            &json!({"Event": "playback.stop", "Item": {"Type": "Movie", "ProviderIds": {"Tmdb": "550"}}, "PlaybackInfo": {"PlayedToCompletion": true}}),
        );
        assert_eq!(e.action, Some(MediaAction::Completed));
        let g = generic(&json!({"event": "scrobble", "movie": {"title": "Heat", "year": 1995}, "progress": 120}));
        assert_eq!((g.action, g.progress.map(|p| p.get())), (Some(MediaAction::Completed), Some(100.0)));
        assert!(generic(&json!({"event": "scrobble"})).movie.is_err());
    }
}
