//! The subcommands that manage feeds and show what feedloom does: one file per
//! command (`add`, `remove`, `opml` for import-opml/export-opml, `feeds`, `poll`'s
//! progress, `check`'s warnings). `main.rs` parses the CLI and calls into here.
//!
//! Commands print their report on stdout and their errors on stderr, and never
//! write anything but what they say: the editing commands (`add`, `remove`,
//! `import-opml`) change only the config file, through [`crate::config::edit`],
//! which refuses to write a config that does not load. Exit codes: 0 done, 1 a
//! runtime failure (network, files, the store), 2 a user error (argument, URL,
//! config, input file).

pub mod add;
pub mod backup;
pub mod check;
pub mod feeds;
pub mod opml;
pub mod poll;
pub mod prune;
pub mod remove;
pub mod search;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Why a command did not do its job. The text names the thing at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Bad argument, URL, config or input file: exit 2.
    Usage(String),
    /// Network, file system or store failure: exit 1.
    Runtime(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Runtime(m) => m,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Runtime(_) => 1,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<crate::config::edit::EditError> for Failure {
    fn from(e: crate::config::edit::EditError) -> Failure {
        use crate::config::edit::EditError;
        match e {
            // A config that is not there is a usage error, as for every
            // other command (`remove` exited 1).
            EditError::Io {
                action: "read",
                ref source,
                ..
            } if source.kind() == std::io::ErrorKind::NotFound => Failure::Usage(e.to_string()),
            EditError::Io { .. } | EditError::Changed { .. } => Failure::Runtime(e.to_string()),
            _ => Failure::Usage(e.to_string()),
        }
    }
}

/// Runs a command that edits the config (`add`, `remove`, `import-opml`; see
/// [`crate::cli::Command::edits_config`]). They read the config themselves:
/// `add` and `import-opml` create it when it does not exist yet.
pub fn edit(command: crate::cli::Command, config_path: &Path) -> ExitCode {
    use crate::cli::Command;
    let mut stdout = std::io::stdout().lock();
    let result = match command {
        Command::Add {
            url,
            tags,
            title,
            every,
            pick,
            reload,
        } => {
            let args = add::AddArgs {
                url,
                tags,
                title,
                every,
                pick,
                reload,
            };
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))
                .and_then(|rt| {
                    rt.block_on(add::add(
                        config_path,
                        &args,
                        add::interactive(),
                        &mut stdout,
                    ))
                })
        }
        Command::Remove { url, reload } => remove::remove(
            config_path,
            &remove::RemoveArgs { url, reload },
            &mut stdout,
        ),
        Command::ImportOpml {
            file,
            reload,
            allow_local,
        } => opml::import(
            config_path,
            &file,
            opml::ImportArgs {
                reload,
                allow_local,
            },
            &mut stdout,
            &mut std::io::stderr(),
        ),
        other => Err(Failure::Usage(format!(
            "{other:?} does not edit the config"
        ))),
    };
    finish(result)
}

/// Writes one line of a command's report.
pub fn say(out: &mut dyn std::io::Write, line: &str) -> Result<(), Failure> {
    writeln!(out, "{}", terminal_safe(line)).map_err(|e| {
        crate::end_if_reader_gone(&e);
        Failure::Runtime(format!("cannot write output: {e}"))
    })
}

/// `text` without the control characters (but line breaks and tabs) and bidi
/// overrides a page, an OPML file or a config may carry into a title: an ESC
/// sequence in a `<link title>` reached the terminal as it was.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || crate::export::clean::is_bidi_control(c)
    };
    if text.contains(bad) {
        text.chars().filter(|&c| !bad(c)).collect::<String>().into()
    } else {
        text.into()
    }
}

/// The exit code of a command's result, after printing its error on stderr.
/// Opens `cfg`'s store read-only (SQLite or PostgreSQL) and runs `f` with a
/// [`crate::store::Reader`]: what the commands that only read use.
///
/// On SQLite, a read that a writer starting meanwhile changed the file under
/// is made again ([`crate::store::read_consistently`]).
pub fn read_store<R: Send + 'static>(
    cfg: &crate::config::Config,
    f: impl Fn(&dyn crate::store::Reader) -> Result<R, crate::error::StoreError> + Send + Sync + 'static,
) -> Result<R, crate::error::StoreError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::error::StoreError::Worker(format!("starting the runtime: {e}")))?;
    let loc = crate::store::Location::of(&cfg.store);
    let f = std::sync::Arc::new(f);
    let read = || {
        let f = f.clone();
        rt.block_on(async {
            let store = crate::store::Backend::open_read_only(&loc).await?;
            store.read_try(move |s| f(s)).await
        })
    };
    match &loc {
        crate::store::Location::Sqlite(path) => crate::store::read_consistently(path, read),
        crate::store::Location::Postgres { .. } => read(),
    }
}

/// What a read command (`export`, `search`) says when the store selects
/// stories by other feeds or tags than `cfg` names: the outputs and search
/// take the feed list and tags the last `poll` or daemon (re)load synced
/// into the store (`feeds.in_config`, `feed_tags`), and a command that reads
/// never writes them. `None` when they agree. (After `remove`, `export`
/// still listed the removed feed's stories, and a feed added or tagged
/// since was missing, without a word.)
pub fn unsynced_config(
    cfg: &crate::config::Config,
    synced: &[(String, Vec<String>)],
) -> Option<String> {
    let (mut gone, mut new, mut retagged) = config_against_store(cfg, synced);
    if gone.is_empty() && new.is_empty() && retagged.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !gone.is_empty() {
        parts.push(format!(
            "{} feed(s) the config no longer names still count ({})",
            gone.len(),
            short_list(&mut gone)
        ));
    }
    if !new.is_empty() {
        parts.push(format!(
            "{} it names do not yet ({})",
            new.len(),
            short_list(&mut new)
        ));
    }
    if !retagged.is_empty() {
        parts.push(format!(
            "{} feed(s) keep their old tags ({})",
            retagged.len(),
            short_list(&mut retagged)
        ));
    }
    Some(format!(
        "the store selects stories by the feeds and tags the last `poll` or daemon (re)load synced, not yet by {}: {}; `feedloom poll` or a reload of the daemon applies it",
        cfg.source.display(),
        parts.join("; ")
    ))
}

/// What `feeds` says while a daemon holds the store at `store_path` and has
/// not loaded `cfg`'s feed list (it syncs it into the store when it starts and
/// reloads): the feeds it still fetches that the config no longer names,
/// and those it does not fetch yet. `feeds` marks each row by the config
/// (`[not in config]`, `new … due`), which is not the daemon's schedule
/// until it reloads (a removed feed read "nothing fetches it" while the
/// daemon fetched it every few seconds). `None` when they agree, or no
/// daemon holds the store. A daemon that reads another config is named
/// with it: a reload of it does not load this one.
pub fn unloaded_by_daemon(
    cfg: &crate::config::Config,
    synced: &[(String, Vec<String>)],
    store_path: &Path,
) -> Option<String> {
    let (pid, theirs) = daemon(store_path)?;
    let (mut gone, mut new, _) = config_against_store(cfg, synced);
    if gone.is_empty() && new.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !gone.is_empty() {
        parts.push(format!(
            "it still fetches {} feed(s) the config no longer names ({})",
            gone.len(),
            short_list(&mut gone)
        ));
    }
    if !new.is_empty() {
        parts.push(format!(
            "it does not fetch {} it names yet ({})",
            new.len(),
            short_list(&mut new)
        ));
    }
    if let Some(theirs) = other_config(theirs.as_deref(), &cfg.source) {
        return Some(format!(
            "the daemon of this store (pid {pid}) reads another config, {}: {}; the rows below \
             are as {} reads, which a reload of the daemon does not load",
            theirs.display(),
            parts.join("; "),
            cfg.source.display()
        ));
    }
    Some(format!(
        "the daemon (pid {pid}) has not loaded {} yet: {}; the rows below are as the config reads, \
         and the daemon takes them when it reloads (`systemctl reload feedloom` or `kill -HUP {pid}`)",
        cfg.source.display(),
        parts.join("; ")
    ))
}

/// The feeds the store counts (`synced`: the last `poll` or daemon (re)load)
/// against those `cfg` names: gone from the config, new in it, and named
/// with other tags; each as shown (credentials hidden).
fn config_against_store(
    cfg: &crate::config::Config,
    synced: &[(String, Vec<String>)],
) -> (Vec<String>, Vec<String>, Vec<String>) {
    use crate::store::model::AsFeedSpec;
    use std::collections::HashMap;
    let norm = |tags: &[String]| {
        let mut t = tags.to_vec();
        t.sort();
        t.dedup();
        t
    };
    let stored: HashMap<&str, Vec<String>> =
        synced.iter().map(|(u, t)| (u.as_str(), norm(t))).collect();
    let specs: Vec<_> = cfg.feeds.iter().map(|f| f.feed_spec()).collect();
    let named: HashMap<&str, Vec<String>> = specs
        .iter()
        .map(|f| (f.url.as_str(), norm(&f.tags)))
        .collect();
    let shown = |u: &str| crate::urls::shown_feed_url(u);
    let gone: Vec<String> = stored
        .keys()
        .filter(|u| !named.contains_key(*u))
        .map(|u| shown(u))
        .collect();
    let new: Vec<String> = named
        .keys()
        .filter(|u| !stored.contains_key(*u))
        .map(|u| shown(u))
        .collect();
    let retagged: Vec<String> = named
        .iter()
        .filter(|(u, t)| stored.get(*u).is_some_and(|s| s != *t))
        .map(|(u, _)| shown(u))
        .collect();
    (gone, new, retagged)
}

/// The first three of a list, sorted, and how many more.
fn short_list(v: &mut [String]) -> String {
    v.sort();
    let more = v.len().saturating_sub(3);
    let mut s = v.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

pub fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // (A URL's password as the user typed it, quoted back by an
            // error: `remove https://ann:PW@…` said "no feed with url" and it.)
            crate::errln!(
                "feedloom: {}",
                crate::config::access::redact_userinfo(f.message())
            );
            ExitCode::from(f.exit_code())
        }
    }
}

/// The file that names the daemon holding the store: its lock file
/// (`<store path>.lock`, see [`crate::store::lock`]), whose first line reads
/// `feedloom run (pid N)`.
pub fn pid_file(store_path: &Path) -> PathBuf {
    crate::store::lock::lock_path(store_path)
}

/// The pid of the daemon (`feedloom run`) that holds this store, when its lock
/// file names one and the lock is held. A `poll` holding the store is not a
/// daemon; the file of a daemon killed with SIGKILL still names it, and its pid
/// may be another process's by now (`--reload` sent that one SIGHUP): the lock
/// itself says whether anyone holds it.
pub fn daemon_pid(store_path: &Path) -> Option<u32> {
    daemon(store_path).map(|(pid, _)| pid)
}

/// [`daemon_pid`], and the config the daemon named in the lock file (see
/// [`crate::store::lock::config_of_holder`]).
fn daemon(store_path: &Path) -> Option<(u32, Option<PathBuf>)> {
    let file = std::fs::File::open(pid_file(store_path)).ok()?;
    match file.try_lock_shared() {
        // Free: no daemon holds the store (the lock goes again with `file`).
        Ok(()) => return None,
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(_)) => return None,
    }
    let text = std::io::read_to_string(&file).ok()?;
    let line = text.lines().next()?.trim();
    let pid: u32 = line
        .strip_prefix("feedloom run (pid ")?
        .strip_suffix(')')?
        .parse()
        .ok()?;
    (pid > 0 && process_alive(pid)).then(|| (pid, crate::store::lock::config_of_holder(&text)))
}

/// The config the daemon of this store reads, when it is not `config`: an
/// edit of `config` is not what it reloads.
fn other_config(daemon: Option<&Path>, config: &Path) -> Option<PathBuf> {
    let daemon = daemon?;
    // The same path (as given, made absolute), or the same file now.
    let same = std::path::absolute(config).is_ok_and(|ours| ours == daemon)
        || matches!(
            (std::fs::canonicalize(config), std::fs::canonicalize(daemon)),
            (Ok(a), Ok(b)) if a == b
        );
    (!same).then(|| daemon.to_path_buf())
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks that the process exists (EPERM: it does, owned by another user).
    // SAFETY: kill(2) with signal 0 sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The pids (as this process's pid namespace numbers them; 0 or none for a
/// process it cannot see) holding a `flock` on `file`, from `/proc/locks`;
/// `None` when that cannot be read.
fn lock_holders(file: &Path) -> Option<Vec<u32>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // (By inode only: on btrfs subvolumes and overlay file systems the device
    // `stat` gives is not the one the kernel prints here. With the pid it
    // must match too, another file of that inode number elsewhere does not
    // matter.)
    let ino = format!(":{}", meta.ino());
    Some(
        locks
            .lines()
            .filter_map(|l| {
                // "1: FLOCK  ADVISORY  WRITE 15594 fe:00:10010810 0 EOF"
                // ("1: -> FLOCK …" for a waiter, which holds nothing).
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.get(1) == Some(&"FLOCK") && f.get(5).is_some_and(|d| d.ends_with(&ino)))
                    .then(|| f.get(4)?.parse().ok())
                    .flatten()
            })
            .collect(),
    )
}

/// Sends SIGHUP to the daemon of this store, so it re-reads its config.
/// Returns the pid it signalled.
pub fn reload_daemon(store_path: &Path, config: &Path) -> Result<u32, Failure> {
    let file = pid_file(store_path);
    let Some((pid, theirs)) = daemon(store_path) else {
        // (A `poll` or `prune` holding the store is no daemon: said as such,
        // not as a lock file without a live pid.)
        if let Some(holder) =
            crate::store::lock::holder(store_path).filter(|h| !h.starts_with("feedloom run"))
        {
            return Err(Failure::Runtime(format!(
                "--reload: no daemon runs on store {}: it is held by {holder}, which does \
                 not reload; the config is changed, and the next `poll` or daemon reads it",
                store_path.display()
            )));
        }
        return Err(Failure::Runtime(format!(
            "--reload: no running daemon found for store {} (no live pid in {}); \
             reload it yourself: `systemctl reload feedloom` or `kill -HUP <pid>`",
            store_path.display(),
            file.display()
        )));
    };
    if let Some(theirs) = other_config(theirs.as_deref(), config) {
        return Err(Failure::Runtime(format!(
            "--reload: the daemon of store {} (pid {pid}) reads another config, {}, not \
             this one: not signalled (it would re-read its own). The config is changed; \
             a daemon started with it reads it",
            store_path.display(),
            theirs.display()
        )));
    }
    // The pid the lock file names is the daemon's as its own pid namespace
    // numbers it: from another one (a container's `feedloom run (pid 1)`, a
    // store in a shared folder) it is some other process here, pid 1 being
    // systemd, which SIGHUP makes reload itself. Signalled only when that
    // process holds the lock.
    match lock_holders(&file) {
        Some(holders) if holders.contains(&pid) => {}
        Some(holders) => {
            return Err(Failure::Runtime(format!(
                "--reload: {} names pid {pid}, but {}: the daemon runs in another pid \
                 namespace (a container) or on another machine; not signalled. The config is \
                 changed; reload the daemon where it runs",
                file.display(),
                match holders.as_slice() {
                    [] => "no process seen from here holds its lock".to_string(),
                    [one] => format!("its lock is held by pid {one}"),
                    more => format!("its lock is held by pids {more:?}"),
                }
            )));
        }
        None => {
            return Err(Failure::Runtime(format!(
                "--reload: cannot tell which process holds the lock of {} (/proc/locks \
                 cannot be read), so pid {pid} is not signalled; reload it yourself: \
                 `systemctl reload feedloom` or `kill -HUP <pid>`",
                file.display()
            )));
        }
    }
    // (A daemon that may not read the config keeps its old one, and does
    // not start again: told, not "reloaded". An operator who followed the
    // advice to chmod 600 a config a service user reads locked it out.)
    if let Some((false, uid)) = may_read(pid, config) {
        return Err(Failure::Runtime(format!(
            "--reload: the daemon (pid {pid}) runs as uid {uid}, which may not read {} (by the \
             modes of the file and its folders): not signalled (it would keep its old config, \
             and not start again). The config is changed; make it readable to that user (its \
             owner, or its group with chmod 640, and the folders on its way searchable)",
            config.display()
        )));
    }
    // SAFETY: plain kill(2) on the pid holding the store's lock.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGHUP) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(Failure::Runtime(format!(
            "--reload: cannot signal the daemon (pid {pid}, from {}): {e}",
            file.display()
        )));
    }
    Ok(pid)
}

/// Whether process `pid` may read `path`, judged by the modes, owners and
/// groups of the file and of the folders on its way against the process's
/// effective user and groups (from `/proc`), and that user; `None` when
/// that cannot be judged: `/proc` or a file unreadable, or an access list
/// (ACL) on the file or a folder, which may grant or deny what the mode
/// does not say.
fn may_read(pid: u32, path: &Path) -> Option<(bool, u32)> {
    use std::os::unix::fs::MetadataExt;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse::<u32>().ok())
                .collect::<Vec<u32>>()
        })
    };
    let uid = *field("Uid:")?.get(1)?;
    let gid = *field("Gid:")?.get(1)?;
    let groups = field("Groups:").unwrap_or_default();
    if uid == 0 {
        return Some((true, uid));
    }
    let has_acl = |p: &Path| {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
            return true;
        };
        // SAFETY: a NUL-terminated path and attribute name; a size of 0
        // asks only whether the attribute exists.
        let n = unsafe {
            libc::getxattr(
                c.as_ptr(),
                c"system.posix_acl_access".as_ptr(),
                std::ptr::null_mut(),
                0,
            )
        };
        n >= 0
    };
    // The permission bit `bits` (4: read, 1: search) for this user.
    let allowed = |m: &std::fs::Metadata, bits: u32| {
        let mode = m.mode();
        if m.uid() == uid {
            mode & (bits << 6) != 0
        } else if m.gid() == gid || groups.contains(&m.gid()) {
            mode & (bits << 3) != 0
        } else {
            mode & bits != 0
        }
    };
    let abs = std::path::absolute(path).ok()?;
    let file = std::fs::canonicalize(&abs).unwrap_or(abs);
    let mut may = true;
    for dir in file.ancestors().skip(1) {
        let m = std::fs::metadata(dir).ok()?;
        if has_acl(dir) {
            return None;
        }
        may &= allowed(&m, 1);
    }
    let m = std::fs::metadata(&file).ok()?;
    if has_acl(&file) {
        return None;
    }
    Some((may && allowed(&m, 4), uid))
}

/// What to tell the user after the config changed: how a running daemon picks
/// the change up, or that `--reload` did it.
pub fn after_edit(cfg: &crate::config::Config, reload: bool) -> Result<String, Failure> {
    after_edit_of(cfg, reload, true)
}

/// [`after_edit`]; `poll_fetches`: whether a poll would fetch what changed
/// (not a feed the store has disabled), said when no daemon runs.
pub fn after_edit_of(
    cfg: &crate::config::Config,
    reload: bool,
    poll_fetches: bool,
) -> Result<String, Failure> {
    // PostgreSQL: any number of nodes on any hosts, and no pid file.
    if cfg.store.url.is_some() {
        let how = "each node reads it when it reloads: `systemctl reload feedloom` or \
                   `kill -HUP <pid>` on every host whose config this is";
        if reload {
            return Err(Failure::Runtime(format!(
                "--reload: the store is PostgreSQL ([store] url), which any number of nodes \
                 share: feedloom cannot tell which daemons to signal. The config is changed; {how}"
            )));
        }
        return Ok(format!("the store is PostgreSQL: {how}"));
    }
    let store_path = &cfg.store.path;
    if reload {
        let pid = reload_daemon(store_path, &cfg.source)?;
        return Ok(format!(
            "reloaded the daemon (pid {pid}): it re-reads the config now (one it rejects, \
             its log says so, and it keeps the old one)"
        ));
    }
    Ok(match daemon(store_path) {
        Some((pid, theirs)) if other_config(theirs.as_deref(), &cfg.source).is_some() => format!(
            "the daemon of this store (pid {pid}) reads another config, {}: it does not \
             take this change in; a daemon started with this config does",
            theirs.unwrap_or_default().display()
        ),
        Some((pid, _)) => format!(
            "the daemon (pid {pid}) picks this up when it reloads: `systemctl reload feedloom`, \
             `kill -HUP {pid}`, or pass --reload"
        ),
        None => format!(
            "a running daemon picks this up when it reloads: `systemctl reload feedloom` \
             or `kill -HUP <pid>` (or pass --reload){}",
            if poll_fetches {
                "; `feedloom poll` fetches now"
            } else {
                ""
            }
        ),
    })
}

/// Columns of the terminal stdout is, or `None` when stdout is not a terminal.
pub fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col)
}

/// A short duration for tables: the two largest units, `3d 4h`, `12m`, `45s`.
pub fn short_duration(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    if secs == 0 {
        return "0s".to_string();
    }
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in UNITS {
        if rest >= size {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--reload` tells whether the daemon's user may read the config: a
    /// process running as `nobody` may not read a root-owned 0600 file, and
    /// may read a 0644 one. (Run as root only: it starts a process as
    /// another user.)
    #[test]
    fn may_read_judges_the_daemons_user() {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let cfg = dir.path().join("feedloom.toml");
        std::fs::write(&cfg, "").unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .uid(65534)
            .gid(65534)
            .spawn()
            .unwrap();
        // (The child's credentials are set once it has exec'd.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while may_read(child.id(), &cfg).is_none_or(|(_, uid)| uid != 65534)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(may_read(child.id(), &cfg), Some((false, 65534)));
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(may_read(child.id(), &cfg), Some((true, 65534)));
        // A folder on its way it may not search.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(may_read(child.id(), &cfg), Some((false, 65534)));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // An access list granting it what the mode does not (`setfacl -m
        // u:nobody:r`, written as the kernel stores it): not judged.
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut acl = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (0x01u16, 6u16, u32::MAX),
            (0x02, 4, 65534),
            (0x04, 0, u32::MAX),
            (0x10, 4, u32::MAX),
            (0x20, 0, u32::MAX),
        ] {
            acl.extend(tag.to_le_bytes());
            acl.extend(perm.to_le_bytes());
            acl.extend(id.to_le_bytes());
        }
        let c = std::ffi::CString::new(cfg.to_str().unwrap()).unwrap();
        // SAFETY: NUL-terminated path and name, a buffer of `acl.len()` bytes.
        let set = unsafe {
            libc::setxattr(
                c.as_ptr(),
                c"system.posix_acl_access".as_ptr(),
                acl.as_ptr().cast(),
                acl.len(),
                0,
            )
        };
        if set == 0 {
            assert_eq!(may_read(child.id(), &cfg), None);
        }
        // This process (root) may read either.
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(may_read(std::process::id(), &cfg), Some((true, 0)));
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn short_durations() {
        assert_eq!(short_duration(0), "0s");
        assert_eq!(short_duration(45), "45s");
        assert_eq!(short_duration(125), "2m 5s");
        assert_eq!(short_duration(3600 + 59), "1h");
        assert_eq!(short_duration(3 * 86_400 + 4 * 3600 + 5), "3d 4h");
    }

    /// The daemon's config is the path it was given: a link there retargeted
    /// to another release's file is still its config (it reads that path at
    /// each reload); the file it named before is not.
    #[test]
    fn the_daemons_config_is_the_path_it_reads() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["r1", "r2", "etc"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let (r1, r2) = (dir.path().join("r1/c.toml"), dir.path().join("r2/c.toml"));
        std::fs::write(&r1, "").unwrap();
        std::fs::write(&r2, "").unwrap();
        let link = dir.path().join("etc/feedloom.toml");
        std::os::unix::fs::symlink(&r1, &link).unwrap();
        let recorded = std::path::absolute(&link).unwrap();
        assert_eq!(other_config(Some(&recorded), &link), None);
        assert_eq!(other_config(Some(&recorded), &r1), None, "the same file");
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&r2, &link).unwrap();
        assert_eq!(other_config(Some(&recorded), &link), None, "retargeted");
        assert_eq!(other_config(Some(&recorded), &r1), Some(recorded.clone()));
    }

    #[test]
    fn pid_file_names_and_stale_pids() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("f.db");
        assert_eq!(pid_file(&store), dir.path().join("f.db.lock"));
        assert_eq!(daemon_pid(&store), None);
        let me = std::process::id();
        std::fs::write(pid_file(&store), format!("feedloom run (pid {me})\n")).unwrap();
        // The file of a daemon killed with SIGKILL: its lock is free.
        assert_eq!(daemon_pid(&store), None, "a stale file names no daemon");
        let held = std::fs::OpenOptions::new()
            .write(true)
            .open(pid_file(&store))
            .unwrap();
        held.lock().unwrap();
        assert_eq!(daemon_pid(&store), Some(me));
        // A poll holding the store is not a daemon to reload.
        std::fs::write(pid_file(&store), format!("feedloom poll (pid {me})\n")).unwrap();
        assert_eq!(daemon_pid(&store), None);
        std::fs::write(pid_file(&store), "not a pid\n").unwrap();
        assert_eq!(daemon_pid(&store), None);
        // A pid no process has (above the kernel's pid_max).
        std::fs::write(pid_file(&store), "feedloom run (pid 2147483600)\n").unwrap();
        assert_eq!(daemon_pid(&store), None);
        let e = reload_daemon(&store, &dir.path().join("feedloom.toml")).unwrap_err();
        assert!(e.message().contains("f.db.lock"), "{e}");
    }
}
