//! Scheduling hints a feed document carries (`<ttl>` too, which feed-rs reads only bare):
//! RSS `<skipHours>` and `<skipDays>`, and the syndication module's
//! `sy:updatePeriod` / `sy:updateFrequency`. Pure; reads raw bytes (the element
//! names are ASCII in every encoding feeds use) and skips over items.

use std::time::Duration;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Hints found in a document's channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocHints {
    /// Bit `h` set: do not fetch during hour `h` (0–23, GMT).
    pub skip_hours: u32,
    /// Bit `d` set: do not fetch on day `d` (0 = Monday … 6 = Sunday, GMT).
    pub skip_days: u8,
    /// updatePeriod / updateFrequency: the feed changes at most this often.
    pub update_interval: Option<Duration>,
    /// The channel's `<ttl>` in minutes, read with the whitespace around it
    /// (feed-rs reads only a bare number: a pretty-printed `<ttl>` was lost),
    /// a number too large for minutes read as the largest.
    pub ttl_minutes: Option<u32>,
}

/// Reads the hints from a document; anything malformed is ignored.
pub fn scan(body: &[u8]) -> DocHints {
    let mut hints = DocHints::default();
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut period: Option<u64> = None;
    let mut frequency: u64 = 1;
    let mut skip = Vec::new();
    let mut last_error_at = u64::MAX;
    // Bounded. Items are skipped whole (hints belong to the channel, which may
    // carry them before or after its items).
    for _ in 0..100_000 {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.local_name().into_inner().to_ascii_lowercase();
                if name == "item" || name == "entry" {
                    let qname = e.name().0.to_string();
                    // (An error inside, a bare `&`, is passed over: the
                    // item ends at its end tag all the same.)
                    let mut ended = false;
                    let mut at = reader.buffer_position();
                    while !ended {
                        skip.clear();
                        match reader.read_to_end_into(quick_xml::name::QName(&qname), &mut skip) {
                            Ok(_) => ended = true,
                            Err(_) if reader.buffer_position() > at => {
                                at = reader.buffer_position();
                            }
                            Err(_) => break,
                        }
                    }
                    if !ended {
                        break;
                    }
                    skip.clear();
                    buf.clear();
                    continue;
                }
                if path.len() > 16 {
                    break;
                }
                path.push(name);
            }
            Ok(Event::End(_)) => {
                path.pop();
            }
            // (A value in CDATA, `<ttl><![CDATA[ 300 ]]></ttl>`, is text too.)
            Ok(ev @ (Event::Text(_) | Event::CData(_))) => {
                let text: &str = match &ev {
                    Event::Text(t) => t.as_ref(),
                    Event::CData(c) => c.as_ref(),
                    _ => "",
                };
                let text = text.trim();
                let leaf = path.last().map(String::as_str);
                let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
                match (parent, leaf) {
                    (Some("skiphours"), Some("hour")) => {
                        // RSS says 0–23; some feeds write 24 for midnight.
                        // Other numbers name no hour (25 skipped 1 o'clock).
                        if let Ok(h) = text.parse::<u32>()
                            && h <= 24
                        {
                            hints.skip_hours |= 1 << (h % 24);
                        }
                    }
                    (Some("skipdays"), Some("day")) => {
                        if let Some(d) = weekday(text) {
                            hints.skip_days |= 1 << d;
                        }
                    }
                    (_, Some("updateperiod")) => {
                        period = match text.to_ascii_lowercase().as_str() {
                            "hourly" => Some(3600),
                            "daily" => Some(86_400),
                            "weekly" => Some(7 * 86_400),
                            "monthly" => Some(30 * 86_400),
                            "yearly" => Some(365 * 86_400),
                            _ => period,
                        }
                    }
                    (Some("channel"), Some("ttl")) => {
                        if let Ok(m) = text.parse::<u64>() {
                            hints.ttl_minutes = Some(m.min(u64::from(u32::MAX)) as u32);
                        } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                            hints.ttl_minutes = Some(u32::MAX);
                        }
                    }
                    (_, Some("updatefrequency")) => {
                        if let Ok(f) = text.parse::<u64>() {
                            frequency = f.max(1);
                        }
                    }
                    _ => {}
                }
            }
            Ok(Event::Eof) => break,
            // A bare `&` (`Tom & Jerry`), or the like, is one error: the scan
            // goes on after it (it stopped, and every hint after it was lost
            // without a word), unless the reader cannot move past it.
            Err(_) => {
                let at = reader.buffer_position();
                if at == last_error_at {
                    break;
                }
                last_error_at = at;
            }
            _ => {}
        }
        buf.clear();
    }
    hints.update_interval = period.map(|p| Duration::from_secs(p / frequency));
    // A feed that skips every hour or every day would never be read: ignore it.
    if hints.skip_hours == (1 << 24) - 1 {
        hints.skip_hours = 0;
    }
    if hints.skip_days == 0x7f {
        hints.skip_days = 0;
    }
    hints
}

fn weekday(s: &str) -> Option<u8> {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let s = s.to_ascii_lowercase();
    days.iter().position(|d| *d == s).map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare `&` before the hints (in the channel's title, or in an item
    /// when the hints come after the items) does not lose them; an hour
    /// past 24 names none.
    #[test]
    fn hints_survive_a_bare_ampersand_and_odd_hours_are_ignored() {
        for (title, item) in [("Tom & Jerry", "x"), ("AT&T news", "x"), ("t", "R&D")] {
            let doc = format!(
                "<rss version=\"2.0\" xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"><channel>\
                 <title>{title}</title><item><title>{item}</title><description>a & b</description></item>\
                 <skipHours><hour>3</hour><hour>25</hour><hour>24</hour></skipHours>\
                 <skipDays><day>Sunday</day></skipDays><sy:updatePeriod>daily</sy:updatePeriod>\
                 </channel></rss>"
            );
            let h = scan(doc.as_bytes());
            assert_eq!(h.skip_hours, (1 << 3) | 1, "{title}/{item}");
            assert_eq!(h.skip_days, 1 << 6, "{title}/{item}");
            assert_eq!(
                h.update_interval,
                Some(Duration::from_secs(86_400)),
                "{title}/{item}"
            );
        }
    }

    #[test]
    fn reads_skip_hours_days_and_sy() {
        let doc = br#"<?xml version="1.0"?>
<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>
<title>t</title><ttl>60</ttl>
<skipHours><hour>0</hour><hour>1</hour><hour>23</hour></skipHours>
<skipDays><day>Saturday</day><day>Sunday</day></skipDays>
<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>
<item><title>x</title><skipHours><hour>5</hour></skipHours></item>
</channel></rss>"#;
        let after_items = br#"<rss version="2.0"><channel><title>t</title>
<item><title>x</title></item><item><title>y</title></item>
<skipHours><hour>7</hour></skipHours><skipDays><day>Monday</day></skipDays>
</channel></rss>"#;
        let h2 = scan(after_items);
        assert_eq!(h2.skip_hours, 1 << 7, "hints after the items count too");
        assert_eq!(h2.skip_days, 1);
        let h = scan(doc);
        assert_eq!(h.skip_hours, (1 << 0) | (1 << 1) | (1 << 23));
        assert_eq!(h.skip_days, (1 << 5) | (1 << 6));
        assert_eq!(h.update_interval, Some(Duration::from_secs(6 * 3600)));
    }

    #[test]
    fn ttl_is_read_with_whitespace_and_huge_is_the_largest() {
        let doc = |ttl: &str| {
            format!(
                "<rss version=\"2.0\"><channel><title>t</title><ttl>{ttl}</ttl><item><ttl>5</ttl></item></channel></rss>"
            )
        };
        assert_eq!(scan(doc(" 120 ").as_bytes()).ttl_minutes, Some(120));
        assert_eq!(
            scan(doc("<![CDATA[ 300 ]]>").as_bytes()).ttl_minutes,
            Some(300)
        );
        assert_eq!(scan(doc("\n\t90\n").as_bytes()).ttl_minutes, Some(90));
        assert_eq!(
            scan(doc("99999999999").as_bytes()).ttl_minutes,
            Some(u32::MAX)
        );
        assert_eq!(
            scan(doc("99999999999999999999999").as_bytes()).ttl_minutes,
            Some(u32::MAX)
        );
        assert_eq!(scan(doc("soon").as_bytes()).ttl_minutes, None);
        assert_eq!(scan(doc("-5").as_bytes()).ttl_minutes, None);
    }

    #[test]
    fn nothing_from_garbage() {
        assert_eq!(scan(b"\xff\xfe garbage <<<"), DocHints::default());
        assert_eq!(
            scan(b"{\"version\": \"https://jsonfeed.org/version/1.1\"}"),
            DocHints::default()
        );
    }
}
