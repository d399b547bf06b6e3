//! The segmenter on every sentence of the seed article (read from ../shared/seeds; the text is
//! third-party and is not copied here: the table holds offsets and first words only).

mod common;

use rhetor::ingest::parse_text_article;
use rhetor::segment::segment_article;

/// (start, end, first two words) of each sentence, char offsets into the body.
const EXPECTED: &[(usize, usize, &str)] = &[
    (0, 173, "North Korean"),
    (174, 269, "Trump's return"),
    (270, 360, "During his"),
    (361, 538, "Many analysts,"),
    (539, 661, "North Korea's"),
    (663, 851, "During a"),
    (852, 971, "Kim said"),
    (972, 1132, "According to"),
    (1133, 1329, "The agency"),
    (1331, 1504, "The previous"),
    (1505, 1556, "Trump once"),
    (1557, 1631, "But their"),
    (1632, 1787, "North Korea"),
    (1788, 2009, "The US"),
];

#[test]
fn seed_article_splits_into_its_fourteen_sentences() {
    let path = common::seed();
    let text = std::fs::read_to_string(&path).unwrap();
    let article = parse_text_article("seed", &text).unwrap();
    let got: Vec<(usize, usize, String)> = segment_article(&article)
        .into_iter()
        .map(|s| {
            let two: Vec<&str> = s.text.split_whitespace().take(2).collect();
            (s.start, s.end, two.join(" "))
        })
        .collect();
    let want: Vec<(usize, usize, String)> = EXPECTED
        .iter()
        .map(|(s, e, w)| (*s, *e, w.to_string()))
        .collect();
    assert_eq!(got, want);
}
