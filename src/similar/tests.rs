use super::*;

fn fp(title: &str, body: &str) -> Fingerprint {
    fingerprint(title, body).unwrap()
}

/// Same story, whichever of the two was stored first.
fn same(a: (&str, &str), b: (&str, &str)) -> bool {
    let (fa, fb) = (fp(a.0, a.1), fp(b.0, b.1));
    let (ta, tb) = (tokens(a.0, a.1), tokens(b.0, b.1));
    let ab = same_story(&fb, &tb, &fa).is_some();
    let ba = same_story(&fa, &ta, &fb).is_some();
    assert_eq!(ab, ba, "order matters for {a:?} / {b:?}");
    ab
}

#[test]
fn stored_form_round_trips() {
    let f = fp(
        "Storm knocks out power to 40,000 homes",
        "<p>A powerful overnight storm brought down trees and power lines along the northern \
         coast, leaving about 40,000 homes in Millbridge without electricity.</p>",
    );
    assert_eq!(Fingerprint::from_bytes(&f.to_bytes()), Some(f.clone()));
    assert_eq!(stored_anchors(&f.to_bytes()).collect::<Vec<_>>(), f.anchors);
    assert_eq!(stored_anchors(&[FORMAT + 1, 0, 0]).count(), 0);
    let mut b = f.to_bytes();
    b[0] = FORMAT + 1;
    assert_eq!(Fingerprint::from_bytes(&b), None);
    assert_eq!(Fingerprint::from_bytes(&f.to_bytes()[..20]), None);
    assert!(fingerprint("Too short", "").is_none());
}

#[test]
fn template_stories_stay_apart() {
    let story = |who: &str, age: u32, town: &str| {
        (
            format!("Police: {who}, {age}, arrested after stabbing in {town}"),
            format!(
                "<p>A {age}-year-old {who} has been arrested on suspicion of attempted \
                 murder after a stabbing in {town} town centre on Saturday night, police \
                 said.</p><p>Officers were called to a street near the bus station \
                 shortly before midnight.</p>"
            ),
        )
    };
    let a = story("man", 34, "Harrowgate");
    let same_a = story("man", 34, "Harrowgate");
    assert!(same((&a.0, &a.1), (&same_a.0, &same_a.1)));
    let b = story("woman", 52, "Easton");
    assert!(!same((&a.0, &a.1), (&b.0, &b.1)));
    let c = story("man", 34, "Millbridge");
    assert!(!same((&a.0, &a.1), (&c.0, &c.1)));
}

#[test]
fn boilerplate_datelines_and_link_lines_do_not_count() {
    let lede = "A powerful overnight storm brought down trees and power lines along the \
                northern coast, leaving about 40,000 homes without electricity. Crews \
                from three provinces were sent to help restore service by Thursday.";
    let title = "Storm knocks out power to 40,000 homes";
    let a = fp(title, lede);
    for b in [
        format!("NORTH BAY, May 2 (Wire) - {lede}"),
        format!("(서울=한빛통신) 김민수 기자 = {lede}"),
        format!("(Budapest) {lede}"),
        format!("新华社北京11月5日电（记者 张三）{lede}"),
        format!("【ワシントン共同】{lede}"),
        format!("MADRID, 5 nov (EFE).- {lede}"),
        format!("BERLIN (dpa). {lede}"),
        format!("Київ, 14 жовтня /Укрінформ/. {lede}"),
        format!("<p>By Dana Whitfield</p><p>WASHINGTON, Nov 5 (Newswire) - {lede}</p>"),
        format!("{lede} Read more on our site."),
        format!("<p>By Staff Reporter | Updated 07:42</p><p>{lede}</p><p>Read more</p>"),
    ] {
        let fb = fp(title, &b);
        assert_eq!(a.bins, fb.bins, "{b}");
        assert!(same((title, lede), (title, &b)), "{b}");
    }
}

#[test]
fn stored_form_is_stable() {
    // Stored in databases: a change here needs a new FORMAT and a migration
    // that recomputes the stored fingerprints.
    let f = fp(
        "Storm knocks out power to 40,000 homes",
        "<p>A powerful overnight storm brought down trees and power lines along the northern \
         coast, leaving about 40,000 homes in Millbridge without electricity.</p><p>Crews \
         from three provinces were sent to help restore service by Thursday.</p>",
    );
    let digest = f.to_bytes().iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    assert_eq!(
        (f.units, f.features, f.anchors.clone(), digest),
        (
            34,
            33,
            vec![3_066_856, 58_878_909],
            12_606_315_755_880_662_896
        ),
        "the stored form changed"
    );
}
