//! Reading a paged store method to the end, as every paged read's contract does: one loop, with the page
//! assertions every paged read promises.

use std::fmt::Debug;
use std::future::Future;

/// Every page from `start`: `read(cursor)` with the cursor of the last item read so far (`start` at first), until
/// a page shorter than `limit`. Asserts that no page holds more than `limit` items and that each holds only items
/// `beyond` its cursor, which also ends the loop for an adapter that returns the cursor's item again. `what`
/// names the read in the assertions.
pub(super) async fn read_pages<T, C, Page>(
    what: &str,
    limit: usize,
    start: Option<C>,
    cursor_of: impl Fn(&T) -> C,
    beyond: impl Fn(&T, &C) -> bool,
    read: impl Fn(Option<C>) -> Page,
) -> Vec<T>
where
    T: Debug,
    C: Clone + Debug,
    Page: Future<Output = Vec<T>>,
{
    let mut out: Vec<T> = Vec::new();
    let mut cursor = start;
    loop {
        let page = read(cursor.clone()).await;
        assert!(
            page.len() <= limit,
            "{what}: a page holds at most `limit` ({limit}) items"
        );
        if let Some(c) = &cursor {
            assert!(
                page.iter().all(|item| beyond(item, c)),
                "{what}: a page holds only items beyond its cursor {c:?}: {page:?}"
            );
        }
        let done = page.len() < limit;
        cursor = page.last().map(&cursor_of).or(cursor);
        out.extend(page);
        if done {
            return out;
        }
    }
}
