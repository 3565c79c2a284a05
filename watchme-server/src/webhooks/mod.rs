//! `POST /webhooks/{kind}/{secret}`: deliveries from media servers. The
//! secret in the path names the webhook (an unknown or revoked one is a
//! bare 404: a caller learns nothing); deliveries are rate limited per
//! secret (and per IP by the guard); a body over 10 MiB is refused from its
//! `Content-Length`, or once that much was read; the server's format is
//! read into a `MediaEvent` (`formats`) and applied by the webhook service.
//! Anything the server should not retry (an episode, another user, a film
//! nothing matches) is a 200 saying why.

mod formats;

use poem::http::header::CONTENT_LENGTH;
use poem::http::StatusCode;
use poem::web::Multipart;
use poem::{Body, Endpoint, IntoResponse, Request, RequestBody, Response};
use serde_json::{json, Value};
use watchme_core::domain::{DeliveryOutcome, WebhookKind};
use watchme_core::services::{Requester, WebhookError};

use crate::error::{body, ApiError};
use crate::security::{RateSlot, RequestScope};

/// Largest delivery: a Plex payload with its thumbnail is far smaller.
pub const WEBHOOK_MAX_BYTES: usize = 10 * 1024 * 1024;

/// The delivery endpoint (mounted at `/webhooks/:kind/:secret`).
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookEndpoint;

fn not_found() -> ApiError {
    ApiError::not_found("not_found", "not found")
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(body(
        "payload_too_large",
        format!("a delivery is at most {} MiB", WEBHOOK_MAX_BYTES >> 20),
    ))
}

/// The JSON of a delivery: the body, or a form's `payload` (Plex) or
/// `data` (Emby) part; other parts (Plex's `thumb`) are skipped.
async fn payload(req: &Request, bytes: bytes::Bytes) -> Result<Value, ApiError> {
    let multipart = req.content_type().is_some_and(|t| t.starts_with("multipart/form-data"));
    let json = if multipart {
        let mut form = <Multipart as poem::FromRequest>::from_request(req, &mut RequestBody::new(Body::from(bytes)))
            .await
            .map_err(|e| ApiError::bad_request("invalid_body", format!("not a multipart form: {e}")))?;
        let mut found = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request("invalid_body", format!("a form part cannot be read: {e}")))?
        {
            if matches!(field.name(), Some("payload" | "data")) {
                found = Some(field.bytes().await.map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?);
                break;
            }
        }
        found.ok_or_else(|| ApiError::invalid_field("payload", "the form has no payload part"))?
    } else {
        bytes.to_vec()
    };
    if let Err(why) = crate::api::extract::check_json_shape(&json) {
        return Err(ApiError::bad_request("json_too_complex", format!("delivery refused: {why}")));
    }
    serde_json::from_slice(&json)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("the delivery is not valid JSON: {e}")))
}

async fn deliver(req: Request) -> Result<Response, ApiError> {
    let state = req.data::<RequestScope>().ok_or_else(ApiError::internal_opaque)?.state.clone();
    let kind: WebhookKind = req.raw_path_param("kind").unwrap_or_default().parse().map_err(|_| not_found())?;
    let secret = req.raw_path_param("secret").unwrap_or_default().to_owned();
    let declared = req.header(CONTENT_LENGTH.as_str()).and_then(|l| l.parse::<u64>().ok());
    if declared.is_some_and(|l| l > WEBHOOK_MAX_BYTES as u64) {
        return Err(too_large());
    }
    if let Some(limits) = &state.limits {
        let d = limits.request(Requester::Anonymous(&state.webhooks.rate_key(&secret))).await;
        RateSlot::record(&req, d);
        if !d.allowed {
            return Err(ApiError::rate_limited(&d));
        }
    }
    let webhook = state.webhooks.find(kind, &secret).await.map_err(ApiError::from)?.ok_or_else(not_found)?;
    let mut req = req;
    let bytes = req.take_body().into_bytes_limit(WEBHOOK_MAX_BYTES).await.map_err(|e| match e {
        poem::error::ReadBodyError::PayloadTooLarge => too_large(),
        other => ApiError::bad_request("invalid_body", format!("could not read the delivery: {other}")),
    })?;
    let json = payload(&req, bytes).await?;
    let event = match kind {
        WebhookKind::Plex => formats::plex(&json),
        WebhookKind::Jellyfin => formats::jellyfin(&json),
        WebhookKind::Emby => formats::emby(&json),
        WebhookKind::Generic => formats::generic(&json),
    };
    let done = state.webhooks.deliver(&webhook, &event).await.map_err(ApiError::from)?;
    let key = match done.outcome {
        DeliveryOutcome::Accepted => "accepted",
        DeliveryOutcome::Ignored => "ignored",
        DeliveryOutcome::Refused => "refused",
    };
    let answer = serde_json::to_vec(&json!({ key: done.detail, "event": event.name })).unwrap_or_default();
    Ok(Response::builder().status(StatusCode::OK).content_type("application/json").body(answer))
}

impl Endpoint for WebhookEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(deliver(req).await.unwrap_or_else(IntoResponse::into_response))
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Unauthenticated => Self::bearer_required(),
            WebhookError::InvalidFilter => Self::invalid_field("media_server_user", &e),
            WebhookError::NotFound => Self::not_found("webhook_not_found", "you have no webhook with this id"),
            WebhookError::Unavailable(c) => {
                Self::unavailable("the movie source", c.as_ref() as &(dyn std::error::Error + 'static))
            }
            WebhookError::Internal(c) => Self::internal(c.as_ref() as &(dyn std::error::Error + 'static)),
            WebhookError::Storage(s) => s.into(),
        }
    }
}
