//! `feedloom remove URL`: unsubscribe. The feed's `[[feed]]` block (with the
//! comment lines directly above it) leaves the config; its items stay in the
//! store, where a reload marks the feed as no longer configured, as with any
//! block removed by hand. The URL may be written as in the config, any form
//! with the same canonical URL, or the address the feed moved to; every
//! block naming the same feed goes.

use std::io::Write;
use std::path::Path;

use super::Failure;
use crate::config::edit::{self, ConfigFile};
use crate::identity::Canon;

#[derive(Debug, Clone, Default)]
pub struct RemoveArgs {
    pub url: String,
    pub reload: bool,
}

pub fn remove(path: &Path, args: &RemoveArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let file = ConfigFile::read(path, false)?;
    let cfg = file.config()?;
    let written = args.url.trim();
    let canon = Canon::new(&cfg.identity.strip_params);
    let key_of = |i: usize| super::add::feed_key(cfg.feeds[i].url().as_str(), &canon);
    // The block named: as written, else as it resolves, else by its
    // canonical URL, else by where it moved to (`feedloom feeds` lists a
    // moved feed at that address: it was "no feed with url …").
    let mut moved_to = None;
    let index = match cfg.feeds.iter().position(|f| f.url.get_ref().1 == written) {
        Some(i) => i,
        None => {
            let url = super::add::resolve(written, &cfg)?;
            let key = super::add::feed_key(url.as_str(), &canon);
            match cfg.feeds.iter().position(|f| f.url() == &url) {
                Some(i) => i,
                None => match (0..cfg.feeds.len()).find(|&i| key_of(i) == key) {
                    Some(i) => i,
                    None => {
                        let moved = super::add::moved_targets(&cfg, &canon);
                        let found =
                            moved
                                .iter()
                                .find(|(_, k, _)| *k == key)
                                .and_then(|(to, _, f)| {
                                    let i = cfg.feeds.iter().position(|g| std::ptr::eq(g, *f))?;
                                    Some((i, to.clone()))
                                });
                        match found {
                            Some((i, to)) => {
                                moved_to = Some(to);
                                i
                            }
                            None => {
                                return Err(Failure::Usage(format!(
                                    "no feed with url {written} in {} (`feedloom feeds` lists them)",
                                    path.display()
                                )));
                            }
                        }
                    }
                },
            }
        }
    };
    // Every block naming the same feed goes (two blocks that differ in a
    // tracking parameter, a trailing slash or case are one feed in the
    // store: the other kept it subscribed and fetched, while `remove` said
    // "removed").
    let key = key_of(index);
    let mut gone: Vec<usize> = (0..cfg.feeds.len()).filter(|&i| key_of(i) == key).collect();
    gone.sort_unstable();
    let mut text = file.text.clone();
    for &i in gone.iter().rev() {
        text = edit::remove_feed(&text, path, i)?;
    }
    // The last feed of a file of nothing else: a line says so. An empty file
    // is what a daemon's reload refuses (a config caught while being
    // written), and it kept fetching the feed.
    if crate::config::is_blank(&text) {
        text = format!("{}{}", text, edit::NO_FEEDS_LEFT);
    }
    let feed = &cfg.feeds[index];
    let new_cfg = file.write(&text, |new| {
        let left = new
            .feeds
            .iter()
            .any(|f| super::add::feed_key(f.url().as_str(), &canon) == key);
        if !left && new.feeds.len() + gone.len() == cfg.feeds.len() {
            Ok(())
        } else {
            Err(format!("would not remove exactly the feed {}", feed.url()))
        }
    })?;
    let line = edit::line_of(&file.text, feed.url.span().start);
    let others: Vec<String> = gone
        .iter()
        .filter(|&&i| i != index)
        .map(|&i| {
            let f = &cfg.feeds[i];
            format!(
                "{} from {}:{}",
                f.url.get_ref().1,
                path.display(),
                edit::line_of(&file.text, f.url.span().start)
            )
        })
        .collect();
    // (On one line: a multi-line title printed as written.)
    let title = feed
        .title
        .as_deref()
        .map(|t| {
            format!(
                " (\"{}\")",
                crate::export::clean::plain_title(t)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .unwrap_or_default();
    let moved = moved_to
        .map(|to| format!(" (which moved to {to})"))
        .unwrap_or_default();
    let also = match others.is_empty() {
        true => String::new(),
        false => format!(
            ", and the same feed written another way: {}",
            others.join(", ")
        ),
    };
    super::say(
        out,
        &format!(
            "removed {}{title}{moved} from {}:{line}{also}; its items stay in the store",
            feed.url.get_ref().1,
            path.display()
        ),
    )?;
    // (No poll fetches a feed removed.)
    let hint = super::after_edit_of(&new_cfg, args.reload, false)?;
    super::say(out, &hint)
}
