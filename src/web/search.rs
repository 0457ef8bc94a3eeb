//! `GET /search?q=…[&output=NAME][&limit=N]`: stories that match, best first
//! (bm25, then newest), one per story, with the matching words marked; HTML
//! in the river's layout and stylesheet, or JSON for `Accept: application/json`.
//!
//! Snippets and titles come as plain-text segments ([`Segment`]); each is
//! escaped here and only the segments the search marked become `<mark>`, so no
//! story text can forge a mark or any other markup. The page has one form (a
//! GET to itself), which its policy allows; nothing else differs from the river.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::{layout_with, time};
use crate::config::{Format, OutputConfig};
use crate::export::clean::plain_title;
use crate::export::rfc3339;
use crate::server::ServerState;
use crate::store::search::{Hit, SearchError, SearchQuery, Segment};

/// Results on a page unless `limit` says otherwise (at most [`MAX_LIMIT`]).
pub const DEFAULT_LIMIT: usize = 30;
pub const MAX_LIMIT: usize = 100;

/// The page's own policy: the river's, but its form may submit to this site.
pub const META_CSP: &str = concat!(
    "default-src 'none'; img-src http: https:; media-src http: https:; style-src '",
    super::style_hash!(),
    "'; base-uri 'none'; form-action 'self'"
);

/// The HTTP policy of the search page (the river's, with forms allowed to this site).
pub const CONTENT_SECURITY_POLICY: &str = concat!(
    "default-src 'none'; img-src http: https:; media-src http: https:; style-src '",
    super::style_hash!(),
    "'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; sandbox allow-forms"
);

/// Escaped text, the marked segments in `<mark>`.
pub fn segments_html(segments: &[Segment]) -> String {
    marks(segments).into_string()
}

fn marks(segments: &[Segment]) -> Markup {
    html! {
        @for s in segments {
            @if s.mark { mark { (plain_title(&s.text)) } } @else { (plain_title(&s.text)) }
        }
    }
}

/// What a search page shows.
pub struct SearchPage<'a> {
    pub query: &'a str,
    pub output: Option<&'a OutputConfig>,
    pub hits: &'a [Hit],
    /// Why the query could not run.
    pub error: Option<&'a str>,
    pub now: i64,
    /// The `since` and `limit` asked for, as written (kept by the form: a
    /// second search from the page searched everything, 20 at a time).
    pub since: Option<&'a str>,
    pub limit: Option<usize>,
    /// More stories match than `hits` holds (the page says so, and links to
    /// more: it ended at its 30th without a word).
    pub more: bool,
}

/// The page.
pub fn render(p: &SearchPage) -> String {
    let title = if p.query.trim().is_empty() {
        "Search".to_string()
    } else {
        format!("{} — search", p.query)
    };
    let body = html! {
        header.top {
            h1 { "Search" }
            form.search method="get" action="search" role="search" {
                input type="search" name="q" value=(p.query) aria-label="Search the stories" placeholder="words, \"a phrase\", prefix*";
                @if let Some(o) = p.output {
                    input type="hidden" name="output" value=(o.name());
                }
                @if let Some(since) = p.since {
                    input type="hidden" name="since" value=(since);
                }
                @if let Some(limit) = p.limit {
                    input type="hidden" name="limit" value=(limit);
                }
                button type="submit" { "Search" }
            }
            @if let Some(o) = p.output {
                // A link to the output's page only where it has one.
                @if o.formats.contains(&Format::Html) {
                    p.muted { "In " a href=(super::href(o.name(), Format::Html)) { (o.title()) } }
                } @else {
                    p.muted { "In " (o.title()) }
                }
            }
        }
        main {
            @if let Some(note) = crate::store::search::syntax_note(p.query).filter(|_| p.error.is_none()) {
                p.muted.note { "Note: " (note) "." }
            }
            @if let Some(e) = p.error {
                p.bad { (e) }
            } @else if !p.query.trim().is_empty() && p.hits.is_empty() {
                p.muted { "No stories match." }
            }
            @for h in p.hits {
                (hit(h, p.now))
            }
            @if p.more {
                p.muted.more {
                    "More stories match than the " (p.hits.len()) " shown"
                    @if p.hits.len() < MAX_LIMIT {
                        ": " a href=(more_href(p)) { "show up to " (MAX_LIMIT) } "."
                    } @else {
                        "; add words to narrow the search."
                    }
                }
            }
        }
        footer {
            p { "Best matches first, then the newest. Times are UTC." }
        }
    };
    layout_with(&title, html! {}, body, META_CSP).into_string()
}

/// The page again with [`MAX_LIMIT`] results.
fn more_href(p: &SearchPage) -> String {
    let mut q = url::form_urlencoded::Serializer::for_suffix(String::from("search?"), 7);
    q.append_pair("q", p.query);
    if let Some(o) = p.output {
        q.append_pair("output", o.name());
    }
    if let Some(since) = p.since {
        q.append_pair("since", since);
    }
    q.append_pair("limit", &MAX_LIMIT.to_string());
    q.finish()
}

fn hit(h: &Hit, now: i64) -> Markup {
    let s = &h.story;
    let (label, _) = time::relative(s.first_seen_at, now);
    let feed = s
        .source
        .title
        .as_deref()
        .map(|t| plain_title(t).into_owned())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| s.source.name());
    let link = s.link.as_deref().and_then(crate::urls::safe_link);
    let untitled = h.title.iter().all(|t| t.text.trim().is_empty());
    html! {
        article.story.hit dir="auto" {
            h2 {
                @if let Some(l) = link {
                    a href=(l) rel="noreferrer" { @if untitled { "(untitled)" } @else { (marks(&h.title)) } }
                } @else if untitled { "(untitled)" } @else { (marks(&h.title)) }
            }
            p.meta {
                time datetime=(rfc3339(s.first_seen_at)) title=(format!("First seen {}", time::absolute(s.first_seen_at))) { (label) }
                " · from " span.source { (feed) }
                @if h.sources > 1 { " · " (h.sources) " feeds" }
            }
            @if !h.snippet.is_empty() {
                p.snippet { (marks(&h.snippet)) }
            }
        }
    }
}

/// The hits as JSON: an array, best first. `title_html` and `snippet_html` are
/// escaped text with the matches in `<mark>`. `served`: for the daemon's
/// `/search` (`feed` only when outputs may name it, see
/// [`crate::urls::publishable_feed_url`]); else for this machine's user
/// (`feedloom search --json`: the feed's URL as stored).
pub fn json(hits: &[Hit], served: bool) -> String {
    let rows: Vec<_> = hits
        .iter()
        .map(|h| {
            // The links and titles every other output publishes: absolute
            // http(s) links only, no bidi controls.
            let st = &h.story;
            let link = st.link.as_deref().and_then(crate::urls::safe_link);
            // (Its title, else what the outputs title it by.)
            let text: String = h.title.iter().map(|s| s.text.as_str()).collect();
            let title = Some(text.as_str())
                .filter(|t| !t.trim().is_empty())
                .map(plain_title);
            let plain: String = h.snippet.iter().map(|s| s.text.as_str()).collect();
            serde_json::json!({
                "id": st.uid,
                "title": title,
                "link": link,
                "feed": match served {
                    true => crate::urls::publishable_feed_url(&st.source.feed_url),
                    false => Some(crate::config::access::redact_userinfo(&st.source.feed_url)),
                },
                "feed_title": st.source.title.as_deref().map(plain_title),
                "first_seen_at": st.first_seen_at,
                // (No later than it was seen, as the outputs publish it.)
                "published_at": st.published_at.map(|t| match st.first_seen_at.max(st.changed_at) {
                    0 => t,
                    seen => t.min(seen),
                }),
                "sources": h.sources,
                "score": h.score,
                "title_html": segments_html(&h.title),
                "snippet": plain,
                "snippet_html": segments_html(&h.snippet),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// `GET /search`.
pub async fn route(
    State(state): State<Arc<ServerState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (mut q, mut output, mut limit) = (String::new(), None, DEFAULT_LIMIT);
    // (As `feedloom search --since`: it was read nowhere, and a script's
    // `since=1d` searched everything.)
    let mut since = None;
    let (mut since_asked, mut limit_asked) = (None, None);
    let mut seen: Vec<String> = Vec::new();
    // (Bytes that are no UTF-8 were read as U+FFFD: `q=caf%C3` searched
    // for "caf", `q=volcano%FF` for "volcano", without a word; the command
    // line refuses them.)
    let raw = query.unwrap_or_default();
    for pair in raw.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let bytes: Vec<u8> =
            percent_encoding::percent_decode(v.replace('+', " ").as_bytes()).collect();
        if std::str::from_utf8(&bytes).is_err() {
            let k = String::from_utf8_lossy(
                &percent_encoding::percent_decode(k.as_bytes()).collect::<Vec<u8>>(),
            )
            .into_owned();
            return bad(
                &headers,
                format!(
                    "`{}` is not UTF-8 text (its percent-encoded bytes are no UTF-8: `{}`)",
                    crate::error::quoted(&k, 100),
                    crate::error::quoted(v, 200)
                ),
            );
        }
    }
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        // (A parameter given twice is refused, naming it: the last one won
        // without a word, `q=story&q=zzz` searched for "zzz".)
        if matches!(k.as_ref(), "q" | "output" | "since" | "limit") {
            if seen.iter().any(|s| *s == k) {
                return bad(&headers, format!("`{k}` given more than once"));
            }
            seen.push(k.to_string());
        }
        match k.as_ref() {
            // Whole: `parse_query` says when it is too long, as on the
            // command line (a cut here searched for something else).
            "q" => q = v.into_owned(),
            "output" => output = Some(v.into_owned()),
            "since" => match crate::commands::search::parse_since(&v) {
                Ok(secs) => {
                    since = Some(secs);
                    since_asked = Some(v.into_owned());
                }
                Err(e) => {
                    return bad(
                        &headers,
                        format!(
                            "bad `since` value {v:?}: {}",
                            e.message().trim_start_matches(&format!("--since {v:?}: "))
                        ),
                    );
                }
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => {
                    limit = n;
                    limit_asked = Some(n);
                }
                _ => {
                    return bad(
                        &headers,
                        format!("bad `limit` value {v:?}: expected 1 to {MAX_LIMIT}"),
                    );
                }
            },
            // (A misspelt parameter is refused, naming the one meant:
            // `ouput=x` searched every output, `limt=1` gave 30 results;
            // so is one in another letter case, `LIMIT=5`. One edit away,
            // or two letters swapped: others, a link's `utm_source` or
            // `fbclid`, a `site` or a `size`, are left alone.)
            // (A river page's cursor, or another paging, is not this
            // page's: it was ignored without a word.)
            "before" | "page" | "offset" => {
                return bad(
                    &headers,
                    format!(
                        "the search page takes no `{k}`: it shows the best matches, up to `limit` ({MAX_LIMIT} at most)"
                    ),
                );
            }
            other => {
                if let Some(meant) = super::misspelt(other, &["q", "output", "since", "limit"]) {
                    return bad(
                        &headers,
                        format!(
                            "unknown parameter `{}` (did you mean `{meant}`?)",
                            crate::error::quoted(other, 100)
                        ),
                    );
                }
            }
        }
    }
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(super::index::wants_json);
    let out = match &output {
        Some(name) => {
            let found = state
                .web
                .outputs
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|o| o.name() == name)
                .cloned();
            match found {
                Some(o) => Some(o),
                None => return bad(&headers, format!("no output named {name:?}")),
            }
        }
        None => None,
    };
    // Outside any output: what some output publishes. (The public page
    // listed the stories of feeds no output takes, by their tags, and what
    // every output's rules hide, or a feed's `exclude` hides everywhere.)
    // `None`: every story of the config's feeds is published somewhere.
    // (And within its `window`: a story older than every output's window,
    // in none of them, was found.)
    let sel: Option<Vec<crate::config::OutputConfig>> = match &out {
        Some(o) => Some(vec![o.clone()]),
        None => {
            let outputs = state.web.outputs.read().unwrap_or_else(|e| e.into_inner());
            let all = outputs.iter().any(|o| {
                o.tags.is_empty()
                    && !o.selection.has_rules()
                    && o.min_sources <= 1
                    && o.window_secs().is_none()
            });
            match (all, outputs.is_empty()) {
                (true, _) => None,
                // (No output at all: the feeds' own rules still apply.)
                (false, true) => None,
                (false, false) => Some(outputs.clone()),
            }
        }
    };
    // The feeds searched: those of the output's tags; outside any output,
    // those of every output's tags, unless one takes every feed.
    let tags: Vec<String> = match &out {
        Some(o) => o.tags.clone(),
        None => {
            let outputs = state.web.outputs.read().unwrap_or_else(|e| e.into_inner());
            match outputs.iter().any(|o| o.tags.is_empty()) || outputs.is_empty() {
                true => Vec::new(),
                false => {
                    let mut tags: Vec<String> = outputs
                        .iter()
                        .flat_map(|o| o.tags.iter().cloned())
                        .collect();
                    tags.sort();
                    tags.dedup();
                    tags
                }
            }
        }
    };
    let now = crate::now_unix();
    let mut more = false;
    let (hits, error) = if q.trim().is_empty() && json {
        // A page shows its empty form; a script asking for results of no
        // query is told so (`q=*` was a 400, `q=` a 200 with nothing).
        (
            Vec::new(),
            Some("the query has no words to search for: pass ?q=WORDS".to_string()),
        )
    } else if q.trim().is_empty() {
        (Vec::new(), None)
    } else {
        let sq = SearchQuery {
            query: q.clone(),
            // (One more: whether more match than are shown.)
            limit: limit + 1,
            since: since.map(|s: i64| now.saturating_sub(s)),
            tags,
            // (Outside any output: the fewest feeds any output asks for.)
            min_sources: match &out {
                Some(o) => o.min_sources,
                None => state
                    .web
                    .outputs
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|o| o.min_sources)
                    .min()
                    .unwrap_or(0),
            },
            headline: match &out {
                Some(o) => o.dedup == crate::config::Dedup::Story && o.selection.has_rules(),
                None => sel.is_some(),
            },
        };
        // (Outside any output, each hit as some output shows it, with as
        // many feeds as that output asks for: a story of one feed was found
        // while the one output showed only stories of two.)
        let union = sel.clone().filter(|_| out.is_none());
        let windowed = match &out {
            Some(o) => o.window_secs().is_some(),
            None => sel.iter().flatten().any(|o| o.window_secs().is_some()),
        };
        let sel = sel.clone();
        let terms = crate::store::search::parse_query(&q)
            .map(|p| p.terms)
            .unwrap_or_default();
        let found = state
            .store
            .read_try(move |s| {
                // (Shown as the first output that shows it shows it; and
                // found by what it shows, a private feed's token hidden.)
                let keep = |st: &crate::store::queries::Story| {
                    match &sel {
                        None => Some(st.clone()),
                        Some(list) => list.iter().find_map(|o| o.selection.shown(st.clone())),
                    }
                    .filter(|shown| crate::export::clean::found_as_shown(shown, &terms))
                };
                let found = s.search(&sq, &keep);
                // (When each hit's newest item came: for the outputs' windows.)
                let arrivals = match &found {
                    Ok(hits) if windowed => {
                        let ids: Vec<i64> = hits.iter().map(|h| h.story.id).collect();
                        s.latest_arrivals(&ids)?
                    }
                    _ => Default::default(),
                };
                Ok((found, arrivals))
            })
            .await;
        match found {
            Ok((Ok(mut hits), arrivals)) => {
                let within = |o: &crate::config::OutputConfig, h: &Hit| {
                    crate::export::in_window(o, &h.story, now, arrivals.get(&h.story.id).copied())
                };
                if let Some(list) = &union {
                    hits.retain(|h| {
                        list.iter().any(|o| {
                            let x = &o.selection;
                            (x.min_sources <= 1 || h.sources >= x.min_sources as i64)
                                && within(o, h)
                                && x.shown(h.story.clone()).is_some()
                        })
                    });
                } else if let Some(o) = &out {
                    hits.retain(|h| within(o, h));
                }
                more = hits.len() > limit;
                hits.truncate(limit);
                for h in &mut hits {
                    crate::export::clean::hide_feed_secrets(h);
                }
                (hits, None)
            }
            Ok((Err(SearchError::Query(m)), _)) => (Vec::new(), Some(m)),
            Ok((Err(SearchError::Store(e)), _)) | Err(e) => {
                tracing::error!(error = %crate::error::chain(&e), "search failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response();
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    if json {
        let body = match &error {
            Some(e) => serde_json::json!({ "error": e }).to_string(),
            None => self::json(&hits, true),
        };
        return (
            status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::VARY, "Accept"),
            ],
            body,
        )
            .into_response();
    }
    // What the page shows of the query: its first MAX_QUERY_BYTES, no
    // control characters (`parse_query` reads those as spaces), no bidi
    // overrides (which would turn the page's own text around, as in titles).
    let shown: String = crate::store::search::cut(&q, crate::store::search::MAX_QUERY_BYTES)
        .chars()
        .filter(|c| !crate::export::clean::is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let page = render(&SearchPage {
        query: &shown,
        output: out.as_ref(),
        hits: &hits,
        error: error.as_deref(),
        now,
        since: since_asked.as_deref(),
        limit: limit_asked,
        more,
    });
    (
        status,
        [
            (header::CONTENT_TYPE, Format::Html.content_type()),
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, "Accept"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        ],
        page,
    )
        .into_response()
}

fn bad(headers: &HeaderMap, msg: String) -> Response {
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(super::index::wants_json);
    if json {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": msg }).to_string(),
        )
            .into_response();
    }
    (StatusCode::BAD_REQUEST, format!("{msg}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::{Source, Story};

    #[test]
    fn marks_are_the_only_markup() {
        let segs = vec![
            Segment {
                text: "<mark>fake</mark> & ".into(),
                mark: false,
            },
            Segment {
                text: "<b>real</b>".into(),
                mark: true,
            },
        ];
        assert_eq!(
            segments_html(&segs),
            "&lt;mark&gt;fake&lt;/mark&gt; &amp; <mark>&lt;b&gt;real&lt;/b&gt;</mark>"
        );
        let hit = Hit {
            story: Story {
                id: 1,
                uid: "urn:feedloom:1".into(),
                link: Some("javascript:alert(1)".into()),
                title: Some("t".into()),
                author: None,
                html: None,
                summary: None,
                published_at: None,
                updated_at: None,
                first_seen_at: 100,
                changed_at: 100,
                source: Source {
                    feed_url: "https://a.example/f".into(),
                    title: None,
                    site_url: None,
                    link: None,
                },
                also: vec![],
                rest: vec![],
                files_joined: false,
                enclosures: Vec::new(),
            },
            score: -1.0,
            sources: 2,
            title: segs.clone(),
            snippet: segs,
        };
        let page = render(&SearchPage {
            query: "\"><script>",
            output: None,
            hits: std::slice::from_ref(&hit),
            error: None,
            now: 200,
            since: Some("\"><script>"),
            limit: Some(5),
            more: true,
        });
        assert!(!page.contains("<script>"), "{page}");
        // More match: said, with a link to more, the query escaped in it.
        assert!(
            page.contains(
                "More stories match than the 1 shown: <a href=\"search?q=%22%3E%3Cscript%3E&amp;since=%22%3E%3Cscript%3E&amp;limit=100\">show up to 100</a>."
            ),
            "{page}"
        );
        assert!(!page.contains("javascript:"), "{page}");
        assert!(
            page.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "{page}"
        );
        assert!(page.contains(" · 2 feeds"));
    }
}
