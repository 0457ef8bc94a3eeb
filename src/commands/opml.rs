//! `feedloom import-opml FILE` and `feedloom export-opml`: subscription lists.
//!
//! Import reads OPML 1.0/2.0 as other readers write it (Miniflux, FreshRSS,
//! Newsboat, Feedly, Inoreader, ...): an `<outline>` with an `xmlUrl` attribute
//! (any letter case, `type` optional) is a feed; the outlines it sits in are
//! folders, whose names become its tags, as do the entries of its `category`
//! attribute. Its title is `title`, else `text`, entities decoded (also the HTML
//! ones and double-escaped ones some exporters write). Feeds already in the config
//! or earlier in the file (same canonical URL) are skipped and counted (a feed
//! listed in several folders keeps the tags of all of them); outlines
//! without a feed URL are counted and listed on stderr. All new feeds go into the
//! config in one edit.
//!
//! Export writes OPML 2.0 from the config alone: feeds grouped in a folder
//! outline named by their first tag (what other readers show as folders), and
//! in the folder of each other tag holding a comma, every tag without one in
//! the `category` attribute (comma-separated), `title`/`text` from the
//! config's title (else `text` is the URL). Importing an export gives back the
//! same feeds, titles and tags; schedules (`every`, `cron`) are not exported.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{Failure, say};
use crate::config::Config;
use crate::config::edit::{self, ConfigFile, NewFeed};
use crate::identity::Canon;

/// A feed outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// `xmlUrl` as written (entities decoded).
    pub url: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    /// Line of the outline in the file.
    pub line: usize,
}

/// What an OPML file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outlines {
    pub feeds: Vec<OpmlFeed>,
    /// Outlines with no feed URL and no outlines inside: (line, title or text).
    pub without_url: Vec<(usize, String)>,
    /// Lines of feeds given more than [`MAX_TAGS`] tags (folders nested that
    /// deep): they keep the first ones.
    pub many_tags: Vec<usize>,
}

/// Tags one feed takes from an OPML file: a file of folders nested thousands
/// deep gave each of thousands of feeds thousands of tags (a 38 MB config from
/// 260 KB, 1.3 GB of memory).
pub const MAX_TAGS: usize = 16;

/// Bytes of one tag from an OPML folder name or category (cut beyond).
pub const MAX_TAG_BYTES: usize = 256;

/// The title of the files `export-opml` writes, by which `import-opml`
/// knows one.
const OWN_TITLE: &str = "feedloom subscriptions";

/// A file that is not OPML feedloom can read, and the line at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlError {
    pub line: usize,
    pub message: String,
}

/// One element being read, and what an outline among them is.
struct Open {
    name: String,
    line: usize,
    /// For an outline: its folder name, when it is not a feed.
    folder: Option<String>,
    is_outline: bool,
    has_children: bool,
    /// The folder names above and at this element, each cut to
    /// [`MAX_TAG_BYTES`], without repeats, at most `MAX_TAGS + 1` (one more
    /// tells that a feed had more): shared down the tree, so that folders
    /// nested 100,000 deep cost as much as 100,000 feeds (each feed
    /// collected every folder above it: 1.35 GB and 11 s at 10,000 levels).
    tags: std::rc::Rc<Vec<String>>,
}

/// `name` cut to at most [`MAX_TAG_BYTES`] bytes, at a character boundary,
/// without white space at its new end (the config refuses a tag with spaces
/// around it, and the whole import failed).
fn cut_tag(name: &str) -> &str {
    cut_at(name, MAX_TAG_BYTES)
}

/// `text` cut to at most `max` bytes, at a character boundary, without white
/// space at its new end.
fn cut_at(text: &str, max: usize) -> &str {
    let mut cut = text.len().min(max);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].trim_end()
}

/// `text` without control characters (NUL, ESC, …; tabs and line breaks
/// become spaces).
fn without_controls(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Reads the outlines of an OPML document, in the encoding it declares or
/// starts with (a byte-order mark: UTF-16 too), as feeds are read.
pub fn read_opml(raw: &[u8]) -> Result<Outlines, OpmlError> {
    let decoded = crate::parse::to_parser_bytes(raw, None);
    let bytes: &[u8] = &decoded;
    let mut reader = Reader::from_reader(bytes);
    // Lines counted as the reader goes (counting from the start for every
    // element made a 100,000-feed file take minutes).
    let mut counted = (0usize, 1usize); // (position, its line)
    let mut line_at = |pos: u64| {
        let pos = (pos as usize).min(bytes.len());
        if pos < counted.0 {
            counted = (0, 1);
        }
        counted.1 += memchr::memchr_iter(b'\n', &bytes[counted.0..pos]).count();
        counted.0 = pos;
        counted.1
    };
    let mut stack: Vec<Open> = Vec::new();
    let mut out = Outlines::default();
    let mut seen_root = false;
    let mut in_body = false;
    let mut own = false;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| OpmlError {
            line: line_at(reader.error_position()),
            message: format!("not well-formed XML: {e}"),
        })?;
        let (tag, empty) = match &event {
            Event::Start(t) => (t, false),
            Event::Empty(t) => (t, true),
            Event::End(_) => {
                let Some(open) = stack.pop() else {
                    continue;
                };
                if open.name == "body" {
                    in_body = false;
                }
                if open.is_outline
                    && !open.has_children
                    && let Some(name) = open.folder
                {
                    out.without_url.push((open.line, name));
                }
                continue;
            }
            Event::Text(t) => {
                // A file `export-opml` wrote (its head's title says so):
                // read back exactly as written, so that exporting and
                // importing gives the same titles and tags.
                if stack.len() == 3
                    && stack[1].name == "head"
                    && stack[2].name == "title"
                    && t.as_ref().trim_ascii() == OWN_TITLE
                {
                    own = true;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = tag.local_name().into_inner().to_ascii_lowercase();
        let line = line_at(at);
        if !seen_root {
            seen_root = true;
            if name != "opml" {
                return Err(OpmlError {
                    line,
                    message: format!("not an OPML file: its root element is <{name}>, not <opml>"),
                });
            }
        }
        let mut open = Open {
            name: name.clone(),
            line,
            folder: None,
            is_outline: false,
            has_children: false,
            tags: stack.last().map(|o| o.tags.clone()).unwrap_or_default(),
        };
        if name == "body" && stack.len() == 1 {
            in_body = !empty;
        } else if name == "outline" && in_body {
            if let Some(parent) = stack.last_mut() {
                parent.has_children = true;
            }
            let attrs = attributes(tag, line)?;
            let get = |k: &str| {
                attrs
                    .iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v.trim())
                    .filter(|v| !v.is_empty())
            };
            let label = match own {
                // (Entities decoded once: the XML's own escaping; a file
                // edited since may give only `text`.)
                true => get("title")
                    .or(get("text"))
                    .map(|t| decode_entities(t).trim().to_string())
                    .filter(|t| !t.is_empty()),
                false => get("title").or(get("text")).map(title_text),
            };
            // Without control characters (a raw NUL made the edit one that
            // would not load, and the whole import failed naming a config
            // line), and none that shows nothing (zero-width characters,
            // marks of direction: it blanked the feed's name everywhere).
            let label = label
                .map(|t| without_controls(&t))
                .filter(|t| !crate::parse::text::shows_nothing(t));
            open.is_outline = true;
            match get("xmlurl") {
                Some(url) => {
                    let url = decode_entities(url).into_owned();
                    let mut tags: Vec<String> = open.tags.to_vec();
                    if let Some(cats) = get("category") {
                        for c in decode_entities(cats).split(',') {
                            // (Other readers write a folder path, `/a/b`.)
                            let c = match own {
                                true => c.trim(),
                                false => c.trim().trim_start_matches('/').trim(),
                            };
                            let c = without_controls(c);
                            let c = c.trim();
                            if !crate::parse::text::shows_nothing(c) {
                                tags.push(c.to_string());
                            }
                        }
                    }
                    // (A folder named with 200 KB, times every feed in it,
                    // made a config no longer loads.)
                    for t in &mut tags {
                        let len = cut_tag(t).len();
                        t.truncate(len);
                    }
                    let mut seen = HashSet::new();
                    tags.retain(|t| seen.insert(t.clone()));
                    if tags.len() > MAX_TAGS {
                        tags.truncate(MAX_TAGS);
                        out.many_tags.push(line);
                    }
                    // (Its own file names a title equal to the URL only as
                    // `title`; `text` is the URL when it has none.)
                    let titled = own && get("title").is_some();
                    // (Cut as the config allows: a 1 MB title was repeated
                    // in every story of the feed, in every output.)
                    let title = label
                        .filter(|t| !t.is_empty() && (titled || *t != url))
                        .map(|t| cut_at(&t, crate::config::MAX_TITLE_BYTES).to_string());
                    out.feeds.push(OpmlFeed {
                        url,
                        title,
                        tags,
                        line,
                    });
                }
                None => {
                    let folder = label.unwrap_or_default();
                    let tag = cut_tag(folder.trim());
                    if !tag.is_empty()
                        && open.tags.len() <= MAX_TAGS
                        && !open.tags.iter().any(|t| t == tag)
                    {
                        let mut tags = open.tags.to_vec();
                        tags.push(tag.to_string());
                        open.tags = std::rc::Rc::new(tags);
                    }
                    open.folder = Some(folder);
                    if empty {
                        let name = open.folder.take().unwrap_or_default();
                        out.without_url.push((line, name));
                    }
                }
            }
        }
        if !empty {
            stack.push(open);
        }
    }
    if !seen_root {
        return Err(OpmlError {
            line: 1,
            message: "not an OPML file: no XML element in it".to_string(),
        });
    }
    if let Some(open) = stack.last() {
        return Err(OpmlError {
            line: line_of_bytes(bytes, bytes.len()),
            message: format!(
                "the file ends inside <{}> (opened on line {})",
                open.name, open.line
            ),
        });
    }
    Ok(out)
}

/// The element's attributes without a namespace prefix, names in lowercase,
/// values decoded to text but with entities left for [`decode_entities`].
fn attributes(tag: &BytesStart<'_>, line: usize) -> Result<Vec<(String, String)>, OpmlError> {
    let mut out = Vec::new();
    for a in tag.attributes().with_checks(false) {
        let a = a.map_err(|e| OpmlError {
            line,
            message: format!("bad attribute: {e}"),
        })?;
        if a.key.prefix().is_some() {
            continue;
        }
        let name = a.key.local_name().into_inner().to_ascii_lowercase();
        // XML normalises whitespace characters in attributes to spaces.
        let value = a.value.replace(['\n', '\r', '\t'], " ");
        out.push((name, value));
    }
    Ok(out)
}

/// A title as text: entities decoded (twice, for exporters that escape an
/// already escaped title), whitespace collapsed.
fn title_text(raw: &str) -> String {
    let once = decode_entities(raw);
    let twice = decode_entities(&once);
    twice.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether decoded `text` still holds an entity reference (`&name;`): one
/// that neither XML nor HTML names, as a DTD declares them.
fn undeclared_entity(text: &str) -> bool {
    text.match_indices('&').any(|(i, _)| {
        let rest = &text[i + 1..];
        let name_len = rest
            .bytes()
            .take(33)
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            .count();
        name_len > 0
            && rest.as_bytes().get(name_len) == Some(&b';')
            && rest.as_bytes()[0].is_ascii_alphabetic()
            // (A name XML or HTML knows is text a title may hold: a title
            // `Tom &amp; Jerry` written so on purpose.)
            && entity(&rest[..name_len]).is_none()
    })
}

/// Decodes character references (`&#233;`, `&#xE9;`) and named entities (XML's
/// five and HTML's), leaving anything else as written.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // (Within 33 bytes: looking through the whole rest for a `;` made a
        // title of many `&` cost the square of its length, minutes for an
        // attribute of 60 MB.)
        let decoded = rest.as_bytes()[1..rest.len().min(34)]
            .iter()
            .position(|b| *b == b';')
            .filter(|&end| end > 0 && end <= 32)
            .and_then(|end| Some((entity(&rest[1..=end])?, end + 2)));
        match decoded {
            Some((text, len)) => {
                out.push_str(&text);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The text of `&name;` (`name` without `&` and `;`).
fn entity(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(n).filter(|&c| c != '\0').map(String::from);
    }
    crate::parse::text::named_entity(name)
}

fn line_of_bytes(bytes: &[u8], pos: usize) -> usize {
    bytes[..pos.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `feed://host/x` and `feed:https://host/x`, as some exporters write feed URLs.
pub(crate) fn normalise_url(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("feed:http://") || lower.starts_with("feed:https://") {
        url[5..].to_string()
    } else if lower.starts_with("feed://http://") || lower.starts_with("feed://https://") {
        // (`feed://https://host/…`: the address after it; read as written,
        // its host was `https`.)
        url[7..].to_string()
    } else if lower.starts_with("feed://") {
        format!("http://{}", &url[7..])
    } else {
        url.to_string()
    }
}

/// What `import-opml` was asked for besides its file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportArgs {
    /// SIGHUP the running daemon afterwards.
    pub reload: bool,
    /// Import `file:` feeds and feeds on local or private addresses too.
    pub allow_local: bool,
}

/// Why a feed of an OPML file names this machine or a private network: a
/// `file:` URL, `localhost`, or a non-public IP literal. A feed in the config
/// is fetched without address checks (its host is trusted), so an OPML file
/// from elsewhere must not put such a feed there unasked (its files, or cloud
/// metadata, would be fetched and, when they parse, published).
pub(super) fn local_reason(url: &url::Url) -> Option<String> {
    if url.scheme() == "file" {
        return Some("a file on this machine".to_string());
    }
    if let Some(ip) = crate::fetch::guard::literal_ip(url) {
        return crate::fetch::guard::non_public(ip).map(|kind| {
            let article = match kind.as_bytes().first() {
                Some(b'u') if kind.starts_with("uni") => "a",
                Some(b'a' | b'e' | b'i' | b'o' | b'u' | b'I') => "an",
                _ => "a",
            };
            format!("{article} {kind} address ({ip})")
        });
    }
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    (host == "localhost" || host.ends_with(".localhost")).then(|| "this machine".to_string())
}

/// `import-opml`: appends the file's new feeds to the config.
pub fn import(
    config_path: &Path,
    opml_path: &Path,
    args: ImportArgs,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<(), Failure> {
    // (Read from a pipe too, but never without end.)
    const MAX_OPML: u64 = 64 << 20;
    let mut bytes = Vec::new();
    // (`-` is standard input, as `export-opml --output -` is standard
    // output: it failed as "cannot read -: No such file".)
    let opml_path = match opml_path == Path::new("-") {
        true => {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(std::io::stdin().lock(), MAX_OPML + 1),
                &mut bytes,
            )
            .map_err(|e| Failure::Usage(format!("cannot read standard input: {e}")))?;
            Path::new("standard input")
        }
        false => {
            std::fs::File::open(opml_path)
                .and_then(|f| {
                    std::io::Read::read_to_end(
                        &mut std::io::Read::take(f, MAX_OPML + 1),
                        &mut bytes,
                    )
                })
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", opml_path.display())))?;
            opml_path
        }
    };
    if bytes.len() as u64 > MAX_OPML {
        return Err(Failure::Usage(format!(
            "{} is larger than 64 MiB: not an OPML file of feeds",
            opml_path.display()
        )));
    }
    let mut outlines = read_opml(&bytes).map_err(|e| {
        Failure::Usage(format!("{}:{}: {}", opml_path.display(), e.line, e.message))
    })?;
    let file = ConfigFile::read(config_path, true)?;
    let cfg = file.config()?;
    let canon = Canon::new(&cfg.identity.strip_params);
    // (With where configured feeds moved: the store fetches them there.)
    let configured: HashSet<String> = cfg
        .feeds
        .iter()
        .map(|f| super::add::feed_key(f.url().as_str(), &canon))
        .chain(
            super::add::moved_targets(&cfg, &canon)
                .into_iter()
                .map(|(_, key, _)| key),
        )
        .collect();
    // Feeds of this file by canonical URL: a feed listed in several folders
    // (Feedly does that) is imported once, with the tags of every folder.
    // (With the line and the URL as written of its first outline.)
    let mut in_file: std::collections::HashMap<String, (usize, usize, String)> = Default::default();
    let mut new: Vec<NewFeed> = Vec::new();
    let mut duplicates = 0;
    let mut invalid = 0;
    let mut local = 0;
    let mut local_keys: std::collections::HashMap<String, String> = Default::default();
    // (With the line each is about: said in the file's order, those about
    // outlines without a feed URL after all the others before.)
    let mut warnings: Vec<(usize, String)> = Vec::new();
    // The lines of the outlines imported (with the tags of a repeat).
    let mut imported_lines: HashSet<usize> = HashSet::new();
    for f in outlines.feeds {
        let url_text = normalise_url(&f.url);
        let url = match super::add::resolve(&url_text, &cfg) {
            Ok(u) => u,
            Err(e) => {
                invalid += 1;
                warnings.push((
                    f.line,
                    format!("{}:{}: skipped: {e}", opml_path.display(), f.line),
                ));
                continue;
            }
        };
        let key = super::add::feed_key(url.as_str(), &canon);
        // (A local feed the config has: a duplicate, not "on this machine",
        // whose hint, --allow-local, gained nothing.)
        if configured.contains(&key) {
            duplicates += 1;
            continue;
        }
        if !args.allow_local
            && let Some(why) = local_reason(&url)
        {
            // (Listed in two folders: one feed skipped, said once; it was
            // counted and said twice. Written otherwise, `127.1` for
            // `127.0.0.1`, it is skipped for the same reason, and named: it
            // was counted a duplicate of a feed not imported.)
            if local_keys.get(&key) == Some(&url_text) {
                duplicates += 1;
                continue;
            }
            local_keys.insert(key, url_text.clone());
            local += 1;
            warnings.push((
                f.line,
                format!(
                    "{}:{}: skipped {}: it names {why} (pass --allow-local to import it)",
                    opml_path.display(),
                    f.line,
                    crate::config::access::redact_userinfo(&url_text)
                ),
            ));
            continue;
        }
        if let Some((i, first_line, first_url)) = in_file.get(&key) {
            let i = *i;
            duplicates += 1;
            // (Written otherwise, it is named with the outline it repeats:
            // `/j/?format=rss` folded into `/j?format=rss` without a word.
            // The same address in several folders is not.)
            if *first_url != url_text {
                warnings.push((
                    f.line,
                    format!(
                        "{}:{}: skipped {}: the same feed as line {first_line} ({}){}",
                        opml_path.display(),
                        f.line,
                        crate::config::access::redact_userinfo(&url_text),
                        crate::config::access::redact_userinfo(first_url),
                        if f.tags.is_empty() {
                            ""
                        } else {
                            ", its folders' tags added to it"
                        }
                    ),
                ));
            }
            imported_lines.insert(f.line);
            for t in f.tags {
                if !new[i].tags.contains(&t) {
                    if new[i].tags.len() < MAX_TAGS {
                        new[i].tags.push(t);
                    } else if !outlines.many_tags.contains(&f.line) {
                        outlines.many_tags.push(f.line);
                    }
                }
            }
            continue;
        }
        // A title that is an entity its file's DTD declares (which is not
        // expanded: `&a9;` of a billion laughs) is no title: the feed's own
        // is used, and said (`&a9;` was written as the title).
        let title = match f.title {
            Some(t) if undeclared_entity(&t) => {
                warnings.push((
                    f.line,
                    format!(
                        "{}:{}: the title {:?} holds an entity feedloom does not expand (from the \
                         file's DTD): left out, the feed's own title is used",
                        opml_path.display(),
                        f.line,
                        crate::error::quoted(&t, 100)
                    ),
                ));
                None
            }
            t => t,
        };
        imported_lines.insert(f.line);
        in_file.insert(key, (new.len(), f.line, url_text.clone()));
        new.push(NewFeed {
            url: url_text,
            title,
            tags: f.tags,
            every: None,
            // An address from another reader's file: held to the network
            // guard at its own host too (a name that resolves to a private
            // address is refused when fetched, not only an address written
            // out), unless the person importing vouched for them all.
            untrusted: !args.allow_local,
        });
    }
    for (line, name) in &outlines.without_url {
        let name = if name.is_empty() { "(no title)" } else { name };
        warnings.push((
            *line,
            format!(
                "{}:{line}: outline \"{name}\" has no xmlUrl: not a feed, skipped",
                opml_path.display()
            ),
        ));
    }
    // (Only of feeds imported: the count was of every such outline, and
    // named the line of one skipped.)
    outlines.many_tags.retain(|l| imported_lines.contains(l));
    if let Some(first) = outlines.many_tags.first() {
        warnings.push((
            *first,
            format!(
                "{}:{first}: {} feed(s) in folders nested more than {MAX_TAGS} deep (or with as many \
                 categories): each keeps its first {MAX_TAGS} tags",
                opml_path.display(),
                outlines.many_tags.len()
            ),
        ));
    }
    warnings.sort_by_key(|w| w.0);
    let warnings: Vec<String> = warnings.into_iter().map(|w| w.1).collect();
    for w in &warnings {
        writeln!(warn, "feedloom: {}", super::terminal_safe(w))
            .map_err(|e| Failure::Runtime(e.to_string()))?;
    }
    let mut summary = format!(
        "imported {} feeds, skipped {duplicates} duplicates, {} outlines without a feed URL",
        new.len(),
        outlines.without_url.len()
    );
    if invalid > 0 {
        summary.push_str(&format!(", {invalid} with an invalid URL"));
    }
    if local > 0 {
        summary.push_str(&format!(
            ", {local} on this machine or a private address (--allow-local)"
        ));
    }
    if new.is_empty() {
        if !file.existed {
            return say(
                out,
                &format!(
                    "{summary}; {} not created (nothing to import)",
                    config_path.display()
                ),
            );
        }
        say(
            out,
            &format!("{summary}; {} unchanged", config_path.display()),
        )?;
        // (--reload still reloads: the config may hold what an import
        // without it wrote, and nothing said the daemon was not told.)
        if args.reload {
            let hint = super::after_edit_of(&cfg, true, false)?;
            say(out, &hint)?;
        }
        return Ok(());
    }
    let text = edit::append_feeds(&file.text, &file.path, &new)?;
    let added = new.len();
    let new_cfg = file.write(&text, |c| {
        if c.feeds.len() == cfg.feeds.len() + added {
            Ok(())
        } else {
            Err(format!("would not add exactly {added} feeds"))
        }
    })?;
    let (first, last) = edit::inserted_lines(&file.text, &text);
    say(
        out,
        &format!(
            "{summary}\n{}{}, lines {first}-{last}",
            if file.existed { "" } else { "created " },
            config_path.display(),
        ),
    )?;
    // (A feed the store disabled, removed and imported again, is not
    // fetched: the import said the next poll would fetch it, as `add` did.)
    let urls: Vec<String> = new
        .iter()
        .filter_map(|f| url::Url::parse(&f.url).ok().map(String::from))
        .collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let disabled = super::add::disabled_of(&new_cfg, &urls);
    for (url, why) in &disabled {
        say(
            out,
            &format!(
                "note: the store has {url} disabled ({why}); it is not fetched until \
                 `feedloom enable {url}`"
            ),
        )?;
    }
    let hint = super::after_edit_of(&new_cfg, args.reload, disabled.len() < new.len())?;
    say(out, &hint)
}

use crate::export::xml_safe;

/// The config's feeds as an OPML 2.0 document.
pub fn write_opml(cfg: &Config) -> Vec<u8> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let mut groups: Vec<(&str, Vec<&crate::config::FeedConfig>)> = Vec::new();
    let mut untagged = Vec::new();
    // (A feed in the folder of its first tag, and in the folder of each
    // other tag with a comma, which `category` cannot carry: "News, Tech"
    // came back as three tags, "News, Tech", "News" and "Tech", and outputs
    // selecting `News` took the feed.)
    for f in &cfg.feeds {
        let folders = f
            .tags
            .iter()
            .enumerate()
            .filter(|(i, t)| *i == 0 || t.contains(','));
        let mut any = false;
        for (_, tag) in folders {
            any = true;
            match groups.iter_mut().find(|(t, _)| *t == tag.as_str()) {
                Some((_, list)) => list.push(f),
                None => groups.push((tag.as_str(), vec![f])),
            }
        }
        if !any {
            untagged.push(f);
        }
    }
    // Writing to a Vec cannot fail.
    let _ = (|| -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut opml = BytesStart::new("opml");
        opml.push_attribute(("version", "2.0"));
        w.write_event(Event::Start(opml))?;
        w.write_event(Event::Start(BytesStart::new("head")))?;
        w.write_event(Event::Start(BytesStart::new("title")))?;
        w.write_event(Event::Text(BytesText::new(OWN_TITLE)))?;
        w.write_event(Event::End(BytesEnd::new("title")))?;
        w.write_event(Event::End(BytesEnd::new("head")))?;
        w.write_event(Event::Start(BytesStart::new("body")))?;
        for (tag, feeds) in &groups {
            // (Text XML cannot carry, such as control characters an import
            // decoded from `&#1;`, is left out: the file stays well-formed.)
            let tag = xml_safe(tag);
            let mut folder = BytesStart::new("outline");
            folder.push_attribute(("text", tag.as_ref()));
            folder.push_attribute(("title", tag.as_ref()));
            w.write_event(Event::Start(folder))?;
            for f in feeds {
                w.write_event(Event::Empty(feed_outline(f)))?;
            }
            w.write_event(Event::End(BytesEnd::new("outline")))?;
        }
        for f in &untagged {
            w.write_event(Event::Empty(feed_outline(f)))?;
        }
        w.write_event(Event::End(BytesEnd::new("body")))?;
        w.write_event(Event::End(BytesEnd::new("opml")))?;
        Ok(())
    })();
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    bytes
}

fn feed_outline(f: &crate::config::FeedConfig) -> BytesStart<'static> {
    // http(s) URLs as the config writes them; file: URLs resolved (absolute).
    // (A URL written with a control character XML cannot carry is given as
    // parsed: percent-encoded.)
    let written = &f.url.get_ref().1;
    let url = match f.url().scheme() {
        "file" => f.url().to_string(),
        _ if matches!(xml_safe(written), Cow::Owned(_)) => f.url().to_string(),
        _ => written.clone(),
    };
    let title = f.title.as_deref().map(xml_safe);
    let mut o = BytesStart::new("outline");
    o.push_attribute(("type", "rss"));
    o.push_attribute(("text", title.as_deref().unwrap_or(&url)));
    if let Some(t) = &title {
        o.push_attribute(("title", t.as_ref()));
    }
    o.push_attribute(("xmlUrl", url.as_str()));
    // (Its tags with a comma are its folders': see [`write_opml`].)
    let listed: Vec<&str> = f
        .tags
        .iter()
        .filter(|t| !t.contains(','))
        .map(String::as_str)
        .collect();
    if !listed.is_empty() {
        o.push_attribute(("category", xml_safe(&listed.join(",")).as_ref()));
    }
    o
}

/// What `path` is among the files the config's outputs write ("output
/// `all`'s Atom feed"), if it is one.
pub(super) fn output_file(cfg: &Config, path: &Path) -> Option<String> {
    // (Resolved as the config resolves its own paths: `..` and links.)
    let absolute = |p: &Path| crate::config::plain_path(p);
    let wanted = absolute(path);
    // (A `file:` feed's document: the next poll read the OPML, and failed.)
    let document = cfg.feeds.iter().find_map(|f| {
        let doc = f.url().to_file_path().ok()?;
        (absolute(&doc) == wanted || crate::same_file(&doc, path))
            .then(|| format!("the document of feed `{}`", f.url()))
    });
    document.or_else(|| {
        cfg.outputs.iter().find_map(|o| {
            let base = o.path.as_ref()?;
            o.formats.iter().find_map(|f| {
                let file = crate::export::file_path(base, *f);
                (absolute(&file) == wanted || crate::same_file(&file, path))
                    .then(|| format!("the {} file of output `{}`", f.extension(), o.name()))
            })
        })
    })
}

/// `export-opml`: to `output` (atomically) or to `out`.
pub fn export(cfg: &Config, output: Option<&Path>, out: &mut dyn Write) -> Result<(), Failure> {
    let bytes = write_opml(cfg);
    // (Secrets stay out of the file; said, so that a feed imported from it
    // answering 401 is no surprise.)
    let secret = cfg.feeds.iter().filter(|f| !f.access.is_empty()).count();
    if secret > 0 && !matches!(output, Some(p) if crate::same_file(p, &cfg.source)) {
        crate::errln!(
            "feedloom: note: {secret} feed{} credentials or headers, which OPML does not \
             carry: not written (add them again after importing the file)",
            if secret == 1 { " has" } else { "s have" }
        );
    }
    match output {
        Some(path) if crate::same_file(path, &cfg.source) => Err(Failure::Usage(format!(
            "--output {} is the config file itself; write the OPML elsewhere",
            path.display()
        ))),
        Some(path)
            if cfg.store.url.is_none()
                && crate::store::backup::is_store_file(&cfg.store.path, path) =>
        {
            Err(Failure::Usage(format!(
                "--output {} is the store ({}) or one of its files; write the OPML elsewhere",
                path.display(),
                cfg.store.path.display()
            )))
        }
        // (It replaced a token file with the OPML, and the feed's requests
        // then carried the OPML as their token.)
        Some(path) if let Some(what) = crate::config::secret_file_key(cfg, path) => {
            Err(Failure::Usage(format!(
                "--output {} is the secret file of {what}; write the OPML elsewhere",
                path.display()
            )))
        }
        // (The next render put the feed back: until then its subscribers
        // read the OPML.)
        Some(path) if let Some(file) = output_file(cfg, path) => Err(Failure::Usage(format!(
            "--output {} is {file}; write the OPML elsewhere",
            path.display()
        ))),
        // (A folder missing is a typo, not one to make.)
        Some(path) if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') => {
            Err(Failure::Usage(format!(
                "--output {} is a folder; name the file to write",
                path.display()
            )))
        }
        Some(path)
            if !path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .is_none_or(Path::is_dir) =>
        {
            let folder = path.parent().unwrap_or(Path::new("."));
            Err(Failure::Usage(format!(
                "--output {}: its folder {} {}",
                path.display(),
                folder.display(),
                if folder.exists() {
                    "is not a folder"
                } else {
                    "does not exist (create it first)"
                }
            )))
        }
        // (A file of another kind is not replaced: a backup of the store
        // given by mistake became OPML.)
        Some(path) if let Some(kind) = not_xml(path) => Err(Failure::Usage(format!(
            "--output {} exists and is {kind}, not an OPML file; remove it first, or write the OPML elsewhere",
            path.display()
        ))),
        Some(path) => {
            // (What a killed run left beside it.)
            crate::export::remove_stale_temps_beside(path);
            crate::export::write_if_changed(path, &bytes)
                .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))?;
            crate::errln!(
                "feedloom: wrote {} feeds to {}",
                cfg.feeds.len(),
                path.display()
            );
            Ok(())
        }
        None => out.write_all(&bytes).map_err(|e| {
            crate::end_if_reader_gone(&e);
            Failure::Runtime(format!("cannot write output: {e}"))
        }),
    }
}

/// What an existing file of another kind than XML is ("a SQLite database",
/// "another kind of file"), judged by its first bytes; `None` for no file,
/// an empty one, or one that starts as XML.
fn not_xml(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    // (A plain file only: a named pipe's reading waits for a writer, and a
    // link is replaced, not written through.)
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let head = &head[..n];
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    match start {
        None => None,
        Some(_) if head.starts_with(b"SQLite format 3\0") => Some("a SQLite database"),
        Some(i) if text[i] == b'<' => None,
        Some(_) => Some("another kind of file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_xml_html_numeric_and_double_escaped() {
        assert_eq!(decode_entities("Tom &amp; Jerry"), "Tom & Jerry");
        assert_eq!(decode_entities("Caf&eacute; &#233; &#xE9;"), "Café é é");
        assert_eq!(
            decode_entities("a & b &unknown; &#0; &"),
            "a & b &unknown; &#0; &"
        );
        assert_eq!(
            title_text("Joe&amp;#8217;s  &amp;amp;\n blog"),
            "Joe’s & blog"
        );
        assert_eq!(
            normalise_url("feed://example.org/rss"),
            "http://example.org/rss"
        );
        assert_eq!(
            normalise_url("feed:https://example.org/rss"),
            "https://example.org/rss"
        );
        assert_eq!(
            normalise_url("FEED://https://example.org/rss"),
            "https://example.org/rss"
        );
    }

    #[test]
    fn files_in_other_encodings_are_read_as_they_declare() {
        let doc = |decl: &str, title: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"{decl}\"?>\n<opml version=\"2.0\"><body>\n\
                 <outline text=\"{title}\" xmlUrl=\"https://a.example/f\"/>\n</body></opml>\n"
            )
        };
        let title = |o: Outlines| o.feeds[0].title.clone().unwrap();
        // windows-1251 and ISO-8859-1 (one byte per letter).
        let text = doc("windows-1251", "Новости");
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
        assert_eq!(title(read_opml(&cp1251).unwrap()), "Новости");
        let text = doc("ISO-8859-1", "Élysée");
        let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        assert_eq!(title(read_opml(&latin1).unwrap()), "Élysée");
        // UTF-16 with its byte-order mark.
        let mut utf16 = vec![0xFF, 0xFE];
        for u in doc("UTF-16", "東京").encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let o = read_opml(&utf16).unwrap();
        assert_eq!(o.feeds[0].line, 3);
        assert_eq!(title(o), "東京");
        // UTF-32 (its error had shown the root's name with NULs in it).
        let utf32: Vec<u8> = doc("UTF-32", "東京")
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        assert_eq!(title(read_opml(&utf32).unwrap()), "東京");
    }

    #[test]
    fn folders_nested_thousands_deep_give_each_feed_at_most_max_tags() {
        let mut doc = String::from("<opml version=\"2.0\"><body>");
        for i in 0..2_000 {
            doc.push_str(&format!(
                "<outline text=\"f{i}\"><outline xmlUrl=\"https://e.example/{i}\"/>"
            ));
        }
        for _ in 0..2_000 {
            doc.push_str("</outline>");
        }
        doc.push_str("</body></opml>");
        let o = read_opml(doc.as_bytes()).unwrap();
        assert_eq!(o.feeds.len(), 2_000);
        assert!(o.feeds.iter().all(|f| f.tags.len() <= MAX_TAGS));
        assert_eq!(o.feeds[1_999].tags[..2], ["f0", "f1"]);
        assert_eq!(o.many_tags.len(), 2_000 - MAX_TAGS);
    }

    /// Folders nested 20,000 deep, one feed in each: linear, not quadratic
    /// (each feed copied every folder name above it: 10,000 levels took
    /// 1.35 GB, 20,000 ran out of memory). Also under one repeated name.
    #[test]
    fn folders_nested_20000_deep_cost_what_20000_feeds_cost() {
        for distinct in [true, false] {
            let depth = 20_000;
            let mut doc = String::with_capacity(depth * 80);
            doc.push_str("<opml version=\"2.0\"><body>");
            for i in 0..depth {
                let name = if distinct {
                    format!("f{i}")
                } else {
                    "f".into()
                };
                doc.push_str(&format!(
                    "<outline text=\"{name}\"><outline xmlUrl=\"https://e.example/{i}\"/>"
                ));
            }
            doc.push_str(&"</outline>".repeat(depth));
            doc.push_str("</body></opml>");
            let o = read_opml(doc.as_bytes()).unwrap();
            assert_eq!(o.feeds.len(), depth);
            let last = &o.feeds[depth - 1].tags;
            match distinct {
                true => assert_eq!((last.len(), last[0].as_str()), (MAX_TAGS, "f0")),
                false => assert_eq!(last, &["f"]),
            }
        }
    }

    #[test]
    fn nested_outlines_become_tags() {
        let doc = br#"<?xml version="1.0"?>
<opml version="2.0"><head><title>x</title><outline xmlUrl="https://head.example/ignored"/></head>
<body>
  <outline text="Tech">
    <outline text="Rust" title="Rust lang">
      <outline type="rss" text="Blog" xmlUrl="https://blog.example/feed" category="/news,extra"/>
    </outline>
    <outline text="Plain" XMLURL="https://plain.example/rss"></outline>
  </outline>
  <outline text="Empty folder"></outline>
  <outline text="A link" type="link" url="https://example.org/"/>
</body></opml>"#;
        let o = read_opml(doc).unwrap();
        assert_eq!(
            o.feeds,
            vec![
                OpmlFeed {
                    url: "https://blog.example/feed".into(),
                    title: Some("Blog".into()),
                    tags: vec![
                        "Tech".into(),
                        "Rust lang".into(),
                        "news".into(),
                        "extra".into()
                    ],
                    line: 6,
                },
                OpmlFeed {
                    url: "https://plain.example/rss".into(),
                    title: Some("Plain".into()),
                    tags: vec!["Tech".into()],
                    line: 8,
                },
            ]
        );
        assert_eq!(
            o.without_url,
            vec![(10, "Empty folder".to_string()), (11, "A link".to_string())]
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = read_opml(b"<opml>\n<body>\n<outline text=\"a\">\n</body></opml>").unwrap_err();
        assert_eq!(e.line, 4, "{e:?}");
        let e = read_opml(b"<?xml version=\"1.0\"?>\n<rss version=\"2.0\"></rss>").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("<rss>"), "{e:?}");
        let e = read_opml(b"<opml><body>\n\n<outline text=\"a\">").unwrap_err();
        assert!(e.message.contains("ends inside <outline>"), "{e:?}");
        assert!(read_opml(b"").is_err());
    }
}
