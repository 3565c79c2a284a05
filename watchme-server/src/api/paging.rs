//! The page body and Trakt's pagination headers, shared by every list endpoint.

use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiResponse, Object};
use watchme_core::domain::{Page, PageRequest};

use super::schema::{PageNo, PerPage};
use crate::error::ApiError;

/// One page of a list.
#[derive(Debug, Object)]
pub struct PageBody<T: ParseFromJSON + ToJSON> {
    /// The items of this page.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Page size applied (a requested size above 100 is clamped to 100).
    pub per_page: u32,
    /// Items in the whole list.
    pub total_items: u64,
    /// Pages in the whole list.
    pub total_pages: u64,
}

/// A list response: the page body plus `X-Pagination-*` headers.
#[derive(ApiResponse)]
pub enum PageResponse<T: ParseFromJSON + ToJSON> {
    /// One page of the list.
    #[oai(status = 200)]
    Ok(
        Json<PageBody<T>>,
        /// Current page.
        #[oai(header = "X-Pagination-Page")]
        u32,
        /// Items per page actually applied.
        #[oai(header = "X-Pagination-Limit")]
        u32,
        /// Number of pages.
        #[oai(header = "X-Pagination-Page-Count")]
        u64,
        /// Number of items.
        #[oai(header = "X-Pagination-Item-Count")]
        u64,
        /// For movie lists: HIT, MISS or STALE.
        #[oai(header = "X-Cache")]
        Option<String>,
    ),
}

impl<T: ParseFromJSON + ToJSON> PageResponse<T> {
    /// Builds the response from a domain page, converting each item.
    pub fn from_page<U>(page: Page<U>, convert: impl FnMut(U) -> T, cache: Option<&str>) -> Self {
        let p = page.map(convert);
        let (n, per, pages, total) = (p.page, p.per_page, p.total_pages, p.total_items);
        let body = PageBody { items: p.items, page: n, per_page: per, total_items: total, total_pages: pages };
        Self::Ok(Json(body), n, per, pages, total, cache.map(str::to_owned))
    }
}

/// Validates `page` and `per_page` query parameters.
///
/// # Errors
/// A 400 naming the parameter.
pub fn page_request(page: Option<PageNo>, per_page: Option<PerPage>) -> Result<PageRequest, ApiError> {
    use watchme_core::domain::PageRequestError as E;
    PageRequest::new(page.map(|p| p.0), per_page.map(|p| p.0)).map_err(|e| match e {
        E::PageTooSmall | E::PageTooLarge => ApiError::invalid_field("page", e),
        E::PerPageTooSmall => ApiError::invalid_field("per_page", e),
    })
}
