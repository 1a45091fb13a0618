//! The Markdown tables of `RESULTS.md`: the header row, the alignment row, then one row per result.

/// A table being written.
pub struct Table(String);

impl Table {
    /// One column per name; a name ending in `:` is right-aligned (numbers), and the `:` is not printed.
    pub fn new(columns: &[&str]) -> Table {
        let names: Vec<&str> = columns
            .iter()
            .map(|c| c.strip_suffix(':').unwrap_or(c))
            .collect();
        let align: Vec<&str> = columns
            .iter()
            .map(|c| if c.ends_with(':') { "---:" } else { "---" })
            .collect();
        Table(format!(
            "| {} |\n|{}|\n",
            names.join(" | "),
            align.join("|")
        ))
    }

    /// One row, a cell per column, each already formatted.
    pub fn row(&mut self, cells: &[String]) {
        self.0.push_str(&format!("| {} |\n", cells.join(" | ")));
    }

    pub fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn header_alignment_and_rows() {
        let mut t = Table::new(&["store", "wall s:", "goal"]);
        t.row(&["sqlite".into(), "1.50".into(), "met".into()]);
        assert_eq!(
            t.finish(),
            "| store | wall s | goal |\n|---|---:|---|\n| sqlite | 1.50 | met |\n"
        );
    }
}
