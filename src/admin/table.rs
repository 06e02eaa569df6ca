//! `Table`: aligned columns for people, numbers on the right, the last column unpadded.

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
}

/// Rows of cells under a header, printed in aligned columns two spaces apart.
#[derive(Debug)]
pub(super) struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers and alignments.
    pub(super) fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row: one cell per column (missing cells are empty, extra ones dropped).
    pub(super) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Every column's width: its widest cell or header, in characters.
    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.columns.iter().map(|(h, _)| h.len()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        widths
    }

    /// The header and the rows, each line without trailing spaces.
    pub(super) fn render(&self) -> String {
        let widths = self.widths();
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.to_string()).collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            out.push_str(&self.line(row, &widths));
            out.push('\n');
        }
        out
    }

    fn line(&self, row: &[String], widths: &[usize]) -> String {
        let last = self.columns.len().saturating_sub(1);
        let mut cells = Vec::with_capacity(self.columns.len());
        for (i, ((_, align), width)) in self.columns.iter().zip(widths).enumerate() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            cells.push(match align {
                Align::Right => format!("{cell:>width$}"),
                Align::Left if i == last => cell.to_string(),
                Align::Left => format!("{cell:<width$}"),
            });
        }
        cells.join("  ").trim_end().to_string()
    }
}

/// `text` cut to `max` characters, with `…` when cut: long errors stay on one table line.
pub(super) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_numbers_right_and_the_last_column_unpadded() {
        let mut table = Table::new(&[
            ("NAME", Align::Left),
            ("LAG", Align::Right),
            ("ERROR", Align::Left),
        ]);
        table.row(vec!["query".into(), "7".into(), "".into()]);
        table.row(vec!["q".into(), "1234".into(), "refused".into()]);
        assert_eq!(
            table.render(),
            "NAME    LAG  ERROR\nquery     7\nq      1234  refused\n"
        );
    }

    #[test]
    fn clip_keeps_short_text_and_marks_a_cut() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééééé", 4), "ééé…");
    }
}
