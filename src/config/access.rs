//! Per-feed request headers and authentication (`headers`, `auth` and a URL's
//! `user:password@`), and the secrets they carry.
//!
//! A secret is written as a plain string, `{ env = "VAR" }` or `{ file = "path" }`,
//! and resolved once when the config loads: a missing variable or an unreadable
//! file is a config error naming the key. Resolved values never show in `Debug`,
//! logs, `check` or anything feedloom publishes.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Where a value comes from, as the config writes it.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the config itself.
    Plain(String),
    /// `{ env = "VAR" }`: an environment variable.
    Env(String),
    /// `{ file = "path" }`: a file's content without its trailing newline
    /// (relative paths resolve against the config file's folder).
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Plain(_) => f.write_str("Plain(<redacted>)"),
            SecretSource::Env(v) => write!(f, "Env({v:?})"),
            SecretSource::File(p) => write!(f, "File({p:?})"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "a string, { env = \"VAR\" } or { file = \"path\" }";
        impl<'de> Visitor<'de> for V {
            type Value = SecretSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretSource, E> {
                Ok(SecretSource::Plain(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
                let mut out = None;
                while let Some(key) = map.next_key::<String>()? {
                    if out.is_some() {
                        return Err(de::Error::custom(format!(
                            "expected {EXPECTED}, with one key only"
                        )));
                    }
                    out = Some(match key.as_str() {
                        "env" => SecretSource::Env(map.next_value()?),
                        "file" => SecretSource::File(map.next_value()?),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key `{other}`: expected {EXPECTED}"
                            )));
                        }
                    });
                }
                out.ok_or_else(|| de::Error::custom(format!("expected {EXPECTED}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A resolved value that may be secret. `Debug` shows only where it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    /// `"config"`, `"env VAR"`, `"file PATH"` or `"the URL"`.
    origin: String,
}

impl Secret {
    pub fn new(value: impl Into<String>, origin: impl Into<String>) -> Secret {
        Secret {
            value: value.into(),
            origin: origin.into(),
        }
    }

    /// The value itself: only for building a request.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Where the value came from (never the value).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the value is kept out of the config text (env or file).
    pub fn is_external(&self) -> bool {
        self.origin != "config"
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted>, from {})", self.origin)
    }
}

impl SecretSource {
    /// Reads the value. `base` anchors relative file paths; the error says what
    /// is missing (the caller names the key).
    pub fn resolve(&self, base: &Path) -> Result<Secret, String> {
        match self {
            SecretSource::Plain(v) => Ok(Secret::new(v.clone(), "config")),
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Secret::new(v, format!("env {name}"))),
                Ok(_) => Err(format!("environment variable `{name}` is empty")),
                Err(std::env::VarError::NotPresent) => {
                    Err(format!("environment variable `{name}` is not set"))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(format!("environment variable `{name}` is not valid UTF-8"))
                }
            },
            SecretSource::File(p) => {
                let path = base.join(p);
                // A secret is a short plain file: not a pipe (a reload waited
                // on it for ever, the daemon's loop with it), not `/dev/zero`.
                match std::fs::metadata(&path) {
                    Ok(m) if !m.is_file() => {
                        return Err(format!(
                            "{} is not a plain file (a pipe, a device or a folder)",
                            path.display()
                        ));
                    }
                    Ok(m) if m.len() > 64 * 1024 => {
                        return Err(format!(
                            "{} is larger than 64 KiB: not a secret",
                            path.display()
                        ));
                    }
                    _ => {}
                }
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let v = text.strip_suffix('\n').unwrap_or(&text);
                let v = v.strip_suffix('\r').unwrap_or(v);
                if v.is_empty() {
                    return Err(format!("{} is empty", path.display()));
                }
                Ok(Secret::new(v, format!("file {}", path.display())))
            }
        }
    }
}

/// The PostgreSQL password `[store] password_file` holds: its first line (a
/// CR before the newline aside), read as every secret file is (a plain file
/// of at most 64 KiB). The error names the file; an empty first line is one.
pub fn password_in_file(path: &Path) -> Result<Secret, String> {
    let text = SecretSource::File(path.to_path_buf()).resolve(Path::new(""))?;
    let first = text
        .expose()
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r');
    if first.is_empty() {
        return Err(format!("{}: its first line is empty", path.display()));
    }
    Ok(Secret::new(first, format!("file {}", path.display())))
}

/// `auth = { basic = { user = ..., password = ... } }` or `auth = { bearer = ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum AuthConfig {
    Basic(BasicConfig),
    Bearer(SecretSource),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicConfig {
    pub user: SecretSource,
    #[serde(default)]
    pub password: Option<SecretSource>,
}

/// A feed's credentials, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Basic {
        user: Secret,
        password: Option<Secret>,
    },
    Bearer(Secret),
}

impl Auth {
    /// How `check` describes it: the scheme and where the secret comes from.
    pub fn describe(&self) -> String {
        match self {
            Auth::Basic { user, password } => format!(
                "basic auth (user from {}{})",
                user.origin(),
                password
                    .as_ref()
                    .map(|p| format!(", password from {}", p.origin()))
                    .unwrap_or_default()
            ),
            Auth::Bearer(t) => format!("bearer token from {}", t.origin()),
        }
    }
}

/// What a feed's requests carry besides feedloom's own headers. Sent only to the
/// feed's own host: never to another host it redirects to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Extra request headers, names in lowercase.
    pub headers: Vec<(String, Secret)>,
    pub auth: Option<Auth>,
}

impl Access {
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.auth.is_none()
    }
}

/// Headers feedloom sets itself (or that would break a request); `headers` may
/// not name them.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "accept-encoding",
    "if-none-match",
    "if-modified-since",
    "user-agent",
];

thread_local! {
    static LEAVE_UNREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While the guard lives, configs loaded on this thread do not read the
/// feeds' `headers` and `auth` values kept in files or in the environment:
/// each stands in as `(not read)`. For commands that send no request
/// (`feeds`, `export`, `search`, `remove`…): the operator's shell may not
/// have what the service has (`/run/secrets/…`, a variable its unit sets),
/// and every one of them failed, `remove` of the very feed whose secret was
/// gone too. (Not the PostgreSQL password: the store needs it.)
pub fn leave_feed_secrets_unread() -> impl Drop {
    struct Guard(bool);
    impl Drop for Guard {
        fn drop(&mut self) {
            LEAVE_UNREAD.with(|c| c.set(self.0));
        }
    }
    Guard(LEAVE_UNREAD.with(|c| c.replace(true)))
}

/// What stands in for a secret not read ([`leave_feed_secrets_unread`]).
pub const NOT_READ: &str = "(not read)";

/// [`SecretSource::resolve`], unless [`leave_feed_secrets_unread`] holds.
fn read(src: &SecretSource, base: &Path) -> Result<Secret, String> {
    match src {
        SecretSource::Env(_) | SecretSource::File(_) if LEAVE_UNREAD.with(|c| c.get()) => {
            Ok(Secret::new(NOT_READ.to_string(), "nowhere: not read"))
        }
        _ => src.resolve(base),
    }
}

/// Resolves a feed's `headers` and `auth`. Errors name the key at fault.
pub fn resolve(
    headers: &std::collections::BTreeMap<String, SecretSource>,
    auth: Option<&AuthConfig>,
    base: &Path,
) -> Result<Access, String> {
    let mut out = Access::default();
    for (name, src) in headers {
        let lower = name.to_ascii_lowercase();
        if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            // (Said without the name too: a name that may be a pasted
            // header, secret and all, is hidden in messages.)
            let why = match name.chars().find(|c| !c.is_ascii_graphic()) {
                _ if name.is_empty() => "it is empty".to_string(),
                Some(' ') => "it holds a space".to_string(),
                Some(c) if c.is_ascii() => format!("it holds the control character {c:?}"),
                Some(_) => "it holds a character outside ASCII".to_string(),
                None => match name.chars().find(|c| "\"(),/:;<=>?@[\\]{}".contains(*c)) {
                    Some(c) => format!("it holds `{c}`"),
                    None => "it is no token".to_string(),
                },
            };
            // (Up to what is wrong with it: past a space or a colon may be
            // a secret pasted with it, `Authorization: Bearer …`, printed
            // whole where the line quoted was not the name's; and a
            // control character reached the terminal.)
            let shown: String = name
                .chars()
                .take_while(|c| c.is_ascii_graphic() && !"\"(),/:;<=>?@[\\]{}".contains(*c))
                .take(40)
                .collect();
            let shown = match shown.len() == name.len() {
                true => format!("`{shown}`"),
                false => format!("`{shown}…`"),
            };
            return Err(format!(
                "headers: {shown} is not a valid header name: {why} (a name is letters, digits and `-`; its value goes after `=`)"
            ));
        }
        if RESERVED.contains(&lower.as_str()) {
            return Err(match lower.as_str() {
                "user-agent" => {
                    format!("headers: `{name}` is set by feedloom itself: set [fetch] user_agent")
                }
                _ => format!(
                    "headers: `{name}` is set by feedloom itself for each request; leave it out"
                ),
            });
        }
        if out.headers.iter().any(|(n, _)| *n == lower) {
            return Err(format!(
                "headers: `{name}` appears twice (names ignore case)"
            ));
        }
        if lower == "authorization" && auth.is_some() {
            return Err("headers: `Authorization` and `auth` both set; use one".to_string());
        }
        let value = read(src, base).map_err(|e| format!("headers.{name}: {e}"))?;
        if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
            return Err(format!(
                "headers.{name}: the value (from {}) is not a valid header value",
                value.origin()
            ));
        }
        out.headers.push((lower, value));
    }
    out.auth = match auth {
        None => None,
        Some(AuthConfig::Bearer(src)) => {
            let t = read(src, base).map_err(|e| format!("auth.bearer: {e}"))?;
            // (Written empty in the config, it sent `Authorization: Bearer `;
            // an empty variable or file was refused already.)
            if t.expose().trim().is_empty() {
                return Err("auth.bearer: the token is empty".to_string());
            }
            if reqwest::header::HeaderValue::from_str(t.expose()).is_err() {
                return Err(format!(
                    "auth.bearer: the token (from {}) is not a valid header value",
                    t.origin()
                ));
            }
            Some(Auth::Bearer(t))
        }
        Some(AuthConfig::Basic(b)) => {
            let user = read(&b.user, base).map_err(|e| format!("auth.basic.user: {e}"))?;
            if user.expose().contains(':') {
                return Err("auth.basic.user: a user name may not contain `:`".to_string());
            }
            if user.expose().is_empty() {
                return Err("auth.basic.user: the user name is empty".to_string());
            }
            let password = b
                .password
                .as_ref()
                .map(|p| read(p, base))
                .transpose()
                .map_err(|e| format!("auth.basic.password: {e}"))?;
            Some(Auth::Basic { user, password })
        }
    };
    Ok(out)
}

/// `s` with any `user:password@` of a URL in it replaced by `***@`, for
/// messages that quote what the user wrote.
pub fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // (Slashes past the two, `http:///ann:pw@host/f`: a typo whose
        // refusal quoted the password.)
        let typed = tail.len() - tail.trim_start_matches(['/', '\\']).len();
        out.push_str(&tail[..typed]);
        let tail = &tail[typed..];
        // The user information ends at the last `@` before the end of the
        // URL as quoted (not at a space, nor at a `/`: a password may hold
        // either; a message redacted too far loses words, not secrets)...
        let stop = tail
            .find(['"', '\'', '`', '<', '>', '\n'])
            .unwrap_or(tail.len());
        let userinfo_end = tail[..stop].rfind('@').filter(|&at| {
            let before = &tail[..at];
            match before.find(['/', '?', '#']) {
                None => true,
                // ... unless a path comes first (`host:8080/@user`, a
                // Mastodon feed): only `user:pass` with a `/` in the pass.
                Some(slash) => {
                    before[..slash].find(':').is_some_and(|colon| {
                        let port = &before[colon + 1..slash];
                        port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit())
                    }) && !before[..slash].contains(' ')
                }
            }
        });
        let end = match userinfo_end {
            Some(at) => {
                out.push_str("***");
                at
            }
            None => 0,
        };
        rest = &tail[end..];
    }
    out.push_str(rest);
    redact_password_params(&without_bare_userinfo(&out))
}

/// `s` with the `user:password` of a URL written without its scheme
/// (`//ann:pw@host/f`, `ann:pw@host/f`) replaced by `***`: such a typo's
/// error quoted the password.
fn without_bare_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word_start = 0;
    let ends_word = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>');
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        if !ends_word(c) {
            continue;
        }
        let word = &s[word_start..i];
        let core = word.strip_prefix("//").unwrap_or(word);
        // (A web scheme typed with one slash or a backslash, `http:/ann:pw@h`.)
        let core = match core.split_once(':') {
            Some((scheme, rest))
                if ["http", "https"]
                    .iter()
                    .any(|w| scheme.eq_ignore_ascii_case(w))
                    && rest.starts_with(['/', '\\']) =>
            {
                rest.trim_start_matches(['/', '\\'])
            }
            _ => core,
        };
        let lead = word.len() - core.len();
        let userinfo = (!word.contains("://"))
            .then(|| core.rfind('@'))
            .flatten()
            .map(|at| &core[..at])
            .filter(|u| u.contains(':') && !u.contains('/') && *u != "***")
            // (`mailto:ann@e.org` and its kind name an address, not a login.)
            .filter(|u| {
                let scheme = u.split(':').next().unwrap_or("").to_ascii_lowercase();
                !matches!(
                    scheme.as_str(),
                    "mailto" | "xmpp" | "sip" | "sips" | "acct" | "news" | "im" | "tel"
                )
            });
        match userinfo {
            Some(u) => {
                out.push_str(&word[..lead]);
                out.push_str("***");
                out.push_str(&core[u.len()..]);
            }
            None => out.push_str(word),
        }
        if i < s.len() {
            out.push(c);
        }
        word_start = i + c.len_utf8();
    }
    out
}

/// `password=…` (a connection URL's query, with its key percent-encoded or
/// not; a key=value connection string, with spaces around `=` and the value
/// quoted with `\'` escapes or bare) as `password=***`.
fn redact_password_params(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let keys = ["password", "pass%77ord", "pass%57ord"];
    if !keys.iter().any(|k| lower.contains(k)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut from = 0;
    loop {
        let next = keys
            .iter()
            .filter_map(|k| lower[from..].find(k).map(|i| (from + i, k.len())))
            .min();
        let Some((at, len)) = next else { break };
        let mut value = at + len;
        let rest = &s[value..];
        let spaced = rest.len() - rest.trim_start().len();
        if !s[value + spaced..].starts_with('=') {
            out.push_str(&s[from..value]);
            from = value;
            continue;
        }
        value += spaced + 1;
        value += s[value..].len() - s[value..].trim_start().len();
        out.push_str(&s[from..value]);
        out.push_str("***");
        from = match s[value..].chars().next() {
            // A quoted value ends at its closing quote (`\'` inside it is one).
            Some(q @ ('\'' | '"')) => {
                let body = &s[value + 1..];
                let mut end = body.len();
                let mut escaped = false;
                for (i, c) in body.char_indices() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        c if c == q && !escaped => {
                            end = i + 1;
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                value + 1 + end
            }
            // (Hidden already, in a stored error: what follows is the
            // message's, not the value's; `***: write …` lost its colon.)
            _ if s[value..].starts_with("***") => value + 3,
            _ => s[value..]
                .find(['&', ' ', '"', '\'', '`', '\n'])
                .map_or(s.len(), |e| value + e),
        };
    }
    out.push_str(&s[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_a_short_plain_file() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("sec.fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = SecretSource::File("sec.fifo".into())
            .resolve(dir.path())
            .unwrap_err();
        assert!(e.contains("not a plain file"), "{e}");
        std::fs::write(dir.path().join("big"), vec![b'x'; 70_000]).unwrap();
        let e = SecretSource::File("big".into())
            .resolve(dir.path())
            .unwrap_err();
        assert!(e.contains("larger than 64 KiB"), "{e}");
        std::fs::write(dir.path().join("ok"), "s3cret\n").unwrap();
        assert!(SecretSource::File("ok".into()).resolve(dir.path()).is_ok());
    }

    #[test]
    fn passwords_with_spaces_and_in_queries_are_redacted() {
        let m = redact_userinfo("`postgres://fl:Sup3r Secret@127.0.0.1:x/db`: invalid");
        assert!(!m.contains("Sup3r") && !m.contains("Secret"), "{m}");
        assert!(m.contains("@127.0.0.1:x/db`: invalid"), "{m}");
        let m = redact_userinfo("postgres://fl@h/db?sslmode=disable&Password=Sup3r&x=1");
        assert_eq!(m, "postgres://***@h/db?sslmode=disable&Password=***&x=1");
        let m = redact_userinfo("`postgres://fl:Ab/Cd+ef@db:54x/feeds`: invalid port");
        assert_eq!(m, "`postgres://***@db:54x/feeds`: invalid port");
        let m = redact_userinfo("host=db password='s3cret pw' user=fl");
        assert_eq!(m, "host=db password=*** user=fl");
        let m = redact_userinfo("host=db user=fl password = Sup3r dbname=db");
        assert_eq!(m, "host=db user=fl password = *** dbname=db");
        let m = redact_userinfo(r"password='it\'s Sup3r' x=1");
        assert_eq!(m, "password=*** x=1");
        assert_eq!(
            redact_userinfo("names its feed at http://h/f?password=***: write it"),
            "names its feed at http://h/f?password=***: write it"
        );
        let m = redact_userinfo("postgres://fl@h/db?pass%77ord=Sup3r");
        assert_eq!(m, "postgres://***@h/db?pass%77ord=***");
        assert_eq!(
            redact_userinfo("a passwordless line"),
            "a passwordless line"
        );
        // A URL typed without its scheme.
        for (typed, shown) in [
            (
                "invalid URL `//alice:Summer2024@host/f`: relative URL without a base",
                "invalid URL `//***@host/f`: relative URL without a base",
            ),
            ("url = \"alice:Summer2024@host/f\"", "url = \"***@host/f\""),
        ] {
            assert_eq!(redact_userinfo(typed), shown);
        }
        // Not user information: an `@` in a path, after a host and port.
        for url in [
            "https://mastodon.example/@ann.rss",
            "https://h.example:8080/@ann.rss",
            "https://h.example/feed and mail ann@example.org",
            "mastodon.example/@ann.rss, at 12:30 with ann@example.org",
            "invalid URL `mailto:news@example.jp`",
        ] {
            assert_eq!(redact_userinfo(url), url);
        }
    }

    #[test]
    fn userinfo_is_redacted_from_messages() {
        assert_eq!(
            redact_userinfo("url = \"https://bob:s3cret@example.org/f?a=b\""),
            "url = \"https://***@example.org/f?a=b\""
        );
        assert_eq!(
            redact_userinfo("a http://x.org/p@q and ftp://u@h"),
            "a http://x.org/p@q and ftp://***@h"
        );
        assert_eq!(redact_userinfo("no url here"), "no url here");
        // Typed with a slash too many or too few, or a backslash.
        for (typo, shown) in [
            ("http:///ann:Sekr1tPw@host/f", "http:///***@host/f"),
            ("`http:/ann:Sekr1tPw@host/f`", "`http:/***@host/f`"),
            ("HTTPS:\\ann:Sekr1tPw@host/f", "HTTPS:\\***@host/f"),
            ("https:////ann:Sekr1tPw@host/f", "https:////***@host/f"),
        ] {
            assert_eq!(redact_userinfo(typo), shown);
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret::new("hunter2", "env PASS");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>, from env PASS)");
        let src = SecretSource::Plain("hunter2".into());
        assert!(!format!("{src:?}").contains("hunter2"));
        let auth = Auth::Basic {
            user: Secret::new("bob", "config"),
            password: Some(s),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!auth.describe().contains("hunter2"));
    }
}
