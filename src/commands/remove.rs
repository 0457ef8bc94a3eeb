//! `feedloom remove URL`: unsubscribe. The feed's `[[feed]]` block (with the
//! comment lines directly above it) leaves the config; its items stay in the
//! store, where a reload marks the feed as no longer configured, as with any
//! block removed by hand. The URL may be written as one block writes it
//! (that block goes; the feed's other blocks, if any, are said to stay), in
//! any other form of the same canonical URL (every block of the feed goes),
//! or as the address feeds moved to (every such feed goes).

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
    let all_of =
        |key: &str| -> Vec<usize> { (0..cfg.feeds.len()).filter(|&i| key_of(i) == key).collect() };
    // The blocks that go, and the feed's other blocks that stay:
    // - one block written so: that block alone (`check` says to remove one
    //   of two blocks naming one feed), the others named as staying;
    // - another spelling of a feed (its canonical URL, `feed://`): every
    //   block naming it (two blocks a tracking parameter apart are one feed
    //   in the store: the other kept it subscribed and fetched, while
    //   `remove` said "removed");
    // - the address feeds moved to, as `feedloom feeds` lists them: every
    //   feed that moved there (it was "no feed with url …").
    let mut moved_to = None;
    let (gone, stay): (Vec<usize>, Vec<usize>) =
        match cfg.feeds.iter().position(|f| f.url.get_ref().1 == written) {
            Some(i) => {
                let twins = all_of(&key_of(i)).into_iter().filter(|&j| j != i).collect();
                (vec![i], twins)
            }
            None => {
                let normalised = super::opml::normalise_url(written);
                let url = super::add::resolve(&normalised, &cfg)?;
                let key = super::add::feed_key(url.as_str(), &canon);
                let same = all_of(&key);
                if !same.is_empty() {
                    (same, Vec::new())
                } else {
                    let moved = super::add::moved_targets(&cfg, &canon);
                    let mut gone: Vec<usize> = Vec::new();
                    for (to, _, f) in moved.iter().filter(|(_, k, _)| *k == key) {
                        if let Some(i) = cfg.feeds.iter().position(|g| std::ptr::eq(g, *f)) {
                            moved_to.get_or_insert_with(|| to.clone());
                            for j in all_of(&key_of(i)) {
                                if !gone.contains(&j) {
                                    gone.push(j);
                                }
                            }
                        }
                    }
                    if gone.is_empty() {
                        return Err(Failure::Usage(format!(
                            "no feed with url {} in {} (`feedloom feeds` lists them)",
                            super::terminal_safe(written),
                            path.display()
                        )));
                    }
                    (gone, Vec::new())
                }
            }
        };
    let mut gone = gone;
    gone.sort_unstable();
    let index = gone[0];
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
    let urls: Vec<String> = gone
        .iter()
        .map(|&i| cfg.feeds[i].url().to_string())
        .collect();
    let new_cfg = file.write(&text, |new| {
        let left = new
            .feeds
            .iter()
            .filter(|f| urls.contains(&f.url().to_string()))
            .count();
        let twins_left = stay
            .iter()
            .all(|&i| new.feeds.iter().any(|f| f.url() == cfg.feeds[i].url()));
        if left == 0 && twins_left && new.feeds.len() + gone.len() == cfg.feeds.len() {
            Ok(())
        } else {
            Err(format!("would not remove exactly the feed {}", feed.url()))
        }
    })?;
    let at = |i: usize| {
        let f = &cfg.feeds[i];
        format!(
            "{} from {}:{}",
            f.url.get_ref().1,
            path.display(),
            edit::line_of(&file.text, f.url.span().start)
        )
    };
    let line = edit::line_of(&file.text, feed.url.span().start);
    let others: Vec<String> = gone
        .iter()
        .filter(|&&i| i != index)
        .map(|&i| at(i))
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
    let also = match (others.is_empty(), moved.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(
            ", and the same feed written another way: {}",
            others.join(", ")
        ),
        (false, false) => format!(", and what moved there too: {}", others.join(", ")),
    };
    super::say(
        out,
        &format!(
            "removed {}{title}{moved} from {}:{line}{also}; its items stay in the store",
            feed.url.get_ref().1,
            path.display()
        ),
    )?;
    if !stay.is_empty() {
        let lines: Vec<String> = stay
            .iter()
            .map(|&i| {
                let f = &cfg.feeds[i];
                // (Its line in the file as it is now.)
                let line = new_cfg
                    .feeds
                    .iter()
                    .find(|g| g.url.get_ref().1 == f.url.get_ref().1)
                    .map_or(0, |g| edit::line_of(&text, g.url.span().start));
                format!("{} ({}:{line})", f.url.get_ref().1, path.display())
            })
            .collect();
        super::say(
            out,
            &format!(
                "the same feed stays subscribed, written another way: {} (remove it too to unsubscribe)",
                lines.join(", ")
            ),
        )?;
    }
    // (No poll fetches a feed removed.)
    let hint = super::after_edit_of(&new_cfg, args.reload, false)?;
    super::say(out, &hint)
}
