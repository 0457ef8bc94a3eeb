//! Raw bytes + an HTTP charset → `parse::to_parser_bytes`: never panics, and what
//! the XML parser gets is always UTF-8, whatever the bytes and labels claim, with
//! no XML declaration left for quick-xml to switch decoders at.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Charsets a server might name (the first input byte picks one).
const CHARSETS: &[Option<&str>] = &[
    None,
    Some("utf-8"),
    Some("UTF-16"),
    Some("utf-16le"),
    Some("utf-16be"),
    Some("windows-1251"),
    Some("iso-8859-1"),
    Some("EUC-KR"),
    Some("shift_jis"),
    Some("gb18030"),
    Some("koi8-r"),
    Some("x-user-defined"),
    Some("replacement"),
    Some("no-such-charset"),
    Some(""),
    Some(" \"utf-8\" "),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let charset = CHARSETS[usize::from(pick) % CHARSETS.len()];
    let out = feedloom::parse::to_parser_bytes(body, charset);
    if let Err(e) = std::str::from_utf8(&out) {
        panic!("parser bytes are not UTF-8 ({e}) for charset {charset:?}");
    }
    let mut reader = quick_xml::Reader::from_reader(out.as_ref());
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Decl(d)) => panic!(
                "an XML declaration is left at byte {}: {d:?}",
                reader.buffer_position()
            ),
            Ok(quick_xml::events::Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
});
