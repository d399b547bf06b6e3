//! `rhetor score` end to end: the real binary, the real model, real text.

mod common;

use common::*;

const GOOD: &str = "date 2024-03-01 The talks went well. Both sides praised the progress.";

#[test]
fn int8_on_request_is_named_and_stays_close_to_fp32_on_the_seed() {
    let seed = seed();
    let path = seed.to_str().unwrap();
    let int8 = rhetor(
        &["score", "--quiet", "--precision", "int8", path],
        None,
        &root(),
    );
    let fp32 = rhetor(
        &["score", "--quiet", "--precision", "fp32", path],
        None,
        &root(),
    );
    assert_eq!(
        (int8.code, fp32.code),
        (0, 0),
        "{}{}",
        int8.stderr,
        fp32.stderr
    );
    let (a, b) = (int8.rows(), fp32.rows());
    assert_eq!(a.len(), b.len());
    let (mut agree, mut changed) = (0, 0);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["model"], "rhetor-tone-minilm+int8");
        let d = (x["tone"].as_f64().unwrap() - y["tone"].as_f64().unwrap()).abs();
        assert!(
            d < 0.15,
            "int8 tone {} against fp32 {}",
            x["tone"],
            y["tone"]
        );
        agree += usize::from(x["label"] == y["label"]);
        changed += usize::from(d > 0.0);
    }
    assert!(changed > 0, "int8 must change the arithmetic");
    assert!(agree + 1 >= a.len(), "labels: {agree} of {} agree", a.len());
}

#[test]
fn seed_article_gives_one_row_per_sentence_with_increasing_offsets() {
    let seed = seed();
    let run = rhetor(&["score", "--quiet", seed.to_str().unwrap()], None, &root());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    assert_eq!(rows.len(), 14, "the seed article has 14 sentences");
    let text: Vec<char> = std::fs::read_to_string(&seed)
        .unwrap()
        .trim_start()
        .trim_start_matches("date 2024-12-29")
        .trim()
        .chars()
        .collect();
    let mut last_end = 0;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["index"], i);
        assert_eq!(r["date"], "2024-12-29");
        assert_eq!(r["article"], "000_7fe4a781f76bc1cb");
        assert_eq!(r["model"], "rhetor-tone-minilm+int8");
        let (s, e) = (
            r["start"].as_u64().unwrap() as usize,
            r["end"].as_u64().unwrap() as usize,
        );
        assert!(s >= last_end && e > s, "offsets must increase: row {i}");
        assert_eq!(
            text[s..e].iter().collect::<String>(),
            r["text"].as_str().unwrap()
        );
        last_end = e;
        let p = &r["probs"];
        let sum: f64 = ["negative", "neutral", "positive"]
            .iter()
            .map(|k| p[k].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to 1: {sum}");
        let tone = r["tone"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&tone));
    }
}

#[test]
fn fell_in_love_scores_above_the_most_reactionary_state() {
    let run = rhetor(
        &["score", "--quiet", seed().to_str().unwrap()],
        None,
        &root(),
    );
    let rows = run.rows();
    let love = row_with(&rows, "fell in love")["tone"].as_f64().unwrap();
    let hostile = row_with(&rows, "the most reactionary state")["tone"]
        .as_f64()
        .unwrap();
    assert!(
        love > hostile,
        "fell in love {love} vs most reactionary state {hostile}"
    );
}

#[test]
fn toughest_anti_us_policy_scores_below_zero() {
    let run = rhetor(
        &["score", "--quiet", seed().to_str().unwrap()],
        None,
        &root(),
    );
    let rows = run.rows();
    let r = row_with(&rows, "\"toughest\" anti-US policy");
    assert!(r["tone"].as_f64().unwrap() < 0.0, "{r}");
}

#[test]
fn scores_do_not_depend_on_the_batch_size_at_either_precision() {
    let seed = seed();
    let at = |precision: &str, batch: &str| {
        let run = rhetor(
            &[
                "score",
                "--quiet",
                "--precision",
                precision,
                "--batch-size",
                batch,
                seed.to_str().unwrap(),
            ],
            None,
            &root(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.rows()
    };
    // fp32 differs by last-bit rounding only; int8 quantizes each token with its own range,
    // so the batch can only tip a value across an 8-bit step (src/model/bert.rs, QLinear).
    for (precision, tol) in [("fp32", 2e-3), ("int8", 0.02)] {
        let (one, many) = (at(precision, "1"), at(precision, "64"));
        assert_eq!(one.len(), many.len());
        for (a, b) in one.iter().zip(&many) {
            let (x, y) = (a["tone"].as_f64().unwrap(), b["tone"].as_f64().unwrap());
            assert!(
                (x - y).abs() < tol,
                "{precision}: padding changed a score: {x} vs {y} for {}",
                a["text"]
            );
            assert_eq!(a["label"], b["label"], "{precision}: {}", a["text"]);
        }
    }
}

#[test]
fn fp32_scores_are_the_same_bits_on_one_libtorch_thread_and_on_two() {
    // On two threads rhetor's attention kernel and fp32 passes split the batch's rows
    // between them (src/model/omp.rs); each row is computed whole by one thread.
    let seed = seed();
    let on = |threads: &str| {
        let path = seed.to_str().unwrap();
        let args = [
            "score",
            "--quiet",
            "--precision",
            "fp32",
            "--threads",
            threads,
            path,
        ];
        let run = rhetor(&args, None, &root());
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let (one, two) = (on("1"), on("2"));
    assert!(!one.is_empty());
    assert_eq!(one, two, "the thread count changed a score");
}

#[test]
fn lines_mode_gives_exactly_one_row_per_line_in_order() {
    let input = "It was great. Really great!\n\nterrible, awful service\r\nneutral line\n";
    let (run, _d) = score(
        &[("in.txt", input.as_bytes())],
        &["--input", "lines", "in.txt"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    let texts: Vec<&str> = rows.iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        [
            "It was great. Really great!",
            "",
            "terrible, awful service",
            "neutral line"
        ]
    );
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["index"], i);
        assert!(r.get("article").is_none() && r.get("date").is_none(), "{r}");
        assert_eq!(r["source"], "in.txt");
    }
    assert!(rows[0]["tone"].as_f64().unwrap() > rows[2]["tone"].as_f64().unwrap());
}

#[test]
fn lines_mode_does_not_load_the_target_model() {
    // Rows of --input lines have no targets, so a target model that cannot load must not
    // stop the run: it is never loaded (a note says it is not used).
    let (run, _d) = score(
        &[("in.txt", b"Seoul thanked Canada.\n".as_slice())],
        &[
            "--input",
            "lines",
            "--target-model",
            "no-such-model",
            "in.txt",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("is not used"), "{}", run.stderr);
    assert_eq!(run.rows().len(), 1);
    let (articles, _d) = score(
        &[("a.txt", b"Seoul thanked Canada.\n".as_slice())],
        &["--target-model", "no-such-model", "a.txt"],
    );
    assert_ne!(
        articles.code, 0,
        "articles need the target model: {}",
        articles.stderr
    );
}
#[test]
fn stdin_text_and_jsonl_are_read() {
    let run = rhetor(
        &["score", "--quiet", "-"],
        Some(b"date 2020-05-01 Hello there. Bye now."),
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["source"], "-");
    assert_eq!(rows[0]["date"], "2020-05-01");
    let jsonl = b"{\"id\":\"a1\",\"date\":\"2021-01-02\",\"title\":\"T\",\"text\":\"One. Two.\"}\n{\"id\":\"a2\",\"text\":\"Undated text.\"}\n";
    let run = rhetor(&["score", "--quiet", "-"], Some(jsonl), &root());
    let rows = run.rows();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["article"], "a1");
    assert_eq!(rows[0]["title"], "T");
    assert_eq!(rows[2]["article"], "a2");
    assert!(
        rows[2]["date"].is_null(),
        "an undated article has date null"
    );
}

#[test]
fn directories_are_read_recursively_in_sorted_order() {
    let (run, _d) = score(
        &[
            ("dir/b.txt", b"Second file."),
            ("dir/a/z.txt", b"First file."),
            ("dir/c.jsonl", b"{\"id\":\"j\",\"text\":\"Third.\"}\n"),
        ],
        &["dir"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let texts: Vec<String> = run
        .rows()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["First file.", "Second file.", "Third."]);
}

/// Each bad input is named on stderr, the good input beside it is still scored, exit code 1.
fn bad_input_case(name: &str, data: &[u8], expect: &str) {
    let (run, _d) = score(
        &[("good.txt", GOOD.as_bytes()), (name, data)],
        &["good.txt", name],
    );
    assert_eq!(
        run.code, 1,
        "exit 1 when an input fails; stderr: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(name),
        "stderr names {name}: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(expect),
        "stderr says {expect:?}: {}",
        run.stderr
    );
    let rows = run.rows();
    assert_eq!(rows.len(), 2, "the good article is still scored");
    assert_eq!(rows[0]["article"], "good");
}

#[test]
fn missing_file_is_named_and_the_rest_scored() {
    let (run, _d) = score(&[("good.txt", GOOD.as_bytes())], &["good.txt", "nope.txt"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("nope.txt") && run.stderr.contains("not found"),
        "{}",
        run.stderr
    );
    assert_eq!(run.rows().len(), 2);
}

#[test]
fn invalid_utf8_is_named_and_the_rest_scored() {
    bad_input_case(
        "latin1.txt",
        b"date 2024-01-01 Caf\xe9 society.",
        "invalid UTF-8",
    );
}

#[test]
fn binary_file_is_named_and_the_rest_scored() {
    bad_input_case("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary");
}

#[test]
fn empty_article_is_named_and_the_rest_scored() {
    bad_input_case("empty.txt", b"date 2024-01-01   \n\n", "empty");
}

#[test]
fn bad_date_is_named_and_the_rest_scored() {
    bad_input_case("baddate.txt", b"date 2024-02-30 Text.", "YYYY-MM-DD");
}

#[test]
fn malformed_jsonl_line_is_named_and_the_other_lines_scored() {
    let data = b"{\"id\":\"ok1\",\"text\":\"Fine.\"}\n{not json\n{\"id\":\"ok2\",\"date\":\"2024-01-01\",\"text\":\"Also fine.\"}\n";
    let (run, _d) = score(&[("a.jsonl", data)], &["a.jsonl"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("a.jsonl:2"), "{}", run.stderr);
    let rows = run.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["article"], "ok2");
}

#[test]
fn long_sentences_are_truncated_with_a_flag() {
    let long = format!("date 2024-01-01 {}.", "word ".repeat(60).trim());
    let (run, _d) = score(
        &[("long.txt", long.as_bytes())],
        &["--max-length", "16", "long.txt"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.rows()[0]["truncated"], true);
    let (run, _d) = score(&[("long.txt", long.as_bytes())], &["long.txt"]);
    assert_eq!(run.rows()[0]["truncated"], false);
}

#[test]
fn table_and_csv_formats() {
    let (run, _d) = score(
        &[("good.txt", GOOD.as_bytes())],
        &["--format", "table", "good.txt"],
    );
    assert!(
        run.stdout.contains("2024-03-01") && run.stdout.contains("label"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("The talks went well."));
    let (run, _d) = score(
        &[("good.txt", GOOD.as_bytes())],
        &["--format", "csv", "good.txt"],
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("article,source,date,index"));
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("good,good.txt,2024-03-01,0,0,20,"));
}

#[test]
fn output_file_is_written() {
    let (run, d) = score(
        &[("good.txt", GOOD.as_bytes())],
        &["-o", "out.jsonl", "good.txt"],
    );
    assert_eq!(run.code, 0);
    let out = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    assert_eq!(out.lines().count(), 2);
}

#[test]
fn usage_errors_exit_2() {
    let run = rhetor(&["score", "--no-such-flag"], None, &root());
    assert_eq!(run.code, 2);
    let run = rhetor(&["score", "--batch-size", "0", "x"], None, &root());
    assert_eq!(run.code, 2);
}

#[test]
fn a_device_the_cpu_only_libtorch_cannot_use_is_named_with_what_to_do() {
    // scripts/setup.sh installs a CPU-only libtorch, so a GPU is never available here.
    let (run, d) = score(
        &[("good.txt", GOOD.as_bytes())],
        &["--device", "cuda", "-o", "out.jsonl", "good.txt"],
    );
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("device cuda:0 is not available")
            && run.stderr.contains("--device cpu"),
        "{}",
        run.stderr
    );
    assert!(!d.path().join("out.jsonl").exists());
    let (run, _d) = score(
        &[("good.txt", GOOD.as_bytes())],
        &["--device", "gpu", "good.txt"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cpu, cuda, cuda:N or mps"),
        "{}",
        run.stderr
    );
    let (run, _d) = score(
        &[("good.txt", GOOD.as_bytes())],
        &["--device", "cpu", "good.txt"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn output_files_are_never_replaced_when_read_only_and_devices_are_written_in_place() {
    let (run, d) = score(&[("good.txt", GOOD.as_bytes())], &["good.txt"]);
    assert_eq!(run.code, 0);
    let ro = d.path().join("ro.jsonl");
    std::fs::write(&ro, "keep\n").unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).unwrap();
    let run = rhetor(
        &["score", "--quiet", "-o", "ro.jsonl", "good.txt"],
        None,
        d.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("read-only"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&ro).unwrap(), "keep\n");
    let run = rhetor(
        &["score", "--quiet", "-o", "/dev/null", "good.txt"],
        None,
        d.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    let debris = std::fs::read_dir(d.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial")
        })
        .count();
    assert_eq!(debris, 0, "no temporary file is left behind");
}

#[test]
fn a_vader_run_gives_targets_the_lexicon_tone_unless_a_target_model_is_asked_for() {
    let text: &[u8] = b"date 2021-03-04 Kim Jong Un said Washington was a bitter enemy.";
    let run = rhetor(
        &["score", "--quiet", "--model", "vader", "-"],
        Some(text),
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("targets get VADER's sentence tone"),
        "{}",
        run.stderr
    );
    let rows = run.rows();
    let target = &rows[0]["targets"][0];
    assert_eq!(target["source"], "sentence", "{target}");
    assert_eq!(target["tone"], rows[0]["tone"]);
    let asked = rhetor(
        &[
            "score",
            "--quiet",
            "--model",
            "vader",
            "--target-model",
            "rhetor-target-minilm",
            "-",
        ],
        Some(text),
        &root(),
    );
    assert_eq!(asked.code, 0, "{}", asked.stderr);
    assert_eq!(
        asked.rows()[0]["targets"][0]["source"],
        "rhetor-target-minilm"
    );
}

#[test]
fn int8_weights_cached_on_disk_give_the_same_scores_and_a_damaged_cache_is_rebuilt() {
    let cache = tempfile::tempdir().unwrap();
    let env = [("RHETOR_CACHE", cache.path())];
    let args = [
        "score",
        "--quiet",
        "--target-model",
        "none",
        "examples/articles/",
    ];
    let run = || {
        let r = rhetor_env(&args, None, &root(), &env);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let cached = || -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(cache.path().join("int8"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    };
    let fresh = run();
    let files = cached();
    assert_eq!(
        files.len(),
        1,
        "one cache file for the int8 tone model: {files:?}"
    );
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("rhetor-tone-minilm-") && name.ends_with(".safetensors"));
    let written = std::fs::read(&files[0]).unwrap();
    let inode = || std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&files[0]).unwrap());
    let first = inode();
    assert_eq!(
        run(),
        fresh,
        "scores read from the cache differ from a fresh quantization"
    );
    // A cache that is read is not written again (a write renames a new file into place).
    assert_eq!(inode(), first, "the second run did not use the cache");

    // Flip one byte of the int8 weights: the checksum refuses the file, the model is
    // quantized again, the scores stay the same and the file is written anew.
    let mut damaged = written.clone();
    let mid = written.len() / 2;
    damaged[mid] ^= 0x10;
    std::fs::write(&files[0], &damaged).unwrap();
    assert_eq!(run(), fresh, "a damaged cache changed the scores");
    assert_ne!(inode(), first, "the damaged cache was not written anew");
    assert_eq!(
        std::fs::read(&files[0]).unwrap(),
        written,
        "the rebuilt cache differs"
    );
    assert_eq!(
        cached(),
        files,
        "no stray temporary file is left in the cache folder"
    );
}
