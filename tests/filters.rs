//! Include / exclude rules of feeds and outputs and `min_sources`: applied when
//! outputs are rendered (excluded items stay stored, so a changed rule re-shapes
//! the outputs without a fetch), found past the first chunk of candidates, and
//! bad rules are config errors at their line.

mod common;

use std::process::Command;

use common::*;
use feedloom::config::{self, Config, Format};
use feedloom::export;
use feedloom::refresh::poll;
use serde_json::Value;

fn titles(env: &TestEnv, cfg: &Config, output: &str) -> Vec<String> {
    let out = cfg.outputs.iter().find(|o| o.name() == output).unwrap();
    let bytes = env
        .open_store()
        .with(|s| export::render_output(s, out, Format::Json, feedloom::now_unix(), None))
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_string())
        .collect()
}

fn config_at(env: &TestEnv, body: &str) -> Config {
    env.config(&format!("[fetch]\nhost_gap = \"0s\"\n\n{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_shape_outputs_at_render_time_and_items_stay_stored() {
    let srv = FeedServer::start().await;
    srv.set(
        "/tech.xml",
        Resource::feed(rss(
            "Tech",
            &[
                (
                    Some("t1"),
                    Some("https://t.example/1"),
                    "Rust 2.0 released",
                    "A new edition.",
                ),
                (
                    Some("t2"),
                    Some("https://t.example/2"),
                    "Sponsored: buy this laptop",
                    "Ad.",
                ),
                (
                    Some("t3"),
                    Some("https://t.example/ads/3"),
                    "A quiet week",
                    "Nothing about rust here, mostly trusty tools.",
                ),
                (
                    Some("t4"),
                    Some("https://t.example/4"),
                    "Trusty old tools",
                    "Hammers.",
                ),
            ],
        )),
    );
    srv.set(
        "/sport.xml",
        Resource::feed(rss(
            "Sport",
            &[
                (
                    Some("s1"),
                    Some("https://s.example/1"),
                    "Cup final tonight",
                    "Kick-off at eight.",
                ),
                (
                    Some("s2"),
                    Some("https://s.example/2"),
                    "Sponsored: new boots",
                    "Ad.",
                ),
            ],
        )),
    );
    let env = TestEnv::new();
    let feeds = |tech_rules: &str| {
        format!(
            "[[feed]]\nurl = \"{}\"\ntags = [\"tech\"]\n{tech_rules}\n\n[[feed]]\nurl = \"{}\"\ntags = [\"sport\"]\n\n",
            srv.url("/tech.xml"),
            srv.url("/sport.xml")
        )
    };
    let outputs = "[[output]]\nname = \"all\"\n\n\
                   [[output]]\nname = \"rust\"\ninclude = [\"rust\"]\n\n\
                   [[output]]\nname = \"no-ads\"\nexclude = [\"title:/^Sponsored:/\", \"link:/\\\\/ads\\\\//\"]\n\n\
                   [[output]]\nname = \"not-sport\"\nexclude = [\"tags:sport\"]\n\n\
                   [[output]]\nname = \"items\"\ndedup = \"item\"\ninclude = [\"content:ad\"]\n";
    let cfg = config_at(&env, &format!("{}{outputs}", feeds("")));
    poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(titles(&env, &cfg, "all").len(), 6);
    // Whole words, title or text: "trusty" is not "rust".
    let mut rust = titles(&env, &cfg, "rust");
    rust.sort();
    assert_eq!(rust, ["A quiet week", "Rust 2.0 released"]);
    // A regex on the title, and one on the link.
    let no_ads = titles(&env, &cfg, "no-ads");
    assert_eq!(no_ads.len(), 3, "{no_ads:?}");
    assert!(
        no_ads
            .iter()
            .all(|t| !t.starts_with("Sponsored") && t != "A quiet week")
    );
    // The feed's tags.
    assert!(
        titles(&env, &cfg, "not-sport")
            .iter()
            .all(|t| !t.contains("boots") && !t.contains("Cup"))
    );
    assert_eq!(
        titles(&env, &cfg, "items").len(),
        2,
        "the two ads, as items"
    );

    // A per-feed rule hides that feed's items from every output; nothing is
    // refetched, nothing deleted.
    srv.clear_seen();
    let cfg = config_at(
        &env,
        &format!(
            "{}{outputs}",
            feeds("exclude = [\"sponsored\"]\ninclude = [\"title:/(?i)rust|tools|week/\"]")
        ),
    );
    let all = titles(&env, &cfg, "all");
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(
        !all.iter().any(|t| t == "Sponsored: buy this laptop"),
        "{all:?}"
    );
    assert!(
        all.iter().any(|t| t == "Sponsored: new boots"),
        "other feeds keep theirs: {all:?}"
    );
    assert!(srv.seen().is_empty(), "no fetch needed");
    assert_eq!(
        env.count("SELECT count(*) FROM items"),
        6,
        "excluded items stay stored"
    );
    // And back: the rule removed, the story is there again.
    let cfg = config_at(&env, &format!("{}{outputs}", feeds("")));
    assert_eq!(titles(&env, &cfg, "all").len(), 6);
}

/// With `max_items = 5` and only one story in 60 passing, the output reads past
/// its first chunks (keyset pages) and still fills up; `min_sources` counts feeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rare_matches_fill_the_output_and_min_sources_counts_feeds() {
    let srv = FeedServer::start().await;
    let many: Vec<(String, String, String)> = (0..600)
        .map(|i| {
            let title = if i % 60 == 0 {
                format!("Rare gem {i}")
            } else {
                format!("Common story {i}")
            };
            (format!("g{i}"), format!("https://m.example/{i}"), title)
        })
        .collect();
    let items: Vec<(Option<&str>, Option<&str>, &str, &str)> = many
        .iter()
        .map(|(g, l, t)| (Some(g.as_str()), Some(l.as_str()), t.as_str(), "<p>x</p>"))
        .collect();
    srv.set("/many.xml", Resource::feed(rss("Many", &items)));
    // A second feed carries two of the stories (same links).
    srv.set(
        "/echo.xml",
        Resource::feed(rss(
            "Echo",
            &[
                (
                    Some("e1"),
                    Some("https://m.example/7"),
                    "Common story 7",
                    "<p>x</p>",
                ),
                (
                    Some("e2"),
                    Some("https://m.example/120"),
                    "Rare gem 120",
                    "<p>x</p>",
                ),
            ],
        )),
    );
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\nmax_entries = 1000\n\n{}\
             [[output]]\nname = \"gems\"\nmax_items = 5\ninclude = [\"gem\"]\n\n\
             [[output]]\nname = \"shared\"\nmin_sources = 2\n\n\
             [[output]]\nname = \"shared-items\"\nmin_sources = 2\ndedup = \"item\"\n",
        feeds_toml(&[srv.url("/many.xml"), srv.url("/echo.xml")])
    ));
    poll(&cfg, env.open_store()).await.unwrap();
    let gems = titles(&env, &cfg, "gems");
    assert_eq!(gems.len(), 5, "{gems:?}");
    assert!(gems.iter().all(|t| t.starts_with("Rare gem")), "{gems:?}");
    let mut shared = titles(&env, &cfg, "shared");
    shared.sort();
    assert_eq!(shared, ["Common story 7", "Rare gem 120"]);
    assert_eq!(
        titles(&env, &cfg, "shared-items").len(),
        4,
        "both items of each"
    );
    // Echo leaves the config: its items stay in the store, but no story is
    // carried by two configured feeds any more.
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\nmax_entries = 1000\n\n{}\
             [[output]]\nname = \"shared\"\nmin_sources = 2\n\n\
             [[output]]\nname = \"shared-items\"\nmin_sources = 2\ndedup = \"item\"\n",
        feeds_toml(&[srv.url("/many.xml")])
    ));
    poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE in_config = 0"),
        1
    );
    assert_eq!(titles(&env, &cfg, "shared"), Vec::<String>::new());
    assert_eq!(titles(&env, &cfg, "shared-items"), Vec::<String>::new());
}

#[test]
fn bad_rules_are_config_errors_at_their_line() {
    let env = TestEnv::new();
    let p = env.path("feedloom.toml");
    for (body, line, says) in [
        (
            "[[feed]]\nurl = \"https://a.example/f\"\nexclude = [\n  \"ok\",\n  \"title:/(unclosed/\",\n]\n",
            5,
            "feed `https://a.example/f`: `exclude` rule \"title:/(unclosed/\": invalid regular expression",
        ),
        (
            "[[output]]\nname = \"x\"\ninclude = [\"content:\"]\n",
            3,
            "output `x`: `include` rule \"content:\": rule \"content:\" has no words",
        ),
        (
            "[[output]]\nname = \"x\"\ninclude = \"rust\"\n",
            3,
            "invalid type",
        ),
        (
            "[store]\nkeep = \"10m\"\n",
            2,
            "[store] keep must be at least 2d",
        ),
        (
            "[store]\nkeep = \"36h\"\n",
            2,
            "[store] keep must be at least 2d (items still in their feeds are refreshed up to a day late",
        ),
        (
            "[store]\nkeep_fetch_log = \"10m\"\n",
            2,
            "[store] keep_fetch_log must be at least 1h",
        ),
    ] {
        std::fs::write(&p, body).unwrap();
        let err = config::load(&p).unwrap_err().to_string();
        assert!(err.contains(&format!("feedloom.toml:{line}:")), "{err}");
        assert!(err.contains(says), "{err}");
        let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&p)
            .arg("check")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
}

/// An output of one tag's feeds (or of stories with two sources) shows a
/// story when it comes into the output: a story feed A had carried for a
/// while, published by feed B (tag `b`) after four stories of its own, is
/// the newest of output `b`, and a story whose second source arrives last is
/// the newest of `min_sources = 2`. By the story's first-seen time it stood
/// below them, past `max_items`, and never reached their subscribers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_comes_into_a_tagged_or_shared_output_when_its_item_arrives() {
    let srv = FeedServer::start().await;
    let item = |g: &str, link: &str, title: &str| {
        (
            g.to_string(),
            format!("https://n.example/{link}"),
            title.to_string(),
        )
    };
    let doc = |items: &[(String, String, String)]| {
        let v: Vec<(Option<&str>, Option<&str>, &str, &str)> = items
            .iter()
            .map(|(g, l, t)| (Some(g.as_str()), Some(l.as_str()), t.as_str(), "<p>x</p>"))
            .collect();
        Resource::feed(rss("F", &v)).no_etag()
    };
    let x = item("a-x", "x", "Story X");
    let y = item("a-y", "y", "Story Y");
    srv.set("/a.xml", doc(&[x.clone(), y.clone()]));
    srv.set("/b.xml", doc(&[]));
    let env = TestEnv::new();
    let body = format!(
        "[[feed]]\nurl = \"{}\"\ntags = [\"a\"]\n\n[[feed]]\nurl = \"{}\"\ntags = [\"b\"]\n\n\
         [[output]]\nname = \"b\"\ntags = [\"b\"]\nmax_items = 3\n\n\
         [[output]]\nname = \"shared\"\nmin_sources = 2\nmax_items = 1\n\n\
         [[output]]\nname = \"shared-b\"\ntags = [\"b\"]\nmin_sources = 2\nmax_items = 1\n",
        srv.url("/a.xml"),
        srv.url("/b.xml")
    );
    let cfg = config_at(&env, &body);
    poll(&cfg, env.open_store()).await.unwrap();
    // B publishes four stories of its own; A and B then both carry Z.
    let own: Vec<_> = (1..=4)
        .map(|i| item(&format!("b{i}"), &format!("b{i}"), &format!("B story {i}")))
        .collect();
    srv.set("/b.xml", doc(&own));
    poll(&cfg, env.open_store()).await.unwrap();
    let z = item("z", "z", "Story Z");
    srv.set("/a.xml", doc(&[x.clone(), y.clone(), z.clone()]));
    let mut with_z = own.clone();
    with_z.push(item("b-z", "z", "Story Z"));
    srv.set("/b.xml", doc(&with_z));
    poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(titles(&env, &cfg, "shared"), ["Story Z"]);
    // Then B carries X too: the newest of `b` and of `shared`.
    let mut with_x = with_z.clone();
    with_x.push(item("b-x", "x", "Story X"));
    srv.set("/b.xml", doc(&with_x));
    poll(&cfg, env.open_store()).await.unwrap();
    // (A document lists its newest first: B story 1.)
    assert_eq!(titles(&env, &cfg, "b"), ["Story X", "Story Z", "B story 1"]);
    assert_eq!(titles(&env, &cfg, "shared"), ["Story X"]);
    assert_eq!(titles(&env, &cfg, "shared-b"), ["Story X"]);
    // Every story once, paging on from the first page.
    let out = cfg.outputs.iter().find(|o| o.name() == "b").unwrap();
    let mut q = export::query_for(out, feedloom::now_unix(), Some(2));
    let mut seen = Vec::new();
    loop {
        let page = env
            .open_store()
            .with(|s| export::select_stories(s, &q, &out.selection))
            .unwrap();
        if page.is_empty() {
            break;
        }
        q.before = page
            .last()
            .map(|s| feedloom::store::queries::Cursor::after(s, out.updates));
        seen.extend(page.into_iter().map(|s| s.title.unwrap_or_default()));
    }
    assert_eq!(
        seen,
        [
            "Story X",
            "Story Z",
            "B story 1",
            "B story 2",
            "B story 3",
            "B story 4"
        ]
    );
}

/// A feed's rule hides its own copy of a story, never the story another feed
/// carries: the story is shown by the other feed's item (whichever copy came
/// first), the hidden copy is not one of its sources, and `min_sources`
/// does not count it. Before, a story whose first copy a feed hid was in no
/// output, and one whose first copy passed listed the hidden feed as a source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feeds_rule_hides_its_copy_not_another_feeds_story() {
    for hidden_first in [true, false] {
        let srv = FeedServer::start().await;
        let a = Resource::feed(rss(
            "Feed A",
            &[(
                Some("a1"),
                Some("https://n.example/volcano"),
                "Volcano erupts near airport",
                "<p>Flights are cancelled.</p>",
            )],
        ))
        .no_etag();
        let b = Resource::feed(rss(
            "Feed B",
            &[
                (
                    Some("b1"),
                    Some("https://n.example/volcano"),
                    "SPONSORED: Volcano erupts near airport",
                    "<p>Book a trip.</p>",
                ),
                (
                    Some("b2"),
                    Some("https://n.example/cruise"),
                    "SPONSORED: Cruise deals",
                    "<p>Sail away.</p>",
                ),
            ],
        )
        // (Its files are its own: not the story's either.)
        .replace(
            "</item>",
            "<enclosure url=\"https://cdn.example/ad.mp3\" type=\"audio/mpeg\" length=\"9\"/></item>",
        ))
        .no_etag();
        let empty = Resource::feed(rss("Empty", &[])).no_etag();
        let (first, second) = if hidden_first {
            ("/b.xml", "/a.xml")
        } else {
            ("/a.xml", "/b.xml")
        };
        srv.set(first, if hidden_first { b.clone() } else { a.clone() });
        srv.set(second, empty);
        let env = TestEnv::new();
        let body = format!(
            "[[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\nexclude = [\"sponsored\"]\n\n\
             [[output]]\nname = \"all\"\n\n[[output]]\nname = \"shared\"\nmin_sources = 2\n",
            srv.url("/a.xml"),
            srv.url("/b.xml")
        );
        let cfg = config_at(&env, &body);
        poll(&cfg, env.open_store()).await.unwrap();
        srv.set(second, if hidden_first { a } else { b });
        poll(&cfg, env.open_store()).await.unwrap();
        assert_eq!(
            titles(&env, &cfg, "all"),
            ["Volcano erupts near airport"],
            "hidden copy first: {hidden_first}"
        );
        let out = cfg.outputs.iter().find(|o| o.name() == "all").unwrap();
        let bytes = env
            .open_store()
            .with(|s| export::render_output(s, out, Format::Json, feedloom::now_unix(), None))
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let sources = v["items"][0]["_feedloom"]["sources"].as_array().unwrap();
        assert_eq!(
            sources.len(),
            1,
            "hidden copy first: {hidden_first}: {sources:?}"
        );
        assert!(
            v["items"][0].get("attachments").is_none(),
            "hidden copy first: {hidden_first}: {}",
            v["items"][0]
        );
        assert!(sources[0].to_string().contains("Feed A"), "{sources:?}");
        assert_eq!(
            titles(&env, &cfg, "shared"),
            Vec::<String>::new(),
            "hidden copy first: {hidden_first}"
        );
    }
}
