//! Pagination: what a caller asks for and what a list answers.

use serde::{Deserialize, Serialize};

/// Why a page request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageRequestError {
    /// Pages count from 1.
    #[error("page must be 1 or more")]
    PageTooSmall,
    /// Pages beyond 10,000 are refused: deep offsets are a cheap way to load a database.
    #[error("page must be at most 10000")]
    PageTooLarge,
    /// At least one item per page.
    #[error("per_page must be 1 or more")]
    PerPageTooSmall,
}

/// Which page of a list to return. `per_page` defaults to 20; a value above
/// 100 is clamped to 100 rather than refused, as Trakt does, so the applied
/// limit is what the response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

impl PageRequest {
    /// Items per page when the caller does not say.
    pub const DEFAULT_PER_PAGE: u32 = 20;
    /// Most items per page.
    pub const MAX_PER_PAGE: u32 = 100;
    /// Deepest page.
    pub const MAX_PAGE: u32 = 10_000;

    /// Validates a request; `None` means the default for that field.
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> Result<Self, PageRequestError> {
        let page = page.unwrap_or(1);
        if page < 1 {
            return Err(PageRequestError::PageTooSmall);
        }
        if page > Self::MAX_PAGE as i64 {
            return Err(PageRequestError::PageTooLarge);
        }
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE as i64);
        if per_page < 1 {
            return Err(PageRequestError::PerPageTooSmall);
        }
        let per_page = per_page.min(Self::MAX_PER_PAGE as i64) as u32;
        Ok(Self { page: page as u32, per_page })
    }

    /// The first page with the default size.
    pub fn first() -> Self {
        Self { page: 1, per_page: Self::DEFAULT_PER_PAGE }
    }

    /// 1-based page number.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Items per page, after clamping.
    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    /// Number of items before this page.
    pub fn offset(&self) -> u64 {
        (self.page as u64 - 1) * self.per_page as u64
    }

    /// Builds the page of a list whose total length is known.
    pub fn page_of<T>(&self, items: Vec<T>, total_items: u64) -> Page<T> {
        Page::new(items, *self, total_items)
    }

    /// Slices one page out of a full, ordered list.
    pub fn slice<T: Clone>(&self, all: &[T]) -> Page<T> {
        let start = (self.offset() as usize).min(all.len());
        let end = (start + self.per_page as usize).min(all.len());
        Page::new(all[start..end].to_vec(), *self, all.len() as u64)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first()
    }
}

/// One page of a list, with what a client needs to fetch the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Page size actually applied.
    pub per_page: u32,
    /// Items in the whole list.
    pub total_items: u64,
    /// Pages in the whole list.
    pub total_pages: u64,
}

impl<T> Page<T> {
    /// Assembles a page and computes `total_pages`.
    pub fn new(items: Vec<T>, req: PageRequest, total_items: u64) -> Self {
        let per = req.per_page.max(1) as u64;
        Self { items, page: req.page, per_page: req.per_page, total_items, total_pages: total_items.div_ceil(per) }
    }

    /// Transforms the items, keeping the paging.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total_items: self.total_items,
            total_pages: self.total_pages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_clamping() {
        let r = PageRequest::new(None, None).unwrap();
        assert_eq!((r.page(), r.per_page()), (1, 20));
        let r = PageRequest::new(Some(3), Some(500)).unwrap();
        assert_eq!((r.page(), r.per_page(), r.offset()), (3, 100, 200));
    }

    #[test]
    fn bad_page_requests_are_refused() {
        let cases = [
            (Some(0), None, PageRequestError::PageTooSmall, "page 0"),
            (Some(-1), None, PageRequestError::PageTooSmall, "negative page"),
            (Some(10_001), None, PageRequestError::PageTooLarge, "page too deep"),
            (None, Some(0), PageRequestError::PerPageTooSmall, "per_page 0"),
            (None, Some(-3), PageRequestError::PerPageTooSmall, "negative per_page"),
        ];
        for (page, per, expected, case) in cases {
            assert_eq!(PageRequest::new(page, per), Err(expected), "case: {case}");
        }
    }

    #[test]
    fn total_pages_rounds_up_and_slices_are_bounded() {
        let all: Vec<u32> = (0..45).collect();
        let p = PageRequest::new(Some(3), Some(20)).unwrap().slice(&all);
        assert_eq!(p.items, (40..45).collect::<Vec<_>>());
        assert_eq!((p.total_items, p.total_pages), (45, 3));
        let beyond = PageRequest::new(Some(9), Some(20)).unwrap().slice(&all);
        assert!(beyond.items.is_empty());
        let empty = PageRequest::first().slice::<u32>(&[]);
        assert_eq!(empty.total_pages, 0);
    }
}
