//! Include / exclude rules of feeds and outputs, and `min_sources`. Pure: rules
//! are compiled once when the config loads ([`Rule::parse`]) and matched against
//! stories when outputs are rendered; nothing here reads the store.
//!
//! A rule is a string: `[FIELD:]WORDS` or `[FIELD:]/REGEX/`.
//! * FIELD is `title`, `content` (the text, tags stripped), `author`, `link`,
//!   `tags` (the feed's tags in the config) or, when absent, title and content.
//! * WORDS match as a phrase of whole words, ignoring case (`rust` does not match
//!   `trusty`); Korean, Japanese or Chinese characters match anywhere.
//! * `/REGEX/` is a regular expression (the `regex` crate's syntax; `(?i)` for
//!   case-insensitive), found anywhere in the field.
//!
//! An item passes a set of rules when it matches at least one `include` rule
//! (if there are any) and no `exclude` rule. Excluded items stay in the store;
//! changing the rules re-shapes the outputs at their next rendering.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use regex::Regex;

use crate::store::queries::Story;

/// Which part of an item a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Title and content.
    Text,
    Title,
    Content,
    Author,
    Link,
    Tags,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub field: Field,
    pub pattern: Regex,
    /// The rule as written (for messages).
    pub source: String,
}

/// Longest compiled regex (bytes of its program): a rule may not be a denial of service.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Rule {
    /// [`Rule::parse`], compiled once per text in this process: a rule
    /// written for each of 10,000 feeds was compiled 10,000 times (`check`
    /// took 5.6 s and 396 MB; a `\b…\w*` regex on 1,000 feeds, 804 MB).
    /// Clones of a compiled regex share its program.
    pub fn parse_shared(s: &str) -> Result<Rule, String> {
        use std::collections::HashMap;
        use std::sync::{LazyLock, Mutex};
        static COMPILED: LazyLock<Mutex<HashMap<String, Rule>>> =
            LazyLock::new(|| Mutex::new(HashMap::new()));
        if let Some(r) = COMPILED.lock().unwrap_or_else(|e| e.into_inner()).get(s) {
            return Ok(r.clone());
        }
        let rule = Rule::parse(s)?;
        let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
        // (Bounded: configs reloaded with ever new rules.)
        if compiled.len() >= 4096 {
            compiled.clear();
        }
        compiled.insert(s.to_string(), rule.clone());
        Ok(rule)
    }

    /// Parses a rule as written in the config; the error says what is wrong.
    pub fn parse(s: &str) -> Result<Rule, String> {
        /// The field names, for telling a misspelt one.
        const FIELDS: [&str; 6] = ["title", "content", "author", "link", "tags", "text"];
        /// Whether `word` is one or two edits (a letter changed, added,
        /// dropped, or two swapped) from `field`, and not a short word of
        /// its own.
        fn close(word: &str, field: &str) -> bool {
            word.chars().count() >= 3
                && word.chars().all(|c| c.is_ascii_alphabetic())
                && edits(word, field) <= 2
        }
        let (field, rest) = match s.split_once(':') {
            Some((f, rest)) => match f.to_ascii_lowercase().as_str() {
                // (A misspelling, below, is checked after the names.)
                "title" => (Field::Title, rest),
                "content" => (Field::Content, rest),
                "author" => (Field::Author, rest),
                "link" | "url" => (Field::Link, rest),
                "tags" | "tag" => (Field::Tags, rest),
                "any" | "text" => (Field::Text, rest),
                // `titel:rust` is a misspelt field, not text to find (other
                // words before a colon are text: `ISBN:…`, `Re:Rust`, `https://`).
                lower
                    if rest.starts_with(|c: char| !c.is_whitespace())
                        && !rest.starts_with("//")
                        && FIELDS.iter().any(|known| close(lower, known)) =>
                {
                    return Err(format!(
                        "unknown field `{f}:` (fields: title, content, author, link, tags, text); \
                         to find text with a colon in it, write a regex: \"/(?i){}/\"",
                        regex::escape(s).replace('\\', "\\\\")
                    ));
                }
                _ => (Field::Text, s),
            },
            None => (Field::Text, s),
        };
        let rest = rest.trim();
        let pattern = if let Some((re, flags)) = regex_of(rest) {
            if re.is_empty() {
                return Err("empty regular expression `//`".into());
            }
            let re = if flags.is_empty() {
                re.to_string()
            } else {
                format!("(?{flags}){re}")
            };
            let re = re.as_str();
            let built = regex::RegexBuilder::new(re)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("invalid regular expression /{re}/: {e}"))?;
            // (One that matches nothing at all matches every text: `/(?i)/`
            // kept, or hid, everything, where `//` was refused.)
            if built.is_match("") && built.is_match("zq") {
                return Err(format!(
                    "the regular expression /{re}/ matches every text (it matches where there is nothing)"
                ));
            }
            built
        } else {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.is_empty() {
                return Err(format!("rule {s:?} has no words"));
            }
            let phrase = words
                .iter()
                .map(|w| regex::escape(w))
                .collect::<Vec<_>>()
                .join(r"\s+");
            // Whole words, except at a character of a script without spaces.
            let first = words[0].chars().next().unwrap_or(' ');
            let last = words[words.len() - 1].chars().last().unwrap_or(' ');
            let start = if is_word_char(first) && !is_cjk(first) {
                r"\b"
            } else {
                ""
            };
            let end = if is_word_char(last) && !is_cjk(last) {
                r"\b"
            } else {
                ""
            };
            Regex::new(&format!("(?i){start}{phrase}{end}"))
                .map_err(|e| format!("rule {s:?}: {e}"))?
        };
        Ok(Rule {
            field,
            pattern,
            source: s.to_string(),
        })
    }

    fn matches(&self, item: &ItemView<'_>) -> bool {
        let re = &self.pattern;
        match self.field {
            Field::Title => re.is_match(item.title),
            Field::Content => re.is_match(item.content()),
            Field::Text => re.is_match(item.title) || re.is_match(item.content()),
            Field::Author => re.is_match(item.author),
            Field::Link => re.is_match(item.link),
            Field::Tags => item.tags.iter().any(|t| re.is_match(t)),
        }
    }
}

/// `/re/`, or `/re/i` (any case, as written in Perl or JavaScript): the
/// pattern and the flags. `None`: not a regular expression (`/blog/index`,
/// `link:/r/mix` are text: only `i` is taken for a flag, so a path ending in a
/// word of flag letters stays a path).
fn regex_of(rest: &str) -> Option<(&str, &str)> {
    let inner = rest.strip_prefix('/')?;
    let end = inner.rfind('/')?;
    let (re, flags) = (&inner[..end], &inner[end + 1..]);
    // (JavaScript's `g` means nothing to a rule that finds anywhere.)
    let flags = match flags {
        "" | "g" => "",
        "i" | "gi" | "ig" => "i",
        _ => return None,
    };
    Some((re, flags))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Korean, Japanese and Chinese characters: scripts written without spaces
/// between words (and Hangul, whose words carry particles).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7AF
        | 0xD7B0..=0xD7FF | 0xF900..=0xFAFF | 0xFF66..=0xFF9F | 0x20000..=0x3FFFF)
}

/// A set of include and exclude rules.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub include: Vec<Rule>,
    pub exclude: Vec<Rule>,
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether an item passes: some include rule matches (when there are any)
    /// and no exclude rule does.
    pub fn keeps(&self, item: &ItemView<'_>) -> bool {
        (self.include.is_empty() || self.include.iter().any(|r| r.matches(item)))
            && !self.exclude.iter().any(|r| r.matches(item))
    }
}

/// What rules look at in one item. The content's plain text is made only when
/// a rule needs it.
pub struct ItemView<'a> {
    pub title: &'a str,
    pub html: &'a str,
    pub author: &'a str,
    pub link: &'a str,
    pub tags: &'a [String],
    text: OnceLock<String>,
}

impl<'a> ItemView<'a> {
    pub fn new(
        title: &'a str,
        html: &'a str,
        author: &'a str,
        link: &'a str,
        tags: &'a [String],
    ) -> Self {
        ItemView {
            title,
            html,
            author,
            link,
            tags,
            text: OnceLock::new(),
        }
    }

    fn content(&self) -> &str {
        self.text
            .get_or_init(|| crate::store::search::plain_text(self.html))
    }
}

/// A feed's rules and tags, as an output applies them.
#[derive(Debug, Clone, Default)]
pub struct FeedRules {
    pub rules: Arc<Rules>,
    pub tags: Vec<String>,
}

/// Everything that decides whether an output shows a story beyond its tags and
/// window: the rules of each feed (by feed URL as stored), the output's own,
/// and `min_sources`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub feeds: HashMap<String, FeedRules>,
    pub output: Arc<Rules>,
    /// Stories carried by at least this many feeds (0 or 1: any).
    pub min_sources: usize,
    /// The output's tags: its stories come from feeds with one of them
    /// (empty: any feed). `feeds` then holds every feed.
    pub tags: Vec<String>,
}

impl Selection {
    /// The selection of `out` under `cfg`'s feeds.
    pub fn of(feeds: &[crate::config::FeedConfig], out: &crate::config::OutputConfig) -> Self {
        Selection {
            feeds: feeds
                .iter()
                .filter(|f| !f.rules.is_empty() || !out.rules.is_empty() || !out.tags.is_empty())
                .map(|f| {
                    (
                        f.url().as_str().to_string(),
                        FeedRules {
                            rules: f.rules.clone(),
                            tags: f.tags.clone(),
                        },
                    )
                })
                .collect(),
            output: out.rules.clone(),
            min_sources: out.min_sources,
            tags: out.tags.clone(),
        }
    }

    /// The feeds' own rules alone (no output's, no `min_sources`): what a
    /// search outside any output still keeps to (a feed's excluded items are
    /// in no output, and so not found either).
    pub fn feeds_only(&self) -> Selection {
        Selection {
            feeds: self
                .feeds
                .iter()
                .filter(|(_, f)| !f.rules.is_empty())
                .map(|(k, f)| (k.clone(), f.clone()))
                .collect(),
            output: Arc::default(),
            min_sources: 0,
            tags: Vec::new(),
        }
    }

    /// Whether any rule applies (else every story passes, and queries need not
    /// look further than their limit).
    pub fn has_rules(&self) -> bool {
        !self.output.is_empty() || self.feeds.values().any(|f| !f.rules.is_empty())
    }

    /// The story as the output shows it, or `None`: its items that their own
    /// feeds' rules hide are no part of it (not a source either), and its
    /// headline is the first item left from a feed the output selects, which
    /// must pass the output's rules. One feed hiding its copy of a story hid
    /// the story another feed carried, or was listed as one of its sources.
    pub fn shown(&self, mut story: Story) -> Option<Story> {
        let rest = std::mem::take(&mut story.rest);
        let before = 1 + rest.len();
        let joined = story.files_joined;
        if joined {
            // (Its own files are none; another item's are joined again
            // below from the items kept only.)
            story.enclosures.clear();
            story.files_joined = false;
        }
        let mut items: Vec<Story> = std::iter::once(story.clone())
            .chain(rest)
            .filter(|s| self.own_rules_keep(s))
            .collect();
        if items.is_empty() || !self.selects(&items[0].source.feed_url) {
            return None;
        }
        if items.len() < before && self.min_sources >= 2 {
            let feeds: std::collections::HashSet<&str> =
                items.iter().map(|s| s.source.feed_url.as_str()).collect();
            if feeds.len() < self.min_sources {
                return None;
            }
        }
        let mut head = items.remove(0);
        if items.len() + 1 < before || joined {
            // (The story's own place in the output stays.)
            head.id = story.id;
            head.uid = story.uid;
            head.first_seen_at = story.first_seen_at;
            head.changed_at = story.changed_at;
            head.also.clear();
            head.rest.clear();
            head.join(items.into_iter().map(|mut s| {
                s.also.clear();
                s.rest.clear();
                s
            }));
            story = head;
        } else {
            // (The head is the story itself: nothing was left out.)
            story.rest = items;
        }
        self.output.keeps(&self.view(&story)).then_some(story)
    }

    /// Whether the item `story` shows passes its own feed's rules.
    fn own_rules_keep(&self, story: &Story) -> bool {
        self.feeds
            .get(&story.source.feed_url)
            .is_none_or(|f| f.rules.keeps(&self.view(story)))
    }

    /// Whether the output takes stories from the feed at `url` (its tags).
    fn selects(&self, url: &str) -> bool {
        self.tags.is_empty()
            || self
                .feeds
                .get(url)
                .is_some_and(|f| f.tags.iter().any(|t| self.tags.contains(t)))
    }

    fn view<'a>(&'a self, story: &'a Story) -> ItemView<'a> {
        let no_tags: &[String] = &[];
        ItemView::new(
            story.title.as_deref().unwrap_or(""),
            story.html.as_deref().unwrap_or(""),
            story.author.as_deref().unwrap_or(""),
            story.link.as_deref().unwrap_or(""),
            self.feeds
                .get(&story.source.feed_url)
                .map(|f| f.tags.as_slice())
                .unwrap_or(no_tags),
        )
    }
}

/// The edits (a character added, removed or replaced, or two neighbours
/// swapped: the optimal string alignment distance) that make `a` into `b`,
/// counted up to 3. For telling a misspelt name from the one meant (a
/// rule's field, a `/search` parameter); small inputs.
pub(crate) fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().take(64).collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 2 {
        return 3;
    }
    // d[i][j]: the edits from a[..i] to b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let mut v = (d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]))
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()].min(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(title: &'a str, html: &'a str, tags: &'a [String]) -> ItemView<'a> {
        ItemView::new(title, html, "Ann Author", "https://a.example/post/1", tags)
    }

    fn rules(include: &[&str], exclude: &[&str]) -> Rules {
        Rules {
            include: include.iter().map(|s| Rule::parse(s).unwrap()).collect(),
            exclude: exclude.iter().map(|s| Rule::parse(s).unwrap()).collect(),
        }
    }

    #[test]
    fn soft_hyphens_do_not_split_the_words_rules_match() {
        let tags = Vec::new();
        let item = view(
            "Neuer Flughafen",
            "<p>Der Flug&shy;hafen Ber<wbr>lin öffnet</p>",
            &tags,
        );
        assert!(rules(&["content:Flughafen"], &[]).keeps(&item));
        assert!(rules(&["content:Berlin"], &[]).keeps(&item));
    }

    #[test]
    fn words_match_whole_words_ignoring_case() {
        let r = rules(&["rust"], &[]);
        assert!(r.keeps(&view("Why Rust?", "", &[])));
        assert!(!r.keeps(&view("A trusty tool", "", &[])));
        assert!(r.keeps(&view("t", "<p>we <b>like</b> RUST a lot</p>", &[])));
        let phrase = rules(&["new   release"], &[]);
        assert!(phrase.keeps(&view("A new\nrelease", "", &[])));
        assert!(!phrase.keeps(&view("release new", "", &[])));
        // Markup is not text.
        assert!(!rules(&["href"], &[]).keeps(&view("t", "<a href=\"x\">y</a>", &[])));
    }

    #[test]
    fn cjk_words_match_inside_runs() {
        let r = rules(&["東京"], &[]);
        assert!(r.keeps(&view("東京都で新しい駅", "", &[])));
        assert!(rules(&["서울"], &[]).keeps(&view("서울에서 열린 회의", "", &[])));
        assert!(!r.keeps(&view("京都の話", "", &[])));
    }

    #[test]
    fn fields_regexes_and_exclusion() {
        let tags = vec!["sport".to_string()];
        let item = view("Match report", "<p>Sponsored content</p>", &tags);
        assert!(!rules(&[], &["sponsored"]).keeps(&item));
        assert!(rules(&[], &["title:sponsored"]).keeps(&item));
        assert!(!rules(&[], &["content:/(?i)^sponsored/"]).keeps(&item));
        assert!(!rules(&[], &["tags:sport"]).keeps(&item));
        assert!(!rules(&[], &["link:/\\/post\\//"]).keeps(&item));
        assert!(rules(&["author:ann"], &[]).keeps(&item));
        assert!(!rules(&["author:bob"], &[]).keeps(&item));
        // Include and exclude together: exclusion wins.
        assert!(!rules(&["match"], &["report"]).keeps(&item));
        // A colon that names no field is part of the words.
        let r = Rule::parse("note: this").unwrap();
        assert_eq!(r.field, Field::Text);
    }

    #[test]
    fn regex_flags_and_spaces_as_people_write_them() {
        let item = view("SPONSORED: buy now", "", &[]);
        for rule in [
            "/sponsored/i",
            " /(?i)sponsored/ ",
            "title:/^sponsored/i",
            "/sponsored/gi",
        ] {
            assert!(!rules(&[], &[rule]).keeps(&item), "{rule}");
        }
        // Case matters without the flag; a path is text, not a regex with flags.
        assert!(rules(&[], &["/sponsored/"]).keeps(&item));
        let post = view("Post", "see /blog/index here", &[]);
        assert!(!rules(&[], &["/blog/index"]).keeps(&post));
        // Paths ending in flag letters stay paths (text rules).
        let mix = view("Post", "in /r/mix and /tags/xss", &[]);
        for rule in ["/r/mix", "/tags/xss", "/a/s", "/a/m"] {
            assert!(Rule::parse(rule).is_ok(), "{rule}");
        }
        assert!(!rules(&[], &["/r/mix"]).keeps(&mix));
        assert!(rules(&[], &["/r/mix"]).keeps(&view("Post", "r", &[])));
    }

    #[test]
    fn bad_rules_say_why() {
        let e = Rule::parse("title:/(unclosed/").unwrap_err();
        assert!(e.contains("invalid regular expression /(unclosed/"), "{e}");
        assert!(Rule::parse("title:").unwrap_err().contains("no words"));
        assert!(Rule::parse("//").unwrap_err().contains("empty"));
        // One that matches where there is nothing matches every text (it
        // kept, or hid, everything): refused as `//` is. Anchored ones are
        // not.
        for every in ["/(?i)/", "title:/a*/", "/x?/i", "/^/"] {
            let e = Rule::parse(every).unwrap_err();
            assert!(e.contains("matches every text"), "{every}: {e}");
        }
        assert!(Rule::parse("/^$/").is_ok());
        assert!(Rule::parse("/^breaking/i").is_ok());
        // A misspelt field is an error, not text that never matches.
        for typo in [
            "titel:rust",
            "tilte:x",
            "contnet:/x/",
            "autor:ann",
            "tgas:news",
        ] {
            let e = Rule::parse(typo).unwrap_err();
            assert!(e.starts_with("unknown field"), "{typo}: {e}");
        }
        // Other words before a colon are text, as they always were.
        for text in [
            "ISBN:9780",
            "mailto:ed@x.org",
            "urn:uuid:1",
            "Re:Rust",
            "doi:10.1/x",
            "foo:bar",
        ] {
            assert!(Rule::parse(text).is_ok(), "{text}");
        }
        assert!(Rule::parse("url:/x/").is_ok(), "url: is the link");
        // Field names in any case; text with a colon and a space, or a URL, is text.
        let t: &[String] = &[];
        let title = Rule::parse("Title:rust").unwrap();
        assert!(title.matches(&view("Rust news", "<p>x</p>", t)));
        assert!(!title.matches(&view("News", "<p>rust</p>", t)));
        let sponsored = Rule::parse("Sponsored: ").unwrap();
        assert!(sponsored.matches(&view("Sponsored: a deal", "", t)));
        assert!(Rule::parse("https://a.example/post").is_ok());
    }
}
