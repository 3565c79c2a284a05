//! The caller's media-server webhooks (`/me/webhooks`) and what they are
//! watching now (`/me/watching`). Deliveries arrive at
//! `/webhooks/{kind}/{secret}` (`crate::webhooks`, outside this document:
//! each server posts its own format; docs/webhooks.md).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{Webhook, WebhookId, WebhookKind};

use super::extract::{non_null, BearerAuth, JsonBody};
use super::history::MovieCardDto;
use super::schema::UuidParam;
use super::tags::Tag;
use crate::error::ApiError;
use crate::state::AppState;

/// Which server posts to a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum KindDto {
    /// Plex Media Server (Settings → Webhooks).
    Plex,
    /// Jellyfin's webhook plugin.
    Jellyfin,
    /// Emby (Settings → Webhooks).
    Emby,
    /// WatchMe's own JSON, for scripts and other servers.
    Generic,
}

impl From<KindDto> for WebhookKind {
    fn from(k: KindDto) -> Self {
        match k {
            KindDto::Plex => Self::Plex,
            KindDto::Jellyfin => Self::Jellyfin,
            KindDto::Emby => Self::Emby,
            KindDto::Generic => Self::Generic,
        }
    }
}

/// A new webhook.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// Which server will post to it.
    pub kind: KindDto,
    /// Only deliveries for this media-server user count; others are ignored.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"[^\s\u0085]"))]
    #[serde(default, deserialize_with = "non_null")]
    pub media_server_user: Option<String>,
}

/// A webhook (never its secret).
#[derive(Debug, Clone, Object)]
pub struct WebhookDto {
    /// Its id.
    pub id: Uuid,
    /// `plex`, `jellyfin`, `emby` or `generic`.
    pub kind: String,
    /// The media-server user it is limited to.
    #[oai(skip_serializing_if_is_none)]
    pub media_server_user: Option<String>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it last received a delivery.
    #[oai(skip_serializing_if_is_none)]
    pub last_delivery_at: Option<OffsetDateTime>,
    /// Deliveries that changed or confirmed something.
    pub accepted: u64,
    /// Deliveries with nothing to do (not a film, another user, an untracked event).
    pub ignored: u64,
    /// Deliveries that could not be used (no film matches, a bad payload).
    pub refused: u64,
}

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.as_uuid(),
            kind: w.kind.as_str().into(),
            media_server_user: w.media_server_user,
            created_at: w.created_at,
            last_delivery_at: w.last_delivery_at,
            accepted: w.accepted,
            ignored: w.ignored,
            refused: w.refused,
        }
    }
}

/// A webhook just made, with its URL: shown this once.
#[derive(Debug, Clone, Object)]
pub struct CreatedWebhookDto {
    /// The webhook.
    #[oai(flatten)]
    pub webhook: WebhookDto,
    /// Paste this into the media server; it holds the secret, shown only now.
    pub url: String,
}

/// What the caller is watching now.
#[derive(Debug, Clone, Object)]
pub struct WatchingDto {
    /// The movie.
    pub movie: MovieCardDto,
    /// How far in, percent.
    pub progress: f64,
    /// `watching` (playing) or `paused` (paused, or stopped short of the end).
    pub state: String,
    /// `scrobble` (a player or media server) or `checkin`.
    pub action: String,
    /// Who reported it: `trakt`, `plex`, `jellyfin`, `emby`, `generic`, `api`.
    pub source: String,
    /// When playback started.
    pub started_at: OffsetDateTime,
    /// When it stops counting as watching now.
    pub expires_at: OffsetDateTime,
}

/// `POST /me/webhooks`.
#[derive(ApiResponse)]
pub enum CreateResponse {
    /// Made; its URL is in the answer, and only there.
    #[oai(status = 201)]
    Created(Json<CreatedWebhookDto>),
}

/// `GET /me/webhooks`.
#[derive(ApiResponse)]
pub enum ListResponse {
    /// The caller's webhooks, newest first.
    #[oai(status = 200)]
    Ok(Json<Vec<WebhookDto>>),
}

/// `DELETE /me/webhooks/{webhook_id}`.
#[derive(ApiResponse)]
pub enum DeleteResponse {
    /// Revoked: its URL answers 404 from now on.
    #[oai(status = 204)]
    Deleted,
}

/// `GET /me/watching`.
#[derive(ApiResponse)]
pub enum WatchingResponse {
    /// Something is playing.
    #[oai(status = 200)]
    Ok(Json<WatchingDto>),
    /// Nothing is playing.
    #[oai(status = 204)]
    Nothing,
}

/// Webhooks and what is playing.
pub struct WebhooksApi {
    state: Arc<AppState>,
}

impl WebhooksApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// The absolute URL a server posts to, from the request's own host.
fn url(req: &Request, path: &str) -> String {
    let host = req.header("host").unwrap_or("localhost");
    let scheme = if req.header("x-forwarded-proto") == Some("https") { "https" } else { "http" };
    format!("{scheme}://{host}{path}")
}

#[OpenApi(tag = "Tag::Webhooks")]
impl WebhooksApi {
    /// Make a webhook for a media server; answers its URL (with its secret) once.
    #[oai(path = "/me/webhooks", method = "post", operation_id = "create_webhook")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: JsonBody<NewWebhookRequest>,
    ) -> Result<CreateResponse, ApiError> {
        let b = body.0;
        let kind: WebhookKind = b.kind.into();
        let (webhook, secret) = self.state.webhooks.create(&auth.0.ctx(), kind, b.media_server_user.as_deref()).await?;
        let url = url(req, &format!("/webhooks/{kind}/{secret}"));
        Ok(CreateResponse::Created(Json(CreatedWebhookDto { webhook: webhook.into(), url })))
    }

    /// Your webhooks: kind, filter, when made, last delivery, deliveries by outcome.
    #[oai(path = "/me/webhooks", method = "get", operation_id = "my_webhooks")]
    async fn list(&self, auth: BearerAuth) -> Result<ListResponse, ApiError> {
        let hooks = self.state.webhooks.list(&auth.0.ctx()).await?;
        Ok(ListResponse::Ok(Json(hooks.into_iter().map(WebhookDto::from).collect())))
    }

    /// Revoke a webhook.
    #[oai(path = "/me/webhooks/:webhook_id", method = "delete", operation_id = "delete_webhook")]
    async fn delete(&self, auth: BearerAuth, webhook_id: Path<UuidParam>) -> Result<DeleteResponse, ApiError> {
        let id = WebhookId::from_uuid(webhook_id.0.get("webhook_id")?);
        self.state.webhooks.revoke(&auth.0.ctx(), id).await?;
        Ok(DeleteResponse::Deleted)
    }

    /// What you are watching now (from a media server, a player or a
    /// check-in): the latest playback until it expires (its remaining
    /// runtime), running or paused; 204 when there is none.
    #[oai(path = "/me/watching", method = "get", operation_id = "watching")]
    async fn watching(&self, auth: BearerAuth) -> Result<WatchingResponse, ApiError> {
        let now = self.state.scrobbles.now_playing(&auth.0.ctx()).await.map_err(|e| match e {
            watchme_core::services::ScrobbleError::Storage(s) => ApiError::from(s),
            other => ApiError::internal(&other),
        })?;
        Ok(match now {
            Some(p) => WatchingResponse::Ok(Json(WatchingDto {
                movie: p.movie.into(),
                progress: p.progress.get(),
                state: p.state.as_str().into(),
                action: p.action.as_str().into(),
                source: p.source.as_str().into(),
                started_at: p.started_at,
                expires_at: p.expires_at,
            })),
            None => WatchingResponse::Nothing,
        })
    }
}
