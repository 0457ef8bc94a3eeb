//! The river page of an output: its stories newest first, each with its title
//! as a link, when it was published ("5 minutes ago", the absolute time on
//! hover), every feed carrying it, its summary or first words, and the rest
//! behind a "more" disclosure; pages after the first by a `?before=` cursor.
//!
//! [`render`] is pure. The first page is rendered by the exporter with the other
//! formats and served from memory (see `export::render_all`); its relative times
//! are right until [`Page::stale_at`], when the exporter renders it again. Pages
//! after the first ([`route`] with `?before=`) are rendered on request from the
//! store. Files (`now: None`) show absolute times and no pager.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

use super::excerpt::{self, Excerpt};
use super::{format_label, href, layout, time};
use crate::config::Format;
use crate::export::{FeedInfo, Prepared, display_title, rfc3339};
use crate::server::ServerState;
use crate::store::queries::{Cursor, Source};

/// Words shown before "more".
pub const LEAD_WORDS: usize = 60;

/// One river page to render.
#[derive(Debug, Clone, Copy)]
pub struct River<'a> {
    pub info: &'a FeedInfo,
    /// The output's feed formats: `<link rel="alternate">` and subscribe links.
    pub feeds: &'a [Format],
    /// What the output's files are called beside the page: `all` → `all.atom`.
    pub base: &'a str,
    pub stories: &'a [Prepared],
    /// Relative times against this moment; `None` (files): absolute times.
    pub now: Option<i64>,
    /// Where the next (older) page starts, if there are older stories.
    pub older: Option<Cursor>,
    /// A page after the first: it links back to the newest.
    pub paged: bool,
    /// The output's rules passed fewer stories than a page holds among the
    /// candidates looked at (this many, [`crate::export::MAX_SCAN`] or a few
    /// more); `older` goes on from the last of them.
    pub scan_stopped: Option<usize>,
}

/// A rendered river page.
#[derive(Debug, Clone)]
pub struct Page {
    pub html: String,
    /// When its first relative time turns wrong (`None`: never).
    pub stale_at: Option<i64>,
}

/// The media type a feed format is announced with.
fn feed_type(format: Format) -> &'static str {
    let ct = format.content_type();
    ct.split(';').next().unwrap_or(ct)
}

pub fn render(r: &River) -> Page {
    let mut stale_at: Option<i64> = None;
    let feeds: Vec<Format> = r.feeds.iter().copied().filter(|f| f.is_feed()).collect();
    let title = if r.paged {
        format!("{} — older stories", r.info.title)
    } else {
        r.info.title.clone()
    };
    let head = html! {
        @for &f in &feeds {
            link rel="alternate" type=(feed_type(f)) title=(format!("{} ({})", r.info.title, format_label(f))) href=(href(r.base, f));
        }
    };
    let body = html! {
        header.top {
            h1 { (r.info.title) }
            @if let Some(link) = &r.info.link {
                p.muted { a href=(link) rel="noreferrer" { (link) } }
            }
            @if !feeds.is_empty() {
                nav.feeds aria-label="Subscribe" {
                    "Subscribe: "
                    @for &f in &feeds {
                        a href=(href(r.base, f)) type=(feed_type(f)) { (format_label(f)) }
                    }
                    // Served pages (not files) can search the output's stories.
                    @if r.now.is_some() {
                        " · " a href=(format!("search?output={}", r.info.name)) { "Search" }
                    }
                }
            }
        }
        main {
            @if r.stories.is_empty() && r.scan_stopped.is_none() {
                p.muted { @if r.paged { "No older stories." } @else { "No stories yet." } }
            }
            @for p in r.stories {
                (story(p, r.now, &mut stale_at))
            }
            @if let Some(scanned) = r.scan_stopped {
                p.muted {
                    (format!("{} of the {} {scanned} stories looked at {} this output's rules; older ones are on the next page.",
                        if r.stories.is_empty() { "None".to_string() } else { r.stories.len().to_string() },
                        if r.paged { "next" } else { "newest" },
                        if r.stories.len() == 1 { "passes" } else { "pass" }))
                }
            }
        }
        @if r.now.is_some() && (r.paged || r.older.is_some()) {
            nav.pager aria-label="Pages" {
                @if r.paged { a href=(href(r.base, Format::Html)) { "← Newest stories" } } @else { span {} }
                @if let Some(c) = r.older {
                    a href=(format!("?before={}", cursor_string(c))) rel="next" { "Older stories →" }
                }
            }
        }
        footer {
            p { "Times are UTC. Made by feedloom from the feeds it follows; story text is theirs." }
        }
    };
    Page {
        html: layout(&title, head, body).into_string(),
        stale_at,
    }
}

fn story(p: &Prepared, now: Option<i64>, stale_at: &mut Option<i64>) -> Markup {
    let s = &p.story;
    let title = display_title(p);
    let published = p.published();
    let (label, until) = match now {
        Some(now) => time::relative(published, now),
        None => (time::absolute(published), None),
    };
    if let Some(u) = until {
        *stale_at = Some(stale_at.map_or(u, |s| s.min(u)));
    }
    // (A time the feed did not give is said so: a story without a date, or
    // dated ahead, read "Published" at the time feedloom first saw it.)
    let mut hover = format!(
        "{} {}",
        if p.dated_by_its_feed() {
            "Published"
        } else {
            "First seen"
        },
        time::absolute(published)
    );
    let updated = p.updated();
    if updated > published + 60 {
        hover.push_str(&format!("; updated {}", time::absolute(updated)));
    }
    let sources: Vec<&Source> = std::iter::once(&s.source).chain(&s.also).collect();
    let anchor = format!("s-{}", s.uid.rsplit(':').next().unwrap_or(&s.uid));
    html! {
        article.story id=(anchor) dir="auto" {
            h2 {
                @if let Some(link) = &s.link { a href=(link) rel="noreferrer" { (title) } } @else { (title) }
            }
            p.meta {
                time datetime=(rfc3339(published)) title=(hover) { (label) }
                " · from "
                @for (i, src) in sources.iter().enumerate() {
                    @if i > 0 { ", " }
                    (source(src))
                }
                @if let Some(author) = s.author.as_deref().filter(|a| !a.trim().is_empty()) {
                    " · by " (author)
                }
            }
            (text(p))
            (enclosures(&s.enclosures))
        }
    }
}

/// The files a story carries: each a link named by its file name, type and
/// size; audio and video also playable (loaded only when played).
fn enclosures(list: &[crate::parse::Enclosure]) -> Markup {
    html! {
        @if !list.is_empty() {
            ul.files {
                @for e in list {
                    @let kind = e.media_type.as_deref().and_then(|t| t.split('/').next());
                    li {
                        @match kind {
                            Some("audio") => { audio controls preload="none" src=(e.url) {} br; }
                            Some("video") => { video controls preload="none" src=(e.url) {} br; }
                            _ => {}
                        }
                        a href=(e.url) rel="noreferrer" { (file_name(&e.url)) }
                        span.muted {
                            @if let Some(t) = &e.media_type { " · " (t) }
                            @if let Some(n) = e.length.filter(|n| *n > 0) { " · " (size(n)) }
                        }
                    }
                }
            }
        }
    }
}

/// The last segment of a URL's path, decoded, else its host.
fn file_name(link: &str) -> String {
    use percent_encoding::percent_decode_str;
    let Ok(u) = url::Url::parse(link) else {
        return link.to_string();
    };
    u.path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let decoded = percent_decode_str(s).decode_utf8_lossy().into_owned();
            // An escaped slash stays escaped: "evil%2Fnews.example%2Fep.mp3"
            // must not read as another site's path.
            if decoded.contains(['/', '\\']) {
                s.to_string()
            } else {
                decoded
            }
        })
        // (No control or bidi character: "3pm.exe" must not pass for "exe.mp3".)
        .filter(|s| {
            !s.trim().is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_control() || crate::export::clean::is_bidi_control(c))
        })
        .unwrap_or_else(|| u.host_str().unwrap_or(link).to_string())
}

/// Bytes as a reader reads them: 950 B, 12.3 MB.
fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    // (999,999 bytes is "1.0 MB", not "1000.0 kB".)
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A feed carrying the story: its name, linked to the story in that feed (else
/// the feed's home page).
fn source(src: &Source) -> Markup {
    let name = src.name();
    // (The feed's URL only when outputs may name it: see `check_story`.)
    let title = Some(src.feed_url.as_str()).filter(|u| !u.is_empty());
    html! {
        @match src.link.as_ref().or(src.site_url.as_ref()) {
            Some(l) => a.source href=(l) title=[title] rel="noreferrer" { (name) },
            None => span.source title=[title] { (name) },
        }
    }
}

/// `html` (as the sanitiser writes it: tags in lower case) with its headings
/// moved below the story's own `<h2>`: `h1` → `h3`, `h2` → `h4`, `h3` →
/// `h5`, the rest `h6`. A story's `<h1>` stood beside the page's title in
/// the page's outline, and its `<h2>`s read as more stories to a screen
/// reader's heading navigation. (The feeds' outputs keep them: a reader
/// shows one story at a time.)
fn below_story_heading(html: &str) -> std::borrow::Cow<'_, str> {
    let b = html.as_bytes();
    let heading_at = |i: usize| -> Option<(usize, u8)> {
        // `<hN` or `</hN`, then `>` or white space.
        let start = i + 1 + usize::from(b.get(i + 1) == Some(&b'/'));
        match (b.get(start), b.get(start + 1), b.get(start + 2)) {
            (Some(b'h'), Some(n @ b'1'..=b'6'), Some(c))
                if *c == b'>' || c.is_ascii_whitespace() =>
            {
                Some((start + 1, *n))
            }
            _ => None,
        }
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    for i in memchr::memchr_iter(b'<', b) {
        if let Some((digit, n)) = heading_at(i) {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(&html[copied..digit]);
            o.push(char::from((n + 2).min(b'6')));
            copied = digit + 1;
        }
    }
    match out {
        Some(mut o) => {
            o.push_str(&html[copied..]);
            std::borrow::Cow::Owned(o)
        }
        None => std::borrow::Cow::Borrowed(html),
    }
}

/// The story's text: the summary (else the first words), the rest behind "more".
fn text(p: &Prepared) -> Markup {
    let content = p.html.as_deref().map(below_story_heading);
    let content = content.as_deref().filter(|h| !h.trim().is_empty());
    let summary = p.summary.as_deref().map(below_story_heading);
    let summary = summary
        .as_deref()
        .filter(|h| !h.trim().is_empty())
        .filter(|h| matches!(excerpt::split(h, 2 * LEAD_WORDS), Excerpt::Whole));
    match (summary, content) {
        (Some(summary), content) => html! {
            div.body { (PreEscaped(summary)) }
            // Feeds that repeat the summary as content have nothing more to show.
            @if let Some(c) = content.filter(|c| c.trim() != summary.trim()) { (more(c)) }
        },
        (None, Some(c)) => match excerpt::split(c, LEAD_WORDS) {
            Excerpt::Whole => html! { div.body { (PreEscaped(c)) } },
            Excerpt::Split { lead, rest } => html! {
                div.body { (PreEscaped(lead)) }
                (more(&rest))
            },
            Excerpt::Text { lead } => html! {
                div.body { p { (lead) } }
                (more(c))
            },
        },
        (None, None) => html! {},
    }
}

fn more(html: &str) -> Markup {
    html! {
        details {
            summary { "more" }
            div.body { (PreEscaped(html)) }
        }
    }
}

/// The cursor as it appears in a page's link: `<seconds>-<id>`.
pub fn cursor_string(c: Cursor) -> String {
    format!("{}-{}", c.at, c.id)
}

/// Reads a `before` value; the error says what was wrong.
pub fn parse_cursor(s: &str) -> Result<Cursor, String> {
    let shown: String = s.chars().take(64).collect();
    let bad = || {
        format!(
            "bad `before` value {shown:?}: expected <seconds>-<id> as in the page's \"Older stories\" link"
        )
    };
    let (at, id) = s.split_once('-').ok_or_else(bad)?;
    let num = |n: &str| -> Result<i64, String> {
        if n.is_empty() || n.len() > 18 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        n.parse().map_err(|_| bad())
    };
    Ok(Cursor {
        at: num(at)?,
        id: num(id)?,
    })
}

/// `GET /{file}`: a page after the first for `NAME.html?before=…`, else the
/// rendered output from memory ([`crate::server::output`]).
pub async fn route(
    State(state): State<Arc<ServerState>>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut before = None;
    // (A page's `before` given twice, or misspelt, is refused as `/search`
    // refuses its own: the first one won, or the first page came back
    // without a word. Other parameters, a link's `utm_source`, are left
    // alone; so is a feed's query, a reader's cache buster.)
    if file.ends_with(".html") {
        for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes()) {
            let refused = match k.as_ref() {
                "before" if before.is_some() => Some("`before` given more than once".to_string()),
                "before" => {
                    before = Some(v.into_owned());
                    None
                }
                // (Paging and search parameters of other pages were
                // ignored without a word: `?limit=5` and `?page=2` gave the
                // whole first page.)
                p @ ("limit" | "page" | "offset" | "count" | "since" | "q" | "output") => {
                    Some(format!(
                        "the river page takes no `{p}`: it shows the output's newest `max_items` \
                     stories, and `before=` (its \"Older\" link) pages back; `/search?q=…` searches"
                    ))
                }
                other => super::misspelt(other, &["before"]).map(|meant| {
                    format!(
                        "unknown parameter `{}` (did you mean `{meant}`?)",
                        crate::error::quoted(other, 100)
                    )
                }),
            };
            if let Some(msg) = refused {
                return (StatusCode::BAD_REQUEST, format!("{msg}\n")).into_response();
            }
        }
    }
    match (file.strip_suffix(".html"), before) {
        (Some(name), Some(before)) => older(state, name.to_string(), &before).await,
        _ => crate::server::output(State(state), Path(file), headers).await,
    }
}

/// Pages after the first rendered at once; other requests wait their turn
/// (up to [`OLDER_WAIT`]). Each costs the sanitiser's time over its stories:
/// six at once of long stories took 30 s of CPU and 1 GB.
static OLDER_RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The bytes of pages after the first held in memory until they are sent,
/// in KiB, across all connections: a page is a 503 when it would go past
/// it. (Each page is rendered whole, up to ~2 MB: 400 clients that asked
/// for one and read nothing held 900 MB of the daemon's memory.)
const HELD_PAGES_KIB: usize = 64 << 10;
static HELD_PAGES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HELD_PAGES_KIB);

/// `page` as a response body that holds `budget` (a KiB a permit) for as
/// long as any of it is unsent, sent in chunks of 64 KiB; `None` when the
/// budget has not that much left.
fn held_body(page: String, budget: &'static tokio::sync::Semaphore) -> Option<axum::body::Body> {
    use futures_util::StreamExt;
    let kib = u32::try_from(page.len().div_ceil(1024).max(1)).ok()?;
    let permit = budget.try_acquire_many(kib).ok()?;
    let bytes = bytes::Bytes::from(page);
    let chunks: Vec<bytes::Bytes> = (0..bytes.len())
        .step_by(64 << 10)
        .map(|at| bytes.slice(at..(at + (64 << 10)).min(bytes.len())))
        .collect();
    drop(bytes);
    Some(axum::body::Body::from_stream(
        futures_util::stream::iter(chunks).map(move |c| {
            // (Held until the last chunk is taken and the body dropped.)
            let _held = &permit;
            Ok::<_, std::convert::Infallible>(c)
        }),
    ))
}

/// How long a page after the first waits for its turn before a 503.
const OLDER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The story text a page after the first shows at most, in bytes of stored
/// HTML; the stories past it go to the next page (one story at least). A
/// page of long stories was 50 MB.
pub const PAGE_TEXT_BYTES: usize = 2 << 20;

/// How many of `stories` (in order) fit on one page: at most
/// [`PAGE_TEXT_BYTES`] of text, one at least.
pub fn fitting(stories: &[crate::store::queries::Story]) -> usize {
    let mut bytes = 0usize;
    for (i, s) in stories.iter().enumerate() {
        bytes += s.html.as_ref().map_or(0, String::len) + s.summary.as_ref().map_or(0, String::len);
        if bytes > PAGE_TEXT_BYTES && i > 0 {
            return i;
        }
    }
    stories.len()
}

/// A page of the stories older than `before`, from the store.
async fn older(state: Arc<ServerState>, name: String, before: &str) -> Response {
    let out = state
        .web
        .outputs
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|o| o.name() == name && o.formats.contains(&Format::Html))
        .cloned();
    let Some(out) = out else {
        let why = crate::server::not_an_output(&state, &format!("{name}.html"));
        return (StatusCode::NOT_FOUND, why).into_response();
    };
    let cursor = match parse_cursor(before) {
        Ok(c) => c,
        Err(msg) => return (StatusCode::BAD_REQUEST, format!("{msg}\n")).into_response(),
    };
    let Ok(Ok(_turn)) = tokio::time::timeout(OLDER_WAIT, OLDER_RENDERS.acquire()).await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "2")],
            "busy rendering other pages; try again in a moment\n",
        )
            .into_response();
    };
    let now = crate::now_unix();
    let mut q = crate::export::query_for(&out, now, None);
    q.before = Some(cursor);
    q.limit = out.max_items.saturating_add(1);
    let sel = out.selection.clone();
    let (stories, scan_stopped) = match state
        .store
        .read_try(move |s| crate::export::select_stories_scanned(s, &q, &sel))
        .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %crate::error::chain(&e), "cannot read stories for a page");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response();
        }
    };
    // Sanitising takes a while: off the async threads, and outside the store's lock.
    let page = tokio::task::spawn_blocking(move || {
        let mut stories = stories;
        let keep = fitting(&stories[..stories.len().min(out.max_items)]);
        let more = stories.len() > keep;
        stories.truncate(keep);
        let prepared = crate::export::prepare(stories);
        let older = prepared
            .last()
            .filter(|_| more)
            .map(|p| Cursor::after(&p.story, out.updates))
            .or(scan_stopped.map(|(c, _)| c));
        render(&River {
            scan_stopped: scan_stopped.filter(|_| !more).map(|(_, n)| n),
            info: &crate::export::info_for(&out, &prepared),
            feeds: &out.formats,
            base: out.name(),
            stories: &prepared,
            now: Some(now),
            older,
            paged: true,
        })
    })
    .await;
    match page {
        Ok(page) => match held_body(page.html, &HELD_PAGES) {
            Some(body) => (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, Format::Html.content_type()),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
                .into_response(),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "10")],
                "busy sending other pages; try again in a moment\n",
            )
                .into_response(),
        },
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::Story;

    /// A story's headings sit below its own `<h2>`; text that only looks
    /// like one (escaped, or `<header>`, `<hr>`) is left alone.
    #[test]
    fn story_headings_sit_below_the_story_title() {
        assert_eq!(
            below_story_heading("<h1>A</h1><h2 id=\"x\">B</h2><h3>C</h3><h4>D</h4><H1>E</H1>"),
            "<h3>A</h3><h4 id=\"x\">B</h4><h5>C</h5><h6>D</h6><H1>E</H1>"
        );
        assert_eq!(
            below_story_heading("<p>&lt;h1&gt; <header>x</header><hr><h7>y</h7><h1"),
            "<p>&lt;h1&gt; <header>x</header><hr><h7>y</h7><h1"
        );
        assert!(matches!(
            below_story_heading("<p>plain</p>"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    /// A page's bytes count against the budget until its body is done
    /// with (sent, or its client gone); past the budget, none is made.
    #[tokio::test]
    async fn pages_held_unsent_count_against_their_budget() {
        static BUDGET: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(300);
        let page = || "x".repeat(200 << 10);
        let first = held_body(page(), &BUDGET).expect("within the budget");
        assert_eq!(BUDGET.available_permits(), 100);
        assert!(held_body(page(), &BUDGET).is_none());
        // Read whole: every byte, in chunks.
        let bytes = axum::body::to_bytes(first, usize::MAX).await.unwrap();
        assert_eq!(bytes.len(), 200 << 10);
        assert_eq!(BUDGET.available_permits(), 300);
        // A client gone: the body dropped unsent.
        drop(held_body(page(), &BUDGET).unwrap());
        assert_eq!(BUDGET.available_permits(), 300);
    }

    fn prepared(i: i64, title: &str, html: &str) -> Prepared {
        let src = |n: &str| Source {
            feed_url: format!("https://{n}.example/feed"),
            title: Some(format!("Feed {n}")),
            site_url: Some(format!("https://{n}.example/")),
            link: Some(format!("https://{n}.example/{i}")),
        };
        Prepared {
            story: Story {
                id: i,
                uid: format!("urn:feedloom:{i}"),
                link: Some(format!("https://a.example/{i}")),
                title: Some(title.into()),
                author: None,
                html: Some(html.into()),
                summary: None,
                published_at: Some(1_000_000 - i * 600),
                updated_at: None,
                first_seen_at: 1_000_000 - i,
                changed_at: 1_000_000 - i,
                source: src("a"),
                also: vec![src("b")],
                rest: vec![],
                files_joined: false,
                enclosures: Vec::new(),
            },
            html: Some(html.into()),
            summary: None,
        }
    }

    /// A story's time is "Published" only when its feed gave it: one
    /// without a date, or dated past when feedloom saw it, shows when
    /// feedloom first saw it, said so (it read "Published").
    #[test]
    fn a_time_the_feed_did_not_give_is_first_seen() {
        let hover = |published: Option<i64>| {
            let mut p = prepared(1, "T", "<p>x</p>");
            p.story.published_at = published;
            let html = story(&p, None, &mut None).into_string();
            let at = html.find("title=\"").unwrap() + 7;
            html[at..at + html[at..].find('"').unwrap()].to_string()
        };
        assert!(
            hover(Some(999_000)).starts_with("Published "),
            "{}",
            hover(Some(999_000))
        );
        assert!(hover(None).starts_with("First seen "), "{}", hover(None));
        assert!(hover(Some(253_402_300_799)).starts_with("First seen "));
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_named() {
        let c = Cursor {
            at: 1_780_000_000,
            id: 42,
        };
        assert_eq!(parse_cursor(&cursor_string(c)), Ok(c));
        for bad in [
            "",
            "12",
            "-1-2",
            "1-",
            "a-1",
            "1-2-3",
            "1 -2",
            "99999999999999999999-1",
        ] {
            let e = parse_cursor(bad).unwrap_err();
            assert!(
                e.contains("bad `before` value") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }

    #[test]
    fn titles_are_text_and_times_expire() {
        let info = FeedInfo {
            name: "all".into(),
            title: "River <of> news".into(),
            link: None,
            base: url::Url::parse("http://127.0.0.1:8080/").unwrap(),
            updated: 0,
            river: true,
        };
        let stories = [
            prepared(1, "<b>bold</b> & \"quoted\"", "<p>one</p>"),
            prepared(2, "two", "<p>two</p>"),
        ];
        let r = River {
            info: &info,
            feeds: &Format::all(),
            base: "all",
            stories: &stories,
            now: Some(1_000_000),
            older: Some(Cursor { at: 5, id: 6 }),
            paged: false,
            scan_stopped: None,
        };
        let page = render(&r);
        let h = &page.html;
        assert!(
            h.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"),
            "{h}"
        );
        assert!(h.contains("<title>River &lt;of&gt; news</title>"));
        assert!(h.contains(r#"<link rel="alternate" type="application/atom+xml" title="River &lt;of&gt; news (Atom)" href="all.atom">"#), "{h}");
        assert!(!h.contains("all.html\" type="), "the page is no feed: {h}");
        assert!(h.contains(r#"href="?before=5-6" rel="next""#));
        assert!(h.contains(">10 minutes ago</time>"), "{h}");
        assert!(h.contains(">20 minutes ago</time>"));
        // The first label to change: "10 minutes ago" at 11 minutes.
        assert_eq!(page.stale_at, Some(1_000_000 - 600 + 660));
        // A file: absolute times, no pager, nothing that expires.
        let file = render(&River {
            scan_stopped: None,
            now: None,
            older: None,
            ..r
        });
        assert!(
            file.html.contains(">Mon, 12 Jan 1970 13:36 UTC</time>"),
            "{}",
            file.html
        );
        assert!(!file.html.contains("before="));
        assert_eq!(file.stale_at, None);
    }

    #[test]
    fn files_are_listed_and_audio_plays_only_when_asked() {
        use crate::parse::Enclosure;
        let list = [
            Enclosure {
                url: "https://cdn.example/ep/Episode%2042.mp3".into(),
                media_type: Some("audio/mpeg".into()),
                length: Some(31_457_280),
            },
            Enclosure {
                url: "https://cdn.example/".into(),
                media_type: None,
                length: Some(0),
            },
        ];
        let h = enclosures(&list).into_string();
        assert_eq!(
            h,
            "<ul class=\"files\"><li><audio controls preload=\"none\" \
             src=\"https://cdn.example/ep/Episode%2042.mp3\"></audio><br>\
             <a href=\"https://cdn.example/ep/Episode%2042.mp3\" rel=\"noreferrer\">Episode 42.mp3</a>\
             <span class=\"muted\"> · audio/mpeg · 31.5 MB</span></li>\
             <li><a href=\"https://cdn.example/\" rel=\"noreferrer\">cdn.example</a>\
             <span class=\"muted\"></span></li></ul>"
        );
        assert_eq!(enclosures(&[]).into_string(), "");
        assert_eq!(
            file_name("https://x.example/a/%E2%80%AEfdp.exe"),
            "x.example"
        );
        assert_eq!(file_name("https://x.example/a/b%0A.mp3"), "x.example");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_500), "1.5 kB");
        assert_eq!(size(2_000_000_000), "2.0 GB");
        assert_eq!(size(999_999), "1.0 MB");
        assert_eq!(size(999_949), "999.9 kB");
        assert_eq!(
            file_name("https://evil.example/news.example%2Fep-12.mp3"),
            "news.example%2Fep-12.mp3"
        );
    }

    #[test]
    fn summary_first_then_more() {
        let long: String = (0..200).map(|i| format!("<p>para {i} text</p>")).collect();
        let mut p = prepared(1, "t", &long);
        p.summary = Some("<p>The gist.</p>".into());
        let h = text(&p).into_string();
        assert!(
            h.starts_with(
                "<div class=\"body\"><p>The gist.</p></div><details><summary>more</summary>"
            ),
            "{h}"
        );
        p.summary = None;
        let h = text(&p).into_string();
        assert!(
            h.starts_with("<div class=\"body\"><p>para 0 text</p>"),
            "{h}"
        );
        assert!(
            h.contains("<details><summary>more</summary><div class=\"body\"><p>para 20 text</p>"),
            "{h}"
        );
    }
}
