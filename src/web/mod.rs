//! The pages a browser reads: each output's river (`/{name}.html`, and
//! `{path}.html` as a file) and the index of outputs and feed health (`/`).
//!
//! Owns the templates (maud: text is escaped unless wrapped in `PreEscaped`, which
//! only ever holds HTML that `export` sanitised or the stylesheet), the one
//! stylesheet ([`STYLE`]), page times ([`time`]) and story excerpts ([`excerpt`]),
//! and the handlers of those routes (registered in [`crate::server::router`]).
//!
//! Must never: emit a script or an event handler, load anything but a story's
//! own images and media, or serve a page that needs JavaScript. Every page works
//! under [`crate::server::CONTENT_SECURITY_POLICY`] and carries the same policy
//! in a `<meta>` element for when its file is opened from disk or served by
//! another web server.

pub mod excerpt;
pub mod index;
pub mod river;
pub mod search;
pub mod time;

use std::sync::RwLock;
use std::sync::atomic::AtomicI64;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::config::OutputConfig;

/// The stylesheet of every page, inline in a `<style>` element.
pub const STYLE: &str = include_str!("style.css");

/// `sha256-…` of [`STYLE`]: the Content-Security-Policy allows this stylesheet
/// and no other style (a test recomputes it; change both together).
macro_rules! style_hash {
    () => {
        "sha256-7pgRlrK/aB2AkpmG1kDDVwTk6NBQBnkmXCzaic5Q64o="
    };
}
pub(crate) use style_hash;

/// The policy a page states in its own `<meta>` element (a meta policy cannot
/// carry `frame-ancestors` or `sandbox`; the HTTP header has those too).
pub const META_CSP: &str = concat!(
    "default-src 'none'; img-src http: https:; media-src http: https:; style-src '",
    style_hash!(),
    "'; base-uri 'none'; form-action 'none'"
);

/// What the page routes need beyond the rendered outputs: the outputs'
/// configuration (for pages after the first and the index) and when a cached
/// page's relative times turn wrong.
#[derive(Debug)]
pub struct WebState {
    pub outputs: RwLock<Vec<OutputConfig>>,
    /// Unix second at which the earliest "N minutes ago" on a cached river
    /// page stops being true (`i64::MAX`: none will).
    pub stale_at: AtomicI64,
    /// Renderings in a row that could not write every file (the retry's
    /// backoff).
    pub file_retries: std::sync::atomic::AtomicU32,
    /// The output files the last rendering could not write, with why
    /// (`/healthz` says so), and until when (Unix seconds) renderings leave
    /// them unwritten: they are tried again then (see `app::render_outputs`).
    pub file_errors: std::sync::Mutex<(Vec<(std::path::PathBuf, String)>, i64)>,
}

impl Default for WebState {
    fn default() -> Self {
        WebState {
            outputs: RwLock::default(),
            stale_at: AtomicI64::new(i64::MAX),
            file_errors: std::sync::Mutex::default(),
            file_retries: Default::default(),
        }
    }
}

/// The frame of every page: head (charset, viewport, policy, stylesheet, any
/// `head` extras such as feed links) and `body` inside `.page`.
/// The parameter of `known` that `name` misspells (another letter case, one
/// edit away, or two letters swapped), if any. Others, a link's
/// `utm_source` or `fbclid`, a `site` or a `size`, are not taken for one.
pub(crate) fn misspelt<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .copied()
        .find(|k| lower == *k || (k.len() > 1 && crate::filter::edits(&lower, k) <= 1))
}

pub(crate) fn layout(title: &str, head: Markup, body: Markup) -> Markup {
    layout_with(title, head, body, META_CSP)
}

/// [`layout`] with another `<meta>` policy (the search page's allows its form).
pub(crate) fn layout_with(title: &str, head: Markup, body: Markup, policy: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="Content-Security-Policy" content=(policy);
                meta name="referrer" content="no-referrer";
                meta name="color-scheme" content="light dark";
                meta name="generator" content=(concat!("feedloom ", env!("CARGO_PKG_VERSION")));
                title { (title) }
                (head)
                style { (PreEscaped(STYLE)) }
            }
            body {
                div.page { (body) }
            }
        }
    }
}

/// HTTP paths of one output's files: `name.ext`, relative to the page.
pub(crate) fn href(base: &str, format: crate::config::Format) -> String {
    format!("{base}.{}", format.extension())
}

/// The name readers know a format by.
pub(crate) fn format_label(format: crate::config::Format) -> &'static str {
    use crate::config::Format;
    match format {
        Format::Atom => "Atom",
        Format::Rss => "RSS",
        Format::Json => "JSON Feed",
        Format::Html => "Page",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn base64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn the_policy_allows_exactly_this_stylesheet() {
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
        let hash = format!("sha256-{}", base64(&sha2::Sha256::digest(STYLE.as_bytes())));
        assert_eq!(
            style_hash!(),
            hash,
            "update style_hash! after editing style.css"
        );
        let quoted = format!("'{hash}'");
        assert!(META_CSP.contains(&quoted));
        assert!(crate::server::CONTENT_SECURITY_POLICY.contains(&quoted));
        assert!(!crate::server::CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    }
}
