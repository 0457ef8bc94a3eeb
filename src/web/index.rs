//! `GET /`: the outputs (with links to their page and feeds) and the health of
//! the feeds (how many are ok, failing, disabled, never fetched; the worst ones
//! with their last error), as HTML, or as JSON for `Accept: application/json`.
//! Reads the store (two small queries); writes nothing.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{format_label, href, layout, time};
use crate::config::{Format, OutputConfig};
use crate::export::clean::plain_title;
use crate::export::rfc3339;
use crate::server::ServerState;
use crate::store::queries::{FeedHealth, FeedProblem};
use crate::urls::{shown_feed_url, shown_urls_in};

/// Feeds in trouble listed at most.
pub const WORST: usize = 20;

/// What the index shows of the feeds: counts by state (as `/healthz` counts
/// them) and the feeds in trouble.
#[derive(Debug, Clone, Default)]
pub struct IndexHealth {
    pub ok: u32,
    pub failing: u32,
    pub disabled: u32,
    pub never: u32,
    pub worst: Vec<FeedProblem>,
}

impl IndexHealth {
    pub fn new(counts: FeedHealth, worst: Vec<FeedProblem>) -> IndexHealth {
        IndexHealth {
            ok: counts.ok,
            failing: counts.failing,
            disabled: counts.disabled,
            never: counts.never_fetched,
            worst,
        }
    }
}

/// The index as HTML.
pub fn html(outputs: &[OutputConfig], health: &IndexHealth) -> String {
    let total = health.ok + health.failing + health.disabled + health.never;
    let body = html! {
        header.top {
            h1 { "feedloom" }
            p.muted { "The merged feeds this daemon publishes, and how its feeds are doing." }
            // Relative, as every link of the pages: behind a proxy that serves
            // feedloom under a path (`public_url`), "/search" left it.
            nav.feeds { a href="search" { "Search all stories" } }
        }
        main {
            h2 { "Outputs" }
            ul.outputs {
                @for o in outputs {
                    li {
                        @if o.formats.contains(&Format::Html) {
                            a href=(href(o.name(), Format::Html)) { strong { (o.title()) } }
                        } @else {
                            strong { (o.title()) }
                        }
                        " "
                        span.muted { "(" (o.name()) ")" }
                        br;
                        span.meta {
                            @for (i, f) in o.formats.iter().filter(|f| f.is_feed()).enumerate() {
                                @if i > 0 { " · " }
                                a href=(href(o.name(), *f)) type=(f.content_type().split(';').next().unwrap_or("")) { (format_label(*f)) }
                            }
                        }
                    }
                }
            }
            h2 { "Feeds" }
            // (A space between the counts, where the line may break: the
            // line did not wrap, and a phone's page scrolled sideways.)
            p.counts {
                span { (total) " configured:" } " "
                span.ok { (health.ok) " ok" } " "
                span.failing.bad[health.failing > 0] { (health.failing) " failing" } " "
                span.disabled { (health.disabled) " disabled" } " "
                span.never { (health.never) " never fetched" }
            }
            @if !health.worst.is_empty() {
                table.health {
                    thead { tr { th { "Feed" } th { "Failures" } th { "Last error" } th { "Next attempt" } } }
                    tbody {
                        @for f in &health.worst {
                            tr {
                                td {
                                    (shown_title(f).unwrap_or_else(|| shown_feed_url(&f.url)))
                                    @if f.title.is_some() { br; span.muted { (shown_feed_url(&f.url)) } }
                                }
                                td { (f.consecutive_failures) }
                                td.err { (shown_urls_in(f.last_error.as_deref().unwrap_or(""))) }
                                td {
                                    @if !f.enabled {
                                        "disabled: " code { "feedloom enable URL" }
                                    } @else if let Some(t) = f.next_fetch_at {
                                        time datetime=(rfc3339(t)) { (time::absolute(t)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        footer { p { "JSON: the same with " code { "Accept: application/json" } ". Times are UTC." } }
    };
    layout("feedloom", html! {}, body).into_string()
}

/// A failing feed's title as the index shows it: plain, and without the
/// feed's token where the title repeats it (it was shown whole beside the
/// URL that hid it).
fn shown_title(f: &FeedProblem) -> Option<String> {
    f.title.as_deref().map(|t| {
        let mut t = plain_title(t).into_owned();
        crate::export::clean::hide_feed_secrets_in_error(&mut t, &[&f.url]);
        t
    })
}

/// The index as JSON.
pub fn json(outputs: &[OutputConfig], health: &IndexHealth) -> String {
    use serde_json::{Map, Value, json};
    let at = |t: Option<i64>| t.map(rfc3339);
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|o| {
            let feeds: Map<String, Value> = o
                .formats
                .iter()
                .filter(|f| f.is_feed())
                .map(|f| (f.extension().to_string(), json!(href(o.name(), *f))))
                .collect();
            json!({
                "name": o.name(),
                "title": o.title(),
                "page": o.formats.contains(&Format::Html).then(|| href(o.name(), Format::Html)),
                "feeds": feeds,
            })
        })
        .collect();
    let worst: Vec<Value> = health
        .worst
        .iter()
        .map(|f| {
            json!({
                "url": shown_feed_url(&f.url),
                "title": shown_title(f),
                "state": if f.enabled { "failing" } else { "disabled" },
                "consecutive_failures": f.consecutive_failures,
                "last_http_status": f.last_http_status,
                "last_error": f.last_error.as_deref().map(shown_urls_in),
                "last_fetch_at": at(f.last_fetch_at),
                "last_success_at": at(f.last_success_at),
                "next_fetch_at": if f.enabled { at(f.next_fetch_at) } else { None },
            })
        })
        .collect();
    let v = json!({
        "outputs": outputs,
        "feeds": {
            "total": health.ok + health.failing + health.disabled + health.never,
            "ok": health.ok,
            "failing": health.failing,
            "disabled": health.disabled,
            "never_fetched": health.never,
        },
        "worst": worst,
    });
    let mut s = serde_json::to_string_pretty(&v).expect("JSON values serialise");
    s.push('\n');
    s
}

/// Whether an `Accept` header prefers JSON to HTML (HTML wins ties and `*/*`).
pub fn wants_json(accept: &str) -> bool {
    let (mut html_q, mut json_q) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").map(str::to_string))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match ty.as_str() {
            "text/html" | "application/xhtml+xml" | "text/*" => html_q = html_q.max(q),
            "application/json" | "application/*" => json_q = json_q.max(q),
            "*/*" => {
                html_q = html_q.max(q);
                json_q = json_q.max(q);
            }
            _ => {}
        }
    }
    json_q > 0.0 && json_q > html_q
}

pub async fn route(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let outputs = state
        .web
        .outputs
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let health = match state
        .store
        .read_try(|s| {
            Ok(IndexHealth::new(
                s.feed_health()?,
                s.feeds_in_trouble(WORST)?,
            ))
        })
        .await
    {
        Ok(h) => h,
        Err(e) => {
            let msg = crate::error::chain(&e);
            tracing::error!(error = %msg, "cannot read feed health for the index");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("store unavailable: {msg}\n"),
            )
                .into_response();
        }
    };
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(wants_json);
    let (ct, body) = if json {
        ("application/json", self::json(&outputs, &health))
    } else {
        (Format::Html.content_type(), html(&outputs, &health))
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, "Accept"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_json_only_when_preferred() {
        for (accept, json) in [
            ("application/json", true),
            ("application/json, */*;q=0.1", true),
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                false,
            ),
            ("*/*", false),
            ("text/html;q=0.5, application/json;q=0.9", true),
            ("application/json;q=0", false),
            ("", false),
        ] {
            assert_eq!(wants_json(accept), json, "{accept}");
        }
    }

    /// Failing private feeds on the index: a title that repeats the token
    /// hides it (it was shown whole beside the URL that hid it), and an
    /// error shows the token as the bare `***` it is stored as (every error
    /// showed the tag of `***` itself, one for all feeds, as if it were each
    /// feed's token).
    #[test]
    fn failing_private_feeds_hide_their_tokens_in_titles_and_errors() {
        let feed = |token: &str| {
            let url = format!("http://127.0.0.1:9/p.xml?token={token}");
            let mut error = format!("{url} answered HTTP 404");
            crate::export::clean::hide_feed_secrets_in_error(&mut error, &[&url]);
            FeedProblem {
                url,
                title: Some(format!("Private {token} feed")),
                enabled: true,
                last_error: Some(error),
                last_http_status: Some(404),
                consecutive_failures: 1,
                last_fetch_at: None,
                last_success_at: None,
                next_fetch_at: None,
            }
        };
        let (a, b) = ("SECRETtok3n99", "0therT0ken777");
        let health = IndexHealth::new(FeedHealth::default(), vec![feed(a), feed(b)]);
        let json = json(&[], &health);
        let page = html(&[], &health);
        for shown in [&json, &page] {
            assert!(!shown.contains(a) && !shown.contains(b), "{shown}");
        }
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for w in v["worst"].as_array().unwrap() {
            assert!(
                w["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("token=*** answered"),
                "{w}"
            );
            assert!(
                w["title"].as_str().unwrap().starts_with("Private ***"),
                "{w}"
            );
        }
    }
}
