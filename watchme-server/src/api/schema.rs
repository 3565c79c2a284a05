//! Input types whose OpenAPI schema says more than their Rust type does, so
//! a client generated from the spec checks what the server checks:
//! [`Int`] (an integer parameter with bounds), [`NonBlank`] (a string
//! parameter that is not blank), [`MovieIdParam`] and [`SessionIdParam`]
//! (path ids: an integer from 1, a UUID) and [`EmailText`] (`format: email`).
//!
//! The rules themselves stay in the domain types, which every handler
//! applies right after (and which name the field when they refuse); the
//! bounds here are the domain's constants, and the conformance test
//! (`tests/openapi_conformance.rs`) checks that the two agree. Path ids are
//! kept as the text that came because poem-openapi names a path parameter
//! by its position (`param0`) when its own parse fails.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use serde::Deserialize;
use serde_json::Value;
use watchme_core::domain::{Email, MovieId, PageRequest, SessionId};

use crate::error::ApiError;

/// `impl Type` for a single-valued input type (`for [generic parameters]`
/// first when it has some) with this name and schema.
macro_rules! input_type {
    ($ty:ident, $name:expr, $schema:expr) => {
        input_type!(for [] $ty, $name, $schema);
    };
    (for [$($generics:tt)*] $ty:ty, $name:expr, $schema:expr) => {
        impl<$($generics)*> Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }
    };
}

/// An integer parameter from `MIN` to `MAX` (`i64::MAX`: no upper bound
/// stated). Any integer parses; the handler's domain type refuses what is out
/// of bounds, naming the parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int<const MIN: i64, const MAX: i64>(pub i64);

input_type!(for [const MIN: i64, const MAX: i64] Int<MIN, MAX>, format!("integer_int64_{MIN}_{MAX}"), {
    let mut schema = MetaSchema::new_with_format("integer", "int64");
    schema.minimum = Some(MIN as f64);
    schema.maximum = (MAX != i64::MAX).then_some(MAX as f64);
    schema
});

impl<const MIN: i64, const MAX: i64> ParseFromParameter for Int<MIN, MAX> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        value.trim().parse::<i64>().map(Self).map_err(|_| ParseError::custom("must be an integer"))
    }
}

/// `page`: from 1 to [`PageRequest::MAX_PAGE`].
pub type PageNo = Int<1, { PageRequest::MAX_PAGE as i64 }>;
/// `per_page`: from 1; above [`PageRequest::MAX_PER_PAGE`] is clamped, not refused.
pub type PerPage = Int<1, { i64::MAX }>;

/// A string parameter of 1 to `MAX` characters, at least one of them not
/// white space (a blank search is refused). Any string parses; the
/// handler's domain type applies the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank<const MAX: usize>(pub String);

input_type!(for [const MAX: usize] NonBlank<MAX>, format!("string_non_blank_{MAX}"), {
    let mut schema = MetaSchema::new("string");
    (schema.min_length, schema.max_length) = (Some(1), Some(MAX));
    schema.pattern = Some(r"[^\s\u0085]".into());
    schema
});

impl<const MAX: usize> ParseFromParameter for NonBlank<MAX> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

/// A movie id in a path (`type: integer, format: int64, minimum: 1`), as
/// the text that came; [`MovieIdParam::get`] parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieIdParam(String);

input_type!(MovieIdParam, "integer_int64_movie_id", {
    let mut schema = MetaSchema::new_with_format("integer", "int64");
    schema.minimum = Some(1.0);
    // The Matrix: in TMDb and in the bundled catalog.
    schema.example = Some(603.into());
    schema
});

impl ParseFromParameter for MovieIdParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

impl MovieIdParam {
    /// The id.
    ///
    /// # Errors
    /// A 400 naming `field` when it is not a positive integer.
    pub fn get(&self, field: &str) -> Result<MovieId, ApiError> {
        self.0.parse::<MovieId>().map_err(|e| ApiError::invalid_field(field, e))
    }
}

/// A login session id in a path (`type: string, format: uuid`), as the
/// text that came; [`SessionIdParam::get`] parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIdParam(String);

input_type!(SessionIdParam, "string_uuid_session_id", MetaSchema::new_with_format("string", "uuid"));

impl ParseFromParameter for SessionIdParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

impl SessionIdParam {
    /// The id.
    ///
    /// # Errors
    /// A 400 naming `field` when it is not a UUID.
    pub fn get(&self, field: &str) -> Result<SessionId, ApiError> {
        SessionId::parse(&self.0).map_err(|_| ApiError::invalid_field(field, "must be a session id (UUID)"))
    }
}

/// A UUID in a path (`type: string, format: uuid`), as the text that
/// came; [`UuidParam::get`] parses it, naming the parameter when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidParam(String);

input_type!(UuidParam, "string_uuid", MetaSchema::new_with_format("string", "uuid"));

impl ParseFromParameter for UuidParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

impl UuidParam {
    /// The UUID.
    ///
    /// # Errors
    /// A 400 naming `field` when it is not a UUID.
    pub fn get(&self, field: &str) -> Result<uuid::Uuid, ApiError> {
        self.0.parse().map_err(|_| ApiError::invalid_field(field, "must be a UUID"))
    }
}

/// An email address in a request body: `type: string, format: email`, at
/// most 254 characters. Parsed into an [`Email`] by the handler, which
/// names the field when it is refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct EmailText(pub String);

input_type!(EmailText, "string_email", {
    let mut schema = MetaSchema::new_with_format("string", "email");
    schema.max_length = Some(Email::MAX_LEN);
    schema
});

// Request bodies are parsed by serde (`JsonBody`); these two only complete
// the `Object` derive of the DTOs that hold an email.
impl ParseFromJSON for EmailText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) => Ok(Self(s)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for EmailText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_are_parsed_by_the_handler_naming_the_field() {
        let id = MovieIdParam::parse_from_parameter("550").unwrap();
        assert_eq!(id.get("id").unwrap().get(), 550);
        for bad in ["0", "-1", "abc", "1.5", ""] {
            let err = MovieIdParam::parse_from_parameter(bad).unwrap().get("movie_id").unwrap_err();
            assert_eq!(err.code(), "invalid_field", "case: {bad:?}");
        }
        assert!(SessionIdParam::parse_from_parameter("nope").unwrap().get("id").is_err());
    }

    #[test]
    fn integers_parse_whatever_their_bounds() {
        assert_eq!(PageNo::parse_from_parameter("0").unwrap().0, 0, "the domain refuses it, naming the field");
        assert!(PageNo::parse_from_parameter("x").is_err());
        let page = PageNo::schema_ref();
        let page = page.unwrap_inline();
        assert_eq!((page.minimum, page.maximum), (Some(1.0), Some(10_000.0)));
        let per_page = PerPage::schema_ref();
        assert_eq!(per_page.unwrap_inline().maximum, None, "above 100 is clamped, not refused");
    }

    #[test]
    fn schemas_state_the_constraints() {
        let id = MovieIdParam::schema_ref();
        let id = id.unwrap_inline();
        assert_eq!((id.ty, id.format, id.minimum), ("integer", Some("int64"), Some(1.0)));
        let email = EmailText::schema_ref();
        let email = email.unwrap_inline();
        assert_eq!((email.ty, email.format, email.max_length), ("string", Some("email"), Some(254)));
    }
}
