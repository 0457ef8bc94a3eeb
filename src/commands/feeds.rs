//! `feedloom feeds`: every configured feed with its status, as an aligned table
//! (comfy-table; display width aware, so CJK titles line up) or as JSON for
//! scripts (`--json`). The renderers take the rows as values; how rows are read
//! from the store is the caller's business.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Row, Table, presets};
use serde::Serialize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::store::queries::FeedSummary;

/// Narrowest LAST ERROR column kept when the terminal is narrow.
const MIN_ERROR_WIDTH: usize = 16;
/// Narrowest FEED column when titles must give way to the error.
const MIN_FEED_WIDTH: usize = 12;
const HEADER: [&str; 7] = [
    "FEED",
    "URL",
    "STATUS",
    "LAST FETCH",
    "NEXT FETCH",
    "ITEMS",
    "LAST ERROR",
];

/// The table `feedloom feeds` prints. With a `width` (the terminal's), the LAST
/// ERROR is cut to fit it (and, on a narrow terminal, the FEED title too), one
/// line per feed; without one nothing is cut.
pub fn render_table(rows: &[FeedSummary], now: i64, width: Option<u16>) -> String {
    let mut cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                one_line(r.title.as_deref().unwrap_or("-")),
                match (&r.moved_to, r.in_config) {
                    // (A permanent redirect followed: the config may name
                    // the new address.)
                    (Some(to), true) => format!("{} [moved to {to}]", r.url),
                    (Some(to), false) => format!("{} [not in config; moved to {to}]", r.url),
                    (None, true) => r.url.clone(),
                    (None, false) => format!("{} [not in config]", r.url),
                },
                status(r),
                match r.last_fetch_at {
                    Some(t) => format!("{} ago", super::short_duration((now - t).max(0) as u64)),
                    None => "never".to_string(),
                },
                next_fetch(r, now),
                r.items.to_string(),
                last_error(r),
            ]
        })
        .collect();
    if let Some(width) = width {
        fit(&mut cells, usize::from(width));
    }
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(HEADER.map(Cell::new));
    for c in cells {
        table.add_row(Row::from(c.map(Cell::new)));
    }
    if let Some(col) = table.column_mut(5) {
        col.set_cell_alignment(CellAlignment::Right);
    }
    // Columns are separated by two spaces; the first starts at the margin.
    for (i, col) in table.column_iter_mut().enumerate() {
        col.set_padding(if i == 0 { (0, 1) } else { (1, 1) });
    }
    let mut out = String::new();
    for (i, line) in table.lines().enumerate() {
        // The NOTHING preset still draws the header separator, as a blank line.
        if i == 1 && line.trim().is_empty() {
            continue;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Cuts the LAST ERROR cells (and, when that leaves too little room, the FEED
/// titles) so every line fits in `width` display columns.
fn fit(cells: &mut [[String; 7]], width: usize) {
    let col_width = |cells: &[[String; 7]], i: usize| {
        cells
            .iter()
            .map(|c| c[i].width())
            .chain([HEADER[i].width()])
            .max()
            .unwrap_or(0)
    };
    // Each column but the last is followed by two spaces.
    let before_error =
        |cells: &[[String; 7]]| (0..6).map(|i| col_width(cells, i) + 2).sum::<usize>();
    let deficit = (before_error(cells) + MIN_ERROR_WIDTH).saturating_sub(width);
    if deficit > 0 {
        let feed = col_width(cells, 0);
        let target = feed.saturating_sub(deficit).max(MIN_FEED_WIDTH);
        if target < feed {
            for c in cells.iter_mut() {
                c[0] = cut(&c[0], target);
            }
        }
    }
    // What is left, however little: the URL and status columns are never cut.
    let room = width.saturating_sub(before_error(cells)).max(1);
    for c in cells.iter_mut() {
        c[6] = cut(&c[6], room);
    }
}

/// `s` cut to `width` display columns, ending in `…` when cut.
fn cut(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// `feedloom feeds --json`: an array of objects, numbers as numbers, times both
/// as RFC 3339 and as Unix seconds.
pub fn render_json(rows: &[FeedSummary], now: i64) -> String {
    #[derive(Serialize)]
    struct JsonFeed<'a> {
        url: &'a str,
        title: Option<std::borrow::Cow<'a, str>>,
        /// Whether the config given to `feeds` names it (the store keeps feeds
        /// that left the config, with their items).
        in_config: bool,
        enabled: bool,
        /// "ok", "not_modified", "error", or null before the first fetch.
        status: Option<&'a str>,
        http_status: Option<u16>,
        last_error: Option<&'a str>,
        consecutive_failures: u32,
        items: i64,
        last_fetch_at: Option<String>,
        last_fetch_at_unix: Option<i64>,
        next_fetch_at: Option<String>,
        next_fetch_at_unix: Option<i64>,
        /// Whether the daemon would fetch it at its next tick.
        due: bool,
        /// Where it is fetched now, after permanent redirects (null: at `url`).
        fetch_url: Option<&'a str>,
    }
    let out: Vec<JsonFeed<'_>> = rows
        .iter()
        .map(|r| JsonFeed {
            url: &r.url,
            // (As every output shows it: no control, bidi or noncharacters.)
            title: r.title.as_deref().map(crate::export::clean::plain_title),
            in_config: r.in_config,
            enabled: r.enabled,
            status: r.last_status.as_deref(),
            http_status: r.last_http_status,
            last_error: r.last_error.as_deref(),
            consecutive_failures: r.consecutive_failures,
            items: r.items,
            last_fetch_at: r.last_fetch_at.map(crate::export::rfc3339),
            last_fetch_at_unix: r.last_fetch_at,
            // (Disabled, or no longer in the config: nothing fetches it, as
            // the table's "-" says. The stored time was given as a fetch to
            // come.)
            next_fetch_at: scheduled(r).map(crate::export::rfc3339),
            next_fetch_at_unix: scheduled(r),
            due: r.enabled && r.in_config && r.next_fetch_at.is_none_or(|t| t <= now),
            fetch_url: r.moved_to.as_deref(),
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".to_string());
    s.push('\n');
    s
}

/// When the feed is fetched next: never when it is disabled or no longer in
/// the config.
fn scheduled(r: &FeedSummary) -> Option<i64> {
    r.next_fetch_at.filter(|_| r.enabled && r.in_config)
}

fn status(r: &FeedSummary) -> String {
    if !r.enabled {
        return match r.last_http_status {
            Some(code) => format!("disabled ({code})"),
            None => "disabled".to_string(),
        };
    }
    match (&r.last_status, r.last_http_status) {
        (None, _) => "new".to_string(),
        (Some(st), Some(code)) if st == "error" => format!("error ({code})"),
        (Some(st), _) => st.clone(),
    }
}

fn next_fetch(r: &FeedSummary, now: i64) -> String {
    // Disabled, or no longer in the config: nothing fetches it.
    if !r.enabled || !r.in_config {
        return "-".to_string();
    }
    match r.next_fetch_at {
        Some(t) if t > now => format!("in {}", super::short_duration((t - now) as u64)),
        _ => "due".to_string(),
    }
}

fn last_error(r: &FeedSummary) -> String {
    match &r.last_error {
        Some(e) if r.consecutive_failures > 1 => {
            format!("{} in a row: {}", r.consecutive_failures, one_line(e))
        }
        Some(e) => one_line(e),
        None => String::new(),
    }
}

/// Control characters (newlines in an error message) as spaces: one row, one
/// line; bidi overrides left out (a right-to-left override in a title
/// reordered the rest of its row).
fn one_line(s: &str) -> String {
    s.chars()
        .filter(|&c| !crate::export::clean::is_bidi_control(c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(url: &str, title: Option<&str>) -> FeedSummary {
        FeedSummary {
            url: url.to_string(),
            in_config: true,
            title: title.map(str::to_string),
            enabled: true,
            last_fetch_at: Some(1_000_000 - 300),
            last_status: Some("ok".to_string()),
            last_http_status: Some(200),
            last_error: None,
            consecutive_failures: 0,
            next_fetch_at: Some(1_000_000 + 1500),
            items: 42,
            moved_to: None,
        }
    }

    fn failing() -> FeedSummary {
        FeedSummary {
            last_status: Some("error".into()),
            last_http_status: Some(503),
            last_error: Some(format!(
                "http://127.0.0.1:9/down.xml answered HTTP 503{}",
                " and a long explanation".repeat(8)
            )),
            consecutive_failures: 3,
            ..row("http://127.0.0.1:9/down.xml", None)
        }
    }

    /// Display column where `needle` starts on `line`.
    fn col(line: &str, needle: &str) -> usize {
        line[..line
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {line}"))]
            .width()
    }

    #[test]
    fn columns_line_up_with_wide_cjk_titles() {
        let rows = vec![
            row("https://example.org/a.xml", Some("Plain title")),
            row("https://example.jp/b.xml", Some("日本語のブログ")),
            row("https://example.kr/c.xml", Some("한국어 뉴스")),
            row("https://example.cn/d.xml", Some("中文新闻")),
        ];
        let t = render_table(&rows, 1_000_000, None);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5, "{t}");
        let status = col(lines[0], "STATUS");
        let items = col(lines[0], "ITEMS");
        for line in &lines[1..] {
            assert_eq!(col(line, "ok"), status, "{t}");
            // ITEMS is right-aligned: the counts end where the header ends.
            assert_eq!(col(line, "42") + 2, items + "ITEMS".len(), "{t}");
            assert!(line.contains("5m ago") && line.contains("in 25m"), "{t}");
        }
    }

    #[test]
    fn last_error_is_cut_to_the_width_and_whole_without_one() {
        let rows = vec![
            row("https://example.org/a.xml", Some("新闻 News")),
            failing(),
        ];
        let t = render_table(&rows, 1_000_000, Some(120));
        for line in t.lines() {
            assert!(line.width() <= 120, "{} > 120: {line}", line.width());
        }
        let err_line = t.lines().find(|l| l.contains("down.xml")).unwrap();
        assert!(
            err_line.contains("3 in a row: http://127.0.0.1:9/down"),
            "{t}"
        );
        assert!(err_line.ends_with('…'), "{t}");
        assert!(err_line.contains("error (503)"), "{t}");
        assert_eq!(t.lines().count(), 3, "one line per feed: {t}");

        let whole = render_table(&rows, 1_000_000, None);
        assert!(whole.contains(&failing().last_error.unwrap()), "{whole}");
    }

    #[test]
    fn a_narrow_terminal_cuts_titles_too() {
        let mut long = failing();
        long.title = Some("一个非常非常长的中文标题，讲述了很多事情".to_string());
        let t = render_table(&[long], 1_000_000, Some(110));
        for line in t.lines() {
            assert!(line.width() <= 110, "{} > 110: {line}", line.width());
        }
        let line = t.lines().nth(1).unwrap();
        assert_eq!(line.width(), 110, "{t}");
        assert!(
            line.starts_with("一个非常非常长的中…  http://127.0.0.1:9/down.xml"),
            "{t}"
        );
        assert!(line.ends_with("3 in a row: htt…"), "{t}");
        assert_eq!(cut("日本語", 5), "日本…");
        assert_eq!(cut("日本語", 6), "日本語");
        // A right-to-left override reordered the rest of the row.
        let mut rtl = failing();
        rtl.title = Some("\u{202e}evil\u{202c} title\u{1b}[2J".to_string());
        let t = render_table(&[rtl], 1_000_000, None);
        assert!(!t.contains(['\u{202e}', '\u{202c}', '\u{1b}']), "{t:?}");
        assert!(t.contains("evil title [2J"), "{t}");
    }

    #[test]
    fn statuses_and_schedule() {
        let mut disabled = row("https://example.org/gone.xml", None);
        disabled.enabled = false;
        disabled.last_status = Some("error".into());
        disabled.last_http_status = Some(410);
        let mut fresh = row("https://example.org/new.xml", None);
        fresh.last_status = None;
        fresh.last_fetch_at = None;
        fresh.next_fetch_at = None;
        // Left the config: kept in the store, never fetched, so never due.
        let mut left = row("https://example.org/left.xml", None);
        left.in_config = false;
        left.next_fetch_at = Some(1_000_500);
        let t = render_table(&[disabled, fresh, left.clone()], 1_000_000, None);
        let gone = t.lines().find(|l| l.contains("gone.xml")).unwrap();
        assert!(gone.contains("disabled (410)"), "{t}");
        let old = t.lines().find(|l| l.contains("left.xml")).unwrap();
        assert!(
            old.contains("[not in config]") && !old.contains("due"),
            "{t}"
        );
        let v: serde_json::Value = serde_json::from_str(&render_json(&[left], 1_000_000)).unwrap();
        assert_eq!(v[0]["due"], false);
        // (Its stored next fetch is no fetch to come.)
        assert!(v[0]["next_fetch_at"].is_null() && v[0]["next_fetch_at_unix"].is_null());
        let new = t.lines().find(|l| l.contains("new.xml")).unwrap();
        assert!(
            new.contains("new") && new.contains("never") && new.contains("due"),
            "{t}"
        );
    }

    #[test]
    fn json_has_numbers_and_both_time_forms() {
        let v: serde_json::Value =
            serde_json::from_str(&render_json(&[failing()], 1_000_000)).unwrap();
        let f = &v[0];
        assert_eq!(f["url"], "http://127.0.0.1:9/down.xml");
        assert_eq!(f["items"], 42);
        assert_eq!(f["http_status"], 503);
        assert_eq!(f["consecutive_failures"], 3);
        assert_eq!(f["status"], "error");
        assert_eq!(f["last_fetch_at_unix"], 1_000_000 - 300);
        assert_eq!(f["last_fetch_at"], "1970-01-12T13:41:40Z");
        assert_eq!(f["next_fetch_at_unix"], 1_001_500);
        assert_eq!(f["due"], false);
        assert!(f["title"].is_null());
    }
}
