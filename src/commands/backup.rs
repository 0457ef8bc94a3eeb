//! `feedloom backup FILE [--force]`: a consistent copy of the store, safe while
//! the daemon writes (see [`crate::store::backup`]); `feedloom restore FILE`:
//! the store replaced by such a copy, the daemon stopped.

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

/// Replaces the store with the backup `file`: checked first (a feedloom
/// store this build can open, not the store itself), with the store's lock
/// held (not while the daemon runs). The store it replaces is checkpointed
/// and kept beside it as `STORE.before-restore-TIME` (its `-wal` too, when the
/// checkpoint fails), and no `-wal` or `-shm` of it stays beside the restored
/// file: copied over the store by hand, a backup had a killed daemon's `-wal`
/// replayed onto it, and the store was malformed.
pub fn restore(cfg: &Config, file: &Path) -> Result<String, Failure> {
    use crate::store::lock::StoreLock;
    if cfg.store.url.is_some() {
        return Err(Failure::Usage(
            "restore replaces a SQLite store; this config's store is PostgreSQL: restore it \
             with pg_restore"
                .to_string(),
        ));
    }
    let store = &cfg.store.path;
    let usage = |why: String| Failure::Usage(format!("cannot restore {}: {why}", file.display()));
    if !std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
        return Err(usage(
            "no such file (name the backup to restore)".to_string(),
        ));
    }
    if crate::store::backup::is_store_file(store, file) {
        return Err(usage(format!(
            "it is the store itself ({}) or one of its files",
            store.display()
        )));
    }
    // A feedloom store this build reads (an older one is upgraded when next
    // opened).
    let known = crate::store::MIGRATIONS.len() as u32;
    let (version, tables) = crate::store::open_reader(file)
        .and_then(|c| {
            let v: u32 = c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(crate::error::StoreError::ctx("reading the backup"))?;
            let t: i64 = c
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('feeds', 'items')",
                    [],
                    |r| r.get(0),
                )
                .map_err(crate::error::StoreError::ctx("reading the backup"))?;
            Ok((v, t))
        })
        .map_err(|e| usage(crate::error::chain(&e)))?;
    if tables < 2 {
        return Err(usage(
            "it is not a feedloom store (no feeds and items tables)".to_string(),
        ));
    }
    if version > known {
        return Err(usage(format!(
            "it was written by a newer feedloom (schema version {version}; this one knows {known})"
        )));
    }
    let _lock = StoreLock::acquire(store, "restore")
        .map_err(|e| Failure::Runtime(crate::error::chain(&e)))?;
    let aside = store.with_file_name(format!(
        "{}.before-restore-{}",
        store
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        crate::now_unix()
    ));
    let beside = |p: &Path, suffix: &str| {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        std::path::PathBuf::from(s)
    };
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Failure::Runtime(format!("cannot {what} {}: {e}", p.display()))
    };
    let replaced = store.exists();
    if replaced {
        // Its last commits into the file itself, if it opens; else its
        // `-wal` goes aside with it.
        let checkpointed = rusqlite::Connection::open(store)
            .and_then(|c| {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .is_ok_and(|busy| busy == 0);
        std::fs::rename(store, &aside).map_err(|e| io("move aside", store, e))?;
        let wal = beside(store, "-wal");
        if wal.exists() {
            if checkpointed {
                std::fs::remove_file(&wal).map_err(|e| io("remove", &wal, e))?;
            } else {
                std::fs::rename(&wal, beside(&aside, "-wal"))
                    .map_err(|e| io("move aside", &wal, e))?;
            }
        }
        let shm = beside(store, "-shm");
        if shm.exists() {
            std::fs::remove_file(&shm).map_err(|e| io("remove", &shm, e))?;
        }
    }
    let r = match backup(file, store, false) {
        Ok(r) => r,
        Err(e) => {
            // The store as it was, back in its place.
            if replaced {
                let _ = std::fs::rename(&aside, store);
                let _ = std::fs::rename(beside(&aside, "-wal"), beside(store, "-wal"));
            }
            return Err(match e {
                BackupError::Exists(_) | BackupError::NoFolder(_) | BackupError::Refused { .. } => {
                    Failure::Usage(e.to_string())
                }
                other => Failure::Runtime(crate::error::chain(&other)),
            });
        }
    };
    let mut line = format!(
        "restored {} to {}: {} items, schema version {}, {:.1} MB (integrity check ok)",
        file.display(),
        store.display(),
        r.items,
        r.schema_version,
        r.bytes as f64 / 1e6,
    );
    if replaced {
        line.push_str(&format!(
            "; the store it replaced is kept as {}",
            aside.display()
        ));
    }
    Ok(line)
}
