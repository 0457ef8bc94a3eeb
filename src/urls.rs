//! Which URLs feedloom publishes and resolves against. Pure functions, no I/O.
//!
//! Everything a feed says is hostile input. A link written `javascript:alert(1)`,
//! ` JaVaScRiPt:…`, `java\tscript:…`, `\x01javascript:…`, `vbscript:…` or
//! `data:text/html,…` becomes the clickable title of an entry in a reader, and a
//! base URL such as `javascript://x/%0aalert(1)//` turns an innocent relative
//! `href="foo"` into a script URL once resolved. So:
//!
//! * a link feedloom publishes (an entry's link, a source's link or home page) is
//!   an absolute `http`/`https` URL ([`safe_link`]), written as the URL parser
//!   serialises it, so what was checked is exactly what is published;
//! * only an `http`/`https` URL may serve as a base for relative ones ([`web_base`]),
//!   and whatever a resolution produces is checked again.
//!
//! Parsing follows the WHATWG URL standard (the `url` crate), as browsers do:
//! leading and trailing spaces and C0 controls are ignored, tabs and newlines
//! inside are removed and the scheme is case-insensitive, so every disguise of
//! `javascript:` above is seen for what it is.

use url::Url;

/// Whether `url` is an `http` or `https` URL with a host.
pub fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
}

/// `link` as a publishable link: an absolute `http`/`https` URL with a host, in
/// its serialised form; `None` for anything else (other schemes, relative or
/// unparseable text).
pub fn safe_link(link: &str) -> Option<String> {
    Url::parse(link).ok().filter(is_web).map(String::from)
}

/// A feed's URL as outputs may name it (a story's source): an absolute
/// `http`/`https` URL without credentials, and without a query parameter
/// whose name says it is a secret (`token`, `api_key`, `sig`, `session`…: a
/// private feed's `?token=` was published in the merged feed). `None` for
/// anything else (`file:` feeds name a path on this machine).
pub fn publishable_feed_url(url: &str) -> Option<String> {
    let u = Url::parse(url).ok().filter(is_web)?;
    if !u.username().is_empty() || u.password().is_some() {
        return None;
    }
    (!has_secret_query(&u)).then(|| u.into())
}

/// A query's parameters as servers may read them: parted by `&`, `;` or a
/// second `?` (`?page=1;token=X`, `?a=1?token=X`), each as its raw text and
/// its name decoded (`+` a space, `%5F` a `_`).
fn query_pairs(query: &str) -> impl Iterator<Item = (String, &str)> {
    query.split(['&', ';', '?']).map(|pair| {
        let name = &pair[..pair.find('=').unwrap_or(pair.len())];
        let decoded = url::form_urlencoded::parse(name.as_bytes())
            .next()
            .map(|(n, _)| n.into_owned())
            .unwrap_or_default();
        (decoded, pair)
    })
}

/// Whether a query parameter's name says its value is a secret. The name is
/// read without case and without `_`, `-`, `.`, `[`, `]`: it is a secret when
/// it is one of the short names (`key`, `sig`, `sid`, `auth`, `pass`, `pwd`,
/// `pw`, `sess`, `session`, `otp`…), or ends in a longer
/// one (`token`, `secret`, `hmac`, `ticket`,
/// `password`, `passcode`, `sessionid`, `signature`, `apikey`,
/// `accesskey`, `privatekey`, `authorization`, `jwt`…): `access_token`,
/// `accessToken`, `X-Amz-Signature`, `user[token]`, `ASP.NET_SessionId`.
/// Not a word that merely contains one (`author`, `design`, `keywords`), nor
/// names of public keys, codes and hashes (`public_key`, `country_code`,
/// `commitHash`): a false alarm costs only the source's published URL.
pub(crate) fn secret_name(name: &str) -> bool {
    const WHOLE: &[&str] = &[
        "key",
        "sig",
        "sid",
        "auth",
        "xauth",
        "pass",
        "pwd",
        "pw",
        "passw",
        "sess",
        "session",
        "otp",
        "accesscode",
        "authcode",
    ];
    const ENDS: &[&str] = &[
        "token",
        "secret",
        "password",
        "passwd",
        "passcode",
        "passphrase",
        "sessionid",
        "sessid",
        "signature",
        "credential",
        "credentials",
        "apikey",
        "accesskey",
        "authkey",
        "privatekey",
        "secretkey",
        "clientkey",
        "appkey",
        "licensekey",
        "sessionkey",
        "authorization",
        "jwt",
        "hmac",
        "bearer",
        "ticket",
        // Private trackers' feeds.
        "passkey",
        "torrentpass",
        "rsskey",
    ];
    let squashed: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | '[' | ']' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    WHOLE.contains(&squashed.as_str()) || ENDS.iter().any(|e| squashed.ends_with(e))
}

/// Whether a parameter's value looks like a credential whatever its name:
/// 32 or more hex digits, letters and digits both (Reddit's private feeds,
/// `?feed=<40 hex>&user=…`; a tracker's `tp=<32 hex>`). A content hash taken
/// for one costs only the source's published URL. (Mixed-case tokens are not
/// judged: public ids look alike, a YouTube playlist's `PL…`.)
pub(crate) fn token_like(value: &str) -> bool {
    let b = value.as_bytes();
    (b.len() >= 32
        && b.iter().all(u8::is_ascii_hexdigit)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic))
        || jwt_like(value)
}

/// Whether a parameter whose name says it is someone's (`private`,
/// `subscription`, `uid`, `user`, `member`, `account`…) holds a UUID
/// (`5f0c3a2e-8b1d-4c6e-9a7f-2d4b6e8f0a1c`): a private feed's key, published
/// whole while the same 32 hex digits without dashes were hidden. (Under
/// any other name a UUID is a public id more often, a forum category's or a
/// list's: judged a secret there, every item repeating it lost its link.)
fn uuid_name_secret(name: &str, value: &str) -> bool {
    let b = value.as_bytes();
    let uuid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    let squashed: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    uuid && [
        "private",
        "priv",
        "subscription",
        "subscriber",
        "sub",
        "subid",
        "uid",
        "user",
        "userid",
        "uuid",
        "member",
        "memberid",
        "account",
        "accountid",
        "personal",
        "customer",
        "customerid",
        "listener",
        "listenerid",
        "owner",
        "ownerid",
    ]
    .contains(&squashed.as_str())
}

/// A JSON Web Token: `eyJ…` (base64url of `{"`), three parts.
fn jwt_like(value: &str) -> bool {
    value.len() >= 24
        && value.starts_with("eyJ")
        && value.split('.').count() == 3
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'%'))
}

/// Whether a parameter whose name may mean a credential or not (`?p=`, `?k=`,
/// a password or key by its initial; `?code=`, `?access=`) holds a value of
/// letters and digits both, 6 or more: a credential more likely than a page
/// number, a language or a word (`?p=12`, `?code=en`, `?access=public`).
fn short_name_secret(name: &str, value: &str) -> bool {
    let b = value.as_bytes();
    ["p", "k", "pk", "code", "access", "pin"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
        && b.len() >= 6
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// Whether a parameter (`name`, `value` as written) is judged a secret by
/// its value ([`token_like`], [`short_name_secret`], [`value_hides_secret`]).
fn secret_value(name: &str, value: &str) -> bool {
    token_like(value)
        || short_name_secret(name, value)
        || uuid_name_secret(name, value)
        || value_hides_secret(value)
}

/// Whether a parameter's value holds, percent-encoded (once or more), a query
/// whose parameter is named like a secret: a login page's
/// `?return_to=%2Ffeed%3Bapi_key%3DX` carries the feed's key onwards.
fn value_hides_secret(value: &str) -> bool {
    // (A URL with `user:password@` in it, as written: `?next=https://u:PW@h/`;
    // the published feed URL carried the password the log hid.)
    let has_userinfo = url_with_userinfo;
    if has_userinfo(value) {
        return true;
    }
    let mut v = std::borrow::Cow::Borrowed(value);
    // (Encoded up to three times over; each round must decode something.)
    for _ in 0..3 {
        let decoded: String = percent_encoding::percent_decode_str(&v)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == *v {
            return false;
        }
        // (A URL with `user:password@` in it: `?next=https%3A%2F%2Fu%3APW%40h`.)
        if has_userinfo(&decoded) {
            return true;
        }
        let query = decoded.split_once('?').map_or(decoded.as_str(), |(_, q)| q);
        if query_pairs(query).any(|(name, pair)| {
            pair.split_once('=').is_some_and(|(_, v)| {
                secret_name(&name) || token_like(v) || short_name_secret(&name, v)
            })
        }) {
            return true;
        }
        v = std::borrow::Cow::Owned(decoded);
    }
    false
}

/// Whether `v` holds a URL with `user:password@` (or `user@`) as written.
fn url_with_userinfo(v: &str) -> bool {
    v.split_once("://").is_some_and(|(_, rest)| {
        rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())].contains('@')
    })
}

/// `url` as the operator's pages show it (the index page, `/metrics`): the
/// URL as configured, but with the value of every query parameter named like a
/// secret ([`secret_name`]) replaced by `***` and four hex digits that tell
/// such values apart within this process ([`secret_tag`]), and any
/// `user:password@` by `***@`. Everything else is kept as written:
/// `https://e.org/feed?token=abc&page=2` is shown as
/// `https://e.org/feed?token=***3f2a&page=2`.
pub fn shown_feed_url(url: &str) -> String {
    shown_url(url, true)
}

/// `url` as a stored error quotes an address that is not the feed's own (a
/// page's link to its feed): as [`shown_feed_url`], each secret a bare `***`
/// (a tag, keyed anew by each process, would name another secret after a
/// restart).
pub fn stored_url(url: &str) -> String {
    shown_url(url, false)
}

fn shown_url(url: &str, tagged: bool) -> String {
    // (The credentials of the part before the query only: the query's
    // secrets are told apart below. Hidden first, `?password=` became one
    // `***` for every feed.)
    let Some(q) = url.find('?') else {
        return path_params_hidden(&crate::config::access::redact_userinfo(url), tagged);
    };
    let (head, rest) = url.split_at(q + 1);
    let (query, fragment) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
    let mut out = String::with_capacity(url.len());
    out.push_str(&path_params_hidden(
        &crate::config::access::redact_userinfo(head),
        tagged,
    ));
    let mut at = 0;
    for (name, pair) in query_pairs(query) {
        // (The separator before this pair, as written.)
        if at > 0 {
            out.push_str(&query[at - 1..at]);
        }
        at += pair.len() + 1;
        match pair.split_once('=') {
            // (A URL in a value, `?url=http://u:pw@h/feed`, is shown with
            // its credentials hidden, below.)
            // (Hidden before, in a stored error: as it is, not tagged as
            // if `***` were the secret, one tag for every feed.)
            Some(_) if pair.split_once('=').is_some_and(|(_, v)| already_hidden(v)) => {
                out.push_str(pair)
            }
            Some((raw_name, value))
                if (secret_name(&name) && !value.is_empty())
                    || (secret_value(&name, value) && !url_with_userinfo(value)) =>
            {
                out.push_str(raw_name);
                out.push_str("=***");
                // Feeds that differ only in the secret stay apart (one
                // series each in /metrics), by a short hash of it, keyed
                // anew by each process: an unkeyed hash let anyone check
                // guesses of a short secret (a PIN) against it.
                if tagged {
                    out.push_str(&secret_tag(value));
                }
            }
            // (A URL in a value, `?url=http://u:pw@h/feed`, keeps its
            // credentials out too.)
            _ => out.push_str(&crate::config::access::redact_userinfo(pair)),
        }
    }
    out.push_str(fragment);
    out
}

/// `head` (a URL up to its query) with the value of every path parameter
/// judged a secret as a query's would be hidden: a servlet's redirect to
/// `/feed;jsessionid=…` was shown whole on the index page and in the log.
/// A parameter starts at `;` (or `%3B`) and ends at `;`, `,`, `/` (or their
/// escapes); its name ends at `=` (or `%3D`): servers read them decoded.
fn path_params_hidden(head: &str, tagged: bool) -> String {
    let path_at = head.find("://").map_or(0, |i| {
        i + 3 + head[i + 3..].find('/').unwrap_or(head.len() - i - 3)
    });
    let path = &head[path_at..];
    let at_ci = |s: &str, i: usize, what: &str| {
        s.get(i..i + what.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(what))
    };
    // The length of a separator at `i`, if one is there.
    let separator = |i: usize, seps: &[&str]| {
        seps.iter()
            .find(|sep| at_ci(path, i, sep))
            .map(|sep| sep.len())
    };
    if !path.contains(';') && !path.to_ascii_lowercase().contains("%3b") {
        return head.to_string();
    }
    let mut out = String::with_capacity(head.len());
    out.push_str(&head[..path_at]);
    let mut i = 0;
    let mut from = 0;
    // (Whether this segment's parameters began: a comma then starts another.)
    let mut params = false;
    while i < path.len() {
        let starts: &[&str] = match params {
            true => &[";", "%3b", ",", "%2c"],
            false => &[";", "%3b"],
        };
        let Some(len) = separator(i, starts) else {
            params &= separator(i, &["/", "%2f"]).is_none();
            i += path[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        params = true;
        let start = i + len;
        // The parameter runs to the next separator.
        let mut end = start;
        while end < path.len()
            && separator(end, &[";", ",", "/", "?", "#", "%3b", "%2c", "%2f"]).is_none()
        {
            end += path[end..].chars().next().map_or(1, char::len_utf8);
        }
        let param = &path[start..end];
        let eq = param
            .find('=')
            .map(|e| (e, 1))
            .or_else(|| param.to_ascii_lowercase().find("%3d").map(|e| (e, 3)));
        if let Some((e, n)) = eq {
            let (name, value) = (&param[..e], &param[e + n..]);
            let plain = |t: &str| {
                percent_encoding::percent_decode_str(t)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let (name_plain, value_plain) = (plain(name), plain(value));
            if !value.is_empty()
                && !already_hidden(value)
                && (secret_name(&name_plain) || secret_value(&name_plain, &value_plain))
            {
                out.push_str(&path[from..start + e + n]);
                out.push_str("***");
                if tagged {
                    out.push_str(&secret_tag(&value_plain));
                }
                from = end;
            }
        }
        i = end;
    }
    out.push_str(&path[from..]);
    out
}

/// Whether a query value is a secret hidden already: `***`, or `***` and
/// its [`secret_tag`].
fn already_hidden(value: &str) -> bool {
    value
        .strip_prefix("***")
        .is_some_and(|t| t.is_empty() || (t.len() == 4 && t.bytes().all(|b| b.is_ascii_hexdigit())))
}

/// Four hex digits that tell secrets apart within this process (a keyed
/// hash whose key each process draws anew).
fn secret_tag(value: &str) -> String {
    use std::hash::BuildHasher;
    static KEY: std::sync::LazyLock<std::collections::hash_map::RandomState> =
        std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);
    format!("{:04x}", KEY.hash_one(value) & 0xffff)
}

/// `text` (a feed's last error) with [`shown_feed_url`] applied to every
/// `scheme://…` URL in it: errors quote the feed's URL and the addresses it
/// redirected to. A URL ends at white space, `"`, `` ` ``, `<` or `>`, less
/// what punctuation ends it (`…?token=x: HTTP 404`, `'…'`).
pub fn shown_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '`' | '<' | '>'))
            .map_or(rest.len(), |e| i + e);
        let url = rest[start..end].trim_end_matches([':', ',', '.', ';', ')', ']', '\'']);
        out.push_str(&rest[..start]);
        out.push_str(&shown_feed_url(url));
        rest = &rest[start + url.len()..];
    }
    out.push_str(rest);
    out
}

/// `base` as a base URL for relative links: only an absolute `http`/`https` URL
/// resolves anything.
pub fn web_base(base: &str) -> Option<Url> {
    Url::parse(base).ok().filter(is_web)
}

/// Whether `link` is a `javascript:`, `vbscript:` or `data:` URL in any disguise
/// (case, leading spaces and controls, tabs or newlines inside the scheme).
pub fn is_script_like(link: &str) -> bool {
    Url::parse(link).is_ok_and(|u| matches!(u.scheme(), "javascript" | "vbscript" | "data"))
}

/// Whether `url`'s query has a parameter named like a secret
/// ([`secret_name`]): a private feed's `?token=`; or a value that looks like
/// a credential ([`token_like`]), or holds an encoded query with a secret. Parameters are split on
/// `;` and a second `?` too, as [`shown_feed_url`] splits them (`?a=1;token=`
/// was no secret here, and published, while the log hid it).
pub fn has_secret_query(url: &Url) -> bool {
    url.query().is_some_and(|q| {
        query_pairs(q).any(|(name, pair)| {
            secret_name(&name)
                || pair
                    .split_once('=')
                    .is_some_and(|(_, value)| secret_value(&name, value))
        })
    })
}

/// The secrets in `url`'s query (the values [`has_secret_query`] judges, as
/// written and decoded) of 6 characters or more: a private feed's token that
/// its items' links repeat (a premium podcast's media URLs) is found there.
pub fn secret_values(url: &str) -> Vec<String> {
    let Some(query) = url.split_once('?').map(|(_, q)| q) else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or(query);
    let mut out = Vec::new();
    for (name, pair) in query_pairs(query) {
        let Some((_, value)) = pair.split_once('=') else {
            continue;
        };
        if !(secret_name(&name) || secret_value(&name, value)) {
            continue;
        }
        let decoded = percent_encoding::percent_decode_str(value)
            .decode_utf8_lossy()
            .into_owned();
        for v in [value.to_string(), decoded] {
            if v.chars().count() >= 6 && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// The secrets each configured feed sends outside its URL (a header named
/// like one, a bearer token, a password), by the feed's URL: its items may
/// repeat them (a premium podcast's media URLs carrying the key its feed
/// is fetched with), and the outputs hide them as they hide a `?token=`.
/// Added to as configs load (the daemon's reloads too); never emptied while
/// the process runs: hiding a removed feed's old key costs nothing.
static SENT_SECRETS: std::sync::LazyLock<
    std::sync::RwLock<std::collections::HashMap<String, Vec<String>>>,
> = std::sync::LazyLock::new(Default::default);

/// Records what the feed at `url` sends as secrets ([`SENT_SECRETS`]).
pub fn note_sent_secrets(url: &str, values: Vec<String>) {
    if values.is_empty() {
        return;
    }
    let mut map = SENT_SECRETS.write().unwrap_or_else(|e| e.into_inner());
    let known = map.entry(url.to_string()).or_default();
    for v in values {
        if !known.contains(&v) {
            known.push(v);
        }
    }
}

/// What the feed at `url` sends as secrets ([`note_sent_secrets`]).
pub fn sent_secrets(url: &str) -> Vec<String> {
    SENT_SECRETS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(url)
        .cloned()
        .unwrap_or_default()
}

/// Whether `url`'s query has a parameter whose name says it is a secret
/// ([`secret_name`]), values not judged: for a story's own link, where a
/// commit's hash or an md5 id in the query is no credential.
pub fn has_secret_name_query(url: &Url) -> bool {
    url.query()
        .is_some_and(|q| query_pairs(q).any(|(name, _)| secret_name(&name)))
}

/// Whether `href` keeps its base's query when resolved: empty, or only a
/// fragment (`#x`), as a URL parser reads it (control characters and spaces
/// around it, tabs and line breaks in it, ignored: `\u{1}#s` is `#s`).
pub fn keeps_the_query(href: &str) -> bool {
    let h = href.trim_matches(|c: char| c <= ' ');
    h.chars()
        .find(|c| !matches!(c, '\t' | '\n' | '\r'))
        .is_none_or(|c| c == '#')
}

/// Whether `link` names the document at `doc` itself: `doc#x`, or `doc` when
/// its query holds a secret (a private feed's `?token=`). Such a link is an
/// empty or fragment-only one that feed-rs resolved against the feed's URL:
/// no entry's page, and published it gave the token away.
pub fn names_the_document(link: &str, doc: &Url) -> bool {
    let Ok(mut u) = Url::parse(link) else {
        return false;
    };
    let fragment = u.fragment().is_some();
    u.set_fragment(None);
    let mut d = doc.clone();
    d.set_fragment(None);
    u == d && (fragment || has_secret_query(doc))
}

/// `href` resolved against `base` (when it is relative and `base` is usable) and
/// checked: `Some` only for an `http`/`https` result. Never an empty `href` or
/// one of only a fragment (`#x`) against a base with a secret in its query:
/// resolved against a private feed's URL, they published its `?token=`.
pub fn resolve(base: Option<&Url>, href: &str) -> Option<String> {
    if keeps_the_query(href) && base.is_some_and(has_secret_query) {
        return None;
    }
    // (Nor what resolves to the base itself by any other spelling.)
    if base.is_some_and(|b| {
        has_secret_query(b)
            && names_the_document(&b.join(href).map(String::from).unwrap_or_default(), b)
    }) {
        return None;
    }
    match Url::parse(href) {
        Ok(u) => Some(u).filter(is_web).map(String::from),
        Err(url::ParseError::RelativeUrlWithoutBase) => base
            .filter(|b| is_web(b))
            .and_then(|b| b.join(href).ok())
            .filter(is_web)
            .map(String::from),
        Err(_) => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn operator_pages_hide_secret_query_values_only() {
        let s = shown_feed_url;
        let h = |v: &str| secret_tag(v);
        assert_eq!(
            s("https://e.org/feed?token=abc123&page=2#top"),
            format!("https://e.org/feed?token=***{}&page=2#top", h("abc123"))
        );
        assert_eq!(
            s("https://e.org/f?access%5Ftoken=x&X-Amz-Signature=y&author=me"),
            format!(
                "https://e.org/f?access%5Ftoken=***{}&X-Amz-Signature=***{}&author=me",
                h("x"),
                h("y")
            )
        );
        // A UUID under a name that says it is someone's; not under another
        // (a forum category's id).
        let uuid = "5f0c3a2e-8b1d-4c6e-9a7f-2d4b6e8f0a1c";
        assert_eq!(
            s(&format!("https://e.org/f?subscription={uuid}&page=2")),
            format!("https://e.org/f?subscription=***{}&page=2", h(uuid))
        );
        assert_eq!(
            secret_values(&format!("https://e.org/f?private={uuid}")),
            [uuid]
        );
        assert_eq!(
            secret_values(&format!("https://e.org/f?User_Id={uuid}")),
            [uuid]
        );
        for public in [
            format!("https://e.org/f?category={uuid}"),
            "https://e.org/f?uid=5f0c3a2e-8b1d-4c6e-9a7f".to_string(),
        ] {
            assert_eq!(s(&public), public);
            assert!(secret_values(&public).is_empty(), "{public}");
        }
        // Other separators, names with `+`, trackers' keys.
        assert_eq!(
            s("https://e.org/f?page=1;token=X?api+key=Y&passkey=Z&torrent_pass=W"),
            format!(
                "https://e.org/f?page=1;token=***{}?api+key=***{}&passkey=***{}&torrent_pass=***{}",
                h("X"),
                h("Y"),
                h("Z"),
                h("W")
            )
        );
        assert_eq!(
            s("http://h/n?url=http://u:SECRETPW@h2/feed"),
            "http://h/n?url=http://***@h2/feed"
        );
        // A password parameter too (it was hidden before the tagging).
        assert_ne!(
            s("https://e.org/f?password=alice"),
            s("https://e.org/f?password=bob")
        );
        // Two feeds that differ only in the secret are told apart.
        assert_ne!(
            s("https://e.org/f?token=alice"),
            s("https://e.org/f?token=bob")
        );
        assert_eq!(
            s("https://me:pw@e.org/f?a=1&&b"),
            "https://***@e.org/f?a=1&&b"
        );
        assert_eq!(s("https://e.org/f?key="), "https://e.org/f?key=");
        // A secret inside an encoded parameter (a login page's return
        // address), encoded once or twice; an encoded value without one kept.
        for v in [
            "%2Ffeed%3Fa%3D1%3Bapi_key%3DSECRET",
            "%252Ffeed%253Ftoken%253DSECRET",
            "https%3A%2F%2Fe.org%2Ff%3Fsig%3DSECRET",
        ] {
            let url = format!("https://e.org/login?return_to={v}&x=1");
            assert_eq!(
                s(&url),
                format!("https://e.org/login?return_to=***{}&x=1", h(v))
            );
            assert!(has_secret_query(&Url::parse(&url).unwrap()), "{url}");
        }
        // Values that look like credentials, whatever their names.
        for (url, token) in [
            (
                "https://www.reddit.com/.rss?feed=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b&user=ann",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            ),
            (
                "https://t.example/rss?u=12;tp=5e884898da28047151d0e56f8dc62927",
                "5e884898da28047151d0e56f8dc62927",
            ),
            (
                "https://e.org/f?next=/x%3Ffeed%3D9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            ),
            // Passwords and keys by short names, a signature, a ticket,
            // a JSON Web Token under any name, a URL with a password in a
            // value.
            ("https://e.org/f?user=bob&pw=Hunter2pw", "Hunter2pw"),
            ("https://e.org/f?u=bob&p=Hunter2p", "Hunter2p"),
            ("https://e.org/f?k=abc123XYZ", "abc123XYZ"),
            (
                "https://e.org/f?expires=9&hmac=9f86d081884c7d65",
                "9f86d081884c7d65",
            ),
            (
                "https://e.org/f?ticket=ST-12345-abcdefXYZ",
                "ST-12345-abcdefXYZ",
            ),
            ("https://e.org/f?code=Xyzzy42", "Xyzzy42"),
            (
                "https://e.org/f?x=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl",
                "eyJzdWIiOiJhbm4ifQ",
            ),
            (
                "https://e.org/f?next=https%3A%2F%2Fu%3APW%40h.example%2F",
                "PW",
            ),
            ("https://e.org/login?next=%2Ff%3Fp%3DHunter2p", "Hunter2p"),
        ] {
            assert!(!s(url).contains(token), "{url}");
            assert!(has_secret_query(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "https://e.org/f?id=5f3c9a1b2c3d4e5f6a7b8c9d&page=2",
            "https://e.org/f?q=the-very-long-slug-of-an-article-title-here",
            "https://www.youtube.com/feeds/videos.xml?playlist_id=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf",
            // A page, a search, a version by a short name.
            "https://blog.example/?p=12345&s=storms&v=2",
            "https://e.org/f?next=https%3A%2F%2Fh.example%2Fa%40b",
        ] {
            assert_eq!(s(url), url);
            assert!(!has_secret_query(&Url::parse(url).unwrap()), "{url}");
        }
        let plain = "https://e.org/login?return_to=%2Ffeed%3Fpage%3D2&q=a%20b";
        assert_eq!(s(plain), plain);
        assert!(!has_secret_query(&Url::parse(plain).unwrap()));
        assert_eq!(s("file:///srv/feed.xml"), "file:///srv/feed.xml");
        assert_eq!(
            shown_urls_in("https://e.org/f?sig=1 moved to 'http://x.org/g?a=b&token=2': HTTP 404"),
            format!(
                "https://e.org/f?sig=***{} moved to 'http://x.org/g?a=b&token=***{}': HTTP 404",
                h("1"),
                h("2")
            )
        );
        // A URL after a character of several bytes (it panicked), one with
        // a `'` in its path, and the `:` after a URL kept.
        assert_eq!(shown_urls_in("é://x"), "é://x");
        assert_eq!(
            shown_urls_in("http://e.org/rock'n'roll/f?token=T answered HTTP 404"),
            format!(
                "http://e.org/rock'n'roll/f?token=***{} answered HTTP 404",
                h("T")
            )
        );
        assert_eq!(
            shown_urls_in("http://e.org/f?session=S: more than 5 redirects"),
            format!(
                "http://e.org/f?session=***{}: more than 5 redirects",
                h("S")
            )
        );
        assert_eq!(
            shown_urls_in("timed out after 30 s"),
            "timed out after 30 s"
        );
        // A path parameter named or shaped like a secret (a servlet's
        // session in a redirect's target), with a query or without; others
        // as written.
        assert_eq!(
            shown_urls_in("http://e.org/nf;jsessionid=S6 answered HTTP 404"),
            format!(
                "http://e.org/nf;jsessionid=***{} answered HTTP 404",
                h("S6")
            )
        );
        assert_eq!(
            stored_url("https://e.org/a;v=2/f;token=T;x=1?page=2&key=K"),
            "https://e.org/a;v=2/f;token=***;x=1?page=2&key=***"
        );
        assert_eq!(s("https://e.org/a;b/c;=d"), "https://e.org/a;b/c;=d");
        // Written with escapes, or after a comma, as servers read them.
        assert_eq!(
            stored_url("https://e.org/nf%3Bjsessionid=S1/x;jsessionid%3DS2;a=1,sid=S3?q=1"),
            "https://e.org/nf%3Bjsessionid=***/x;jsessionid%3D***;a=1,sid=***?q=1"
        );
        assert_eq!(s("https://u:p@e.org;x/"), "https://***@e.org;x/");
    }

    #[test]
    fn feed_urls_outputs_may_name() {
        let p = publishable_feed_url;
        assert_eq!(
            p("https://e.org/feed?format=rss&page=2").as_deref(),
            Some("https://e.org/feed?format=rss&page=2")
        );
        for private in [
            "file:///home/me/feeds/f.rss",
            "https://e.org/f.rss?token=SECRET123",
            "https://e.org/f.rss?api_key=x",
            "https://e.org/f.rss?Signature=x&Expires=1",
            "https://e.org/f.rss?PHPSESSID=x",
            "https://me:pw@e.org/f.rss",
            "https://e.org/f.rss?access_token=x",
            "https://e.org/f.rss?accessToken=x",
            "https://e.org/f.rss?X-Amz-Signature=x",
            "https://e.org/f.rss?authtoken=x",
            "https://e.org/f.rss?accesskey=x",
            "https://e.org/f.rss?XAuth=x",
            "https://e.org/f.rss?user%5Btoken%5D=x",
            "https://e.org/f.rss?jwt=x",
            "https://e.org/f.rss?access_code=x",
            "https://e.org/f.rss?session_id=x",
            "https://e.org/f.rss?ASP.NET_SessionId=x",
            "https://e.org/f.rss?passcode=x",
            "https://e.org/f.rss?authorization=x",
            "https://e.org/f.rss?apisecret=x",
            "https://e.org/f.rss?xauth=x",
            "https://e.org/f.rss?bearer=x",
            // A URL with a password in a parameter, as written.
            "https://e.org/f.rss?next=https://ann:Pw34raw@h.example/f",
            // Values that look like credentials, whatever their names.
            "https://www.reddit.com/.rss?feed=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b&user=ann",
            "https://t.example/rss?u=12;tp=5e884898da28047151d0e56f8dc62927",
        ] {
            assert_eq!(p(private), None, "{private}");
        }
        // Words that only contain a secret's name are not one.
        for public in [
            "https://e.org/?feed=rss2&author=3",
            "https://e.org/f?design=minimal&sidebar=0",
            "https://e.org/f?keywords=rust&passage=1",
            "https://e.org/f?monkey=1&tokens_left=2",
            "https://e.org/f?code=en&hash=1",
            "https://e.org/f?country_code=de&commitHash=1&public_key=x&sort_key=d",
            "https://e.org/f?page=2&format=rss&cat=3&lang=en&id=4&q=x&s=y&p=1&geohash=u&bypass=1",
            "https://e.org/f?next=https://h.example/f&mail=ann@h.example",
        ] {
            assert_eq!(p(public).as_deref(), Some(public), "{public}");
        }
    }

    /// Every disguise of a script or document URL that the issue names.
    pub(crate) const HOSTILE: &[&str] = &[
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "\u{0}javascript:alert(1)",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        " DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "javascript://x/%0aalert(1)//",
        "file:///etc/passwd",
        "about:blank",
        "foo",
        "/relative/path",
        "//evil.example", // no scheme: nothing to publish on its own
        "",
        "http://",
    ];

    #[test]
    fn only_absolute_web_links_are_published() {
        for h in HOSTILE {
            assert_eq!(safe_link(h), None, "{h:?}");
        }
        assert_eq!(
            safe_link("https://example.org/a?b=1#c").as_deref(),
            Some("https://example.org/a?b=1#c")
        );
        // Written as the parser reads it: what is checked is what is published.
        assert_eq!(
            safe_link("  HTTP://Example.ORG/a b\t").as_deref(),
            Some("http://example.org/a%20b")
        );
    }

    #[test]
    fn only_a_web_base_resolves_and_the_result_is_checked() {
        let web = web_base("https://example.org/post/1").unwrap();
        assert_eq!(
            resolve(Some(&web), "../i.png").as_deref(),
            Some("https://example.org/i.png")
        );
        // Protocol-relative takes the base's scheme: still http(s).
        assert_eq!(
            resolve(Some(&web), "//cdn.example/x").as_deref(),
            Some("https://cdn.example/x")
        );
        // An absolute hostile URL stays hostile whatever the base.
        for h in HOSTILE {
            if url::Url::parse(h).is_ok() {
                assert_eq!(resolve(Some(&web), h), None, "{h:?}");
            }
        }
        // A script or data base resolves nothing.
        for b in [
            "javascript://x/%0aalert(1)//",
            "data:text/html,<b>x</b>",
            " JaVaScRiPt://x/",
            "file:///tmp/",
        ] {
            assert_eq!(web_base(b), None, "{b:?}");
            let u = url::Url::parse(b).unwrap();
            assert_eq!(resolve(Some(&u), "foo"), None, "{b:?}");
        }
        assert_eq!(resolve(None, "foo"), None);
    }
}
