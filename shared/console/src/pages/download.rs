//! Files the console hands out (the audit log, the members CSV): streamed a store page at a time (never held
//! whole) and named after the org and the day.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use miro_sam_core::StoreError;

use super::PageRequest;

/// A file's bytes: the store's pages in order, `read` from the cursor of the page before (`None` first), each
/// page turned into bytes by `chunk` (the page, whether it is the first and whether it is the last). A read that
/// fails cuts the download: a file that ends abruptly must not look complete.
pub(crate) fn paged<T, C, Fut>(
    what: &'static str,
    page_size: usize,
    read: impl FnMut(Option<C>) -> Fut + Send + 'static,
    cursor: impl Fn(&T) -> C + Send + 'static,
    chunk: impl FnMut(&[T], bool, bool) -> std::io::Result<Vec<u8>> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    T: Send + 'static,
    C: Send + 'static,
    Fut: Future<Output = Result<Vec<T>, StoreError>> + Send,
{
    struct S<R, K, W, C> {
        read: R,
        cursor: K,
        chunk: W,
        after: Option<C>,
        first: bool,
        done: bool,
    }
    let s = S {
        read,
        cursor,
        chunk,
        after: None,
        first: true,
        done: false,
    };
    futures::stream::unfold(s, move |mut s| async move {
        if s.done {
            return None;
        }
        let page = match (s.read)(s.after.take()).await {
            Ok(p) => p,
            Err(e) => {
                s.done = true;
                tracing::error!(error = %e, "{what} export failed part-way");
                return Some((Err(std::io::Error::other(e.to_string())), s));
            }
        };
        let last = page.len() < page_size;
        s.after = page.last().map(&s.cursor);
        let out = (s.chunk)(&page, s.first, last).map(Bytes::from);
        s.first = false;
        s.done = last;
        Some((out, s))
    })
}

/// The download of `body` as `miro-sam-{what}-{org}-{yyyymmdd}.{ext}`.
pub(crate) fn attachment(
    p: &PageRequest,
    what: &str,
    ext: &str,
    content_type: &str,
    body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let name = format!(
        "miro-sam-{what}-{}-{}.{ext}",
        p.org_id(),
        p.st.now().format("%Y%m%d")
    );
    (
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
