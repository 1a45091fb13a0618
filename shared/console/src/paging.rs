//! Pages of a listing read with one row to spare: the store is asked for `rows + 1`, and the spare row only says
//! whether a next page exists (no count query, and the cursor is the last row shown).

/// Cuts `items` to `rows` and returns the last row shown when the store had more: the cursor of the next page.
pub(crate) fn cut_page<T>(items: &mut Vec<T>, rows: usize) -> Option<&T> {
    let more = items.len() > rows;
    items.truncate(rows);
    more.then(|| items.last()).flatten()
}

/// A page of a listing as its template shows it (`listing.html`): the rows and the link to the next page.
pub(crate) struct Listing<R> {
    pub rows: Vec<R>,
    pub next_href: Option<String>,
}

impl<R> Default for Listing<R> {
    /// Nothing to show, and no next page.
    fn default() -> Self {
        Listing {
            rows: Vec::new(),
            next_href: None,
        }
    }
}

impl<R> Listing<R> {
    /// `items` read with one row to spare, cut to `rows`: each shown one made a row by `row`, and, when the store
    /// had more, the next page linked by `next` from the last row shown.
    pub fn of<T>(
        mut items: Vec<T>,
        rows: usize,
        next: impl FnOnce(&T) -> String,
        row: impl FnMut(&T) -> R,
    ) -> Self {
        let next_href = cut_page(&mut items, rows).map(next);
        Listing {
            rows: items.iter().map(row).collect(),
            next_href,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Listing, cut_page};

    #[test]
    fn the_spare_row_is_dropped_and_names_the_cursor() {
        let mut full = vec![1, 2, 3];
        assert_eq!(cut_page(&mut full, 2), Some(&2));
        assert_eq!(full, [1, 2]);
        let mut last = vec![1, 2];
        assert_eq!(cut_page(&mut last, 2), None);
        assert_eq!(last, [1, 2]);
    }

    #[test]
    fn a_listing_links_the_next_page_from_its_last_row() {
        let full = Listing::of(vec![1, 2, 3], 2, |n| format!("after={n}"), |n| n * 10);
        assert_eq!(full.rows, [10, 20]);
        assert_eq!(full.next_href.as_deref(), Some("after=2"));
        let last = Listing::of(vec![1, 2], 2, |n| format!("after={n}"), |n| n * 10);
        assert_eq!(last.rows, [10, 20]);
        assert_eq!(last.next_href, None);
    }
}
