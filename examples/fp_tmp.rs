fn main() {
    let words = "the council voted on Tuesday to approve a budget of 4.5 million euros for \
                 roads schools and parks after a debate that lasted more than six hours and \
                 drew protests from residents of the northern district who said the plan";
    let mut body = String::new();
    for p in 0..6 {
        body.push_str(&format!("<p>Paragraph {p}: {words}. {words}.</p>"));
    }
    let title = "Council approves 4.5 million euro budget after six-hour debate";
    let cjk = "<p>みなと自動車は12日、ブレーキ部品に不具合があるとして、小型車「ルミナ」など3車種計12万4千台のリコールを国土交通省に届け出た。</p><p>同社によると、ブレーキの油圧を制御する部品の一部が劣化し、最悪の場合、制動距離が長くなる恐れがある。これまでに事故の報告はないという。</p><p>対象は2021年5月から23年2月に製造された車両で、全国の販売店で部品を無償交換する。</p>";
    let which = std::env::args().nth(1).unwrap_or_default();
    let b = if which == "cjk" { cjk } else { body.as_str() };
    for _ in 0..300_000 {
        std::hint::black_box(feedloom::similar::fingerprint(
            title,
            std::hint::black_box(b),
        ));
    }
}
