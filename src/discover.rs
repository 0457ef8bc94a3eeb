//! Feed discovery in web pages. Pure: HTML bytes and the page's URL in, candidate
//! feed URLs out; no I/O (`commands::add` fetches the page and the candidates).
//!
//! A page declares its feeds with `<link rel="alternate">` elements whose type is
//! RSS (`application/rss+xml`, `application/rdf+xml`), Atom
//! (`application/atom+xml`) or JSON Feed (`application/feed+json`, and
//! `application/json` when the link mentions "feed": WordPress also declares its
//! REST API as `application/json`). Relative hrefs resolve against `<base href>`
//! or the page's URL; only http and https results are kept. When a page declares
//! none, [`COMMON_PATHS`] are the usual places to try.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use url::Url;

/// Paths tried, in order, on a site whose page declares no feed.
pub const COMMON_PATHS: &[&str] = &["/feed", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json"];

/// The format a page says a feed link has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rss,
    Atom,
    Json,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rss => "RSS",
            Kind::Atom => "Atom",
            Kind::Json => "JSON Feed",
        }
    }
}

/// A feed a page declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub url: Url,
    /// The link's `title` attribute, whitespace collapsed.
    pub title: Option<String>,
    pub kind: Kind,
}

/// Whether a response looks like an HTML page (by its Content-Type, else by its
/// first bytes).
pub fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if let Some(ct) = content_type {
        let ct = ct.to_ascii_lowercase();
        if ct.contains("html") {
            return true;
        }
        // (XHTML served as plain XML has its `<html>` root.)
        if ct.contains("xml") || ct.contains("json") {
            let essence = ct.split(';').next().unwrap_or("").trim();
            return matches!(essence, "application/xml" | "text/xml") && head.contains("<html");
        }
    }
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<head")
}

/// What a page declares: its feeds, and the feed links it declares that
/// cannot be fetched.
#[derive(Debug, Default)]
pub struct Declared {
    /// In document order, without repeats.
    pub found: Vec<Candidate>,
    /// As written (at most ten): `javascript:`, `file:`, `ftp:`, port 0, no
    /// address.
    pub left_out: Vec<(String, &'static str)>,
    /// How many more such links there were (named none).
    pub more_left_out: usize,
}

/// The feeds `html` declares, in document order, without repeats. `charset` is
/// the HTTP Content-Type charset, if any; `page` is the page's final URL.
pub fn alternates(html: &[u8], charset: Option<&str>, page: &Url) -> Declared {
    // Feeds are declared in the head: the first 512 KiB is plenty, and bounds
    // the tokenizer's cost (quadratic in the attributes of one element).
    // (Cut before a `<`: never inside a character, which would have made the
    // whole page read as windows-1252.)
    let end = match html.len() > MAX_PAGE {
        true => memchr::memrchr(b'<', &html[..MAX_PAGE]).unwrap_or(MAX_PAGE),
        false => html.len(),
    };
    let html = &html[..end];
    let text = decode(html, charset);
    let sink = LinkSink {
        page: page.clone(),
        state: RefCell::new(SinkState {
            base: None,
            found: Vec::new(),
            left_out: Vec::new(),
            more_left_out: 0,
            seen: std::collections::HashSet::new(),
        }),
    };
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(&text));
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let _ = tok.feed(&input);
    tok.end();
    let st = tok.sink.state.into_inner();
    Declared {
        found: st.found,
        left_out: st.left_out,
        more_left_out: st.more_left_out,
    }
}

/// The [`COMMON_PATHS`] on the page's site (scheme, host and port of `page`).
pub fn common_paths(page: &Url) -> Vec<Url> {
    COMMON_PATHS
        .iter()
        .filter_map(|p| page.join(p).ok())
        .collect()
}

fn decode(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, had_errors) = encoding.decode(bytes);
    if had_errors && encoding == encoding_rs::UTF_8 {
        // Not UTF-8 after all and no charset said so: the web's usual fallback.
        return encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned();
    }
    text.into_owned()
}

struct SinkState {
    /// `<base href>`, resolved against the page.
    base: Option<Url>,
    found: Vec<Candidate>,
    /// Feed links declared with an address feedloom cannot fetch (not http
    /// or https, or no address), as written, at most [`MAX_LEFT_OUT`].
    left_out: Vec<(String, &'static str)>,
    /// How many more there were.
    more_left_out: usize,
    /// The URLs in `found` (a page may declare thousands: a repeat is one
    /// look-up, not a pass over all so far).
    seen: std::collections::HashSet<Url>,
}

/// Bytes of a page looked into for the feeds it declares.
const MAX_PAGE: usize = 512 * 1024;

/// No page declares more feeds than anyone would choose from.
const MAX_CANDIDATES: usize = 1_000;

/// Feed links left out that are named.
const MAX_LEFT_OUT: usize = 10;

struct LinkSink {
    page: Url,
    state: RefCell<SinkState>,
}

impl TokenSink for LinkSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        if tag.kind != TagKind::StartTag {
            return TokenSinkResult::Continue;
        }
        match &*tag.name {
            // Their contents are text, not markup: a `<link>` written inside a
            // script is not one.
            "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "noscript" | "xmp" | "iframe" | "noembed" | "noframes" => {
                return TokenSinkResult::RawData(RawKind::Rawtext);
            }
            "title" | "textarea" => return TokenSinkResult::RawData(RawKind::Rcdata),
            "base" => {
                let mut st = self.state.borrow_mut();
                // (A base that is no web address, `javascript:`, is none, as
                // browsers take it: every link was "not a web address".)
                if st.base.is_none()
                    && let Some(href) = attr(&tag, "href")
                {
                    st.base = self
                        .page
                        .join(href.trim())
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"));
                }
            }
            "link" => match self.candidate(&tag) {
                Some(Ok(c)) => {
                    let mut st = self.state.borrow_mut();
                    if st.found.len() < MAX_CANDIDATES && st.seen.insert(c.url.clone()) {
                        st.found.push(c);
                    }
                }
                Some(Err(href)) => {
                    let mut st = self.state.borrow_mut();
                    if !st.left_out.iter().any(|(h, _)| *h == href.0) {
                        match st.left_out.len() < MAX_LEFT_OUT {
                            true => st.left_out.push(href),
                            false => st.more_left_out += 1,
                        }
                    }
                }
                None => {}
            },
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl LinkSink {
    /// The feed a `<link>` declares; `Err((href, why))` for one whose
    /// address cannot be fetched (`javascript:`, `file:`, `ftp:`, port 0, no
    /// address).
    fn candidate(&self, tag: &Tag) -> Option<Result<Candidate, (String, &'static str)>> {
        let rel = attr(tag, "rel")?.to_ascii_lowercase();
        if !rel.split_ascii_whitespace().any(|r| r == "alternate") {
            return None;
        }
        let href = attr(tag, "href")?.trim();
        let mime = attr(tag, "type")?
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let kind = match mime.as_str() {
            "application/rss+xml" | "application/rdf+xml" => Kind::Rss,
            "application/atom+xml" => Kind::Atom,
            "application/feed+json" => Kind::Json,
            "application/json" if href.to_ascii_lowercase().contains("feed") => Kind::Json,
            _ => return None,
        };
        if href.is_empty() {
            return None;
        }
        let st = self.state.borrow();
        let url = st.base.as_ref().unwrap_or(&self.page).join(href).ok();
        let shown = || href.chars().take(200).collect::<String>();
        let Some(url) = url.filter(|u| matches!(u.scheme(), "http" | "https")) else {
            return Some(Err((shown(), "not a web address")));
        };
        // (Port 0 is no port: such a link was taken, and failed.)
        if url.port() == Some(0) {
            return Some(Err((shown(), "port 0 is no port")));
        }
        let title = attr(tag, "title")
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty());
        Some(Ok(Candidate { url, title, kind }))
    }
}

fn attr<'t>(tag: &'t Tag, name: &str) -> Option<&'t str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://example.org/blog/post.html").unwrap()
    }

    fn urls(html: &str) -> Vec<String> {
        alternates(html.as_bytes(), None, &page())
            .found
            .into_iter()
            .map(|c| c.url.to_string())
            .collect()
    }

    #[test]
    fn a_page_declaring_thousands_of_feeds_gives_the_first_thousand_once() {
        let mut html = String::from("<html><head>");
        for i in 0..3_000 {
            for _ in 0..2 {
                html.push_str(&format!(
                    "<link rel=alternate type=application/rss+xml href=/f{i}.xml>"
                ));
            }
        }
        let found = alternates(html.as_bytes(), None, &page()).found;
        assert_eq!(found.len(), MAX_CANDIDATES);
        assert!(found[0].url.as_str().ends_with("/f0.xml"));
        assert!(found[999].url.as_str().ends_with("/f999.xml"));
    }

    #[test]
    fn declared_feeds_in_document_order_resolved_and_typed() {
        let html = r#"<!DOCTYPE html><html><head>
            <title>My <link rel="alternate" type="application/rss+xml" href="/in-title"></title>
            <LINK REL="Alternate" TYPE="application/atom+xml" HREF="atom.xml" title="  Posts
                (Atom) ">
            <link rel="alternate" type="application/rss+xml; charset=utf-8" href="https://feeds.example.net/rss" title="Caf&eacute; &amp; more">
            <link rel="alternate" type="application/feed+json" href="//example.org/feed.json">
            <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">
            <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
            <link rel="stylesheet" type="application/rss+xml" href="/not-alternate.xml">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            <link rel="alternate" type="application/rss+xml" href="ftp://example.org/x.xml">
            <link rel="alternate" type="application/atom+xml" href="atom.xml">
            <script>document.write('<link rel="alternate" type="application/rss+xml" href="/from-script">')</script>
            </head><body><a href="/feed">feed</a></body></html>"#;
        let declared = alternates(html.as_bytes(), None, &page());
        // (Named, for `add` to say why they were left out.)
        assert_eq!(
            declared.left_out,
            vec![
                ("javascript:alert(1)".to_string(), "not a web address"),
                ("ftp://example.org/x.xml".to_string(), "not a web address")
            ]
        );
        let got: Vec<(String, Option<String>, Kind)> = declared
            .found
            .into_iter()
            .map(|c| (c.url.to_string(), c.title, c.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "https://example.org/blog/atom.xml".to_string(),
                    Some("Posts (Atom)".to_string()),
                    Kind::Atom
                ),
                (
                    "https://feeds.example.net/rss".to_string(),
                    Some("Café & more".to_string()),
                    Kind::Rss
                ),
                (
                    "https://example.org/feed.json".to_string(),
                    None,
                    Kind::Json
                ),
            ]
        );
    }

    #[test]
    fn base_href_and_json_feed_spellings() {
        let html = r#"<head><base href="https://cdn.example.com/site/">
            <link rel="alternate" type="application/json" href="feed.json" title="JSON">
            <link rel="alternate feed" type="application/rdf+xml" href="index.rdf"></head>"#;
        assert_eq!(
            urls(html),
            vec![
                "https://cdn.example.com/site/feed.json",
                "https://cdn.example.com/site/index.rdf"
            ]
        );
        assert!(urls("<html><body><p>no feeds here</p></body></html>").is_empty());
    }

    #[test]
    fn legacy_charsets_decode_titles() {
        let mut html = b"<link rel=alternate type=application/rss+xml href=/r title=\"".to_vec();
        html.extend_from_slice(&[0x43, 0x61, 0x66, 0xe9]); // "Café" in windows-1252
        html.extend_from_slice(b"\">");
        let c = alternates(&html, Some("iso-8859-1"), &page()).found;
        assert_eq!(c[0].title.as_deref(), Some("Café"));
        let c = alternates(&html, None, &page()).found;
        assert_eq!(
            c[0].title.as_deref(),
            Some("Café"),
            "fallback to windows-1252"
        );
    }

    #[test]
    fn common_paths_are_on_the_site_root() {
        let got: Vec<String> = common_paths(&Url::parse("http://127.0.0.1:8080/a/b?c=d").unwrap())
            .into_iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            got,
            vec![
                "http://127.0.0.1:8080/feed",
                "http://127.0.0.1:8080/rss.xml",
                "http://127.0.0.1:8080/atom.xml",
                "http://127.0.0.1:8080/index.xml",
                "http://127.0.0.1:8080/feed.json"
            ]
        );
    }

    #[test]
    fn html_sniffing() {
        assert!(looks_like_html(Some("text/html; charset=utf-8"), b""));
        assert!(!looks_like_html(Some("application/rss+xml"), b"<html>"));
        assert!(looks_like_html(None, b"\n  <!DOCTYPE html><html>"));
        assert!(looks_like_html(Some("text/plain"), b"<html><head>"));
        assert!(!looks_like_html(None, b"<?xml version=\"1.0\"?><rss>"));
        // XHTML served as XML; a text file that shows a tag is no page.
        let xhtml = b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><head>";
        assert!(looks_like_html(Some("application/xml"), xhtml));
        assert!(!looks_like_html(
            Some("application/xml"),
            b"<?xml version=\"1.0\"?><rss>"
        ));
        assert!(!looks_like_html(
            Some("text/plain"),
            b"add <link rel=\"alternate\"> to it"
        ));
    }
}
