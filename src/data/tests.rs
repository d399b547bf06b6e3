use super::*;

fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, text).unwrap();
    (d, p)
}

fn read(name: &str, text: &str, format: Format) -> Vec<Result<Example, DataError>> {
    let (_d, p) = file(name, text);
    open(&p, format, &Columns::default()).unwrap().collect()
}

fn rows(name: &str, text: &str, format: Format) -> Vec<Example> {
    read(name, text, format)
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn vader_lines_with_crlf_keep_their_ids_and_ratings() {
    let ex = rows(
        "v.txt",
        "1_1\t2.5\tGreat movie!\r\n\n2_1\t-0.2\tMeh.\r\n",
        Format::Auto,
    );
    assert_eq!(ex.len(), 2);
    assert_eq!((ex[0].key.as_str(), ex[0].tone), ("1_1", Some(0.625)));
    assert_eq!(ex[0].label, Label::Positive);
    assert_eq!(ex[1].label, Label::Neutral);
    assert_eq!(ex[1].text, "Meh.");
}

#[test]
fn newsmtsc_sentence_level_groups_every_row_of_a_sentence() {
    let data = concat!(
        "{\"mention\":\"A\",\"from\":0,\"to\":1,\"sentence\":\"A hit B.\",\"polarity\":-1}\n",
        "{\"mention\":\"C\",\"from\":0,\"to\":1,\"sentence\":\"C won.\",\"polarity\":1}\n",
        "{\"mention\":\"B\",\"from\":6,\"to\":7,\"sentence\":\"A hit B.\",\"polarity\":1}\n",
    );
    let ex = rows("n.jsonl", data, Format::Auto);
    assert_eq!(ex.len(), 2);
    assert_eq!(
        (ex[0].text.as_str(), ex[0].key.as_str()),
        ("A hit B.", "line1")
    );
    assert_eq!(
        ex[0].label,
        Label::Neutral,
        "mixed targets average to neutral"
    );
    assert_eq!(
        (ex[1].key.as_str(), ex[1].label),
        ("line2", Label::Positive)
    );
}

#[test]
fn target_rows_keep_span_id_and_untrimmed_text() {
    let data = concat!(
        "{\"sentence\":\" A hit B.\",\"from\":7,\"to\":8,\"polarity\":1,\"id\":\"x\"}\n",
        "{\"text\":\"Kim met Lee.\",\"from\":8,\"to\":11,\"label\":-2}\n",
    );
    let ex = rows("t.jsonl", data, Format::NewsmtscTargets);
    assert_eq!(ex[0].text, " A hit B.");
    assert_eq!((ex[0].span, ex[0].key.as_str()), (Some((7, 8)), "x"));
    assert_eq!(
        (ex[1].key.as_str(), ex[1].label),
        ("line2", Label::Negative)
    );
}

#[test]
fn a_span_outside_its_sentence_is_an_error_naming_the_line() {
    let data = "{\"sentence\":\"ok\",\"from\":0,\"to\":1,\"polarity\":0}\n{\"sentence\":\"A.\",\"from\":1,\"to\":9,\"polarity\":1}\n";
    let r = read("t.jsonl", data, Format::NewsmtscTargets);
    let e = r[1].as_ref().unwrap_err().to_string();
    assert!(e.contains(":2:") && e.contains("does not fit"), "{e}");
}

#[test]
fn csv_fields_may_be_quoted_and_span_lines() {
    let data = "id,text,label\n1,\"Hello, \"\"world\"\"\nagain\",positive\n2,Bad,-0.8\n";
    let ex = rows("c.csv", data, Format::Auto);
    assert_eq!(ex[0].text, "Hello, \"world\"\nagain");
    assert_eq!(ex[0].label, Label::Positive);
    assert_eq!((ex[1].tone, ex[1].key.as_str()), (Some(-0.8), "line4"));
}

#[test]
fn a_missing_column_names_the_header() {
    let (_d, p) = file("c.csv", "a,b\n1,2\n");
    let e = open(&p, Format::Auto, &Columns::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no column \"text\""), "{e}");
}

#[test]
fn sst2_label_0_is_negative_and_other_labels_are_errors() {
    let r = read(
        "s.tsv",
        "sentence\tlabel\na dull film\t0\na fine film\t1\nodd\t2\n",
        Format::Auto,
    );
    assert_eq!(r[0].as_ref().unwrap().label, Label::Negative);
    assert_eq!(r[1].as_ref().unwrap().label, Label::Positive);
    assert!(r[2].as_ref().unwrap_err().to_string().contains(":4:"));
}

#[test]
fn tsv_with_a_scaled_numeric_label() {
    let (_d, p) = file("s.tsv", "id\ttone\ttext\n1\t-2\tThreat.\n2\t1\tNice.\n");
    let cols = Columns {
        label: "tone".into(),
        scale: 2.0,
        ..Columns::default()
    };
    let ex = load(&p, Format::Auto, &cols).unwrap();
    assert_eq!(ex[0].tone, Some(-1.0));
    assert_eq!(ex[1].label, Label::Positive);
}

#[test]
fn jsonl_reads_the_quad_and_rejects_unknown_ones() {
    let data = "{\"text\":\"Talks resumed.\",\"label\":1,\"quad\":\"verbal_cooperation\"}\n{\"text\":\"x\",\"label\":0,\"quad\":\"war\"}\n";
    let r = read("j.jsonl", data, Format::Auto);
    assert_eq!(r[0].as_ref().unwrap().quad, Some(Quad::VerbalCooperation));
    assert!(r[1]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("not a quad class"));
}

#[test]
fn detect_tells_the_formats_apart() {
    let cases = [
        ("x.txt", "1\t0.5\thi", Format::Vader),
        (
            "x.jsonl",
            "{\"sentence\":\"a\",\"polarity\":1}",
            Format::Newsmtsc,
        ),
        ("x.jsonl", "{\"text\":\"a\",\"label\":1}", Format::Jsonl),
        ("x.tsv", "sentence\tlabel", Format::Sst2),
        ("x.tsv", "id\ttext\tlabel", Format::Tsv),
        ("x.csv", "id,text,label", Format::Csv),
    ];
    for (name, first, want) in cases {
        assert_eq!(detect(Path::new(name), first), want, "{name}: {first}");
    }
}

#[test]
fn split_is_deterministic_and_near_the_fraction() {
    let ex: Vec<Example> = (0..2000)
        .map(|i| Example {
            key: i.to_string(),
            text: String::new(),
            span: None,
            tone: None,
            label: Label::Neutral,
            quad: None,
            group: "g".into(),
        })
        .collect();
    let a: Vec<bool> = ex.iter().map(|e| held_out(e, 7, 0.1)).collect();
    let b: Vec<bool> = ex.iter().map(|e| held_out(e, 7, 0.1)).collect();
    assert_eq!(a, b);
    let n = a.iter().filter(|&&x| x).count();
    assert!((150..250).contains(&n), "{n}");
}
