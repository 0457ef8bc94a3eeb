//! `feedloom backup FILE`: a consistent copy of the store, safe while the daemon
//! writes. `VACUUM INTO` from a read-only connection: one read transaction (a
//! snapshot), which in WAL mode never blocks the writer, and a compact copy.
//! The copy is written beside its destination under a temporary name, checked
//! (`PRAGMA integrity_check`, schema version), then renamed into place, so a
//! backup file is either complete and sound or absent.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// A finished backup.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub items: i64,
    pub schema_version: u32,
    pub took: Duration,
}

/// Why a backup was not made. Nothing is left at the destination.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{} already exists; pass --force to replace it", .0.display())]
    Exists(PathBuf),
    #[error("cannot back up to {}: its folder does not exist", .0.display())]
    NoFolder(PathBuf),
    /// The destination is the store itself or one of its files, or not a
    /// plain file (a link, a device, a folder): never replaced, even with
    /// `--force`.
    #[error("cannot back up to {}: {why}", path.display())]
    Refused { path: PathBuf, why: &'static str },
    /// The destination is the store of a feedloom running now: replacing it
    /// would lose everything that feedloom writes after.
    #[error("cannot back up to {}: it is the store of {holder}, which is running", path.display())]
    InUse { path: PathBuf, holder: String },
    /// Nothing can be written in the destination's folder (SQLite said
    /// "unable to open database: .NAME.PID.tmp", naming its temporary file).
    #[error("cannot back up to {}: cannot write in its folder {}: {source}", path.display(), folder.display())]
    Unwritable {
        path: PathBuf,
        folder: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::error::StoreError),
    /// The store could not be read (not a SQLite file, unreadable).
    #[error("cannot read the store {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// Writing or checking the copy failed (`path` is the destination; the
    /// copy is written beside it under a temporary name first).
    #[error("copying the store to {}: {source}", path.display())]
    Copy {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the copy at {} failed its integrity check: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("moving the copy into place at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Copies the store at `store` to `dest` (refusing to replace an existing file
/// unless `force`).
pub fn backup(store: &Path, dest: &Path, force: bool) -> Result<BackupReport, BackupError> {
    // (A store cut short is said as such: "cannot read the store: database
    // disk image is malformed".)
    super::refuse_cut_short(store)?;
    super::refuse_not_begun(store)?;
    super::refuse_other_programs(store)?;
    let started = Instant::now();
    let refused = |why| BackupError::Refused {
        path: dest.to_path_buf(),
        why,
    };
    // (Before "already exists": `--force` would then be refused all the same.)
    if is_store_file(store, dest) {
        // The copy renamed over the live store (or its -wal, or its lock)
        // lost what the daemon wrote after it, or broke the store.
        return Err(refused(
            "it is the store itself or one of its files (-wal, -shm, -journal, .lock)",
        ));
    }
    // Nor another store's (another config's daemon): `--force` onto its
    // `-wal` replaced the log that daemon was writing, and a crash after
    // lost the whole store; onto its lock, a second writer ran beside it.
    let side = dest.as_os_str().as_encoded_bytes();
    if [b"-wal".as_slice(), b"-shm", b"-journal", b".lock"]
        .iter()
        .any(|end| {
            side.strip_suffix(*end).is_some_and(|base| {
                use std::os::unix::ffi::OsStrExt;
                !base.is_empty()
                    && std::fs::metadata(Path::new(std::ffi::OsStr::from_bytes(base)))
                        .is_ok_and(|m| m.is_file())
            })
        })
    {
        return Err(refused(
            "it is a file SQLite or feedloom keeps beside a store (-wal, -shm, -journal, .lock \
             of the file it names without that ending); name a file of its own",
        ));
    }
    if dest.as_os_str().as_encoded_bytes().ends_with(b"/") {
        // (It copied the whole store, then failed to move it: "Not a
        // directory".)
        return Err(refused("it names a folder (it ends in /); name a file"));
    }
    if let Ok(meta) = std::fs::symlink_metadata(dest) {
        if !meta.file_type().is_file() {
            // `--force` replaced a device (`/dev/null`) or a link with a
            // plain file.
            return Err(refused(
                "it is not a plain file (a link, a device or a folder); name a file",
            ));
        }
        if !force {
            return Err(BackupError::Exists(dest.to_path_buf()));
        }
        if let Some(holder) = crate::store::lock::holder(dest) {
            return Err(BackupError::InUse {
                path: dest.to_path_buf(),
                holder,
            });
        }
    }
    // (Its folder probed before its lock is taken: into a folder this user
    // cannot write, `--force` said "cannot open store FILE: cannot lock it",
    // as if FILE were a store.)
    let folder = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(BackupError::NoFolder(dest.to_path_buf()));
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let tmp = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    // Made new, never opened where found: a link planted under this name
    // (the pid is guessable) had the probe truncate the file it names.
    if let Err(source) = crate::fresh_file(&tmp, 0o600) {
        return Err(BackupError::Unwritable {
            path: dest.to_path_buf(),
            folder: folder.to_path_buf(),
            source,
        });
    }
    let _ = std::fs::remove_file(&tmp);
    // A file replaced (`--force`) is held for the copy's whole time, as a
    // store is: a `run` or `poll` started on it meanwhile is refused, not
    // renamed over. (A new backup file gets no lock file beside it.)
    // (The lock file stays: removed while held, a writer that had opened it
    // would lock the removed file and a third one a new file, both at once.)
    let held = match std::fs::symlink_metadata(dest).is_ok() {
        true => Some(
            crate::store::lock::StoreLock::acquire(dest, "backup").map_err(|e| match e {
                crate::error::StoreError::Locked { holder, .. } => BackupError::InUse {
                    path: dest.to_path_buf(),
                    holder,
                },
                other => BackupError::Store(other),
            })?,
        ),
        false => None,
    };
    // What a killed backup to the same file left (copies of the whole store).
    crate::export::remove_stale_temps_beside(dest);
    let journal = folder.join(format!(".{name}.{}.tmp-journal", std::process::id()));
    // (Again when a writer that started meanwhile changed the store under
    // the copy: see `store::read_consistently`.)
    let result = super::read_consistently(store, || {
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(&journal);
        copy_and_check(store, &tmp, dest)
    });
    let (items, schema_version) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            let _ = std::fs::remove_file(&journal);
            return Err(e);
        }
    };
    let _ = std::fs::remove_file(&journal);
    // What SQLite kept beside the file replaced (a `-wal` left by a process
    // killed while it had the old file open) would be read as part of the
    // copy: the old contents, or a malformed file.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut beside = dest.as_os_str().to_owned();
        beside.push(suffix);
        match std::fs::remove_file(&beside) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(BackupError::Io {
                    path: PathBuf::from(beside),
                    source,
                });
            }
        }
    }
    // A store's copy is as private as the store (root's backup of a 0600
    // store was 0644).
    if let Ok(m) = std::fs::metadata(store) {
        use std::os::unix::fs::PermissionsExt;
        let mode = m.permissions().mode() & 0o777;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode));
    }
    let io = |source| {
        let _ = std::fs::remove_file(&tmp);
        BackupError::Io {
            path: dest.to_path_buf(),
            source,
        }
    };
    match force || held.is_some() {
        true => std::fs::rename(&tmp, dest).map_err(io)?,
        // Without `--force`, never over a file made while the copy was
        // written (another job's, or a second backup's): a second name for
        // the copy, which fails where one exists, then the temporary name
        // goes. (Where the file system has no hard links, a rename after
        // looking once more.)
        false => match std::fs::hard_link(&tmp, dest) {
            Ok(()) => {
                let _ = std::fs::remove_file(&tmp);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&tmp);
                return Err(BackupError::Exists(dest.to_path_buf()));
            }
            Err(_) if std::fs::symlink_metadata(dest).is_err() => {
                std::fs::rename(&tmp, dest).map_err(io)?
            }
            Err(source) => return Err(io(source)),
        },
    }
    drop(held);
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        path: dest.to_path_buf(),
        bytes,
        items,
        schema_version,
        took: started.elapsed(),
    })
}

/// Whether `dest` names the store at `store` or one of its files
/// ([`crate::store::lock::store_files`]), whichever way either path is written
/// (links, `..`, another name of the same file).
pub(crate) fn is_store_file(store: &Path, dest: &Path) -> bool {
    let plain = |p: &Path| -> Option<PathBuf> {
        let folder = p.parent().filter(|f| !f.as_os_str().is_empty());
        let folder = std::fs::canonicalize(folder.unwrap_or(Path::new("."))).ok()?;
        Some(folder.join(p.file_name()?))
    };
    let dest_plain = plain(dest);
    crate::store::lock::store_files(store)
        .iter()
        .any(|f| crate::same_file(f, dest) || (dest_plain.is_some() && plain(f) == dest_plain))
}

/// Copies the store to `tmp` and checks the copy; errors name the store, or
/// `dest` (what the person asked for), not the temporary name.
fn copy_and_check(store: &Path, tmp: &Path, dest: &Path) -> Result<(i64, u32), BackupError> {
    let src = super::open_reader(store)?;
    // The source first: a file that is not SQLite is the store's fault, not
    // the copy's.
    src.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|source| BackupError::Read {
        path: store.to_path_buf(),
        source,
    })?;
    let copy_err = |source| BackupError::Copy {
        path: dest.to_path_buf(),
        source,
    };
    src.execute("VACUUM INTO ?1", [tmp.to_string_lossy()])
        .map_err(copy_err)?;
    drop(src);
    let copy =
        Connection::open_with_flags(tmp, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(copy_err)?;
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(copy_err)?;
    if check != "ok" {
        return Err(BackupError::Corrupt {
            path: dest.to_path_buf(),
            message: check,
        });
    }
    // A store as feedloom keeps one (the copy comes out in rollback-journal mode).
    let _: String = copy
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(copy_err)?;
    let version: u32 = copy
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(copy_err)?;
    let items: i64 = copy
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .map_err(copy_err)?;
    copy.close().map_err(|(_, e)| copy_err(e))?;
    Ok((items, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store of one table, for copying (with a schema version: without
    /// one, it is another program's database, refused).
    fn small_store(path: &Path) {
        let c = Connection::open(path).unwrap();
        c.execute_batch(
            "CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items DEFAULT VALUES;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }

    /// The temporary name is guessable (the pid): a link planted under it
    /// had the backup truncate (or create, as root) the file it named.
    #[test]
    fn a_link_planted_as_the_temporary_file_is_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        small_store(&store);
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o600)).unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        let pid = std::process::id();
        std::os::unix::fs::symlink(&victim, shared.join(format!(".b.db.{pid}.tmp"))).unwrap();
        let made = dir.path().join("made-by-the-backup.txt");
        std::os::unix::fs::symlink(&made, shared.join(format!(".c.db.{pid}.tmp"))).unwrap();
        for name in ["b.db", "c.db"] {
            let r = backup(&store, &shared.join(name), false).unwrap();
            assert_eq!(r.items, 1);
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!made.exists());
        // As private as the store (it was 0644 whatever the store's mode).
        let mode = std::fs::metadata(shared.join("b.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A name ending in `/` is a folder: refused before copying.
        let e = backup(&store, &dir.path().join("newdir/"), false).unwrap_err();
        assert!(e.to_string().contains("it names a folder"), "{e}");
        assert!(!dir.path().join("newdir").exists());
    }

    /// The store's files, whichever way it or the destination is named: a
    /// store path that is a link has its lock and its `-wal` beside the file
    /// (and an older feedloom's lock beside the link).
    #[test]
    fn the_store_files_through_links_and_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        std::fs::write(&real, "x").unwrap();
        let link = dir.path().join("feeds.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        for dest in [
            "feeds.db.lock",
            "real.db-wal",
            "real.db",
            "feeds.db-shm",
            "./feeds.db.lock",
            "real.db.lock",
        ] {
            assert!(is_store_file(&link, &dir.path().join(dest)), "{dest}");
        }
        for dest in ["real.db.lock.bak", "other.db", "feeds.db.lock2"] {
            assert!(!is_store_file(&link, &dir.path().join(dest)), "{dest}");
        }
    }
}
