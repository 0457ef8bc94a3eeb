//! Config text → `config::parse`: never panics, and every refusal names the file
//! and says what is wrong.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = feedloom::config::parse(text, Path::new("fuzz/feedloom.toml")) {
        let msg = e.to_string();
        assert!(
            msg.starts_with("fuzz/feedloom.toml"),
            "error does not name the file: {msg}"
        );
        assert!(
            msg.len() > "fuzz/feedloom.toml: ".len(),
            "error says nothing: {msg:?}"
        );
    }
});
