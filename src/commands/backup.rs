//! `feedloom backup FILE [--force]`: a consistent copy of the store, safe while
//! the daemon writes (see [`crate::store::backup`]).

use std::path::Path;

use super::Failure;
use crate::config::Config;
use crate::store::backup::{BackupError, backup};

/// Makes the backup; the report line on success.
pub fn run(cfg: &Config, dest: &Path, force: bool) -> Result<String, Failure> {
    if let Some(url) = &cfg.store.url {
        return Err(Failure::Usage(format!(
            "backup copies a SQLite store; this config's store is PostgreSQL ({}): back it up with \
             PostgreSQL's own tools, e.g. `pg_dump --format=custom --file={} '{}'` \
             (consistent while the nodes write; restore with pg_restore)",
            crate::store::postgres::redact(url),
            dest.display(),
            crate::store::postgres::redact(url)
        )));
    }
    let r = backup(&cfg.store.path, dest, force).map_err(|e| match e {
        BackupError::Exists(_) | BackupError::NoFolder(_) | BackupError::Refused { .. } => {
            Failure::Usage(e.to_string())
        }
        other => Failure::Runtime(crate::error::chain(&other)),
    })?;
    Ok(format!(
        "backed up {} to {}: {} items, schema version {}, {:.1} MB, in {:.1}s (integrity check ok)",
        cfg.store.path.display(),
        r.path.display(),
        r.items,
        r.schema_version,
        r.bytes as f64 / 1e6,
        r.took.as_secs_f64()
    ))
}
