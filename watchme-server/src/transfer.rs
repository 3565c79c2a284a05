//! `watchme import` and `watchme export`: the import and export use cases
//! from the command line, for one user named by email, against the
//! configured storage. Progress goes to stderr: a line redrawn in place on
//! a terminal, a plain line every few seconds otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use watchme_core::domain::{Email, ImportJob, ImportSource, ImportStatus, RequestContext};

use crate::app::{build_state, SigningKeys, Storage};
use crate::config::Config;

async fn open(config: &Config, email: &str) -> Result<(crate::app::Wiring, RequestContext), String> {
    let email = Email::parse(email).map_err(|e| format!("--user: {e}"))?;
    let storage = Storage::open(config, config.database.auto_migrate).await.map_err(|e| e.to_string())?;
    let user = storage.users.find_by_email(&email).await.map_err(|e| e.to_string())?;
    let user = user.ok_or_else(|| format!("no account with the email {email}"))?;
    let keys = SigningKeys::hs256(&[0; 32]).map_err(|e| e.to_string())?;
    let wiring = build_state(config, storage, keys).map_err(|e| e.to_string())?;
    Ok((wiring, RequestContext::user(user.id)))
}

fn done(c: &watchme_core::domain::ImportCounts) -> u64 {
    c.plays_added
        + c.ratings_added
        + c.statuses_added
        + c.favorites_added
        + c.list_items_added
        + c.already_present
        + c.skipped
        + c.unmatched
}

fn progress(job: &ImportJob, terminal: bool) {
    let c = &job.counts;
    let line = format!(
        "{}: {}/{} rows, {} plays, {} ratings, {} statuses, {} favorites, {} list items added, {} already there, {} unmatched",
        job.status, done(c), c.rows_read, c.plays_added, c.ratings_added, c.statuses_added, c.favorites_added,
        c.list_items_added, c.already_present, c.unmatched
    );
    let mut err = std::io::stderr();
    if terminal {
        let _ = write!(err, "\r\x1b[2K{line}");
    } else {
        let _ = writeln!(err, "{line}");
    }
    let _ = err.flush();
}

/// Imports `path` (a file of `source`) for the user with `email`.
///
/// # Errors
/// A message for the user: no such account, a file that cannot be
/// imported, a failed job.
pub async fn import(config: &Config, email: &str, source: &str, path: &Path, dry_run: bool) -> Result<(), String> {
    let source: ImportSource = source.parse().map_err(|e| format!("--source: {e}"))?;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (wiring, ctx) = open(config, email).await?;
    let imports = wiring.state.imports.clone();
    let job = imports.start(&ctx, source, dry_run).await.map_err(|e| e.to_string())?;
    let reader = imports.clone();
    let file = tokio::task::spawn_blocking(move || reader.read(source, &bytes)).await.map_err(|e| e.to_string())?;
    let id = job.id;
    let running = tokio::spawn({
        let (imports, ctx) = (imports.clone(), ctx.clone());
        async move { imports.run(&ctx, job, file).await }
    });
    let terminal = std::io::stderr().is_terminal();
    let (tick, mut last) = (Duration::from_millis(if terminal { 200 } else { 5000 }), Instant::now());
    while !running.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if last.elapsed() >= tick {
            last = Instant::now();
            if let Ok(j) = imports.job(&ctx, id).await {
                progress(&j, terminal);
            }
        }
    }
    let job = running.await.map_err(|e| e.to_string())?;
    progress(&job, terminal);
    if terminal {
        eprintln!();
    }
    for p in job.problems.iter().take(20) {
        eprintln!("  {}:{}: {}: {}", p.origin.file, p.origin.line, p.kind, p.reason);
    }
    if job.problems.len() > 20 {
        eprintln!("  ... {} problems in all (GET /me/imports/{}/report)", job.problems.len(), job.id);
    }
    if let Some(sql) = &wiring.storage.sql {
        sql.close().await;
    }
    match job.status {
        ImportStatus::Done => Ok(()),
        _ => Err(job.error.unwrap_or_else(|| "the import failed".into())),
    }
}

/// Writes the export ZIP of the user with `email` to `output`.
///
/// # Errors
/// A message for the user: no such account, a read or write failure.
pub async fn export(config: &Config, email: &str, output: &Path) -> Result<(), String> {
    let (wiring, ctx) = open(config, email).await?;
    let zip = wiring.state.imports.export_zip(&ctx).await.map_err(|e| e.to_string())?;
    if let Some(sql) = &wiring.storage.sql {
        sql.close().await;
    }
    std::fs::write(output, &zip).map_err(|e| format!("{}: {e}", output.display()))?;
    eprintln!("wrote {} ({} bytes)", output.display(), zip.len());
    Ok(())
}
