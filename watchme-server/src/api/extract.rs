//! Request extractors shared by the handlers: strict JSON bodies that name
//! the failing field, and bearer authentication (required or optional).

use std::sync::Arc;

use poem::http::header::AUTHORIZATION;
use poem::{Request, RequestBody};
use poem_openapi::auth::Bearer;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};
use serde::de::DeserializeOwned;
use watchme_core::domain::{RequestContext, Role, UserId};

use super::error::ApiError;
use crate::app::AppState;
use crate::context;

/// The largest request body accepted, in bytes (request data set by the router).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// Used when the router sets none.
    pub const DEFAULT: usize = 64 * 1024;
}

/// A JSON request body parsed with serde: unknown fields are refused where
/// the DTO says so, and every error names the JSON path at fault (poem's
/// own JSON payload reports type errors without the field).
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        content_type.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = request.data::<BodyLimit>().map_or(BodyLimit::DEFAULT, |l| l.0);
        let bytes = body.take()?.into_bytes_limit(limit).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge(super::error::body(
                "payload_too_large",
                format!("request body is larger than {limit} bytes"),
            )),
            other => ApiError::bad_request("invalid_body", format!("could not read the request body: {other}")),
        })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("invalid_body", "a JSON request body is required").into());
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(JsonBody).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let reason = inner.to_string();
            // serde reports a missing or unknown field at the parent path; name the field itself.
            let field = match field_in_message(&reason) {
                None => path,
                Some(f) if path == "." => f,
                Some(f) if path == f || path.ends_with(&format!(".{f}")) => path,
                Some(f) => format!("{path}.{f}"),
            };
            if inner.is_syntax() || inner.is_eof() {
                ApiError::bad_request("invalid_json", format!("request body is not valid JSON: {reason}")).into()
            } else {
                ApiError::invalid_field(field, reason).into()
            }
        })
    }
}

fn field_in_message(msg: &str) -> Option<String> {
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    None
}

impl<'a, T: Type + DeserializeOwned + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: Self::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => <Self as ParsePayload>::from_request(request, body).await,
            _ => Err(poem::Error::from_status(poem::http::StatusCode::UNSUPPORTED_MEDIA_TYPE)),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who.
    pub user_id: UserId,
    /// Their role.
    pub role: Role,
}

impl Caller {
    /// The service-layer context for this caller and the current trace.
    pub fn ctx(&self) -> RequestContext {
        RequestContext { user_id: Some(self.user_id), role: self.role, trace: context::trace() }
    }

    /// Refuses callers without the admin role.
    ///
    /// # Errors
    /// A 403 for non-admins.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("this operation requires the admin role"))
        }
    }
}

/// A JWT access token from `POST /auth/login`, as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = req.data::<Arc<AppState>>().ok_or_else(ApiError::internal_opaque)?;
    let claims = state.auth.authenticate(&bearer.token).map_err(ApiError::from)?;
    context::record_user(&claims.user_id.to_string());
    Ok(Caller { user_id: claims.user_id, role: claims.role })
}

/// Authentication that may be absent: no `Authorization` header means an
/// anonymous caller, but a header with a bad token is still a 401 (a
/// client with an expired token must learn it, not be silently anonymous).
pub struct MaybeAuth(pub Option<Caller>);

impl MaybeAuth {
    /// The service-layer context: the caller's, or an anonymous one.
    pub fn ctx(&self) -> RequestContext {
        match &self.0 {
            Some(c) => c.ctx(),
            None => RequestContext::anonymous().with_trace(context::trace()),
        }
    }
}

impl<'a> ApiExtractor<'a> for MaybeAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        BearerAuth::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        BearerAuth::security_schemes()
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        if !req.headers().contains_key(AUTHORIZATION) {
            return Ok(Self(None));
        }
        BearerAuth::from_request(req, body, opts).await.map(|b| Self(Some(b.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::field_in_message;

    #[test]
    fn serde_field_messages_name_the_field() {
        assert_eq!(field_in_message("missing field `email` at line 1 column 2").as_deref(), Some("email"));
        assert_eq!(
            field_in_message("unknown field `pasword`, expected one of `email`, `password`").as_deref(),
            Some("pasword")
        );
        assert_eq!(field_in_message("invalid type: integer `5`, expected a string"), None);
    }
}
