//! `Query<T>`: a query-string parameter, documented and parsed like
//! poem-openapi's own, but read from the request's URI. poem-openapi's
//! extractor reads the query from an extension that only its own service
//! inserts, of a type it hides from its documentation (no minor release
//! promises to keep it); the API routes its operations itself
//! (`api::operations`), so it brings its own extractor, built on public
//! types only.

use std::ops::Deref;

use poem::{Request, RequestBody, Result};
use poem_openapi::error::ParseParamError;
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::ParseFromParameter;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// A parameter passed in the query string.
pub struct Query<T>(pub T);

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// The values of `name` in the request's query string, decoded.
fn values(request: &Request, name: &str, ignore_case: bool) -> Vec<String> {
    let pairs: Vec<(String, String)> = request.params().unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(n, _)| if ignore_case { n.eq_ignore_ascii_case(name) } else { n == name })
        .map(|(_, v)| v)
        .collect()
}

impl<'a, T: ParseFromParameter> ApiExtractor<'a> for Query<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = T::IS_REQUIRED;

    type ParamType = T;
    type ParamRawType = T::RawValueType;

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Query)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(T::schema_ref())
    }

    fn param_raw_type(&self) -> Option<&Self::ParamRawType> {
        self.0.as_raw_value()
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        options: ExtractParamOptions<Self::ParamType>,
    ) -> Result<Self> {
        let found = values(request, options.name, options.ignore_case);
        if let (Some(default), true) = (options.default_value, found.is_empty()) {
            return Ok(Self(default()));
        }
        let parsed = if options.explode || found.is_empty() {
            T::parse_from_parameters(found.iter())
        } else {
            T::parse_from_parameters(found[0].split(',').map(str::trim))
        };
        parsed.map(Self).map_err(|e| ParseParamError { name: options.name, reason: e.into_message() }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded_and_matched_by_name() {
        let req =
            Request::builder().uri(poem::http::Uri::from_static("/x?query=the%20matrix&Year=1999&query=b")).finish();
        assert_eq!(values(&req, "query", false), vec!["the matrix", "b"]);
        assert!(values(&req, "year", false).is_empty());
        assert_eq!(values(&req, "year", true), vec!["1999"]);
    }
}
