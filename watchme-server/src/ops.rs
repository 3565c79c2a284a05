//! Operator tasks: backup and restore.
//!
//! SQLite: `VACUUM INTO` writes a consistent copy while the server runs;
//! restoring replaces the database file (stop the server first).
//! PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean`, from the
//! PostgreSQL client tools, which must be on the PATH.

use std::path::Path;
use std::process::Command;

use watchme_adapters::sql::{Backend, SqlOptions, SqlStore};

use crate::config::{Config, Database};

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The configured storage cannot be backed up.
    #[error("{0}")]
    Unsupported(String),
    /// A required tool is missing.
    #[error("{tool} was not found on the PATH; install the PostgreSQL client tools (Debian: postgresql-client) of your server's major version")]
    MissingTool {
        /// The program.
        tool: &'static str,
    },
    /// The operation failed.
    #[error("{0}")]
    Failed(String),
}

fn url(config: &Config) -> Result<String, OpsError> {
    match &config.database.url {
        Database::Memory => Err(OpsError::Unsupported("storage is in memory: there is nothing to back up".into())),
        Database::Url(u) => Ok(u.expose().to_owned()),
    }
}

fn run(tool: &'static str, args: &[&str]) -> Result<(), OpsError> {
    let out = Command::new(tool).args(args).output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OpsError::MissingTool { tool },
        _ => OpsError::Failed(format!("could not run {tool}: {e}")),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(OpsError::Failed(format!(
            "{tool} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn sqlite_path(url: &str) -> String {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or(path).to_owned()
}

/// Writes a consistent backup of the configured database to `output`.
///
/// # Errors
/// [`OpsError`] when the storage is in memory, a tool is missing, or the copy fails.
pub async fn backup(config: &Config, output: &Path) -> Result<(), OpsError> {
    let url = url(config)?;
    if output.exists() {
        return Err(OpsError::Failed(format!("{} exists already; choose a new file", output.display())));
    }
    match Backend::of_url(&url).map_err(|e| OpsError::Failed(e.to_string()))? {
        Backend::Sqlite => {
            let store =
                SqlStore::connect_lazy(&url, &SqlOptions::default()).map_err(|e| OpsError::Failed(e.to_string()))?;
            let done = store.vacuum_into(&output.to_string_lossy()).await;
            store.close().await;
            done.map_err(|e| OpsError::Failed(format!("VACUUM INTO failed: {}", crate::error::chain(&e))))
        }
        Backend::Postgres => {
            let out = output.to_string_lossy();
            run("pg_dump", &["--format=custom", "--no-owner", "--file", &out, "--dbname", &url])
        }
    }
}

/// Restores `input` (made by [`backup`]) into the configured database,
/// replacing its contents. Stop every server using the database first.
///
/// # Errors
/// [`OpsError`] when the storage is in memory, a tool is missing, or the restore fails.
pub async fn restore(config: &Config, input: &Path) -> Result<(), OpsError> {
    let url = url(config)?;
    if !input.is_file() {
        return Err(OpsError::Failed(format!("{} is not a file", input.display())));
    }
    match Backend::of_url(&url).map_err(|e| OpsError::Failed(e.to_string()))? {
        Backend::Sqlite => {
            let target = sqlite_path(&url);
            // Check the backup opens as a WatchMe database before replacing anything.
            let probe =
                SqlStore::connect_lazy(&format!("sqlite://{}?mode=ro", input.display()), &SqlOptions::default())
                    .map_err(|e| OpsError::Failed(e.to_string()))?;
            let ok = probe.check_is_watchme().await;
            probe.close().await;
            ok.map_err(|e| OpsError::Failed(format!("{} is not a WatchMe SQLite backup: {e}", input.display())))?;
            let staging = format!("{target}.restoring");
            std::fs::copy(input, &staging).map_err(|e| OpsError::Failed(format!("copying to {staging}: {e}")))?;
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{target}{suffix}"));
            }
            std::fs::rename(&staging, &target).map_err(|e| OpsError::Failed(format!("replacing {target}: {e}")))
        }
        Backend::Postgres => {
            let inp = input.to_string_lossy();
            run("pg_restore", &["--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname", &url, &inp])
        }
    }
}
