//! The dry-run workbook's row model: sheets of typed cells, with the highlight of each row.
//! `workbook` fills it from a plan and writes it; tests read it back.

use adsync_core::model::NodeId;
use adsync_core::plan::ActionKind;

/// One cell of the row model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    /// Text.
    Text(String),
    /// A number (counts, node ids): sorts and sums as one in a spreadsheet.
    Number(f64),
    /// Nothing.
    Empty,
}

impl Cell {
    pub(crate) fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        if text.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(text)
        }
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and node ids stay far below 2^53"
    )]
    pub(crate) fn number(value: u64) -> Cell {
        Cell::Number(value as f64)
    }

    pub(crate) fn node(id: Option<NodeId>) -> Cell {
        id.map_or(Cell::Empty, |id| Cell::number(id.0))
    }

    /// The cell as text, for widths and tests.
    pub(crate) fn as_text(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Number(number) => number.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// How a row is highlighted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    /// The fill colour of an action kind.
    Kind(ActionKind),
}

/// One sheet: the header row, then data rows.
#[derive(Debug, PartialEq)]
pub(crate) struct Sheet {
    pub(crate) name: &'static str,
    pub(crate) rows: Vec<Vec<Cell>>,
    /// How each data row is highlighted, if at all.
    pub(crate) marks: Vec<Option<Mark>>,
    /// A list to filter (not a page of facts such as Summary).
    pub(crate) filter: bool,
}

impl Sheet {
    pub(crate) fn new(name: &'static str, header: &[&str], filter: bool) -> Sheet {
        Sheet {
            name,
            rows: vec![header.iter().map(|h| Cell::text(*h)).collect()],
            marks: Vec::new(),
            filter,
        }
    }

    pub(crate) fn push(&mut self, row: Vec<Cell>, mark: Option<Mark>) {
        self.rows.push(row);
        self.marks.push(mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_an_empty_cell_and_numbers_stay_numbers() {
        assert_eq!(Cell::text(""), Cell::Empty);
        assert_eq!(Cell::number(42), Cell::Number(42.0));
        assert_eq!(Cell::number(42).as_text(), "42");
    }
}
