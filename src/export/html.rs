//! The river page as an output file (`{path}.html`) and for `export --format
//! html`: absolute times and no pager, so the same stories give the same bytes
//! (the daemon serves its own rendering with relative times: see
//! [`crate::web::river`], which owns the template).

use super::{FeedInfo, Prepared};
use crate::config::{Format, OutputConfig};
use crate::web::river::{self, River};

/// The page of `stories`, its feed links relative to it (`base.atom`, …).
pub fn render(info: &FeedInfo, feeds: &[Format], base: &str, stories: &[Prepared]) -> Vec<u8> {
    river::render(&River {
        info,
        feeds,
        base,
        stories,
        now: None,
        older: None,
        paged: false,
        scan_stopped: None,
    })
    .html
    .into_bytes()
}

/// What an output's files are called beside its page: the file name of its
/// `path` (`out/all` → `all`), else its name.
pub fn file_base(out: &OutputConfig) -> String {
    out.path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| out.name().to_string())
}
