//! `SerdeJson<T>`: a JSON response written straight from serde. The schema
//! in the spec is `T`'s, as with poem-openapi's `Json<T>`, but the body is
//! encoded by `serde_json::to_vec` instead of building a `serde_json::Value`
//! first, which costs as much as the rest of a cached movie request.
//! `EncodedJson<T>`: the same, encoded earlier (a response body kept for
//! reuse). `WithCacheStatus<P>`: a payload with its `X-Cache` header.

use std::marker::PhantomData;

use bytes::Bytes;
use poem::http::{HeaderMap, HeaderName, HeaderValue};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::ApiResponse;
use serde::Serialize;
use watchme_core::services::CacheStatus;

/// The content type of every JSON body.
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A JSON body encoded by serde; `T` must serialise exactly as its schema says.
pub struct SerdeJson<T>(pub T);

impl<T: Type + Serialize + Send> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = JSON_UTF8;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Serialize + Send> SerdeJson<T> {
    /// The body, encoded once to be served many times.
    pub fn encode(&self) -> Result<EncodedJson<T>, serde_json::Error> {
        serde_json::to_vec(&self.0).map(|bytes| EncodedJson(bytes.into(), PhantomData))
    }
}

impl<T: Type + Serialize + Send> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        match self.encode() {
            Ok(encoded) => encoded.into_response(),
            // Plain data with string keys cannot fail to encode; answer the opaque 500 if it ever does.
            Err(_) => crate::error::ApiError::internal_opaque().into_response(),
        }
    }
}

/// A JSON body already encoded from a `T` (by [`SerdeJson::encode`]); the
/// schema in the spec is `T`'s. Cloning it shares the bytes.
pub struct EncodedJson<T>(Bytes, PhantomData<fn() -> T>);

impl<T> Clone for EncodedJson<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<T: Type + Send> Payload for EncodedJson<T> {
    const CONTENT_TYPE: &'static str = JSON_UTF8;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Headers a cached page ends up with: its own two, two security headers
/// and the CSP (the guard), the request id and the traceparent (the request
/// context), room for HSTS and the three rate-limit headers: 11. Made this
/// large at once, the map does not grow (and rehash) halfway; not larger,
/// since the map's table is a power of two (16 slots hold 12) and each slot
/// about 100 bytes of fresh memory per response.
const PAGE_HEADERS: usize = 12;

impl<T: Type + Send> IntoResponse for EncodedJson<T> {
    fn into_response(self) -> Response {
        // A constant header value: parsing the string on every answer showed in the profile.
        const JSON: HeaderValue = HeaderValue::from_static(JSON_UTF8);
        let mut headers = HeaderMap::with_capacity(PAGE_HEADERS);
        headers.insert(poem::http::header::CONTENT_TYPE, JSON);
        let mut resp = Response::from(poem::Body::from(self.0));
        *resp.headers_mut() = headers;
        resp
    }
}

/// A payload answered with its `X-Cache` header (HIT, MISS or STALE). The
/// response type documents the header with `header(name = "X-Cache", ...)`.
///
/// poem-openapi's header fields insert by a `&str` name, which is parsed,
/// lowercased and copied into a new allocation on every response; here the
/// name is a constant and the value a static string.
pub struct WithCacheStatus<P>(pub P, pub CacheStatus);

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

impl<P: Payload> Payload for WithCacheStatus<P> {
    const CONTENT_TYPE: &'static str = P::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        P::schema_ref()
    }

    fn register(registry: &mut Registry) {
        P::register(registry);
    }
}

impl<P: IntoResponse> IntoResponse for WithCacheStatus<P> {
    fn into_response(self) -> Response {
        let mut resp = self.0.into_response();
        resp.headers_mut().insert(X_CACHE, HeaderValue::from_static(self.1.as_str()));
        resp
    }
}

impl<T: Type + Serialize + Send> ApiResponse for SerdeJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: Self::schema_ref() }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
