//! `feedloom check`'s warnings: things that load but are probably not what the
//! user meant (a config with no feeds, an output selecting tags no feed has, self
//! links on an unspecified listen address).

use crate::config::Config;

/// The warning of a config without feeds (`check`, `run`, and `poll`, which
/// said nothing and fetched nothing).
pub fn no_feeds(cfg: &Config) -> Option<String> {
    cfg.feeds.is_empty().then(|| {
        format!(
            "{} has no feeds: nothing will be fetched (add one with `feedloom add URL` \
             or `feedloom import-opml FILE`)",
            cfg.source.display()
        )
    })
}

/// A `[store] lease` under which `check` warns (see [`warnings`]).
const SHORT_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// Warnings about a valid config, one sentence each.
pub fn warnings(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.store.url.is_none()
        && let Some(why) = store_out_of_reach(&cfg.store.path)
    {
        out.push(format!(
            "store {}: {why}: this user's `poll` and daemon cannot use it (one run as another \
             user may)",
            cfg.store.path.display()
        ));
    }
    // (An empty file was "valid" without a word, and every reader then said
    // "schema version 0".)
    if cfg.store.url.is_none() && crate::store::not_begun(&cfg.store.path) {
        out.push(format!(
            "store {} is an empty file (0 bytes): nothing has been stored in it; `poll` or the \
             daemon begins a new store in it (if it held a store before, restore a backup \
             first)",
            cfg.store.path.display()
        ));
    }
    // (An output file that is a folder or a pipe, or in a folder this user
    // cannot write: `check` called the config valid, and every poll failed
    // to write it.)
    for o in &cfg.outputs {
        let Some(base) = &o.path else { continue };
        for &format in &o.formats {
            let file = crate::export::file_path(base, format);
            let why = match crate::export::check_replaceable(&file) {
                Err(e) => Some(e.to_string()),
                Ok(_) => folder_out_of_reach(&file),
            };
            if let Some(why) = why {
                out.push(format!(
                    "output `{}`: {}: {why}: this user's `poll` and daemon cannot write it",
                    o.name(),
                    file.display()
                ));
            }
        }
    }
    out.extend(no_feeds(cfg));
    // (A `file:` feed that cannot be read: `check` called the config valid,
    // and every poll failed it.)
    for f in &cfg.feeds {
        let url = f.url();
        if url.scheme() != "file" {
            continue;
        }
        let why = match url.to_file_path() {
            Err(()) => Some("not a local path".to_string()),
            Ok(path) => match std::fs::metadata(&path) {
                Err(e) => Some(e.to_string()),
                Ok(m) if !m.is_file() => {
                    Some("not a plain file (a pipe, a device or a folder)".to_string())
                }
                Ok(_) => std::fs::File::open(&path).err().map(|e| e.to_string()),
            },
        };
        if let Some(why) = why {
            out.push(format!(
                "feed {url}: {why}: every poll will fail it until it can be read"
            ));
        }
    }
    let carried = |tag: &str| cfg.feeds.iter().any(|f| f.tags.iter().any(|t| t == tag));
    for o in &cfg.outputs {
        let missing: Vec<&str> = o
            .tags
            .iter()
            .map(String::as_str)
            .filter(|t| !carried(t))
            .collect();
        if missing.is_empty() || cfg.feeds.is_empty() {
            continue;
        }
        let list = missing
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if missing.len() == o.tags.len() {
            out.push(format!(
                "output `{}` selects tags {list}, which no feed carries: it will stay empty",
                o.name()
            ));
        } else {
            out.push(format!(
                "output `{}` selects tags {list}, which no feed carries (a typo?)",
                o.name()
            ));
        }
    }
    // An output's `tags:` include rule that no feed's tag matches (as the
    // output's `tags` naming none is warned of above).
    for o in cfg.outputs.iter().filter(|_| !cfg.feeds.is_empty()) {
        let tag_rules: Vec<&crate::filter::Rule> = o
            .rules
            .include
            .iter()
            .filter(|r| r.field == crate::filter::Field::Tags)
            .collect();
        let dead: Vec<&str> = tag_rules
            .iter()
            .filter(|r| {
                !cfg.feeds
                    .iter()
                    .any(|f| f.tags.iter().any(|t| r.pattern.is_match(t)))
            })
            .map(|r| r.source.as_str())
            .collect();
        if dead.is_empty() {
            continue;
        }
        let list = dead
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(match dead.len() == o.rules.include.len() {
            true => format!(
                "output `{}` includes only {list}, which no feed's tag matches: it will stay empty",
                o.name()
            ),
            false => format!(
                "output `{}` includes {list}, which no feed's tag matches (a typo?)",
                o.name()
            ),
        });
    }
    for o in &cfg.outputs {
        if !cfg.feeds.is_empty() && o.min_sources > cfg.feeds.len() {
            out.push(format!(
                "output `{}` shows only stories carried by at least {} feeds (min_sources), \
                 and the config names {}: it will stay empty",
                o.name(),
                o.min_sources,
                cfg.feeds.len()
            ));
        }
    }
    let now = chrono::Utc::now();
    for f in &cfg.feeds {
        if let Some(c) = f
            .cron
            .as_ref()
            .filter(|c| crate::config::cron_has_ended(&c.0, now))
        {
            out.push(format!(
                "feed `{}`: `cron` expression `{}` fires no more (its dates have passed): the \
                 daemon fetches the feed once a year at most (`poll` still fetches it); change \
                 or remove it",
                f.url.get_ref().1,
                c.0
            ));
        }
    }
    // (An untrusted feed is never read from a file, nor fetched from this
    // machine or a private address: every poll fails.)
    for f in cfg.feeds.iter().filter(|f| f.untrusted) {
        if let Some(why) = super::opml::local_reason(f.url()) {
            out.push(format!(
                "feed `{}` is marked `untrusted = true` and names {why}: an untrusted feed is \
                 never fetched from there, so every fetch fails; remove `untrusted = true` to \
                 fetch it",
                f.url.get_ref().1
            ));
        }
    }
    // Feeds the config names twice under spellings that `add` takes for one
    // (a trailing slash, host case, tracking parameters): fetched twice.
    let canon = crate::identity::Canon::new(&cfg.identity.strip_params);
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for f in &cfg.feeds {
        let written = f.url.get_ref().1.as_str();
        let key = super::add::feed_key(f.url().as_str(), &canon);
        if let Some(first) = seen.insert(key, written) {
            out.push(format!(
                "feeds `{first}` and `{written}` are the same feed written two ways: \
                 it is fetched twice and its stories counted twice (remove one)"
            ));
        }
    }
    // PostgreSQL: a node extends its claims every third of a lease, so a
    // fetch may outlast it; but a database that does not answer for longer
    // (a failover, a pause) lets the claims of a short one run out, and
    // another node fetch those feeds twice. (The warning was of a lease no
    // longer than `[fetch] timeout`, which the extensions made wrong.)
    if cfg.store.url.is_some() && cfg.store.lease.0 < SHORT_LEASE {
        out.push(format!(
            "[store] lease ({}) is short: a node extends its claims every third of it, so a database that does not answer for longer than that (a failover, a pause) lets another node claim the feeds the node is fetching, and fetch them twice; a lease of {} or more rides those out",
            humantime::format_duration(cfg.store.lease.0),
            humantime::format_duration(SHORT_LEASE),
        ));
    }
    // Port 0: the daemon links to the port it was given, but `poll` and
    // `prune` write files linking to port 0.
    if cfg.server.public_url.is_none() && cfg.server.listen.port() == 0 {
        out.push(format!(
            "[server] listen = \"{}\" asks for any free port: the daemon's self links name \
             the port it gets, but the files `poll` and `prune` write link to port 0 \
             ({}{}.atom, ...); set [server] public_url to the address readers use",
            cfg.server.listen,
            cfg.server.public_base(),
            cfg.outputs.first().map(|o| o.name()).unwrap_or("all"),
        ));
    } else if cfg.server.public_url.is_none() && cfg.server.listen.ip().is_unspecified() {
        out.push(format!(
            "[server] listen = \"{}\" is an unspecified address, and the outputs' self links \
             ({}{}.atom, ...) use it: readers cannot follow them; set [server] public_url to \
             the address readers use (e.g. \"https://news.example.org/feedloom/\")",
            cfg.server.listen,
            cfg.server.public_base(),
            cfg.outputs.first().map(|o| o.name()).unwrap_or("all"),
        ));
    }
    out
}

use crate::store::user_can as can;

/// Why this user cannot open the store at `path` for writing, when it
/// cannot: the file, or the folder it would be made in, is not readable and
/// writable by it, or a folder above cannot be searched. (`check` called
/// such a config valid, and the daemon then failed with "unable to open
/// database file".)
fn store_out_of_reach(path: &std::path::Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {
            if !can(path, libc::R_OK | libc::W_OK) {
                return Some("this user cannot read and write the file".to_string());
            }
            // (Its lock, `-wal` and `-shm` files, when another user left
            // them: `poll` then failed with "cannot lock it" or "attempt to
            // write a readonly database".)
            use crate::store::lock::beside;
            for end in [".lock", "-wal", "-shm"] {
                let p = beside(path, end);
                if p.exists() && !can(&p, libc::R_OK | libc::W_OK) {
                    return Some(format!(
                        "this user cannot read and write its file {}",
                        p.display()
                    ));
                }
            }
            // (A writer makes its `-wal` and `-shm` files beside it.)
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
            let made = beside(path, "-wal").exists() && beside(path, "-shm").exists();
            (!made && !can(dir, libc::W_OK | libc::X_OK)).then(|| {
                format!(
                    "this user cannot create its -wal and -shm files in {}",
                    dir.display()
                )
            })
        }
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(format!(
            "a folder above it cannot be searched by this user ({e})"
        )),
        Err(_) => folder_out_of_reach(path),
    }
}

/// Why this user cannot make a file at `path` (written beside and renamed
/// into place), when it cannot: the folder it goes in (else the nearest
/// existing folder above, where the folders between would be made) is not
/// writable by it, or a folder above cannot be searched.
fn folder_out_of_reach(path: &std::path::Path) -> Option<String> {
    match path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(std::fs::metadata)
    {
        Some(Ok(m)) if m.is_dir() && path.exists() => {
            let dir = path.parent()?;
            return (!can(dir, libc::W_OK | libc::X_OK))
                .then(|| format!("this user cannot write in its folder {}", dir.display()));
        }
        Some(Err(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Some(format!(
                "a folder above it cannot be searched by this user ({e})"
            ));
        }
        _ => {}
    }
    // The nearest existing folder above is where it would be made (with the
    // folders between).
    let mut up = path.parent();
    while let Some(dir) = up.filter(|d| !d.as_os_str().is_empty()) {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {
                return (!can(dir, libc::W_OK | libc::X_OK)).then(|| {
                    format!(
                        "it does not exist yet, and this user cannot create it in {}",
                        dir.display()
                    )
                });
            }
            // (A path through a plain file: every write failed, "Not a
            // directory".)
            Ok(_) => return Some(format!("{} is not a folder", dir.display())),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Some(format!(
                    "a folder above it cannot be searched by this user ({e})"
                ));
            }
            // (A link to nothing: `poll` failed with "cannot create the
            // folder …: File exists".)
            Err(_) if dir.symlink_metadata().is_ok_and(|m| m.is_symlink()) => {
                let to = std::fs::read_link(dir).unwrap_or_default();
                return Some(format!(
                    "{} is a link to {}, which does not exist",
                    dir.display(),
                    to.display()
                ));
            }
            Err(_) => up = dir.parent(),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        crate::config::parse(text, Path::new("f.toml")).unwrap()
    }

    #[test]
    fn no_feeds_and_uncarried_tags() {
        let w = warnings(&cfg(""));
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("f.toml has no feeds"), "{w:?}");

        let w = warnings(&cfg(
            "[[feed]]\nurl = \"https://a.example/f\"\ntags = [\"rust\"]\n\
             [[output]]\nname = \"go\"\ntags = [\"golang\"]\n\
             [[output]]\nname = \"mixed\"\ntags = [\"rust\", \"rsut\"]\n\
             [[output]]\nname = \"ok\"\ntags = [\"rust\"]\n",
        ));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("output `go`") && w[0].contains("`golang`") && w[0].contains("empty"),
            "{w:?}"
        );
        assert!(
            w[1].contains("output `mixed`") && w[1].contains("`rsut`") && !w[1].contains("`rust`"),
            "{w:?}"
        );
    }

    /// A `file:` feed that is missing or no plain file is warned of (`check`
    /// called such a config valid, and every poll failed the feed).
    #[test]
    fn file_feeds_that_cannot_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.xml");
        std::fs::write(&ok, "<rss/>").unwrap();
        let missing = dir.path().join("missing.xml");
        let feeds: String = [ok.as_path(), missing.as_path(), dir.path()]
            .iter()
            .map(|p| {
                format!(
                    "[[feed]]\nurl = \"{}\"\n",
                    url::Url::from_file_path(p).unwrap()
                )
            })
            .collect();
        let w = warnings(&cfg(&feeds));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("missing.xml: No such file") && w[0].contains("every poll will fail it"),
            "{w:?}"
        );
        assert!(w[1].contains("not a plain file"), "{w:?}");
    }

    /// An output's `tags:` include rule that no feed's tag matches, as an
    /// output's `tags` naming none: it was said of one and not the other.
    #[test]
    fn tag_rules_no_feed_matches() {
        let w = warnings(&cfg(
            "[[feed]]\nurl = \"https://a.example/f\"\ntags = [\"rust\"]\n\
             [[output]]\nname = \"none\"\ninclude = [\"tags:nosuch\"]\n\
             [[output]]\nname = \"some\"\ninclude = [\"tags:nosuch\", \"title:rust\"]\n\
             [[output]]\nname = \"ok\"\ninclude = [\"tags:rust\"]\n",
        ));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("output `none`")
                && w[0].contains("`tags:nosuch`")
                && w[0].contains("stay empty"),
            "{w:?}"
        );
        assert!(
            w[1].contains("output `some`") && w[1].contains("a typo?"),
            "{w:?}"
        );
    }

    #[test]
    fn a_cron_schedule_that_has_ended_is_a_warning() {
        let w = warnings(&cfg(
            "[[feed]]\nurl = \"https://a.example/f\"\ncron = \"0 0 0 * * * 2020\"\n\
             [[feed]]\nurl = \"https://a.example/g\"\ncron = \"0 0 6 * * *\"\n",
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("feed `https://a.example/f`") && w[0].contains("fires no more"),
            "{w:?}"
        );
    }

    #[test]
    fn one_feed_written_two_ways() {
        let w = warnings(&cfg("[[feed]]\nurl = \"https://a.example/feed\"\n\
             [[feed]]\nurl = \"https://A.example/feed/?utm_source=x\"\n\
             [[feed]]\nurl = \"https://a.example/other\"\n"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("`https://a.example/feed`")
                && w[0].contains("`https://A.example/feed/?utm_source=x`"),
            "{w:?}"
        );
    }

    #[test]
    fn a_short_lease_is_warned_about() {
        let feed = "[[feed]]\nurl = \"https://a.example/f\"\n";
        let w = warnings(&cfg(&format!(
            "[store]\nurl = \"postgres://u@h/db\"\nlease = \"5s\"\n[fetch]\ntimeout = \"60s\"\n{feed}"
        )));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("lease (5s) is short") && w[0].contains("30s or more"),
            "{w:?}"
        );
        // A lease shorter than a fetch's timeout is no matter: the node
        // extends its claims (it was warned about).
        assert!(
            warnings(&cfg(&format!(
                "[store]\nurl = \"postgres://u@h/db\"\nlease = \"40s\"\n[fetch]\ntimeout = \"60s\"\n{feed}"
            )))
            .is_empty()
        );
        // The defaults (2 minutes against 30 s), and SQLite, say nothing.
        assert!(
            warnings(&cfg(&format!(
                "[store]\nurl = \"postgres://u@h/db\"\n{feed}"
            )))
            .is_empty()
        );
        assert!(
            warnings(&cfg(&format!(
                "[store]\nlease = \"5s\"\n[fetch]\ntimeout = \"60s\"\n{feed}"
            )))
            .is_empty()
        );
    }

    #[test]
    fn unspecified_listen_address_without_public_url() {
        let feed = "[[feed]]\nurl = \"https://a.example/f\"\n";
        let w = warnings(&cfg(&format!(
            "[server]\nlisten = \"0.0.0.0:8080\"\n{feed}"
        )));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("0.0.0.0:8080") && w[0].contains("public_url"),
            "{w:?}"
        );
        let w = warnings(&cfg(&format!("[server]\nlisten = \"[::]:8080\"\n{feed}")));
        assert_eq!(w.len(), 1, "{w:?}");
        let w = warnings(&cfg(&format!(
            "[server]\nlisten = \"0.0.0.0:8080\"\npublic_url = \"https://n.example/\"\n{feed}"
        )));
        assert!(w.is_empty(), "{w:?}");
        assert!(warnings(&cfg(feed)).is_empty());
        let w = warnings(&cfg(&format!("[server]\nlisten = \"127.0.0.1:0\"\n{feed}")));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("port 0") && w[0].contains("public_url"),
            "{w:?}"
        );
        let w = warnings(&cfg(&format!(
            "{feed}[[feed]]\nurl = \"https://b.example/feed\"\n\
             [[output]]\nname = \"wide\"\nmin_sources = 3\n\
             [[output]]\nname = \"pair\"\nmin_sources = 2\n"
        )));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("output `wide`") && w[0].contains("the config names 2"),
            "{w:?}"
        );
    }
}
