//! The upload as a set of named files: a ZIP's entries (bounded) or the one
//! file it is; then the reader of each source over them.

use std::io::{Cursor, Read};

use watchme_core::domain::{ImportFile, ImportProblem, ImportSource, Origin, ProblemKind};
use watchme_core::ports::{ImportFileError, ImportReader};

/// Bounds on what a ZIP may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Most entries a ZIP may list.
    pub max_entries: usize,
    /// Most bytes the entries read may unpack to, all together.
    pub max_unpacked: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self { max_entries: 10_000, max_unpacked: 256 * 1024 * 1024 }
    }
}

/// One file of the upload: its name (inside the ZIP) and its bytes.
pub(super) struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Reads uploads of every source.
#[derive(Debug, Clone, Default)]
pub struct FileReader {
    limits: ImportLimits,
}

impl FileReader {
    /// A reader with these bounds on ZIPs.
    pub fn new(limits: ImportLimits) -> Self {
        Self { limits }
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Whether a ZIP entry is one the source reads.
fn wanted(source: ImportSource, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    match source {
        ImportSource::Letterboxd => lower.ends_with(".csv"),
        ImportSource::Imdb => lower.ends_with(".csv"),
        ImportSource::Trakt | ImportSource::Watchme => lower.ends_with(".json"),
    }
}

/// The entries of a ZIP that `source` reads, unpacked within the limits;
/// the others are reported as ignored.
fn unzip(
    source: ImportSource,
    bytes: &[u8],
    limits: ImportLimits,
) -> Result<(Vec<Entry>, Vec<ImportProblem>), ImportFileError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportFileError::Unreadable(format!("the ZIP cannot be read: {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(ImportFileError::TooLarge(format!(
            "the ZIP lists {} entries; at most {} are read",
            zip.len(),
            limits.max_entries
        )));
    }
    let (mut entries, mut ignored, mut total) = (Vec::new(), Vec::new(), 0u64);
    for i in 0..zip.len() {
        let mut file =
            zip.by_index(i).map_err(|e| ImportFileError::Unreadable(format!("a ZIP entry cannot be read: {e}")))?;
        let name = file.name().to_owned();
        if file.is_dir() {
            continue;
        }
        if !wanted(source, &name) {
            ignored.push(ImportProblem {
                origin: Origin { file: name, line: 0 },
                kind: ProblemKind::Ignored,
                reason: format!("not a file a {source} import reads"),
            });
            continue;
        }
        // The declared size is the uploader's word: read at most what is left
        // of the budget, plus one byte to know it was exceeded.
        let left = limits.max_unpacked.saturating_sub(total);
        let mut buf = Vec::new();
        (&mut file)
            .take(left + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ImportFileError::Unreadable(format!("{name} cannot be unpacked: {e}")))?;
        total += buf.len() as u64;
        if total > limits.max_unpacked {
            return Err(ImportFileError::TooLarge(format!(
                "the ZIP unpacks to more than {} MiB",
                limits.max_unpacked / (1024 * 1024)
            )));
        }
        entries.push(Entry { name, bytes: buf });
    }
    Ok((entries, ignored))
}

impl ImportReader for FileReader {
    fn read(&self, source: ImportSource, bytes: &[u8]) -> Result<ImportFile, ImportFileError> {
        let (entries, ignored, zipped) = if bytes.starts_with(ZIP_MAGIC) {
            let (e, i) = unzip(source, bytes, self.limits)?;
            (e, i, true)
        } else {
            (vec![Entry { name: String::new(), bytes: bytes.to_vec() }], Vec::new(), false)
        };
        let mut file = match source {
            ImportSource::Letterboxd => super::letterboxd::read(&entries, zipped)?,
            ImportSource::Imdb => super::imdb::read(&entries)?,
            ImportSource::Trakt => super::trakt::read(&entries)?,
            ImportSource::Watchme => super::watchme::read(&entries)?,
        };
        file.problems.splice(0..0, ignored);
        Ok(file)
    }
}
