//! Atom 1.0 (RFC 4287). Each entry names its origin in `<source>`. The feed links
//! to itself (`rel="self"`) and to its home page (`rel="alternate"`: the output's
//! `link`, else its river page); its `updated` is when the output last changed.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::{FeedInfo, Prepared, display_title, rfc3339, text, xml_document, xml_safe};
use crate::config::Format;

pub const NS: &str = "http://www.w3.org/2005/Atom";

pub fn render(info: &FeedInfo, stories: &[Prepared]) -> Vec<u8> {
    xml_document(|w| write(w, info, stories))
}

fn link(w: &mut Writer<Vec<u8>>, rel: &str, href: &str) -> io::Result<()> {
    w.create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("href", xml_safe(href).as_ref()))
        .write_empty()?;
    Ok(())
}

fn typed_link(w: &mut Writer<Vec<u8>>, rel: &str, kind: &str, href: &str) -> io::Result<()> {
    w.create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("type", kind))
        .with_attribute(("href", xml_safe(href).as_ref()))
        .write_empty()?;
    Ok(())
}

fn write(w: &mut Writer<Vec<u8>>, info: &FeedInfo, stories: &[Prepared]) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.create_element("feed")
        .with_attribute(("xmlns", NS))
        .write_inner_content(|w| {
            text(w, "id", &format!("urn:feedloom:output:{}", info.name))?;
            text(w, "title", &info.title)?;
            text(w, "updated", &rfc3339(info.updated))?;
            typed_link(w, "alternate", "text/html", &info.home_url())?;
            typed_link(
                w,
                "self",
                "application/atom+xml",
                &info.self_url(Format::Atom),
            )?;
            w.create_element("author")
                .write_inner_content(|w| text(w, "name", "feedloom"))?;
            w.create_element("generator")
                .with_attribute(("uri", env!("CARGO_PKG_REPOSITORY")))
                .with_attribute(("version", env!("CARGO_PKG_VERSION")))
                .write_text_content(BytesText::new("feedloom"))?;
            for p in stories {
                entry(w, p)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn entry(w: &mut Writer<Vec<u8>>, p: &Prepared) -> io::Result<()> {
    let s = &p.story;
    w.create_element("entry").write_inner_content(|w| {
        text(w, "id", &s.uid)?;
        w.create_element("title")
            .with_attribute(("type", "text"))
            .write_text_content(BytesText::new(&xml_safe(&display_title(p))))?;
        if let Some(l) = &s.link {
            link(w, "alternate", l)?;
        }
        // Every other feed carrying the story: its link there, titled by the feed.
        for other in &s.also {
            let href = other
                .link
                .as_deref()
                .or(Some(other.feed_url.as_str()).filter(|u| !u.is_empty()))
                .or(other.site_url.as_deref());
            let Some(href) = href else { continue };
            let title = other.name();
            w.create_element("link")
                .with_attribute(("rel", "via"))
                .with_attribute(("href", xml_safe(href).as_ref()))
                .with_attribute(("title", xml_safe(&title).as_ref()))
                .write_empty()?;
        }
        for e in &s.enclosures {
            let mut el = w
                .create_element("link")
                .with_attribute(("rel", "enclosure"))
                .with_attribute(("href", e.url.as_str()));
            if let Some(t) = &e.media_type {
                el = el.with_attribute(("type", t.as_str()));
            }
            if let Some(n) = e.length {
                el = el.with_attribute(("length", n.to_string().as_str()));
            }
            el.write_empty()?;
        }
        text(w, "published", &rfc3339(p.published()))?;
        text(w, "updated", &rfc3339(p.updated()))?;
        if let Some(a) = &s.author {
            w.create_element("author")
                .write_inner_content(|w| text(w, "name", a))?;
        }
        if let Some(h) = &p.html {
            w.create_element("content")
                .with_attribute(("type", "html"))
                .write_text_content(BytesText::new(&xml_safe(h)))?;
        } else if s.link.is_none() {
            // RFC 4287 4.1.2: an entry without content needs an alternate link.
            w.create_element("content")
                .with_attribute(("type", "text"))
                .write_empty()?;
        }
        // The feed's own summary beside its content (the river page's lead).
        if let Some(h) = p.summary.as_deref().filter(|h| !h.trim().is_empty()) {
            w.create_element("summary")
                .with_attribute(("type", "html"))
                .write_text_content(BytesText::new(&xml_safe(h)))?;
        }
        w.create_element("source").write_inner_content(|w| {
            // (No URL: a `file:` feed, or one whose query holds a secret.)
            let url = Some(s.source.feed_url.as_str()).filter(|u| !u.is_empty());
            if let Some(url) = url {
                text(w, "id", url)?;
            }
            if let Some(t) = &s.source.title {
                text(w, "title", t)?;
            }
            if let Some(url) = url {
                link(w, "self", url)?;
            }
            if let Some(site) = &s.source.site_url {
                link(w, "alternate", site)?;
            }
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}
