//! Editing the config file in place: appending and removing `[[feed]]` blocks.
//!
//! Every byte the edit does not concern stays as it was: comments, blank lines,
//! key order and quoting (`toml_edit` keeps them; removal cuts one block of text).
//! An edit is checked before it is written: the new text must load with
//! [`crate::config::parse`] and differ from the old one only by the block added or
//! removed. Files are replaced atomically (temp file, fsync, rename), keep their
//! permissions, follow symlinks to the real file, and are not written when someone
//! else changed the file since it was read. This module never writes anything else.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, TableLike, value};

use super::{Config, ConfigError};

/// Why an edit was refused or failed. `Display` names the file.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot {action} config {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The config does not load as it is: fix it first.
    #[error("{0}")]
    Invalid(ConfigError),
    #[error("{}: {message}", path.display())]
    Unsupported { path: PathBuf, message: String },
    /// The edited text would not load (or changed more than it should): not written.
    #[error("{}: refusing to write an edit that {message} (the file is unchanged)", path.display())]
    Refused { path: PathBuf, message: String },
    #[error("{} changed while feedloom was editing it; nothing written, try again", path.display())]
    Changed { path: PathBuf },
}

/// What `remove` leaves in a config whose last feed it took and that said
/// nothing else (an empty file is one a daemon's reload refuses).
pub const NO_FEEDS_LEFT: &str = "# No feeds: `feedloom add URL` subscribes to one.\n";

/// A `[[feed]]` block to append. Values are written as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFeed {
    pub url: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub every: Option<String>,
    /// Written as `untrusted = true`: the address came from elsewhere.
    pub untrusted: bool,
}

/// The config file as read for an edit.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The path as given (named in messages; anchors relative paths).
    pub path: PathBuf,
    /// Where the bytes live: `path` with symlinks resolved.
    target: PathBuf,
    pub text: String,
    /// False when the file did not exist (it is created on write).
    pub existed: bool,
}

impl ConfigFile {
    /// Reads the config at `path`. A missing file reads as empty when `create` is
    /// set (a new config), and is an error otherwise.
    pub fn read(path: &Path, create: bool) -> Result<ConfigFile, EditError> {
        // Another editor making the config has it under two names for a
        // moment (its temporary file is linked as the config, then
        // removed): wait for that to end rather than call it a hard link.
        // (Read again after the look: it may have ended in between.)
        for _ in 0..400 {
            match Self::read_once(path, create) {
                Err(EditError::Unsupported { .. }) if being_created(path) => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(EditError::Unsupported { .. }) => break,
                r => return r,
            }
        }
        Self::read_once(path, create)
    }

    fn read_once(path: &Path, create: bool) -> Result<ConfigFile, EditError> {
        let io = |source| EditError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        };
        // Never read a device or a pipe (`/dev/zero` for ever), nor replace
        // one with a file.
        // (What `path` names after links: the config editors write through a
        // link to the config, which the admin made.)
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(EditError::Unsupported {
                path: path.to_path_buf(),
                message: "not a plain file (a device, a pipe or a folder); a config is a file"
                    .into(),
            });
        }
        let target = path;
        match std::fs::read_to_string(target) {
            Ok(text) => {
                // A file its owner made read-only is not rewritten (the
                // rename beside it would have replaced it all the same).
                let meta = std::fs::metadata(path).map_err(io)?;
                if meta.permissions().readonly() {
                    return Err(EditError::Unsupported {
                        path: path.to_path_buf(),
                        message: "the file is read-only (no write permission for anyone); \
                                  make it writable to let feedloom edit it (nothing written)"
                            .to_string(),
                    });
                }
                // Nor one this user may not write (the new file renamed into a
                // folder they may write would have made it theirs).
                if let Err(e) = may_write(target) {
                    // A read-only file system (as root too) is the store's
                    // kind of failure, named as such: exit 1.
                    if e.raw_os_error() == Some(libc::EROFS) {
                        return Err(EditError::Io {
                            action: "write",
                            path: path.to_path_buf(),
                            source: e,
                        });
                    }
                    return Err(EditError::Unsupported {
                        path: path.to_path_buf(),
                        message: "this user may not write the file; edit it as its owner \
                                  (nothing written)"
                            .to_string(),
                    });
                }
                // Nor one with other names (hard links): the edit replaces
                // the file, and they would keep the old text, unsaid. (An
                // editor killed while it made the file left its temporary
                // name as another: that goes first, as the write would.)
                let meta = match std::os::unix::fs::MetadataExt::nlink(&meta) > 1
                    && crate::export::remove_stale_temps_beside(
                        &std::fs::canonicalize(path).map_err(io)?,
                    ) > 0
                {
                    true => std::fs::metadata(path).map_err(io)?,
                    false => meta,
                };
                if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
                    return Err(EditError::Unsupported {
                        path: path.to_path_buf(),
                        message: format!(
                            "the file has {} other name(s) (hard links), which an edit would \
                             leave with the old text; make them symbolic links (nothing written)",
                            std::os::unix::fs::MetadataExt::nlink(&meta) - 1
                        ),
                    });
                }
                Ok(ConfigFile {
                    path: path.to_path_buf(),
                    target: std::fs::canonicalize(path).map_err(io)?,
                    text,
                    existed: true,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                // A link to a file not made yet: the file is made where the
                // link points (the link was replaced by a plain file).
                // (Through a chain of links too, as the kernel follows one.)
                let mut target = path.to_path_buf();
                for _ in 0..40 {
                    match std::fs::read_link(&target) {
                        Ok(to) => target = target.parent().unwrap_or(Path::new("")).join(to),
                        Err(_) => break,
                    }
                }
                let dir = target
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                if !dir.is_dir() {
                    // (Said as such: "cannot read config …: No such file"
                    // named the file to be made, not the folder missing.)
                    return Err(EditError::Io {
                        action: "create",
                        path: path.to_path_buf(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            format!(
                                "its folder {} does not exist (create it first)",
                                dir.display()
                            ),
                        ),
                    });
                }
                Ok(ConfigFile {
                    path: path.to_path_buf(),
                    target,
                    text: String::new(),
                    existed: false,
                })
            }
            // Bytes that are not UTF-8 are the config's fault, as `check`
            // says (exit 2); they read as a failed read (exit 1).
            // (Located, as `check` says it.)
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(
                match std::fs::read(target)
                    .ok()
                    .and_then(|b| String::from_utf8(b).err())
                {
                    Some(bad) => {
                        EditError::Invalid(super::not_utf8(path, bad.as_bytes(), bad.utf8_error()))
                    }
                    None => EditError::Unsupported {
                        path: path.to_path_buf(),
                        message: format!("{e}: a config is TOML, which is UTF-8 (nothing written)"),
                    },
                },
            ),
            Err(e) => Err(io(e)),
        }
    }

    /// The config as it is now.
    pub fn config(&self) -> Result<Config, EditError> {
        // (An edit sends no feed's request: their secrets need not be
        // readable here.)
        let _unread = super::access::leave_feed_secrets_unread();
        super::parse(&self.text, &self.path).map_err(EditError::Invalid)
    }

    /// Loads `new_text` as a config, refusing to write one that does not load or
    /// that `expect` rejects (it says what the edit did wrong), then replaces the
    /// file with it atomically. Returns the new config.
    pub fn write(
        &self,
        new_text: &str,
        expect: impl FnOnce(&Config) -> Result<(), String>,
    ) -> Result<Config, EditError> {
        // (`load` reads at most 16 MiB: a longer config would not load again.)
        if new_text.len() > 16 << 20 {
            return Err(EditError::Refused {
                path: self.path.clone(),
                message: "would make it larger than 16 MiB".to_string(),
            });
        }
        let refused = |message| EditError::Refused {
            path: self.path.clone(),
            message,
        };
        let unread = super::access::leave_feed_secrets_unread();
        let cfg = super::parse(new_text, &self.path)
            .map_err(|e| refused(format!("would not load ({e})")))?;
        drop(unread);
        expect(&cfg).map_err(refused)?;
        let io = |action, source| EditError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        let changed = || EditError::Changed {
            path: self.path.clone(),
        };
        if !self.existed {
            // Created only if it still does not exist (another editor's new
            // file wins).
            return match write_file(&self.target, new_text.as_bytes(), false) {
                Ok(()) => Ok(cfg),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(changed()),
                Err(e) => Err(io("write", e)),
            };
        }
        // One editor at a time: each locks the file it finds there before
        // comparing it and renaming its own over it. An editor that waited
        // for the lock then finds another's text and is refused.
        let lock = std::fs::File::open(&self.target).map_err(|_| changed())?;
        lock.lock().map_err(|e| io("lock", e))?;
        // The file locked must be the one at the path still (another editor
        // may have renamed its own over it while this one waited).
        {
            use std::os::unix::fs::MetadataExt;
            let held = lock.metadata().map_err(|e| io("lock", e))?;
            let now = std::fs::metadata(&self.target).map_err(|_| changed())?;
            if (held.dev(), held.ino()) != (now.dev(), now.ino()) {
                return Err(changed());
            }
        }
        // Someone else's edit since we read the file wins: write nothing.
        match std::fs::read_to_string(&self.target) {
            Ok(now) if now == self.text => {}
            Ok(_) | Err(_) => return Err(changed()),
        }
        write_atomic(&self.target, new_text.as_bytes()).map_err(|e| io("write", e))?;
        drop(lock);
        // (The file keeps its mode: one every user may read that now holds a
        // password it did not is said, with what to do.)
        if secret_lines(new_text) > secret_lines(&self.text) && readable_by_all(&self.target) {
            crate::errln!(
                "feedloom: warning: {} is readable by every user and now holds a password \
                 or token: make it its owner's (chmod 600 {}), or, when the daemon runs as \
                 another user, its owner's and that user's group's (chgrp, chmod 640): a \
                 daemon that may not read it keeps its old config, and does not start again",
                self.path.display(),
                self.path.display()
            );
        }
        Ok(cfg)
    }
}

/// Lines of a config's text that hold a credential: a URL's `user:pass@`, or
/// a password, bearer token or auth table.
fn secret_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            super::access::redact_userinfo(l) != *l
                || l.split('"')
                    .any(|v| url::Url::parse(v).is_ok_and(|u| crate::urls::has_secret_query(&u)))
                || ["password", "bearer", "[feed.auth]", "auth ="]
                    .iter()
                    .any(|k| lower.contains(k))
        })
        .count()
}

fn readable_by_all(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0)
}

/// Whether the file at `path` is also another editor's temporary file
/// (`.NAME.PID.tmp` beside it, the same inode): a config being created.
fn being_created(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(path) = std::fs::canonicalize(path) else {
        return false;
    };
    let (Some(dir), Some(name), Ok(meta)) = (
        path.parent(),
        path.file_name().and_then(|n| n.to_str()),
        std::fs::metadata(&path),
    ) else {
        return false;
    };
    if meta.nlink() < 2 {
        return false;
    }
    let prefix = format!(".{name}.");
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let file = e.file_name();
            file.to_str().is_some_and(|f| {
                f.strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(".tmp"))
                    .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            }) && std::fs::metadata(e.path())
                .is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()))
        })
    })
}

/// Replaces `path` with `bytes`: temp file beside it with the old file's mode
/// (and owner, when allowed), fsync, rename, fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, true)
}

/// [`write_atomic`]; with `replace` false, an existing `path` is left as it
/// is and the error is `AlreadyExists` (the temp file is linked, not renamed).
/// Whether this process may write the file at `path` (`access(2)`, W_OK).
fn may_write(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    match unsafe { libc::access(c.as_ptr(), libc::W_OK) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Gives the new file `f` that replaces `path` the old file's owner, group,
/// ACL and other extended attributes, as far as this user may. The owner
/// when we may (root editing someone's file), else ours; the group when we
/// are in it. A group the file grants access to that cannot be kept, or an
/// ACL that cannot be copied, is an error: the new file would lock out
/// those the old one let read it (the daemon's user, through the group or
/// the ACL, could no longer read its config).
fn keep_owner_and_acl(
    path: &Path,
    meta: &std::fs::Metadata,
    f: &std::fs::File,
) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if std::os::unix::fs::fchown(f, Some(meta.uid()), Some(meta.gid())).is_err() {
        // (Owner and group in one call: a user who may not give the file
        // away failed to keep its group too.)
        let _ = std::os::unix::fs::fchown(f, None, Some(meta.gid()));
    }
    let now = f.metadata()?;
    // The owner lost (an editor in the group, not the owner): the old owner
    // must still read the new file, through the others' bits or the group
    // (it said "added", and the daemon's user could no longer read its
    // config). Root reads anything.
    if now.uid() != meta.uid()
        && meta.uid() != 0
        && meta.mode() & 0o400 != 0
        && meta.mode() & 0o004 == 0
        && !(meta.mode() & 0o040 != 0
            && now.gid() == meta.gid()
            && user_in_group(meta.uid(), meta.gid()) == Some(true))
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "cannot keep the owner (uid {}) of {}, who could then no longer read it: \
                 edit it as that user or root",
                meta.uid(),
                path.display()
            ),
        ));
    }
    if now.gid() != meta.gid() && meta.mode() & 0o070 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "cannot keep the group (gid {}) of {}, which may read it: this user is \
                 not in that group; edit it as its owner, a member of the group or root",
                meta.gid(),
                path.display()
            ),
        ));
    }
    copy_xattrs(path, f)
}

/// Whether the user `uid` is a member of the group `gid` (its first group
/// or another); `None` when the user database does not say (no such user).
fn user_in_group(uid: u32, gid: u32) -> Option<bool> {
    // SAFETY: a zeroed `passwd` is a valid out-parameter; `buf` outlives the
    // calls that read the strings it holds.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the sizes given.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() {
        return None;
    }
    if pwd.pw_gid == gid {
        return Some(true);
    }
    let mut n: libc::c_int = 1024;
    let mut groups = vec![0 as libc::gid_t; 1024];
    // SAFETY: `groups` holds `n` entries; `pw_name` points into `buf`.
    let rc = unsafe { libc::getgrouplist(pwd.pw_name, pwd.pw_gid, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        return None;
    }
    Some(groups[..n.max(0) as usize].contains(&gid))
}

/// Copies the extended attributes of `from` (its POSIX ACL among them) to
/// `to`. One this user may not set is skipped, unless it is the ACL.
fn copy_xattrs(from: &Path, to: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(from.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is NUL-terminated; a null buffer of size 0 asks the size.
    let size = unsafe { libc::listxattr(c.as_ptr(), std::ptr::null_mut(), 0) };
    if size <= 0 {
        // (None, or a file system without them.)
        return Ok(());
    }
    let mut names = vec![0u8; size as usize];
    // SAFETY: `names` has `names.len()` writable bytes.
    let size = unsafe { libc::listxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if size <= 0 {
        return Ok(());
    }
    names.truncate(size as usize);
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = std::ffi::CString::new(name) else {
            continue;
        };
        // SAFETY: as above, for the value of one attribute.
        let len = unsafe { libc::getxattr(c.as_ptr(), cname.as_ptr(), std::ptr::null_mut(), 0) };
        if len < 0 {
            continue;
        }
        let mut value = vec![0u8; len as usize];
        // SAFETY: `value` has `value.len()` writable bytes.
        let len = unsafe {
            libc::getxattr(
                c.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len < 0 {
            continue;
        }
        value.truncate(len as usize);
        // SAFETY: `to` is an open file; `value` holds `value.len()` bytes.
        let set = unsafe {
            libc::fsetxattr(
                to.as_raw_fd(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if set != 0 && name.starts_with(b"system.posix_acl") {
            let e = std::io::Error::last_os_error();
            return Err(std::io::Error::new(
                e.kind(),
                format!(
                    "cannot keep the ACL of {} (who may read it): {e}",
                    from.display()
                ),
            ));
        }
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // What an editor killed mid-write left.
    crate::export::remove_stale_temps_beside(path);
    let old = std::fs::metadata(path).ok();
    let result = (|| {
        // A new file of our own, never one found there (a link planted in a
        // folder others may write would have been followed, and the file it
        // names overwritten and handed over), and readable by no one else
        // until it holds the old file's mode: the text may hold passwords.
        // A new file that holds a password (a URL's `user:pass@`, an
        // `auth` table) is its owner's only: it was made readable by all.
        let text = String::from_utf8_lossy(bytes);
        // (Or a token in a feed URL's query: `?token=`, `?api_key=`.)
        let secret = secret_lines(&text) > 0
            || super::access::redact_userinfo(&text) != text
            || ["password", "bearer", "auth"]
                .iter()
                .any(|k| text.to_ascii_lowercase().contains(k));
        let mode = match (&old, secret) {
            (Some(_), _) | (None, true) => 0o600,
            (None, false) => 0o666,
        };
        let mut f = crate::fresh_file(&tmp, mode).map_err(|e| {
            // (The file is replaced by a new one beside it: the folder
            // must be writable, not only the file.)
            std::io::Error::new(
                e.kind(),
                format!("cannot create a file in the folder {}: {e}", dir.display()),
            )
        })?;
        f.write_all(bytes)?;
        if let Some(meta) = &old {
            f.set_permissions(meta.permissions())?;
            keep_owner_and_acl(path, meta, &f)?;
        }
        f.sync_all()?;
        drop(f);
        if replace {
            std::fs::rename(&tmp, path)?;
        } else {
            std::fs::hard_link(&tmp, path)?;
            std::fs::remove_file(&tmp)?;
        }
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `text` with `feeds` appended as `[[feed]]` blocks after the last existing one
/// (at the end when there is none). Nothing else in the text changes: a
/// byte-order mark and Windows line endings stay (the new lines end as the
/// file's last line break does), which the TOML editor would have changed.
pub fn append_feeds(text: &str, path: &Path, feeds: &[NewFeed]) -> Result<String, EditError> {
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    if !body.contains('\r') {
        return append_feeds_lf(body, path, feeds).map(|out| format!("{bom}{out}"));
    }
    let lf = body.replace("\r\n", "\n");
    let out = append_feeds_lf(&lf, path, feeds)?;
    // The edit only inserted text (checked): find it, and put it into the
    // text as it was, at the same line and column.
    let mut at = lf
        .bytes()
        .zip(out.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    // (A common prefix may end inside a character both texts start alike.)
    while !lf.is_char_boundary(at) || !out.is_char_boundary(at) {
        at -= 1;
    }
    let block = &out[at..at + (out.len() - lf.len())];
    let line_start = lf[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = lf[..line_start].matches('\n').count();
    let original_line_start = match line {
        0 => 0,
        n => body
            .match_indices('\n')
            .nth(n - 1)
            .map_or(body.len(), |(i, _)| i + 1),
    };
    let original_at = original_line_start + (at - line_start);
    // The new lines end as the file's last line break does.
    let eol = match body.rfind('\n') {
        Some(i) if i > 0 && body.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    };
    Ok(format!(
        "{bom}{}{}{}",
        &body[..original_at],
        block.replace('\n', eol),
        &body[original_at..]
    ))
}

fn append_feeds_lf(text: &str, path: &Path, feeds: &[NewFeed]) -> Result<String, EditError> {
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| EditError::Unsupported {
                path: path.to_path_buf(),
                message: format!("not valid TOML: {e}"),
            })?;
    let existing = match doc.as_table_mut().get("feed") {
        None => 0,
        Some(item) => match item.as_array_of_tables() {
            Some(a) => a.len(),
            None => {
                return Err(EditError::Unsupported {
                    path: path.to_path_buf(),
                    message: "its feeds are not written as [[feed]] blocks (e.g. `feed = [...]`); \
                              rewrite them as [[feed]] blocks to edit them with feedloom"
                        .to_string(),
                });
            }
        },
    };
    // The new blocks, each after a blank line, as toml_edit writes values.
    let mut blocks = String::new();
    for f in feeds {
        let mut one = DocumentMut::new();
        let mut array = ArrayOfTables::new();
        let mut t = Table::new();
        t.insert("url", value(&f.url));
        if let Some(title) = &f.title {
            t.insert("title", value(title));
        }
        if !f.tags.is_empty() {
            let tags: Array = f.tags.iter().map(String::as_str).collect();
            t.insert("tags", value(tags));
        }
        if let Some(every) = &f.every {
            t.insert("every", value(every));
        }
        if f.untrusted {
            t.insert("untrusted", value(true));
        }
        array.push(t);
        one.as_table_mut()
            .insert("feed", Item::ArrayOfTables(array));
        blocks.push('\n');
        blocks.push_str(&one.to_string());
    }
    // After the last feed's own lines (a commented-out key below it stays
    // its own; the comments above the next table stay that table's), else at
    // the end of the file (after its comments, never above them).
    // (A feed whose own table comes after another table cannot be told
    // apart from it: the end of the file.)
    let at = match existing {
        0 => text.len(),
        n => feed_block_end(text, path, n - 1).unwrap_or(text.len()),
    };
    let mut out = String::with_capacity(text.len() + blocks.len() + 1);
    out.push_str(&text[..at]);
    if at > 0 && !text[..at].ends_with('\n') {
        out.push('\n');
    }
    out.push_str(if at == 0 {
        blocks.trim_start_matches('\n')
    } else {
        &blocks
    });
    out.push_str(&text[at..]);
    if !only_inserted(text, &out) {
        return Err(EditError::Refused {
            path: path.to_path_buf(),
            message: "would change more than the added block".to_string(),
        });
    }
    Ok(out)
}

/// `text` without the `index`-th `[[feed]]` block: its header, keys and the
/// comment lines directly above it (no blank line between). Comments separated by
/// a blank line, and those directly above the next table, stay.
pub fn remove_feed(text: &str, path: &Path, index: usize) -> Result<String, EditError> {
    let range = feed_block(text, path, index)?;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..range.start]);
    out.push_str(&text[range.end..]);
    Ok(out)
}

/// The byte range [`remove_feed`] cuts.
pub fn feed_block(text: &str, path: &Path, index: usize) -> Result<Range<usize>, EditError> {
    let (lines, mut first, mut end) = block_lines(text, path, index)?;
    // Blank lines above the block go too when blank lines follow it, so the
    // neighbours keep one gap between them.
    let followed_by_gap = end == lines.len() || lines.is_blank(end);
    if followed_by_gap {
        while first > 0 && lines.is_blank(first - 1) {
            first -= 1;
        }
    }
    if first == 0 {
        // At the top of the file, the gap below goes instead.
        while end < lines.len() && lines.is_blank(end) {
            end += 1;
        }
    }
    Ok(lines.start(first)..lines.start(end))
}

/// Where the `index`-th `[[feed]]` block's own lines end: after its keys, its
/// sub-tables and the comment lines directly below them (a commented-out key),
/// before blank lines, comment paragraphs a blank line sets apart, and the
/// comments directly above the next table. A block added after it goes there.
fn feed_block_end(text: &str, path: &Path, index: usize) -> Result<usize, EditError> {
    let (lines, _, end) = block_lines(text, path, index)?;
    Ok(lines.start(end))
}

/// The `index`-th `[[feed]]` block as lines: its first line (the comment lines
/// directly above its header) and the line after its own ones.
fn block_lines<'t>(
    text: &'t str,
    path: &Path,
    index: usize,
) -> Result<(Lines<'t>, usize, usize), EditError> {
    let unsupported = |message: &str| EditError::Unsupported {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    let doc = toml_edit::Document::parse(text)
        .map_err(|e| unsupported(&format!("not valid TOML: {e}")))?;
    let feeds = doc
        .as_table()
        .get("feed")
        .and_then(Item::as_array_of_tables)
        .ok_or_else(|| unsupported("its feeds are not written as [[feed]] blocks"))?;
    let table = feeds
        .get(index)
        .ok_or_else(|| unsupported("no such [[feed]] block"))?;
    let header = table
        .span()
        .ok_or_else(|| unsupported("no such [[feed]] block"))?;
    // The block's own sub-tables (`[feed.auth.basic]`, `[feed.headers]`) go
    // with it: left behind, they became the previous feed's (its credentials
    // sent to another host).
    let mut own = Vec::new();
    collect_headers(table, &mut own);
    let mut headers = Vec::new();
    collect_headers(doc.as_table(), &mut headers);
    let next = headers
        .iter()
        .copied()
        .filter(|&h| h > header.start && !own.contains(&h))
        .min()
        .unwrap_or(text.len());
    if own.iter().any(|&h| h > next) {
        return Err(unsupported(
            "a table of this [[feed]] block comes after another table; \
             move it up under its [[feed]] to remove the feed with feedloom",
        ));
    }

    let mut values = Vec::new();
    collect_values(doc.as_table(), &mut values);
    let lines = Lines::new(text, values);
    let header_line = lines.index_of(header.start);
    // Start: the comment lines directly above the header.
    let mut first = header_line;
    while first > 0 && lines.is_comment(first - 1) {
        first -= 1;
    }
    // End: back from the next table over its own comments, blank lines, and
    // comment paragraphs that a blank line separates from this block.
    let mut end = if next == text.len() {
        lines.len()
    } else {
        let mut l = lines.index_of(next);
        while l > header_line + 1 && lines.is_comment(l - 1) {
            l -= 1;
        }
        l
    };
    loop {
        while end > header_line + 1 && lines.is_blank(end - 1) {
            end -= 1;
        }
        let mut para = end;
        while para > header_line + 1 && lines.is_comment(para - 1) {
            para -= 1;
        }
        if para < end && para > header_line + 1 && lines.is_blank(para - 1) {
            end = para;
        } else {
            break;
        }
    }
    Ok((lines, first, end))
}

/// Byte ranges of every value in the document: a line starting inside one (a
/// multi-line string's `# x` or blank line, a comment inside an array) is
/// the value's, not a comment or a gap between blocks.
fn collect_values(table: &Table, out: &mut Vec<Range<usize>>) {
    for (_, item) in table.iter() {
        match item {
            Item::Value(v) => out.extend(v.span()),
            Item::Table(t) => collect_values(t, out),
            Item::ArrayOfTables(a) => a.iter().for_each(|t| collect_values(t, out)),
            Item::None => {}
        }
    }
}

/// Byte offsets of every table header (`[x]`, `[[x]]`) in the document.
fn collect_headers(table: &Table, out: &mut Vec<usize>) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => {
                if let Some(s) = t.span() {
                    out.push(s.start);
                }
                collect_headers(t, out);
            }
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    if let Some(s) = t.span() {
                        out.push(s.start);
                    }
                    collect_headers(t, out);
                }
            }
            _ => {}
        }
    }
}

/// Line starts of a text, for line-wise cuts.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// The values' byte ranges (see [`collect_values`]).
    values: Vec<Range<usize>>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, values: Vec<Range<usize>>) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if starts.last() == Some(&text.len()) {
            starts.pop();
        }
        Lines {
            text,
            starts,
            values,
        }
    }

    /// Whether line `i` starts inside a value (a multi-line string or array).
    fn in_value(&self, i: usize) -> bool {
        let at = self.start(i);
        self.values.iter().any(|v| v.start < at && at < v.end)
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where line `i` starts (the text's length past the last line).
    fn start(&self, i: usize) -> usize {
        self.starts.get(i).copied().unwrap_or(self.text.len())
    }

    fn line(&self, i: usize) -> &str {
        &self.text[self.start(i)..self.start(i + 1)]
    }

    fn index_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    fn is_comment(&self, i: usize) -> bool {
        self.line(i).trim_start().starts_with('#') && !self.in_value(i)
    }

    fn is_blank(&self, i: usize) -> bool {
        self.line(i).trim().is_empty() && !self.in_value(i)
    }
}

/// Whether `new` is `old` with one contiguous piece of text inserted.
fn only_inserted(old: &str, new: &str) -> bool {
    let prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = old[prefix..]
        .bytes()
        .rev()
        .zip(new[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    prefix + suffix >= old.len() && new.len() >= old.len()
}

/// The first and last lines (1-based, in `new`) of the text an append added,
/// blank lines aside.
pub fn inserted_lines(old: &str, new: &str) -> (usize, usize) {
    let prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    // Blocks go in at a line's start: a prefix that ends inside a line (the
    // `[[` of `[[feed]]` matched that of the `[[output]]` after it) is cut
    // back to it. The range named the next table's header too.
    let prefix = match prefix < old.len() {
        true => old[..prefix].rfind('\n').map_or(0, |i| i + 1),
        false => prefix,
    };
    let suffix = old[prefix..]
        .bytes()
        .rev()
        .zip(new[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let end = new.len() - suffix.min(new.len() - prefix);
    let piece = &new[prefix..end];
    let start = prefix + (piece.len() - piece.trim_start().len());
    let stop = prefix + piece.trim_end().len();
    (line_of(new, start), line_of(new, stop.max(start)))
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A step in a path to a key: a table key or an index into an array of tables.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Byte range of the key at `path` (e.g. `feed`, 2, `every`) in `text`, for
/// error messages that point at the offending line. An index step gives the
/// span of that table's header.
pub fn key_span(text: &str, path: &[Seg<'_>]) -> Option<Range<usize>> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut table: &dyn TableLike = doc.as_table();
    let mut array: Option<&ArrayOfTables> = None;
    let mut span = None;
    for seg in path {
        match *seg {
            Seg::Key(k) => {
                let (key, item) = table.get_key_value(k)?;
                span = key.span();
                match item {
                    Item::Table(t) => table = t,
                    Item::ArrayOfTables(a) => array = Some(a),
                    Item::Value(toml_edit::Value::InlineTable(t)) => table = t,
                    _ => {}
                }
            }
            Seg::Index(i) => {
                let t = array.take()?.get(i)?;
                span = t.span();
                table = t;
            }
        }
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/feedloom.toml");

    fn p() -> &'static Path {
        Path::new("/etc/feedloom/feedloom.toml")
    }

    fn feed(url: &str) -> NewFeed {
        NewFeed {
            url: url.to_string(),
            ..NewFeed::default()
        }
    }

    /// The one piece of `new` that `old` lacks.
    fn inserted(old: &str, new: &str) -> String {
        let prefix = old
            .bytes()
            .zip(new.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = old.len() - prefix;
        new[prefix..new.len() - suffix].to_string()
    }

    #[test]
    fn append_keeps_every_comment_and_goes_after_the_last_feed() {
        let nf = NewFeed {
            url: "https://example.org/feed.xml".into(),
            title: Some("Say \"hi\" \\ there".into()),
            tags: vec!["news".into(), "日本".into()],
            every: Some("2h".into()),
            untrusted: true,
        };
        let out = append_feeds(SHIPPED, p(), &[nf]).unwrap();
        assert!(only_inserted(SHIPPED, &out));
        assert_eq!(inserted(SHIPPED, &out).lines().count(), 7);
        // Right after the kernel.org block, before the [[output]] section's comments.
        let block = "every = \"6h\"\n\n[[feed]]\nurl = \"https://example.org/feed.xml\"\n\
                     title = 'Say \"hi\" \\ there'\ntags = [\"news\", \"日本\"]\nevery = \"2h\"\n\
                     untrusted = true\n\n\n# ----";
        assert!(out.contains(block), "{out}");
        let cfg = crate::config::parse(&out, p()).unwrap();
        let last = cfg.feeds.last().unwrap();
        assert_eq!(last.title.as_deref(), Some("Say \"hi\" \\ there"));
        assert_eq!(last.tags, vec!["news", "日本"]);
        assert!(last.untrusted);
        assert!(!cfg.feeds[0].untrusted);
        assert_eq!(cfg.feeds.len(), 7);
    }

    #[test]
    fn append_to_empty_unterminated_and_feedless_configs() {
        let out = append_feeds("", p(), &[feed("https://a.example/f")]).unwrap();
        assert_eq!(out, "[[feed]]\nurl = \"https://a.example/f\"\n");
        assert_eq!(inserted_lines("", &out), (1, 2));
        let two = append_feeds(&out, p(), &[feed("https://b.example/f")]).unwrap();
        assert_eq!(inserted_lines(&out, &two), (4, 5));
        // Before a table of its own (`[[output]]`): the new block alone.
        let old = "# lf\n[[feed]]\nurl = \"https://lf.example.com/a\"\ntitle = \"A\"\n\n[[output]]\nname = \"all\"\n";
        let new = append_feeds(old, p(), &[feed("https://n.example/f")]).unwrap();
        let (first, last) = inserted_lines(old, &new);
        let lines: Vec<&str> = new.lines().collect();
        assert_eq!(lines[first - 1], "[[feed]]", "{new}");
        assert_eq!(lines[last - 1], "url = \"https://n.example/f\"", "{new}");
        assert_eq!((first, last), (6, 7), "{new}");
        let out = append_feeds(
            "# mine\n[store]\npath = \"x.db\"",
            p(),
            &[feed("https://a.example/f")],
        )
        .unwrap();
        assert!(
            out.starts_with("# mine\n[store]\npath = \"x.db\"\n"),
            "{out}"
        );
        crate::config::parse(&out, p()).unwrap();
        let text = "[[output]]\nname = \"all\"\n# trailing note\n";
        let out = append_feeds(
            text,
            p(),
            &[feed("https://a.example/f"), feed("https://b.example/f")],
        )
        .unwrap();
        assert!(only_inserted(text, &out), "{out}");
        assert_eq!(crate::config::parse(&out, p()).unwrap().feeds.len(), 2);
        let e = append_feeds(
            "feed = [{ url = \"https://a.example/f\" }]\n",
            p(),
            &[feed("x")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("[[feed]] blocks"), "{e}");
    }

    /// Adding a feed and removing it again gives the file back as it was:
    /// a commented-out key under the last feed stays its own, a file of
    /// comments keeps them above the new block, and comments after the last
    /// table stay where they are (they were pushed under the new block, and
    /// removing it took them).
    #[test]
    fn add_then_remove_gives_the_file_back() {
        let texts = [
            "[[feed]]\nurl = \"https://a.example/feed\"\n# every = \"1h\"   # off for now\n\n[[output]]\nname = \"all\"\n",
            "# My feedloom config\n# (feeds are added below)\n",
            "[[output]]\nname = \"all\"\n# [[output]]\n# name = \"tech\"   # later\n",
            THREE,
        ];
        for text in texts {
            let out = append_feeds(text, p(), &[feed("https://new.example/f")]).unwrap();
            let cfg = crate::config::parse(&out, p()).unwrap();
            let last = cfg.feeds.len() - 1;
            assert_eq!(cfg.feeds[last].url().as_str(), "https://new.example/f");
            assert_eq!(remove_feed(&out, p(), last).unwrap(), text, "{out}");
        }
        let out = append_feeds(texts[0], p(), &[feed("https://new.example/f")]).unwrap();
        assert!(
            out.contains(
                "\"https://a.example/feed\"\n# every = \"1h\"   # off for now\n\n[[feed]]"
            ),
            "{out}"
        );
    }

    /// A multi-line string whose line starts with `#`, or is blank, is the
    /// value's: removing its feed left `# x"""` behind (read as a comment), and
    /// adding after it went inside the string.
    #[test]
    fn lines_inside_multi_line_values_are_the_blocks() {
        // (A line-ending backslash: a title holds no line break.)
        let a = "[[feed]]\nurl = \"https://a.example/f\"\ntitle = \"\"\"A \\\n\n# x\"\"\"\n";
        let b = "\n[[feed]]\nurl = \"https://b.example/f\"\ntags = [\n  # soon\n\n  \"t\",\n]\n";
        let text = format!("[store]\npath = \"s.db\"\n\n{a}{b}");
        assert_eq!(
            remove_feed(&text, p(), 0).unwrap(),
            format!("[store]\npath = \"s.db\"\n{b}")
        );
        assert_eq!(
            remove_feed(&text, p(), 1).unwrap(),
            format!("[store]\npath = \"s.db\"\n\n{a}")
        );
        let out = append_feeds(&text, p(), &[feed("https://new.example/f")]).unwrap();
        let cfg = crate::config::parse(&out, p()).unwrap();
        assert_eq!(cfg.feeds.len(), 3, "{out}");
        assert_eq!(remove_feed(&out, p(), 2).unwrap(), text, "{out}");
    }

    const THREE: &str = "# Feeds\n# ------\n\n# A's note\n[[feed]]\nurl = \"https://a.example/f\"\n\n\
        # B's note\n# more about B\n[[feed]]\nurl = \"https://b.example/f\"\n# every = \"1h\"\n\n\
        [[feed]]\nurl = \"https://c.example/f\"\n\n\n# Outputs\n# -------\n\n# All of it\n[[output]]\nname = \"all\"\n";

    #[test]
    fn remove_takes_the_block_and_its_own_comments_only() {
        let out = remove_feed(THREE, p(), 0).unwrap();
        assert_eq!(
            out,
            THREE.replace(
                "\n# A's note\n[[feed]]\nurl = \"https://a.example/f\"\n",
                ""
            )
        );
        let out = remove_feed(THREE, p(), 1).unwrap();
        assert_eq!(
            out,
            THREE.replace(
                "\n# B's note\n# more about B\n[[feed]]\nurl = \"https://b.example/f\"\n# every = \"1h\"\n",
                ""
            )
        );
        let out = remove_feed(THREE, p(), 2).unwrap();
        assert_eq!(
            out,
            THREE.replace("\n[[feed]]\nurl = \"https://c.example/f\"\n", "")
        );
        for i in 0..3 {
            let out = remove_feed(THREE, p(), i).unwrap();
            assert_eq!(crate::config::parse(&out, p()).unwrap().feeds.len(), 2);
        }
        // The last table of the file.
        let text = "[[feed]]\nurl = \"https://a.example/f\"\n\n[[feed]]\nurl = \"https://b.example/f\"\ntags = [\"x\"]\n";
        assert_eq!(
            remove_feed(text, p(), 1).unwrap(),
            "[[feed]]\nurl = \"https://a.example/f\"\n"
        );
        assert_eq!(
            remove_feed(text, p(), 0).unwrap(),
            "[[feed]]\nurl = \"https://b.example/f\"\ntags = [\"x\"]\n"
        );
    }

    #[test]
    fn appending_keeps_windows_line_endings_and_a_byte_order_mark() {
        let lf = "# mine\n[store]\npath = \"f.db\"\n\n[[feed]]\nurl = \"https://a.example/f\"\n\n[[output]]\nname = \"all\"\n";
        let expected_lf = append_feeds(lf, p(), &[feed("https://b.example/f")]).unwrap();
        assert!(only_inserted(lf, &expected_lf));
        let crlf = lf.replace('\n', "\r\n");
        let out = append_feeds(&crlf, p(), &[feed("https://b.example/f")]).unwrap();
        assert_eq!(out, expected_lf.replace('\n', "\r\n"));
        let bom = format!("\u{feff}{crlf}");
        let out = append_feeds(&bom, p(), &[feed("https://b.example/f")]).unwrap();
        assert_eq!(
            out,
            format!("\u{feff}{}", expected_lf.replace('\n', "\r\n"))
        );
        assert_eq!(crate::config::parse(&out, p()).unwrap().feeds.len(), 2);
        // Mixed: one CRLF, on the last line; every other line stays as it was.
        let mixed = format!("{}\r\n", lf.trim_end());
        let out = append_feeds(&mixed, p(), &[feed("https://b.example/f")]).unwrap();
        assert_eq!(out.replace("\r\n", "\n"), expected_lf);
        assert!(out.ends_with("name = \"all\"\r\n"), "{out:?}");
        assert!(out.starts_with("# mine\n[store]\n"), "{out:?}");
    }

    #[test]
    fn remove_takes_the_blocks_own_tables_with_it() {
        // Left behind, B's credentials became A's (sent to A's host).
        let text = "[[feed]]\nurl = \"https://a.example/f\"\n\n\
            [[feed]]\nurl = \"https://b.example/f\"\n\n\
            [feed.auth.basic]\nuser = \"alice\"\npassword = \"s3cret\"\n\n\
            [feed.headers]\nX-Api-Key = \"k\"\n\n\
            # the outputs\n[[output]]\nname = \"all\"\n";
        let out = remove_feed(text, p(), 1).unwrap();
        assert_eq!(
            out,
            "[[feed]]\nurl = \"https://a.example/f\"\n\n# the outputs\n[[output]]\nname = \"all\"\n"
        );
        let cfg = crate::config::parse(&out, p()).unwrap();
        assert_eq!(cfg.feeds.len(), 1);
        assert!(
            !out.contains("alice") && !out.contains("X-Api-Key"),
            "{out}"
        );
        // The first block, with its tables: the second is whole.
        let out = remove_feed(text, p(), 0).unwrap();
        assert!(
            out.starts_with("[[feed]]\nurl = \"https://b.example/f\"\n\n[feed.auth.basic]"),
            "{out}"
        );
        assert_eq!(crate::config::parse(&out, p()).unwrap().feeds.len(), 1);
    }

    #[test]
    fn removing_the_first_shipped_feed_keeps_the_section_header() {
        let out = remove_feed(SHIPPED, p(), 0).unwrap();
        assert!(out.contains("# [[feed]] — one table per source feed"));
        assert!(!out.contains("# The Rust project's blog (Atom)."));
        assert!(!out.contains("blog.rust-lang.org"));
        assert!(out.contains("# This Week in Rust: one issue a week"));
        assert_eq!(SHIPPED.len() - out.len(), "\n# The Rust project's blog (Atom).\n[[feed]]\nurl = \"https://blog.rust-lang.org/feed.xml\"\ntags = [\"rust\", \"programming\"]\nevery = \"2h\"\n".len());
        assert_eq!(crate::config::parse(&out, p()).unwrap().feeds.len(), 5);
    }

    #[test]
    fn key_spans_point_at_keys() {
        let text = "[fetch]\ntimeout = \"1s\"\n\n[[feed]]\nurl = \"a\"\n\n[[feed]]\nurl = \"b\"\nevery = \"0s\"\n";
        let span = key_span(text, &[Seg::Key("feed"), Seg::Index(1), Seg::Key("every")]).unwrap();
        assert_eq!(line_of(text, span.start), 9);
        let span = key_span(text, &[Seg::Key("fetch"), Seg::Key("timeout")]).unwrap();
        assert_eq!(line_of(text, span.start), 2);
        assert!(key_span(text, &[Seg::Key("feed"), Seg::Index(0), Seg::Key("every")]).is_none());
    }

    #[test]
    fn read_only_files_and_links_to_files_not_made_yet() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ro = dir.path().join("ro.toml");
        std::fs::write(&ro, "# mine\n").unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
        let e = ConfigFile::read(&ro, false).unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
        // A link whose file does not exist yet: made where the link points.
        let link = dir.path().join("feedloom.toml");
        std::os::unix::fs::symlink("real.toml", &link).unwrap();
        let file = ConfigFile::read(&link, true).unwrap();
        file.write("[[feed]]\nurl = \"https://a.example/f\"\n", |_| Ok(()))
            .unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(
            std::fs::read_to_string(dir.path().join("real.toml"))
                .unwrap()
                .contains("a.example")
        );
        // Through a chain of links (into another folder): made at its end
        // (it was "changed while feedloom was editing it" on every try).
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let first = dir.path().join("etc/feedloom.toml");
        std::os::unix::fs::symlink("link2.toml", &first).unwrap();
        std::os::unix::fs::symlink("../real/chained.toml", dir.path().join("etc/link2.toml"))
            .unwrap();
        let file = ConfigFile::read(&first, true).unwrap();
        file.write("[[feed]]\nurl = \"https://b.example/f\"\n", |_| Ok(()))
            .unwrap();
        assert!(
            std::fs::read_to_string(dir.path().join("real/chained.toml"))
                .unwrap()
                .contains("b.example")
        );
        // A file with another name (a hard link) is not edited: the other
        // name would keep the old text.
        let twin = dir.path().join("twin.toml");
        std::fs::hard_link(dir.path().join("real.toml"), &twin).unwrap();
        let e = ConfigFile::read(&link, false).unwrap_err();
        assert!(
            e.to_string().contains("1 other name(s) (hard links)"),
            "{e}"
        );
        // Unless the other name is what a killed editor left (its temporary
        // file, linked as the new config and never unlinked).
        std::fs::remove_file(&twin).unwrap();
        let dead = dir.path().join(".real.toml.999999999.tmp");
        std::fs::hard_link(dir.path().join("real.toml"), &dead).unwrap();
        let file = ConfigFile::read(&link, false).unwrap();
        assert!(file.text.contains("a.example"));
        assert!(!dead.exists());
        // A running editor's, which is making the config (linked, not yet
        // unlinked): read once it is done. Two `add`s at once on a config
        // not made yet had the second refused for a hard link.
        let live = dir
            .path()
            .join(format!(".real.toml.{}.tmp", std::process::id()));
        std::fs::hard_link(dir.path().join("real.toml"), &live).unwrap();
        let unlink = {
            let live = live.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                std::fs::remove_file(live).unwrap();
            })
        };
        let file = ConfigFile::read(&link, false).unwrap();
        assert!(file.text.contains("a.example"));
        unlink.join().unwrap();
    }

    #[test]
    fn a_link_planted_as_the_temp_file_is_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(&cfg, "# old\n").unwrap();
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
        let tmp = dir
            .path()
            .join(format!(".c.toml.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        write_atomic(&cfg, b"password = \"s3cret\"\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(!std::fs::symlink_metadata(&cfg).unwrap().is_symlink());
        assert_eq!(
            std::fs::read_to_string(&cfg).unwrap(),
            "password = \"s3cret\"\n"
        );
        let mode = std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!tmp.exists());
    }

    #[test]
    fn writes_are_checked_atomic_and_keep_mode_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "# keep me\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("feedloom.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        let file = ConfigFile::read(&link, false).unwrap();
        let e = file.write("[[feed]]\nurl = 5\n", |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("would not load"), "{e}");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "# keep me\n");
        let e = file.write("# keep me\n", |_| Err("no".into())).unwrap_err();
        assert!(
            e.to_string().contains("refusing to write an edit that no"),
            "{e}"
        );

        file.write(
            "# keep me\n[[feed]]\nurl = \"https://a.example/f\"\n",
            |c| {
                (c.feeds.len() == 1)
                    .then_some(())
                    .ok_or_else(|| "one feed".to_string())
            },
        )
        .unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::read_to_string(&real)
                .unwrap()
                .contains("a.example")
        );
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());

        // Someone else edits the file between read and write: nothing is written.
        let file = ConfigFile::read(&link, false).unwrap();
        std::fs::write(&real, "# theirs\n").unwrap();
        let e = file.write("# ours\n", |_| Ok(())).unwrap_err();
        assert!(matches!(e, EditError::Changed { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "# theirs\n");

        // A missing file: created only when asked to.
        let new = dir.path().join("new.toml");
        assert!(ConfigFile::read(&new, false).is_err());
        let file = ConfigFile::read(&new, true).unwrap();
        assert!(!file.existed && file.text.is_empty());
        let e = ConfigFile::read(&dir.path().join("no/such/dir.toml"), true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("its folder") && e.contains("no/such does not exist"),
            "{e}"
        );
    }
}
