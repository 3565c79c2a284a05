//! CSV as the importers read it: text decoded whatever its encoding, every
//! record with its line, a header row found by name, and lines that cannot
//! be read reported rather than fatal.

use time::OffsetDateTime;
use watchme_core::domain::{ImportProblem, Origin, ProblemKind};

/// The text of a file: UTF-8 (a byte-order mark dropped), else Latin-1.
pub(super) fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

/// Every record of a CSV text with the line it starts on; lines that
/// cannot be read become problems.
pub(super) fn records(file: &str, text: &str) -> (Vec<(u64, Vec<String>)>, Vec<ImportProblem>) {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, csv::Position::line);
                out.push((line, record.iter().map(|c| c.trim().to_owned()).collect()));
            }
            Err(e) => {
                let line = e.position().map_or(line, csv::Position::line);
                problems.push(ImportProblem {
                    origin: Origin { file: file.to_owned(), line },
                    kind: ProblemKind::Malformed,
                    reason: format!("this line cannot be read as CSV: {e}"),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    (out, problems)
}

/// A CSV file with a header row: its data rows and where each column is.
pub(super) struct Table {
    pub file: String,
    header: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
    pub problems: Vec<ImportProblem>,
}

impl Table {
    /// The table whose header is the first record of `records` that has
    /// every one of `required` columns (earlier records are a preamble);
    /// `None` when no record does.
    pub fn find(
        file: &str,
        records: Vec<(u64, Vec<String>)>,
        problems: Vec<ImportProblem>,
        required: &[&str],
    ) -> Option<Self> {
        let at =
            records.iter().position(|(_, r)| required.iter().all(|c| r.iter().any(|h| h.eq_ignore_ascii_case(c))))?;
        let mut rows = records;
        let header = rows.drain(..=at).next_back()?.1;
        let rows = rows.into_iter().filter(|(_, r)| r.iter().any(|c| !c.is_empty())).collect();
        Some(Self { file: file.to_owned(), header, rows, problems })
    }

    /// The index of the first of `names` the header has.
    pub fn col(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.header.iter().position(|h| h.eq_ignore_ascii_case(n)))
    }

    /// A row's cell in column `col`, when there and not empty.
    pub fn get(row: &[String], col: Option<usize>) -> Option<&str> {
        col.and_then(|c| row.get(c)).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// Records a problem at `line`.
    pub fn problem(&mut self, line: u64, kind: ProblemKind, reason: impl Into<String>) {
        self.problems.push(ImportProblem {
            origin: Origin { file: self.file.clone(), line },
            kind,
            reason: reason.into(),
        });
    }
}

/// `YYYY-MM-DD` (what Letterboxd and IMDb write) as midnight UTC.
pub(super) fn date(s: &str) -> Option<OffsetDateTime> {
    let d = time::Date::parse(s.get(..10)?, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(d.midnight().assume_utc())
}

/// A year cell.
pub(super) fn year(s: Option<&str>) -> Option<i32> {
    s.and_then(|y| y.parse().ok()).filter(|y| (1870..=2100).contains(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_decoded_and_bad_lines_are_reported_with_their_line() {
        assert_eq!(decode(b"\xEF\xBB\xBFName"), "Name");
        assert_eq!(decode(b"Am\xe9lie"), "Amélie", "Latin-1");
        let (rows, problems) = records("x.csv", "a,b\n1,\"2\n3,4\n");
        assert_eq!(rows[0], (1, vec!["a".to_owned(), "b".to_owned()]));
        assert!(problems.is_empty() || problems[0].origin.line >= 2, "{problems:?}");
        let (rows, _) = records("x.csv", "Meta\nDate,Name\n2020-01-01,L\n\nPosition,Name,Year\n1,Heat,1995\n");
        let t = Table::find("x.csv", rows, Vec::new(), &["Position", "Name"]).unwrap();
        assert_eq!(t.rows, vec![(6, vec!["1".to_owned(), "Heat".to_owned(), "1995".to_owned()])]);
        assert_eq!(t.col(&["year"]), Some(2));
        assert_eq!(date("2024-02-29").map(|d| d.unix_timestamp()), Some(1_709_164_800));
        assert_eq!(year(Some("1899")), Some(1899));
        assert_eq!(year(Some("99999")), None);
    }
}
