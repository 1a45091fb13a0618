//! Pages of a listing read with one row to spare: the store is asked for `rows + 1`, and the spare row only says
//! whether a next page exists (no count query, and the cursor is the last row shown).

/// Cuts `items` to `rows` and returns the last row shown when the store had more: the cursor of the next page.
pub(crate) fn cut_page<T>(items: &mut Vec<T>, rows: usize) -> Option<&T> {
    let more = items.len() > rows;
    items.truncate(rows);
    more.then(|| items.last()).flatten()
}

#[cfg(test)]
mod tests {
    use super::cut_page;

    #[test]
    fn the_spare_row_is_dropped_and_names_the_cursor() {
        let mut full = vec![1, 2, 3];
        assert_eq!(cut_page(&mut full, 2), Some(&2));
        assert_eq!(full, [1, 2]);
        let mut last = vec![1, 2];
        assert_eq!(cut_page(&mut last, 2), None);
        assert_eq!(last, [1, 2]);
    }
}
