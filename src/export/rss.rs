//! RSS 2.0. Each item names its origin in `<source url="…">`; authors go in
//! `dc:creator` because RSS's own `<author>` wants an e-mail address. The channel's
//! `<link>` is the output's home page (its `link`, else its river page), its
//! `atom:link rel="self"` its own URL, and `lastBuildDate` when it last changed.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::clean::escape_markup;
use super::{
    FeedInfo, OCTET_STREAM, Prepared, display_title, rfc822, text, xml_document, xml_safe,
};
use crate::config::Format;

pub fn render(info: &FeedInfo, stories: &[Prepared]) -> Vec<u8> {
    xml_document(|w| write(w, info, stories))
}

fn write(w: &mut Writer<Vec<u8>>, info: &FeedInfo, stories: &[Prepared]) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.create_element("rss")
        .with_attribute(("version", "2.0"))
        .with_attribute(("xmlns:atom", super::atom::NS))
        .with_attribute(("xmlns:dc", "http://purl.org/dc/elements/1.1/"))
        .write_inner_content(|w| {
            w.create_element("channel").write_inner_content(|w| {
                text(w, "title", &info.title)?;
                text(w, "link", &info.home_url())?;
                text(
                    w,
                    "description",
                    &format!("{} (merged by feedloom)", info.title),
                )?;
                w.create_element("atom:link")
                    .with_attribute(("rel", "self"))
                    .with_attribute(("type", "application/rss+xml"))
                    .with_attribute(("href", xml_safe(&info.self_url(Format::Rss)).as_ref()))
                    .write_empty()?;
                text(w, "generator", crate::DEFAULT_USER_AGENT)?;
                // Optional in RSS: an output that never showed a story has no date.
                if !stories.is_empty() {
                    text(w, "lastBuildDate", &rfc822(info.updated))?;
                }
                for p in stories {
                    item(w, p)?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

fn item(w: &mut Writer<Vec<u8>>, p: &Prepared) -> io::Result<()> {
    let s = &p.story;
    w.create_element("item").write_inner_content(|w| {
        // Many readers take an RSS title for HTML: escape it, so `<b>` shows as text.
        text(w, "title", &escape_markup(&display_title(p)))?;
        if let Some(l) = &s.link {
            text(w, "link", l)?;
        }
        w.create_element("guid")
            .with_attribute(("isPermaLink", "false"))
            .write_text_content(BytesText::new(&s.uid))?;
        text(w, "pubDate", &rfc822(p.published()))?;
        // (A feed's author and title are its words too: escaped as the title.)
        if let Some(a) = &s.author {
            text(w, "dc:creator", &escape_markup(a))?;
        }
        let also = super::also_html(&s.also);
        match (&p.html, also) {
            (Some(h), Some(a)) => text(w, "description", &format!("{h}{a}"))?,
            (Some(h), None) => text(w, "description", h)?,
            (None, Some(a)) => text(w, "description", &a)?,
            (None, None) => {}
        }
        // RSS 2.0 names one enclosure per item (readers differ on more): the
        // first, with the attributes it requires (0 and a generic type when
        // the feed did not say).
        if let Some(e) = s.enclosures.first() {
            w.create_element("enclosure")
                .with_attribute(("url", e.url.as_str()))
                .with_attribute(("length", e.length.unwrap_or(0).to_string().as_str()))
                .with_attribute(("type", e.media_type.as_deref().unwrap_or(OCTET_STREAM)))
                .write_empty()?;
        }
        // (RSS requires the source's URL: none without one.)
        if !s.source.feed_url.is_empty() {
            w.create_element("source")
                .with_attribute(("url", xml_safe(&s.source.feed_url).as_ref()))
                .write_text_content(BytesText::new(&escape_markup(&xml_safe(&s.source.name()))))?;
        }
        Ok(())
    })?;
    Ok(())
}
