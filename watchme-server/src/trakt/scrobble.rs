//! `/scrobble/{start,pause,stop}` and `/checkin`: a player's reports,
//! through the scrobble service. A stop at or past the threshold is a play
//! (`action: scrobble`); a repeat within the window is a 409 with the play's
//! `watched_at` and when the window closes.

use poem::http::StatusCode;
use poem::Response;
use serde_json::{json, Value};
use watchme_core::domain::{PlaySource, Progress};
use watchme_core::services::{Scrobble, ScrobbleError, ScrobbleEvent, ScrobbleOutcome};

use super::call::{self, Call};
use super::wire;
use crate::error::ApiError;

/// The HTTP answer of a scrobble error (a conflict is answered by the handlers).
pub(super) fn error(e: ScrobbleError) -> ApiError {
    match e {
        ScrobbleError::Unauthenticated => ApiError::bearer_required(),
        ScrobbleError::MovieNotFound => ApiError::not_found("movie_not_found", "no movie matches the item"),
        ScrobbleError::Duplicate { .. } => ApiError::Conflict(crate::error::body("duplicate", e.to_string())),
        ScrobbleError::InvalidTime(why) => ApiError::Unprocessable(crate::error::body("invalid_watched_at", why)),
        ScrobbleError::MovieSourceUnavailable(c) => {
            ApiError::unavailable("the movie source", c.as_ref() as &(dyn std::error::Error + 'static))
        }
        ScrobbleError::Storage(s) => s.into(),
    }
}

const SHARING: fn() -> Value = || json!({ "twitter": false, "mastodon": false, "tumblr": false });

/// The movie the body names (`movie`); an episode or nothing is a 404.
async fn movie_of(c: &Call, body: &serde_json::Map<String, Value>) -> Result<wire::Resolved, ApiError> {
    let item = body.get("movie").filter(|m| m.is_object());
    let found = match item {
        Some(m) => wire::resolve(&c.state, m).await?,
        None if body.contains_key("episode") || body.contains_key("show") => None,
        None => return Err(ApiError::invalid_field("movie", "is required")),
    };
    found.ok_or_else(|| ApiError::not_found("movie_not_found", "no movie matches the item"))
}

fn progress(body: &serde_json::Map<String, Value>) -> Result<Progress, ApiError> {
    match body.get("progress") {
        None | Some(Value::Null) => Progress::new(0.0).map_err(|e| ApiError::invalid_field("progress", e)),
        Some(Value::Number(n)) => {
            let p = n.as_f64().unwrap_or(f64::NAN);
            Progress::new(p).map_err(|e| {
                ApiError::Unprocessable(crate::error::body(
                    "invalid_progress",
                    format!("invalid value for `progress`: {e}"),
                ))
            })
        }
        Some(_) => Err(ApiError::invalid_field("progress", "must be a number from 0 to 100")),
    }
}

/// A 409 with when the duplicate play was and when another may be recorded.
fn conflict(e: &ScrobbleError) -> Option<Response> {
    let ScrobbleError::Duplicate { watched_at, expires_at, .. } = e else { return None };
    let extra = [("watched_at", json!(wire::ts(*watched_at))), ("expires_at", json!(wire::ts(*expires_at)))];
    Some(call::error(StatusCode::CONFLICT, "duplicate", &e.to_string(), &extra))
}

async fn report(c: Call, event: ScrobbleEvent) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let body = c.json()?;
    let progress = progress(&body)?;
    let movie = movie_of(&c, &body).await?;
    let s = Scrobble { movie: movie.id(), progress, event, source: PlaySource::Trakt, watched_at: None };
    let outcome = match c.state.scrobbles.scrobble(&ctx, s).await {
        Ok(o) => o,
        Err(e) => return conflict(&e).ok_or_else(|| error(e)),
    };
    let (id, action) = match &outcome {
        ScrobbleOutcome::Watching(_) => (json!(0), "start"),
        ScrobbleOutcome::Paused(_) => (json!(0), "pause"),
        ScrobbleOutcome::Played(p) => (json!(p.id.to_string()), "scrobble"),
    };
    Ok(call::created(&json!({
        "id": id,
        "action": action,
        "progress": progress.get(),
        "sharing": SHARING(),
        "movie": movie.object(),
    })))
}

/// `POST /scrobble/start`.
pub(super) async fn start(c: Call) -> Result<Response, ApiError> {
    report(c, ScrobbleEvent::Start).await
}

/// `POST /scrobble/pause`.
pub(super) async fn pause(c: Call) -> Result<Response, ApiError> {
    report(c, ScrobbleEvent::Pause).await
}

/// `POST /scrobble/stop`.
pub(super) async fn stop(c: Call) -> Result<Response, ApiError> {
    report(c, ScrobbleEvent::Stop).await
}

/// `POST /checkin`: a play now, and "watching" for the runtime; a 409
/// with `expires_at` while another check-in or playback runs.
pub(super) async fn checkin(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let body = c.json()?;
    let movie = movie_of(&c, &body).await?;
    match c.state.scrobbles.check_in(&ctx, movie.id(), PlaySource::Trakt).await {
        Ok(play) => Ok(call::created(&json!({
            "id": play.id.to_string(),
            "watched_at": wire::ts(play.watched_at),
            "sharing": SHARING(),
            "movie": movie.object(),
        }))),
        Err(e) => conflict(&e).ok_or_else(|| error(e)),
    }
}

/// `DELETE /checkin`: 204 whether or not one was running.
pub(super) async fn checkin_delete(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    c.state.scrobbles.cancel_check_in(&ctx).await.map_err(error)?;
    Ok(call::no_content())
}
