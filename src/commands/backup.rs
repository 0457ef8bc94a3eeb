//! `feedloom backup FILE [--force]`: a consistent copy of the store, safe while
//! the daemon writes (see [`crate::store::backup`]); `feedloom restore FILE`:
//! the store replaced by such a copy, the daemon stopped.

use std::path::Path;

use super::Failure;
use crate::config::Config;
use crate::store::backup::{BackupError, backup};

/// What `pg_dump` is given to reach the store at `url`: its host, port,
/// user and database as options (`-h 127.0.0.1 -p 5432 -U feedloom fl`),
/// which messages print as they are (a URL's `user@` is masked in every
/// message, and the command as printed failed: role "***" does not exist);
/// the URL itself, quoted, when it says more (a socket, other options).
fn pg_dump_target(url: &str) -> String {
    let shown = format!("'{}'", crate::store::postgres::redact(url));
    let Ok(u) = url::Url::parse(url) else {
        return shown;
    };
    let db = u.path().trim_start_matches('/');
    match (u.host_str(), u.query()) {
        (Some(host), None) if !db.is_empty() && !db.contains(['/', '\'', ' ']) => {
            let mut s = format!("-h {host}");
            if let Some(port) = u.port() {
                s.push_str(&format!(" -p {port}"));
            }
            if !u.username().is_empty() {
                s.push_str(&format!(" -U {}", u.username()));
            }
            s.push_str(&format!(" {db}"));
            s
        }
        _ => shown,
    }
}

/// Makes the backup; the report line on success.
pub fn run(cfg: &Config, dest: &Path, force: bool) -> Result<String, Failure> {
    if let Some(url) = &cfg.store.url {
        return Err(Failure::Usage(format!(
            "backup copies a SQLite store; this config's store is PostgreSQL ({}): back it up with \
             PostgreSQL's own tools, e.g. `pg_dump --format=custom --file={} {}` \
             (consistent while the nodes write; restore with pg_restore)",
            crate::store::postgres::redact(url),
            dest.display(),
            pg_dump_target(url)
        )));
    }
    // (`-` is standard output everywhere else: a file named `-` was written,
    // and `backup - | gzip` compressed the message.)
    if dest.as_os_str() == "-" {
        return Err(Failure::Usage(
            "backup writes a file, not standard output: name the copy's file (e.g. \
             `feedloom backup feedloom-backup.db`; compress that file afterwards)"
                .to_string(),
        ));
    }
    // (With `--force` it replaced the config with a database.)
    if crate::same_file(dest, &cfg.source) {
        return Err(Failure::Usage(format!(
            "{} is the config file itself; write the backup elsewhere",
            dest.display()
        )));
    }
    // (Nor, with `--force`, a file the config reads a secret from, a `file:`
    // feed's document or a published output: each was replaced by a
    // database, and every command then failed on the token.)
    if let Some(what) = crate::config::secret_file_key(cfg, dest) {
        return Err(Failure::Usage(format!(
            "{} is the secret file of {what}; write the backup elsewhere",
            dest.display()
        )));
    }
    if let Some(what) = super::opml::output_file(cfg, dest) {
        return Err(Failure::Usage(format!(
            "{} is {what}; write the backup elsewhere",
            dest.display()
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
    // (The file a link names: a link in the store's place stays one; the
    // restored store had replaced the link, off the disk it pointed to.)
    let store = &crate::store::lock::real_path(&cfg.store.path);
    let usage = |why: String| Failure::Usage(format!("cannot restore {}: {why}", file.display()));
    match std::fs::metadata(file) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(usage(
                "it is not a plain file (a folder?); name the backup to restore".to_string(),
            ));
        }
        Err(_) => {
            return Err(usage(
                "no such file (name the backup to restore)".to_string(),
            ));
        }
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
    // (A backup cut short is said as such: "database disk image is
    // malformed".)
    if let Some(why) = crate::store::cut_short(file) {
        return Err(usage(format!("the backup is damaged: {why}")));
    }
    if crate::store::not_begun(file) {
        return Err(usage(
            "it is an empty file (0 bytes), not a backup: name the file `feedloom backup` wrote"
                .to_string(),
        ));
    }
    let (version, lacks) = crate::store::open_reader(file)
        .and_then(|c| {
            let v: u32 = c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(crate::error::StoreError::ctx("reading the backup"))?;
            Ok((v, crate::store::lacks_store_schema(&c)))
        })
        .map_err(|e| usage(crate::error::chain(&e)))?;
    // (Whatever version it says: another program's database with tables
    // named `feeds` and `items`, a version stamped on it as the message
    // below told, was restored over the store.)
    if let Some(lacks) = lacks {
        return Err(usage(format!(
            "it is not a feedloom store ({lacks}): another program's database, or a damaged copy"
        )));
    }
    if version > known {
        return Err(usage(format!(
            "it was written by a newer feedloom (schema version {version}; this one knows {known})"
        )));
    }
    // (A copy made with `sqlite3 .dump` keeps the tables, not the version:
    // it was restored, "schema version 0 … ok", and every command then
    // refused the store.)
    if version == 0 {
        return Err(usage(format!(
            "it has feedloom's tables but no schema version (a copy made with `sqlite3 .dump` \
             does not keep it): if this feedloom wrote it, set it first with `sqlite3 {} \
             'PRAGMA user_version = {known}'`, else with the version of the feedloom that did",
            file.display()
        )));
    }
    // Nor over another program's database (a typo in `[store] path`): every
    // other command refuses it, and restore replaced it.
    crate::store::refuse_other_programs(store).map_err(|e| {
        Failure::Usage(format!(
            "cannot restore {} over {}: {}",
            file.display(),
            store.display(),
            crate::error::chain(&e)
        ))
    })?;
    let _lock = StoreLock::acquire(store, "restore")
        .map_err(|e| Failure::Runtime(crate::error::chain(&e)))?;
    let name = store
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    use crate::store::lock::beside;
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Failure::Runtime(format!("cannot {what} {}: {e}", p.display()))
    };
    let failed = |e: BackupError| {
        let why = crate::error::chain(&e);
        // (A damaged page in the backup is the backup's fault: it said
        // "copying the store to …: database disk image is malformed".)
        let damaged = match &e {
            BackupError::Copy { source, .. } | BackupError::Read { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            )
            .then(|| source.to_string()),
            BackupError::Corrupt { message, .. } => Some(message.clone()),
            _ => None,
        };
        if let Some(damage) = damaged {
            return usage(format!("the backup is damaged: {damage}"));
        }
        match e {
            BackupError::Exists(_) | BackupError::NoFolder(_) | BackupError::Refused { .. } => {
                usage(why)
            }
            _ => Failure::Runtime(format!("cannot restore {}: {why}", file.display())),
        }
    };
    // The copy first, checked, beside the store under another name: the
    // store stays in its place until the copy is renamed over it (killed
    // while it copied, the store was gone and the next poll made an empty
    // one, announcing everything again).
    // (One name, whichever process: with the store's lock held no other
    // restore runs, and what a killed one left is removed here and, its
    // temporary files, by the copy.)
    let copy = restore_copy(store);
    let _ = std::fs::remove_file(&copy);
    let r = backup(file, &copy, false).map_err(failed)?;
    let replaced = store.exists();
    // The restored store is the replaced one's owner's, with its mode: a
    // restore run as root left a store the daemon's user could not write.
    if let Ok(m) = std::fs::metadata(store) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let _ = std::os::unix::fs::chown(&copy, Some(m.uid()), Some(m.gid()));
        let mode = std::fs::Permissions::from_mode(m.permissions().mode() & 0o7777);
        let _ = std::fs::set_permissions(&copy, mode);
    }
    let mut aside = None;
    if replaced {
        // Kept under a name of its own (a second restore in the same second
        // replaced the first one's), its last commits checkpointed into it,
        // else its `-wal` kept beside it.
        let stamp = crate::now_unix();
        let name_of = |n: u32| match n {
            0 => store.with_file_name(format!("{name}.before-restore-{stamp}")),
            n => store.with_file_name(format!("{name}.before-restore-{stamp}-{n}")),
        };
        let kept = (0..1000)
            .map(name_of)
            .find(|p| std::fs::symlink_metadata(p).is_err())
            .unwrap_or_else(|| name_of(1000));
        let checkpointed = rusqlite::Connection::open(store)
            .and_then(|c| {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .is_ok_and(|busy| busy == 0);
        // (A second name, not a move: the store stays where it is.)
        std::fs::hard_link(store, &kept).map_err(|e| {
            let _ = std::fs::remove_file(&copy);
            io("keep", store, e)
        })?;
        let wal = beside(store, "-wal");
        if wal.exists() && !checkpointed {
            std::fs::copy(&wal, beside(&kept, "-wal")).map_err(|e| {
                let _ = std::fs::remove_file(&copy);
                crate::store::lock::forget_kept_name(store, &kept);
                io("keep", &wal, e)
            })?;
        }
        aside = Some(kept);
    }
    // From here a failure takes back the second name (every writer refused
    // a store of two names, `restore` too, until someone found it).
    let undo = |e: Failure| {
        let _ = std::fs::remove_file(&copy);
        if let Some(kept) = &aside {
            crate::store::lock::forget_kept_name(store, kept);
        }
        e
    };
    // The old store's `-wal` and `-shm` go (replayed onto the copy, they
    // made it malformed), then the copy takes its place at once.
    for suffix in ["-wal", "-shm"] {
        let f = beside(store, suffix);
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(undo(io("remove", &f, e))),
        }
    }
    std::fs::rename(&copy, store).map_err(|e| undo(io("replace", store, e)))?;
    let mut line = format!(
        "restored {} to {}: {} items, schema version {}, {:.1} MB (integrity check ok)",
        file.display(),
        store.display(),
        r.items,
        r.schema_version,
        r.bytes as f64 / 1e6,
    );
    if let Some(kept) = aside {
        line.push_str(&format!(
            "; the store it replaced is kept as {}",
            kept.display()
        ));
    }
    Ok(line)
}

/// Where `restore` copies a backup before it renames it over `store`.
fn restore_copy(store: &Path) -> std::path::PathBuf {
    let name = store.file_name().unwrap_or_default().to_string_lossy();
    store.with_file_name(format!(".{name}.restore"))
}

/// Removes what a killed `restore` left beside `store` (its copy of the
/// backup, the copy's temporary files), which only the next `restore`
/// removed: a full-size file an unattended daemon kept forever. Called with
/// the store's lock held, so no `restore` is running. Returns how many. (A
/// second name it gave the store is taken back with the lock, see
/// [`crate::store::lock::StoreLock::acquire`].)
pub fn remove_restore_leftovers(store: &Path) -> usize {
    // (Beside the file the store is, where `restore` copies: through a
    // symlinked store path it was looked for beside the link, never found.)
    let copy = restore_copy(&crate::store::lock::real_path(store));
    let mut removed = crate::export::remove_stale_temps_beside(&copy);

    // Only a copy no feedloom ever opened as a store (a restore's has no
    // lock file and no `-wal` beside it): another daemon's store may be
    // named so (it was deleted while that daemon ran).
    let opened = [".lock", "-wal", "-shm", "-journal"]
        .iter()
        .any(|s| std::fs::symlink_metadata(crate::store::lock::beside(&copy, s)).is_ok());
    if !opened
        && std::fs::symlink_metadata(&copy).is_ok_and(|m| m.is_file())
        && std::fs::remove_file(&copy).is_ok()
    {
        tracing::info!(path = %copy.display(), "removed the copy a killed `restore` left");
        removed += 1;
    }
    removed
}
