//! `feedloom check`'s warnings: things that load but are probably not what the
//! user meant (a config with no feeds, an output selecting tags no feed has).

use crate::config::Config;

/// Warnings about a valid config, one sentence each.
pub fn warnings(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.feeds.is_empty() {
        out.push(format!(
            "{} has no feeds: nothing will be fetched (add one with `feedloom add URL` \
             or `feedloom import-opml FILE`)",
            cfg.source.display()
        ));
    }
    let carried = |tag: &str| cfg.feeds.iter().any(|f| f.tags.iter().any(|t| t == tag));
    for o in &cfg.outputs {
        let missing: Vec<&str> = o
            .tags
            .iter()
            .map(String::as_str)
            .filter(|t| !carried(t))
            .collect();
        if missing.is_empty() || cfg.feeds.is_empty() {
            continue;
        }
        let list = missing
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if missing.len() == o.tags.len() {
            out.push(format!(
                "output `{}` selects tags {list}, which no feed carries: it will stay empty",
                o.name()
            ));
        } else {
            out.push(format!(
                "output `{}` selects tags {list}, which no feed carries (a typo?)",
                o.name()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        crate::config::parse(text, Path::new("f.toml")).unwrap()
    }

    #[test]
    fn no_feeds_and_uncarried_tags() {
        let w = warnings(&cfg(""));
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("f.toml has no feeds"), "{w:?}");

        let w = warnings(&cfg(
            "[[feed]]\nurl = \"https://a.example/f\"\ntags = [\"rust\"]\n\
             [[output]]\nname = \"go\"\ntags = [\"golang\"]\n\
             [[output]]\nname = \"mixed\"\ntags = [\"rust\", \"rsut\"]\n\
             [[output]]\nname = \"ok\"\ntags = [\"rust\"]\n",
        ));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("output `go`") && w[0].contains("`golang`") && w[0].contains("empty"),
            "{w:?}"
        );
        assert!(
            w[1].contains("output `mixed`") && w[1].contains("`rsut`") && !w[1].contains("`rust`"),
            "{w:?}"
        );
    }
}
