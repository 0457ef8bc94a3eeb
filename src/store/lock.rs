//! The store's lock file: `feedloom.db.lock` beside the database, held with an
//! exclusive `flock` by the one process that writes the store on a schedule
//! (`run`, or `poll`). A second one is refused with a line naming the holder.
//!
//! The lock belongs to the open file descriptor, so it ends with the process
//! however the process ends (SIGKILL included): a stale lock file never blocks
//! the next start. The file stays; the pid in it is only for the message.
//! Read-only commands (`feeds`, `export`, `check`) never take it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// Held while the process may write the store; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

/// Every file of the store at `db`: the database, SQLite's `-wal`, `-shm`
/// and `-journal` beside it (beside the file it names, when `db` is a link),
/// and the lock file (beside the file `db` names, and beside `db` as written).
/// Nothing else may write them.
pub fn store_files(db: &Path) -> Vec<PathBuf> {
    let mut files = vec![db.to_path_buf(), lock_path(db)];
    // (After every link, also of a chain to a store not made yet: an output
    // at the file a dangling link named replaced the store it became.)
    let real = real_path(db);
    for base in [db, real.as_path()] {
        // (".lock" beside the link too: where a feedloom before 2026-12-03
        // took it.)
        for suffix in ["", "-wal", "-shm", "-journal", ".lock"] {
            files.push(beside(base, suffix));
        }
    }
    files
}

/// `path` with `suffix` added to its name (`x.db` and `-wal`: `x.db-wal`).
pub(crate) fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// The lock file of the store at `db`: beside the file `db` names, after
/// symbolic links (a link to the store is the same store: one writer), or
/// beside `db` as written while it does not exist yet.
pub fn lock_path(db: &Path) -> PathBuf {
    beside(&real_path(db), ".lock")
}

/// The file `db` names, after symbolic links; `db` as written while it
/// does not exist yet (or, for a link to a store not made yet, the file it
/// names).
pub fn real_path(db: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(db) {
        return real;
    }
    // (Every link of a chain: stopping at the first, `poll` and `restore`
    // named different lock files, and a restore replaced the middle link.)
    let mut at = db.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&at) {
            Ok(target) if target.is_absolute() => at = target,
            Ok(target) => at = at.parent().unwrap_or(Path::new("")).join(target),
            Err(_) => break,
        }
    }
    at
}

/// Who holds the lock of the store at `db` now (`feedloom run (pid 1234)`),
/// if anyone: asked without taking it for more than an instant, and without
/// creating the lock file.
pub fn holder(db: &Path) -> Option<String> {
    let mut file = std::fs::File::open(lock_path(db)).ok()?;
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.lines().next().unwrap_or("").trim();
            Some(if holder.is_empty() {
                "another feedloom".to_string()
            } else {
                holder.to_string()
            })
        }
        _ => None,
    }
}

/// The config the holder of the lock of `file` named with
/// [`StoreLock::name_config`]; `None` when it named none (a `poll`, or a
/// daemon before 2026-12-04).
pub fn config_of_holder(text: &str) -> Option<PathBuf> {
    text.lines()
        .skip(1)
        .find_map(|l| l.strip_prefix("config "))
        .map(PathBuf::from)
}

impl StoreLock {
    /// Takes the store's lock for `command` (`"run"`, `"poll"`), or says who has it.
    pub fn acquire(db: &Path, command: &str) -> Result<StoreLock, StoreError> {
        super::check_store_path(db)?;
        let path = lock_path(db);
        let io = |source| StoreError::Lock {
            path: db.to_path_buf(),
            lock: path.clone(),
            source,
        };
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Never through a link (a link in a folder others may write would
        // have the lock's line written over the file it names, as root too),
        // and only a plain file.
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "it is a symbolic link (refused: remove it)",
                )),
                _ => io(e),
            })?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is not a plain file (refused: remove it)",
            )));
        }
        // Run as root on a store of the service's user, the lock file takes
        // the store's owner, as SQLite gives its `-wal` and `-shm` files: a
        // lock file root made (one `poll`) kept the service from its store
        // ("cannot lock it: Permission denied").
        {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0
                && meta.uid() == 0
                && let Ok(store) = std::fs::metadata(db)
                && store.uid() != 0
            {
                let _ = std::os::unix::fs::fchown(&file, Some(store.uid()), Some(store.gid()));
            }
        }
        // `--reload` looks whether the lock is held by taking it shared for an
        // instant: a daemon starting then waits that instant out.
        let mut tries = 0;
        let taken = loop {
            match file.try_lock() {
                Err(TryLockError::WouldBlock) if tries < 10 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other,
            }
        };
        match taken {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.lines().next().unwrap_or("").trim();
                return Err(StoreError::Locked {
                    path: db.to_path_buf(),
                    holder: if holder.is_empty() {
                        "another feedloom".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // A store with other names (hard links) has a lock, a WAL and a
        // shared-memory file per name: a writer through another name saw
        // none of this one's commits, and its WAL, replayed later, threw
        // them away without an error.
        // (Not a backup's target: the copy is renamed over it, whatever
        // names the old file has, as an rsnapshot rotation gives it.)
        if command != "backup" {
            // (Those a `restore` killed before its last step gave it are
            // taken back first.)
            // (Beside the file the store is: `restore` names them so.)
            let real = real_path(db);
            for kept in stale_kept_names(&real) {
                forget_kept_name(&real, &kept);
                tracing::info!(path = %kept.display(), "removed the second name of the store a killed `restore` left");
            }
            super::refuse_other_names(db)?;
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "feedloom {command} (pid {})", std::process::id()).map_err(io)?;
        Ok(StoreLock { _file: file, path })
    }

    /// Adds `config <path>` (absolute) under the holder's line: the config
    /// the daemon reads when it reloads, so that `--reload` from another
    /// config of the same store signals nobody (see [`config_of_holder`]).
    pub fn name_config(&mut self, config: &Path) -> std::io::Result<()> {
        // As given, made absolute: the daemon reads that path again at each
        // reload, whatever a link there points to by then (a release folder
        // swapped under a link). A path that is not UTF-8, or holds a line
        // break, is not named (the file is read as lines of text).
        let config = std::path::absolute(config)?;
        match config.to_str().filter(|p| !p.contains(['\n', '\r'])) {
            Some(p) => self._file.write_all(format!("config {p}\n").as_bytes()),
            None => Ok(()),
        }
    }

    /// Why the lock no longer keeps other writers out, if it does not: its
    /// file was deleted or replaced (the lock belongs to the file this
    /// process opened; a `poll` or second daemon makes a new one, and takes
    /// that).
    pub fn lost(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let held = self._file.metadata().ok()?;
        let why = match std::fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "was deleted",
            Err(_) => return None,
            Ok(m) if (m.dev(), m.ino()) != (held.dev(), held.ino()) => {
                "was replaced by another file"
            }
            Ok(_) => return None,
        };
        Some(format!(
            "the store's lock file {} {why}: another feedloom can now write the store beside this one; restart this daemon to take the lock again",
            self.path.display()
        ))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes back the name `restore` gave the store it was about to replace
/// (`STORE.before-restore-TIME`, a second name of the same file) when the
/// store was not replaced after all. The commits a `-wal` copied beside it
/// holds go back beside the store when the store's own is gone.
pub(crate) fn forget_kept_name(store: &Path, kept: &Path) {
    let (kept_wal, wal) = (beside(kept, "-wal"), beside(store, "-wal"));
    if std::fs::symlink_metadata(&kept_wal).is_ok() {
        match std::fs::symlink_metadata(&wal) {
            Ok(_) => {
                let _ = std::fs::remove_file(&kept_wal);
            }
            Err(_) => {
                let _ = std::fs::rename(&kept_wal, &wal);
            }
        }
    }
    let _ = std::fs::remove_file(kept);
}

/// The names a `restore` killed before its last step left for the store
/// itself (`STORE.before-restore-TIME`, hard links to it: the store was not
/// replaced), which made every writer refuse a store "of 2 names".
fn stale_kept_names(store: &Path) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let (Some(name), Ok(me)) = (store.file_name(), std::fs::metadata(store)) else {
        return Vec::new();
    };
    if me.nlink() < 2 {
        return Vec::new();
    }
    let prefix = format!("{}.before-restore-", name.to_string_lossy());
    let dir = match store.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&prefix) && !n.ends_with("-wal")
        })
        .map(|e| e.path())
        .filter(|p| {
            std::fs::symlink_metadata(p)
                .is_ok_and(|m| m.is_file() && m.dev() == me.dev() && m.ino() == me.ino())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run as root on a store of another user (the service's), the lock
    /// file takes the store's owner: made by root, it kept the service from
    /// its store. (Root only: as another user nothing is given away.)
    #[test]
    fn a_lock_file_made_by_root_takes_the_stores_owner() {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        std::fs::write(&db, "").unwrap();
        std::os::unix::fs::chown(&db, Some(65534), Some(65534)).unwrap();
        let lock = StoreLock::acquire(&db, "poll").unwrap();
        let m = std::fs::metadata(lock_path(&db)).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
        drop(lock);
        // A store of root's own: its lock stays root's.
        let own = dir.path().join("g.db");
        std::fs::write(&own, "").unwrap();
        drop(StoreLock::acquire(&own, "poll").unwrap());
        assert_eq!(std::fs::metadata(lock_path(&own)).unwrap().uid(), 0);
    }

    #[test]
    fn a_lock_file_that_is_a_link_or_a_pipe_is_refused_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, lock_path(&db)).unwrap();
        let e = StoreLock::acquire(&db, "poll").err().unwrap().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        std::fs::remove_file(lock_path(&db)).unwrap();
        let fifo = std::ffi::CString::new(lock_path(&db).to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path we own.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let e = StoreLock::acquire(&db, "poll").err().unwrap().to_string();
        assert!(e.contains("not a plain file"), "{e}");
    }

    /// A lock file deleted or replaced under its holder is said: the next
    /// writer makes a new one and takes it.
    #[test]
    fn a_lock_file_deleted_under_its_holder_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        let held = StoreLock::acquire(&db, "run").unwrap();
        assert_eq!(held.lost(), None);
        std::fs::remove_file(lock_path(&db)).unwrap();
        assert!(held.lost().unwrap().contains("f.db.lock was deleted"));
        let second = StoreLock::acquire(&db, "poll").unwrap();
        assert!(held.lost().unwrap().contains("was replaced"));
        assert_eq!(second.lost(), None);
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sub/f.db");
        assert_eq!(holder(&db), None);
        let first = StoreLock::acquire(&db, "run").unwrap();
        assert_eq!(
            holder(&db),
            Some(format!("feedloom run (pid {})", std::process::id()))
        );
        assert_eq!(first.path(), dir.path().join("sub/f.db.lock"));
        let err = StoreLock::acquire(&db, "poll").unwrap_err().to_string();
        assert!(
            err.contains("sub/f.db is in use by feedloom run (pid "),
            "{err}"
        );
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(first);
        // Released with its file descriptor: the next one gets it.
        let again = StoreLock::acquire(&db, "poll").unwrap();
        let text = std::fs::read_to_string(again.path()).unwrap();
        assert!(text.starts_with("feedloom poll (pid "), "{text}");
    }

    #[test]
    fn a_store_with_another_name_is_refused_to_writers() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::hard_link(&db, dir.path().join("hard.db")).unwrap();
        for name in ["s.db", "hard.db"] {
            let e = StoreLock::acquire(&dir.path().join(name), "poll")
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("has 2 names (hard links)"), "{e}");
        }
        // A backup's target may have other names: it is replaced.
        assert!(StoreLock::acquire(&db, "backup").is_ok());
        std::fs::remove_file(dir.path().join("hard.db")).unwrap();
        assert!(StoreLock::acquire(&db, "poll").is_ok());
    }

    #[test]
    fn a_link_to_the_store_is_the_same_store() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/s.db");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        std::fs::write(&db, b"").unwrap();
        let alias = dir.path().join("alias.db");
        std::os::unix::fs::symlink(&db, &alias).unwrap();
        let _first = StoreLock::acquire(&db, "run").unwrap();
        let err = StoreLock::acquire(&alias, "prune").unwrap_err().to_string();
        assert!(err.contains("in use by feedloom run"), "{err}");
        // A link to a store not made yet: the same lock too.
        let new = dir.path().join("data/new.db");
        let early = dir.path().join("early.db");
        std::os::unix::fs::symlink("data/new.db", &early).unwrap();
        let _second = StoreLock::acquire(&early, "run").unwrap();
        let err = StoreLock::acquire(&new, "poll").unwrap_err().to_string();
        assert!(err.contains("in use by feedloom run"), "{err}");
        // Through a chain of links to a store not made yet: the lock beside
        // the file at its end, as once it is made.
        let last = dir.path().join("data/last.db");
        std::os::unix::fs::symlink("data/last.db", dir.path().join("middle.db")).unwrap();
        std::os::unix::fs::symlink("middle.db", dir.path().join("chain.db")).unwrap();
        assert_eq!(
            lock_path(&dir.path().join("chain.db")),
            dir.path().join("data/last.db.lock")
        );
        std::fs::write(&last, b"").unwrap();
        assert_eq!(
            lock_path(&dir.path().join("chain.db")),
            std::fs::canonicalize(&last)
                .unwrap()
                .with_extension("db.lock")
        );
    }
}
