//! Request extractors shared by the handlers: strict JSON bodies that name
//! the failing field, and bearer authentication (required or optional).

use poem::http::header::AUTHORIZATION;
use poem::http::Method;
use poem::{Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, MetaSecurityScheme, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;
use watchme_core::domain::{ApiTokenGrant, RequestContext, Role, SessionId, TokenScope, UserId};
use watchme_core::ports::AccessClaims;

use crate::error::ApiError;
use crate::request as context;
use crate::security::RequestScope;

/// The largest request body accepted, in bytes (the guard's
/// [`RequestScope`] carries the configured one).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// Used when the router sets none.
    pub const DEFAULT: usize = 64 * 1024;
}

/// Deepest nesting of arrays and objects accepted in a JSON body: no DTO
/// needs more than 3, and deep nesting is a classic parser-exhaustion attack.
pub const MAX_JSON_DEPTH: usize = 16;

/// Longest string accepted anywhere in a JSON body, in bytes as written.
pub const MAX_JSON_STRING: usize = 4096;

/// Checks nesting depth and string lengths in one pass over the raw bytes,
/// before serde allocates anything for them.
pub(crate) fn check_json_shape(bytes: &[u8]) -> Result<(), String> {
    let (mut depth, mut in_string, mut escaped, mut len) = (0usize, false, false, 0usize);
    for &b in bytes {
        if in_string {
            len += 1;
            if len > MAX_JSON_STRING {
                return Err(format!("a string is longer than {MAX_JSON_STRING} bytes"));
            }
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                len = 0;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(format!("nesting is deeper than {MAX_JSON_DEPTH} levels"));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A JSON request body parsed with serde: unknown fields are refused where
/// the DTO says so, and every error names the JSON path at fault (poem's
/// own JSON payload reports type errors without the field).
///
/// `MIN_KIB` raises the body limit for this body above the configured one
/// (`WATCHME_MAX_BODY_KIB`): batch endpoints take up to 1,000 items.
pub struct JsonBody<T, const MIN_KIB: usize = 0>(pub T);

impl<T: Type, const MIN_KIB: usize> Payload for JsonBody<T, MIN_KIB> {
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

impl<T: Type + DeserializeOwned + Send, const MIN_KIB: usize> ParsePayload for JsonBody<T, MIN_KIB> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let configured = request.data::<RequestScope>().map_or(BodyLimit::DEFAULT, |s| s.state.http.max_body_bytes);
        let limit = configured.max(MIN_KIB * 1024);
        let bytes = body.take()?.into_bytes_limit(limit).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge(crate::error::body(
                "payload_too_large",
                format!("request body is larger than {limit} bytes"),
            )),
            other => ApiError::bad_request("invalid_body", format!("could not read the request body: {other}")),
        })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("invalid_body", "a JSON request body is required").into());
        }
        if let Err(why) = check_json_shape(&bytes) {
            return Err(ApiError::bad_request("json_too_complex", format!("request body refused: {why}")).into());
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
            } else if is_secret_field(&field) {
                // serde quotes the offending value ("invalid type: integer `1234`"); never echo a secret.
                ApiError::invalid_field(field, "must be a string").into()
            } else {
                ApiError::invalid_field(field, reason).into()
            }
        })
    }
}

/// Deserializes an optional field that may be left out but not be `null`
/// (`#[serde(default, deserialize_with = "non_null")]`): the schema has no
/// room for `null`, and a client sending it may mean "clear", which no
/// field here does.
///
/// # Errors
/// serde's error for a `null` or a value of the wrong type.
pub fn non_null<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    match <Option<T> as serde::Deserialize>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom("must not be null (leave the field out instead)")),
    }
}

/// Fields whose values are secrets: their parse errors never quote the value.
const SECRET_FIELDS: &[&str] = &["password", "refresh_token"];

fn is_secret_field(path: &str) -> bool {
    SECRET_FIELDS.iter().any(|f| path == *f || path.ends_with(&format!(".{f}")))
}

fn field_in_message(msg: &str) -> Option<String> {
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    None
}

impl<'a, T: Type + DeserializeOwned + Send, const MIN_KIB: usize> ApiExtractor<'a> for JsonBody<T, MIN_KIB> {
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
    /// The login session their token belongs to.
    pub session_id: Option<SessionId>,
    /// Set when they called with a personal API token.
    pub api_token: Option<ApiTokenGrant>,
}

impl Caller {
    /// The service-layer context for this caller and the current trace.
    pub fn ctx(&self) -> RequestContext {
        RequestContext { user_id: Some(self.user_id), role: self.role, trace: context::trace() }
    }

    /// What their access token asserted.
    pub fn claims(&self) -> AccessClaims {
        AccessClaims { user_id: self.user_id, role: self.role, session_id: self.session_id, api_token: self.api_token }
    }

    /// Refuses callers who did not log in (an API token may not manage
    /// sessions or tokens).
    ///
    /// # Errors
    /// A 403 for API tokens.
    pub fn require_login(&self) -> Result<(), ApiError> {
        match self.api_token {
            None => Ok(()),
            Some(_) => Err(ApiError::forbidden("API tokens cannot manage sessions or tokens; log in to do this")),
        }
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
///
/// Written out rather than derived: poem-openapi's `SecurityScheme` derive
/// reads the query string through a type it hides from its documentation
/// (for API keys in the query), which only its own service provides.
pub struct BearerAuth(pub Caller);

/// The security scheme's name in the spec.
const BEARER_SCHEME: &str = "bearerAuth";

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn check_bearer(req: &Request, token: &str) -> Result<Caller, ApiError> {
    let state = &req.data::<RequestScope>().ok_or_else(ApiError::internal_opaque)?.state;
    let checked = req.data::<crate::security::Authenticated>().filter(|a| a.token == token);
    let claims = match checked {
        Some(a) => a.claims.clone(),
        None => state.authenticate(token).await.map_err(ApiError::from)?,
    };
    context::record_user(&claims.user_id.to_string());
    let read_only = claims.api_token.is_some_and(|g| g.scope == TokenScope::Read);
    if read_only && !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(ApiError::forbidden("this API token is read-only: make a token with scope `write` to change data"));
    }
    Ok(Caller {
        user_id: claims.user_id,
        role: claims.role,
        session_id: claims.session_id,
        api_token: claims.api_token,
    })
}

/// The caller a request's bearer token names, for handlers outside
/// poem-openapi (the Trakt-compatible API).
///
/// # Errors
/// As [`BearerAuth`]: a 401 without a valid token, a 403 for a read-only
/// token on a write.
pub(crate) async fn caller(req: &Request) -> Result<Caller, ApiError> {
    let token = bearer_token(req).ok_or_else(ApiError::bearer_required)?;
    check_bearer(req, token).await
}

impl<'a> ApiExtractor<'a> for BearerAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            BEARER_SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "A JWT access token from `POST /auth/login`, or a personal API token (`wmp_...`) from \
                     `POST /me/tokens`, as `Authorization: Bearer <token>`.",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![BEARER_SCHEME]
    }

    async fn from_request(req: &'a Request, _: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        let token = bearer_token(req).ok_or_else(ApiError::bearer_required)?;
        check_bearer(req, token).await.map(Self).map_err(Into::into)
    }
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
    use super::{check_json_shape, field_in_message, MAX_JSON_DEPTH, MAX_JSON_STRING};

    #[test]
    fn deep_nesting_and_long_strings_are_refused() {
        let ok = format!("{}{}", "[".repeat(MAX_JSON_DEPTH), "]".repeat(MAX_JSON_DEPTH));
        assert!(check_json_shape(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_JSON_DEPTH + 1), "]".repeat(MAX_JSON_DEPTH + 1));
        assert!(check_json_shape(deep.as_bytes()).unwrap_err().contains("deeper"));
        let brackets_in_strings = format!(r#"{{"a": "{}"}}"#, "[".repeat(100));
        assert!(check_json_shape(brackets_in_strings.as_bytes()).is_ok(), "brackets inside strings do not count");
        let escaped_quote = r#"{"a": "x\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#;
        assert!(check_json_shape(escaped_quote.as_bytes()).is_ok(), "an escaped quote does not end the string");
        let long = format!(r#"{{"a": "{}"}}"#, "x".repeat(MAX_JSON_STRING + 1));
        assert!(check_json_shape(long.as_bytes()).unwrap_err().contains("longer"));
    }

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

/// One item of a batch body, parsed on its own: a malformed item is kept as
/// its error (path inside the item, reason), so a handler can name every
/// bad item of the batch, not only the first. The schema is `T`'s.
#[derive(Debug)]
pub struct Lenient<T>(pub Result<T, crate::error::FieldIssue>);

impl<T: DeserializeOwned> Lenient<T> {
    fn parse(value: serde_json::Value) -> Self {
        Lenient(serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            crate::error::FieldIssue { field, reason: e.into_inner().to_string() }
        }))
    }
}

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Lenient::parse(value))
    }
}

impl<T: Type> Type for Lenient<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<T: Type + DeserializeOwned> poem_openapi::types::ParseFromJSON for Lenient<T> {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        let value = value.unwrap_or_default();
        Ok(Lenient::parse(value))
    }
}

impl<T: Type + poem_openapi::types::ToJSON> poem_openapi::types::ToJSON for Lenient<T> {
    fn to_json(&self) -> Option<serde_json::Value> {
        self.0.as_ref().ok().and_then(T::to_json)
    }
}
