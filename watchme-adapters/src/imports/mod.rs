//! Reading import uploads and writing the export, behind the core's
//! `ImportReader` and `ExportWriter` ports. An upload is one file or a ZIP
//! of them; a ZIP is read in memory only (no entry name ever reaches the
//! filesystem), only the entries the source expects are unpacked, and
//! entry count and unpacked size are bounded, so a ZIP bomb is refused
//! before it is unpacked. CSV lines that cannot be read are reported with
//! their line number while the rest imports; text that is not UTF-8 is
//! read as Latin-1, byte for byte (never refused).

mod container;
mod export;
mod imdb;
mod letterboxd;
mod table;
mod trakt;
mod watchme;

pub use container::{FileReader, ImportLimits};
pub use export::ZipExportWriter;
