//! `feedloom remove URL`: unsubscribe. The feed's `[[feed]]` block (with the
//! comment lines directly above it) leaves the config; its items stay in the
//! store, where a reload marks the feed as no longer configured, as with any
//! block removed by hand. The URL may be written as in the config, or any form
//! with the same canonical URL.

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
    let index = match cfg.feeds.iter().position(|f| f.url.get_ref().1 == written) {
        Some(i) => i,
        None => {
            let url = super::add::resolve(written, &cfg)?;
            match cfg.feeds.iter().position(|f| f.url() == &url) {
                Some(i) => i,
                None => {
                    let canon = Canon::new(&cfg.identity.strip_params);
                    let key = super::add::feed_key(url.as_str(), &canon);
                    let same: Vec<usize> = (0..cfg.feeds.len())
                        .filter(|&i| {
                            super::add::feed_key(cfg.feeds[i].url().as_str(), &canon) == key
                        })
                        .collect();
                    match same.as_slice() {
                        [i] => *i,
                        [] => {
                            return Err(Failure::Usage(format!(
                                "no feed with url {written} in {} (`feedloom feeds` lists them)",
                                path.display()
                            )));
                        }
                        several => {
                            let lines: Vec<String> = several
                                .iter()
                                .map(|&i| {
                                    let f = &cfg.feeds[i];
                                    format!(
                                        "  {} (line {})",
                                        f.url.get_ref().1,
                                        edit::line_of(&file.text, f.url.span().start)
                                    )
                                })
                                .collect();
                            return Err(Failure::Usage(format!(
                                "{written} matches {} feeds in {}; give the URL as written:\n{}",
                                several.len(),
                                path.display(),
                                lines.join("\n")
                            )));
                        }
                    }
                }
            }
        }
    };
    let feed = &cfg.feeds[index];
    let line = edit::line_of(&file.text, feed.url.span().start);
    let mut text = edit::remove_feed(&file.text, path, index)?;
    // The last feed of a file of nothing else: a line says so. An empty file
    // is what a daemon's reload refuses (a config caught while being
    // written), and it kept fetching the feed.
    if crate::config::is_blank(&text) {
        text = format!("{}{}", text, edit::NO_FEEDS_LEFT);
    }
    let new_cfg = file.write(&text, |new| {
        let gone = !new.feeds.iter().any(|f| f.url() == feed.url());
        if gone && new.feeds.len() + 1 == cfg.feeds.len() {
            Ok(())
        } else {
            Err(format!("would not remove exactly the feed {}", feed.url()))
        }
    })?;
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
    super::say(
        out,
        &format!(
            "removed {}{title} from {}:{line}; its items stay in the store",
            feed.url.get_ref().1,
            path.display()
        ),
    )?;
    // (No poll fetches a feed removed.)
    let hint = super::after_edit_of(&new_cfg, args.reload, false)?;
    super::say(out, &hint)
}
