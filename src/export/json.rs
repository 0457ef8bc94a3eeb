//! JSON Feed 1.1. Each item names its origin in the `_feedloom` extension object.
//! `feed_url` is the output's own URL, `home_page_url` its `link`, else its river
//! page.

use serde_json::{Map, Value, json};

use super::{FeedInfo, Prepared, display_title, rfc3339};
use crate::config::Format;

pub const VERSION: &str = "https://jsonfeed.org/version/1.1";

pub fn render(info: &FeedInfo, stories: &[Prepared]) -> Vec<u8> {
    let items: Vec<Value> = stories.iter().map(item).collect();
    let mut feed = Map::new();
    feed.insert("version".into(), json!(VERSION));
    feed.insert("title".into(), json!(info.title));
    feed.insert("home_page_url".into(), json!(info.home_url()));
    feed.insert("feed_url".into(), json!(info.self_url(Format::Json)));
    feed.insert(
        "description".into(),
        json!(format!("{} (merged by feedloom)", info.title)),
    );
    feed.insert("items".into(), Value::Array(items));
    let mut out = serde_json::to_vec_pretty(&Value::Object(feed)).expect("JSON values serialise");
    out.push(b'\n');
    out
}

fn item(p: &Prepared) -> Value {
    let s = &p.story;
    let mut m = Map::new();
    m.insert("id".into(), json!(s.uid));
    if let Some(l) = &s.link {
        m.insert("url".into(), json!(l));
    }
    m.insert("title".into(), json!(display_title(p)));
    // JSON Feed requires content_html or content_text.
    m.insert(
        "content_html".into(),
        json!(p.html.as_deref().unwrap_or("")),
    );
    // The feed's own summary beside its content, as JSON Feed's plain text.
    if let Some(text) = p
        .summary
        .as_deref()
        .map(|h| crate::parse::strip_tags(h).trim().to_string())
        .filter(|t| !t.is_empty())
    {
        m.insert("summary".into(), json!(text));
    }
    m.insert("date_published".into(), json!(rfc3339(p.published())));
    m.insert("date_modified".into(), json!(rfc3339(p.updated())));
    if let Some(a) = &s.author {
        m.insert("authors".into(), json!([{ "name": a }]));
    }
    if !s.enclosures.is_empty() {
        let list: Vec<Value> = s
            .enclosures
            .iter()
            .map(|e| {
                // mime_type is required (JSON Feed 1.1).
                let mut a = Map::new();
                a.insert("url".into(), json!(e.url));
                a.insert(
                    "mime_type".into(),
                    json!(e.media_type.as_deref().unwrap_or(super::OCTET_STREAM)),
                );
                if let Some(n) = e.length {
                    a.insert("size_in_bytes".into(), json!(n));
                }
                Value::Object(a)
            })
            .collect();
        m.insert("attachments".into(), Value::Array(list));
    }
    let sources: Vec<Value> = std::iter::once(&s.source)
        .chain(&s.also)
        .map(source_json)
        .collect();
    m.insert(
        "_feedloom".into(),
        json!({
            "about": "https://github.com/feedloom/feedloom/blob/main/docs/schema.md",
            "first_seen": rfc3339(s.first_seen_at),
            "source": source_json(&s.source),
            "sources": sources,
        }),
    );
    Value::Object(m)
}

/// A source feed: its URL, title, home page and the story's link there.
fn source_json(src: &crate::store::queries::Source) -> Value {
    let mut m = Map::new();
    if !src.feed_url.is_empty() {
        m.insert("feed_url".into(), json!(src.feed_url));
    }
    if let Some(t) = &src.title {
        m.insert("title".into(), json!(t));
    }
    if let Some(u) = &src.site_url {
        m.insert("home_page_url".into(), json!(u));
    }
    if let Some(u) = &src.link {
        m.insert("url".into(), json!(u));
    }
    Value::Object(m)
}
