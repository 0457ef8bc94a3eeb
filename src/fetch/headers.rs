//! What response headers say: validators, charset, cache lifetime, Retry-After.
//! Pure functions of a header map.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};

use super::CacheHints;

pub(super) fn header_string(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 1024)
        .map(str::to_string)
}

/// The `charset` parameter of Content-Type.
pub(super) fn charset(h: &HeaderMap) -> Option<String> {
    let ct = h.get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Cache-Control max-age (or s-maxage), else Expires relative to Date/now.
pub fn cache_hints(h: &HeaderMap) -> CacheHints {
    let from_cc = h
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(|cc| {
            cc.split(',').find_map(|d| {
                let (k, v) = d.split_once('=')?;
                let k = k.trim().to_ascii_lowercase();
                (k == "max-age" || k == "s-maxage")
                    .then(|| delta_seconds(v.trim().trim_matches('"')))
                    .flatten()
            })
        })
        .map(Duration::from_secs);
    let fresh_for = from_cc.or_else(|| {
        let expires = http_date(h.get(header::EXPIRES)?)?;
        let now = h
            .get(header::DATE)
            .and_then(http_date)
            .unwrap_or_else(chrono::Utc::now);
        (expires - now).to_std().ok()
    });
    // What a cache in between (a CDN) already spent of it (RFC 9111, 4.2.3):
    // `max-age=3600` with `Age: 3500` is fresh for 100 s more, not an hour.
    let age = h
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| delta_seconds(v.trim()))
        .map_or(Duration::ZERO, Duration::from_secs);
    let fresh_for = fresh_for.map(|f| f.saturating_sub(age));
    CacheHints { fresh_for }
}

/// A count of seconds (RFC 9111 §1.2.2: digits only), one too large to
/// hold read as 2^31 as the RFC asks (`Retry-After:
/// 99999999999999999999` had been no wait at all, `max-age` of as many
/// digits no hint).
fn delta_seconds(s: &str) -> Option<u64> {
    const MOST: u64 = 1 << 31;
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u64>().map_or(MOST, |n| n.min(MOST)))
}

/// The response's Last-Modified (`value`, as read and bounded), unless it says a time after the response's
/// own `Date` (or now), a minute of skew allowed: a date in the future (a
/// CMS's clock, once) sent back as If-Modified-Since made servers answer 304
/// for good, and the feed's new items were never fetched (RFC 9110 §8.8.2.1:
/// an origin sends no Last-Modified later than its Date). A value that reads
/// as no date is kept as it is.
pub fn last_modified(h: &HeaderMap, value: Option<String>) -> Option<String> {
    let s = value?;
    let now = h
        .get(header::DATE)
        .and_then(http_date)
        .unwrap_or_else(chrono::Utc::now)
        .max(chrono::Utc::now());
    match parse_http_date(&s) {
        Some(t) if t > now.timestamp() + 60 => None,
        _ => Some(s),
    }
}

/// Retry-After in seconds or as an HTTP date.
pub fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(header::RETRY_AFTER)?;
    let s = v.to_str().ok()?.trim();
    if let Some(secs) = delta_seconds(s) {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    // Against the server's own clock (its `Date`), as Expires is: a server
    // whose clock is an hour behind asked for ten minutes, and it read as a
    // date past.
    let now = h
        .get(header::DATE)
        .and_then(http_date)
        .unwrap_or_else(chrono::Utc::now);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn http_date(v: &HeaderValue) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(parse_http_date(v.to_str().ok()?)?, 0)
}

/// An HTTP date in any of the three forms a recipient must read (RFC 9110
/// §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37
/// GMT`, `Sun Nov  6 08:49:37 1994`; Unix seconds. (Retry-After and Expires
/// from feed servers, If-Modified-Since from readers of the outputs.)
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc2822(s) {
        return Some(t.timestamp());
    }
    // (Written with `UTC` for `GMT`, or in ISO 8601, as some servers do: a
    // Retry-After so written was ignored, and the server asked again.)
    if let Some(gmt) = s.strip_suffix(" UTC") {
        return parse_http_date(&format!("{gmt} GMT"));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let naive = |fmt: &str| chrono::NaiveDateTime::parse_from_str(s, fmt).ok();
    naive("%A, %d-%b-%y %H:%M:%S GMT")
        .or_else(|| naive("%a %b %e %H:%M:%S %Y"))
        .map(|t| t.and_utc().timestamp())
        // (A date whose weekday is wrong, as a CMS whose clock ran ahead
        // writes it, `Sun, 08 Dec 2026` for a Tuesday: servers compare dates
        // and ignore the weekday. Read as no date, a Last-Modified in the
        // future was kept as an opaque value, sent back, and answered 304
        // for good.) Feeds' lenient reader ignores day names. Only for a
        // date naming its month or weekday in English, or in ISO 8601: it
        // reads `3600` as the year 3600 and `12/08/2026 GMT` as a date of
        // either order, and an `Expires: 3600` (meant as max-age; invalid,
        // so already expired, RFC 9111 §5.3) put a feed off for a day.
        .or_else(|| {
            names_a_month_or_iso(s)
                .then(|| crate::parse::dates::parse(s).map(|t| t.timestamp()))
                .flatten()
        })
}

/// Whether `s` names a month or a weekday in English (`Dec`, `Sunday`), or
/// is an ISO 8601 date and time (`2026-12-08T10:00:00`): what an HTTP date
/// the lenient reader may read holds.
fn names_a_month_or_iso(s: &str) -> bool {
    const NAMES: [&str; 19] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "mon",
        "tue", "wed", "thu", "fri", "sat", "sun",
    ];
    let b = s.as_bytes();
    let iso = (1..b.len().saturating_sub(1)).any(|i| {
        b[i].eq_ignore_ascii_case(&b'T') && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit()
    });
    iso || s
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| w.len() >= 3 && NAMES.iter().any(|n| w[..3].eq_ignore_ascii_case(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_last_modified_in_the_future_is_not_kept() {
        let h = headers(&[
            ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("last-modified", "Fri, 01 Jan 2100 00:00:00 GMT"),
        ]);
        let lm = |h: &HeaderMap| {
            let v = h
                .get("last-modified")
                .map(|v| v.to_str().unwrap().to_string());
            last_modified(h, v)
        };
        assert_eq!(lm(&h), None);
        let h = headers(&[("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(lm(&h).as_deref(), Some("Wed, 21 Oct 2015 07:28:00 GMT"));
        let h = headers(&[("last-modified", "opaque-v7")]);
        assert_eq!(lm(&h).as_deref(), Some("opaque-v7"));
        // In the future, with a wrong weekday (1 Jan 2100 is a Friday).
        let h = headers(&[
            ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("last-modified", "Sun, 01 Jan 2100 00:00:00 GMT"),
        ]);
        assert_eq!(lm(&h), None);
        // Dates written with UTC, or in ISO 8601.
        assert_eq!(
            parse_http_date("Sun, 06 Dec 2026 07:55:12 UTC"),
            parse_http_date("Sun, 06 Dec 2026 07:55:12 GMT")
        );
        assert_eq!(
            parse_http_date("2026-12-06T07:55:12Z"),
            parse_http_date("Sun, 06 Dec 2026 07:55:12 GMT")
        );
    }

    /// An `Expires` that is no HTTP date (a count of seconds, a year, a
    /// numeric date) is already expired: no hint (it put a feed off for a
    /// day, read as the year 3600; found by a black-box round of schedules).
    #[test]
    fn an_expires_that_is_no_date_gives_no_hint() {
        for bad in [
            "3600",
            "2027",
            "0",
            "12/08/2026 10:00",
            "2026-12-08 10:00",
            "12/08/2026 10:00 GMT",
            "3600 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
            let h = headers(&[("expires", bad)]);
            assert_eq!(cache_hints(&h).fresh_for, None, "{bad}");
        }
        // A wrong weekday is still read (the lenient reader), and ISO 8601
        // without a zone (found by the re-attack: no longer read).
        assert!(parse_http_date("Sun, 10 Dec 2026 07:55:12 GMT").is_some());
        assert_eq!(
            parse_http_date("2026-12-08T01:00:00"),
            parse_http_date("Tue, 08 Dec 2026 01:00:00 GMT")
        );
    }

    #[test]
    fn charset_parameter() {
        let h = headers(&[("content-type", "text/xml; Charset=\"windows-1251\"")]);
        assert_eq!(charset(&h).as_deref(), Some("windows-1251"));
        assert_eq!(charset(&headers(&[("content-type", "text/xml")])), None);
    }

    #[test]
    fn cache_control_and_expires() {
        let h = headers(&[("cache-control", "public, max-age=600")]);
        assert_eq!(cache_hints(&h).fresh_for, Some(Duration::from_secs(600)));
        let h = headers(&[
            ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("expires", "Wed, 21 Oct 2015 08:28:00 GMT"),
        ]);
        assert_eq!(cache_hints(&h).fresh_for, Some(Duration::from_secs(3600)));
        assert_eq!(cache_hints(&HeaderMap::new()).fresh_for, None);
        // A cache in between spent 3500 s of an hour: 100 s are left.
        let h = headers(&[("cache-control", "max-age=3600"), ("age", "3500")]);
        assert_eq!(cache_hints(&h).fresh_for, Some(Duration::from_secs(100)));
        let h = headers(&[("cache-control", "max-age=60"), ("age", "3500")]);
        assert_eq!(cache_hints(&h).fresh_for, Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_forms() {
        let h = headers(&[("retry-after", "120")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        // A date is read against the server's `Date`: its clock may be off.
        let h = headers(&[
            ("retry-after", "Wed, 21 Oct 2015 07:38:00 GMT"),
            ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(600)));
        // Past what a u64 holds, or beyond 2^31: 2^31 seconds; a fraction
        // or a sign is no count of seconds.
        let most = Some(Duration::from_secs(1 << 31));
        for huge in [
            "18446744073709551616",
            "99999999999999999999",
            "18446744073709551615",
        ] {
            assert_eq!(
                retry_after(&headers(&[("retry-after", huge)])),
                most,
                "{huge}"
            );
        }
        assert_eq!(retry_after(&headers(&[("retry-after", "120.5")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "+5")])), None);
        let h = headers(&[("cache-control", "max-age=999999999999999999999")]);
        assert_eq!(cache_hints(&h).fresh_for, most);
        let h = headers(&[
            ("cache-control", "max-age=3600"),
            ("age", "99999999999999999999"),
        ]);
        assert_eq!(cache_hints(&h).fresh_for, Some(Duration::ZERO));
        // A date in the future, in each of the three forms (RFC 9110 5.6.7).
        let at = chrono::Utc::now() + chrono::Duration::days(2 * 366);
        for form in [
            "%a, %d %b %Y %H:%M:%S GMT",
            "%A, %d-%b-%y %H:%M:%S GMT",
            "%a %b %e %H:%M:%S %Y",
        ] {
            let date = at.format(form).to_string();
            let wait = retry_after(&headers(&[("retry-after", &date)]));
            assert!(
                wait.is_some_and(|w| w > Duration::from_secs(365 * 86_400)),
                "{date}: {wait:?}"
            );
        }
    }
}
