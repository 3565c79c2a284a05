//! Every page of a paged use case, for answers that have no pages (the
//! export, the Trakt-compatible API's unpaged lists).

use std::future::Future;

use crate::domain::{Page, PageRequest};

/// Fetches pages of the largest size until the last one and returns their
/// items in order.
///
/// # Errors
/// The first error `fetch` returns.
pub async fn every_page<T, E, Fut>(mut fetch: impl FnMut(PageRequest) -> Fut) -> Result<Vec<T>, E>
where
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let mut out = Vec::new();
    for n in 1..=i64::from(PageRequest::MAX_PAGE) {
        let Ok(req) = PageRequest::new(Some(n), Some(i64::from(PageRequest::MAX_PER_PAGE))) else { break };
        let page = fetch(req).await?;
        let last = u64::from(page.page) >= page.total_pages;
        out.extend(page.items);
        if last {
            break;
        }
    }
    Ok(out)
}
