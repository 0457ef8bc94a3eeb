//! `feedloom search QUERY`: stories of the store that match, best first, one
//! per story, with the matching words highlighted. Opens the store read-only.

use super::Failure;
use crate::config::Config;
use crate::store::Store;
use crate::store::search::{Hit, SearchError, SearchQuery, Segment};

/// What the command was asked.
#[derive(Debug, Clone)]
pub struct SearchArgs {
    pub query: String,
    pub output: Option<String>,
    /// `7d`, `12h`: only stories first seen this recently.
    pub since: Option<String>,
    pub limit: usize,
    pub json: bool,
}

/// Runs a search against `cfg`'s store; returns the hits and the query's
/// selection (for the caller to print).
pub fn run(cfg: &Config, args: &SearchArgs, now: i64) -> Result<Vec<Hit>, Failure> {
    let out = match &args.output {
        Some(name) => Some(
            cfg.outputs
                .iter()
                .find(|o| o.name() == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = cfg.outputs.iter().map(|o| o.name()).collect();
                    Failure::Usage(format!(
                        "--output: no output named `{name}` in {} (outputs: {})",
                        cfg.source.display(),
                        names.join(", ")
                    ))
                })?,
        ),
        None => None,
    };
    let since = match &args.since {
        Some(s) => Some(now.saturating_sub(parse_since(s)?)),
        None => None,
    };
    // Outside any output, the feeds' own rules still apply.
    let sel = match out {
        Some(o) => Some(o.selection.clone()),
        None => cfg
            .outputs
            .first()
            .map(|o| std::sync::Arc::new(o.selection.feeds_only()))
            .filter(|s| s.has_rules()),
    };
    let q = SearchQuery {
        query: args.query.clone(),
        // (One more: whether more match than are shown.)
        limit: args.limit.saturating_add(1),
        since,
        tags: out.map(|o| o.tags.clone()).unwrap_or_default(),
        min_sources: out.map_or(0, |o| o.min_sources),
        headline: match out {
            Some(o) => o.dedup == crate::config::Dedup::Story && o.selection.has_rules(),
            None => sel.is_some(),
        },
    };
    if let crate::store::Location::Sqlite(path) = crate::store::Location::of(&cfg.store) {
        // A store being re-indexed (after the upgrade to version 8) answers
        // with what is indexed so far: say so.
        if let Ok(store) = Store::open_read_only(&path)
            && let Ok(Some((done, last))) = store.search_backfill_progress()
        {
            crate::errln!(
                "feedloom: note: the search index of {} is being rebuilt (items up to id {done} of {last} \
                 indexed; the next `feedloom poll` or `run` finishes it): results cover those only",
                path.display()
            );
        }
    }
    let windowed = out.filter(|o| o.window_secs().is_some()).cloned();
    let found = super::read_store(cfg, move |s| {
        let keep = |st: &crate::store::queries::Story| {
            sel.as_ref()
                .map_or(Some(st.clone()), |x| x.shown(st.clone()))
        };
        let mut found = s.search(&q, &keep);
        // (With `--output`, within its `window` too, by when each story's
        // newest item came.)
        if let (Some(o), Ok(hits)) = (&windowed, &mut found) {
            let ids: Vec<i64> = hits.iter().map(|h| h.story.id).collect();
            let arrivals = s.latest_arrivals(&ids)?;
            hits.retain(|h| {
                crate::export::in_window(o, &h.story, now, arrivals.get(&h.story.id).copied())
            });
        }
        Ok((found, s.synced_feeds()?))
    })
    // (With its causes: "db error" alone said not why the database refused.)
    .map_err(|e| Failure::Runtime(crate::error::chain(&e)))
    .map(|(found, synced)| {
        if let Some(w) = super::unsynced_config(cfg, &synced) {
            crate::errln!("feedloom: warning: {w}");
        }
        found
    })?;
    found.map_err(|e| match e {
        SearchError::Query(m) => Failure::Usage(format!("search: {m}")),
        SearchError::Store(e) => Failure::Runtime(crate::error::chain(&e)),
    })
}

/// A `--since` value: a duration such as `7d`, `36h`, `90m`.
pub fn parse_since(s: &str) -> Result<i64, Failure> {
    let d = crate::config::parse_duration(s).map_err(|e| {
        Failure::Usage(format!(
            "--since {s:?}: {e} (a duration such as `7d`, `36h` or `90m`)"
        ))
    })?;
    // Stories are first seen on whole seconds: a window shorter than one
    // second matches nothing, which would read as "no stories match".
    if d.as_secs() == 0 {
        return Err(Failure::Usage(format!(
            "--since {s:?}: a window shorter than one second matches no story \
             (a duration such as `7d`, `36h` or `90m`)"
        )));
    }
    Ok(d.as_secs().min(i64::MAX as u64) as i64)
}

/// Segments as text; marks in ANSI reverse video when `ansi`.
pub fn plain(segments: &[Segment], ansi: bool) -> String {
    segments
        .iter()
        .map(|s| match (s.mark, ansi) {
            (true, true) => format!("\x1b[7m{}\x1b[0m", strip_controls(&s.text)),
            _ => strip_controls(&s.text),
        })
        .collect()
}

/// Control characters of a story's text never reach the terminal, nor bidi
/// overrides (which the outputs strip too).
fn strip_controls(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !crate::export::clean::is_bidi_control(*c))
        .collect()
}

/// The hits as the terminal shows them.
pub fn render_text(hits: &[Hit], now: i64, ansi: bool) -> String {
    if hits.is_empty() {
        return "no stories match\n".to_string();
    }
    let mut s = String::new();
    for (i, h) in hits.iter().enumerate() {
        let st = &h.story;
        let title = plain(&h.title, ansi);
        let title = if title.trim().is_empty() {
            "(untitled)".to_string()
        } else {
            title
        };
        s.push_str(&format!("{}. {}\n", i + 1, title));
        let feed = st
            .source
            .title
            .clone()
            .unwrap_or_else(|| crate::config::access::redact_userinfo(&st.source.feed_url));
        let age = super::short_duration(now.saturating_sub(st.first_seen_at).max(0) as u64);
        let mut meta = format!("   {} · first seen {age} ago", strip_controls(&feed));
        if h.sources > 1 {
            meta.push_str(&format!(" · {} feeds", h.sources));
        }
        s.push_str(&meta);
        s.push('\n');
        // Only what the outputs publish: an absolute http(s) link.
        if let Some(link) = st.link.as_deref().and_then(crate::urls::safe_link) {
            s.push_str(&format!("   {}\n", strip_controls(&link)));
        }
        let snippet = plain(&h.snippet, ansi);
        if !snippet.trim().is_empty() {
            s.push_str(&format!("   {snippet}\n"));
        }
    }
    s
}

/// The hits as JSON (as `/search` gives them).
pub fn render_json(hits: &[Hit]) -> String {
    crate::web::search::json(hits, false)
}
