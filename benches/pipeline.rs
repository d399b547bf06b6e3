//! Criterion benches of the pipeline stages: segmentation (bytes/s), tokenization (tokens/s),
//! transformer forward per batch size 1/8/32/128 (model loading timed apart), the encoder
//! alone per path (libtorch's layers, fp32 inference, int8), VADER lexicon
//! scoring (sentences/s) and aggregation per actor × month (rows/s). Run:
//! `cargo bench --bench pipeline`. The transformer and VADER benches need `scripts/setup.sh`
//! (they are skipped with a note otherwise).

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rhetor::ingest::parse_text_article;
use rhetor::model::encoder::{pad_batch, Encoder};
use rhetor::model::transformer::{Precision, Settings, TransformerModel};
use rhetor::model::vader::{default_dir, Vader};
use rhetor::model::ToneModel;
use rhetor::segment::{NewsSegmenter, Segmenter};
use rhetor::tokenize::{TextEncoder, WordPiece};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The project's example articles, concatenated.
fn corpus() -> String {
    let mut out = String::new();
    let mut files: Vec<_> = std::fs::read_dir(root().join("examples/articles"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        if let Ok(t) = std::fs::read_to_string(&f) {
            if let Ok(a) = parse_text_article("x", &t) {
                out.push_str(&a.text);
                out.push_str("\n\n");
            }
        }
    }
    out
}

/// Sentences of the bundled world-rhetoric suite.
fn sentences() -> Vec<String> {
    std::fs::read_to_string(root().join("benches/suites/world-rhetoric/suite.tsv"))
        .map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| l.splitn(5, '\t').nth(4).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn segmentation(c: &mut Criterion) {
    let text = corpus().repeat(20);
    let mut g = c.benchmark_group("segment");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("news_segmenter", |b| {
        b.iter(|| NewsSegmenter.segment(&text).len())
    });
    g.finish();
}

fn tokenization(c: &mut Criterion) {
    let vocab = root().join("models/all-minilm-l6-v2/vocab.txt");
    let Ok(tok) = WordPiece::from_vocab(&vocab) else {
        eprintln!("skipping tokenization: run scripts/setup.sh");
        return;
    };
    let sents = sentences();
    let tokens: usize = sents.iter().map(|s| tok.encode(s, 512).ids.len()).sum();
    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Elements(tokens as u64));
    g.bench_function("wordpiece", |b| {
        b.iter(|| {
            sents
                .iter()
                .map(|s| tok.encode(s, 512).ids.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn transformer(c: &mut Criterion) {
    let dir = root().join("models/rhetor-tone-minilm");
    if !root()
        .join("models/all-minilm-l6-v2/model.safetensors")
        .is_file()
    {
        eprintln!("skipping transformer: run scripts/setup.sh");
        return;
    }
    // As the binary does at start-up, so the bench times what `rhetor` runs.
    rhetor::model::device::keep_freed_memory();
    tch::set_num_threads(
        std::thread::available_parallelism()
            .map(|n| n.get() as i32)
            .unwrap_or(1),
    );
    let mut g = c.benchmark_group("model_load");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("rhetor-tone-minilm", |b| {
        b.iter(|| TransformerModel::load(&dir, Settings::default()).map(|m| m.max_length()))
    });
    g.finish();
    let sents = sentences();
    let mut g = c.benchmark_group("forward");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    let runs = [1usize, 8, 32, 128]
        .map(|bs| (bs, Precision::Fp32))
        .into_iter()
        .chain([32, 128].map(|bs| (bs, Precision::Int8)));
    for (bs, precision) in runs {
        let model = match TransformerModel::load(
            &dir,
            Settings {
                batch_size: bs,
                max_length: None,
                precision: Some(precision),
                ..Settings::default()
            },
        ) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("skipping transformer: {e}");
                return;
            }
        };
        let batch: Vec<&str> = sents.iter().cycle().take(bs).map(String::as_str).collect();
        g.throughput(Throughput::Elements(bs as u64));
        let id = BenchmarkId::new(format!("batch-{precision:?}").to_lowercase(), bs);
        g.bench_with_input(id, &batch, |b, batch| {
            b.iter(|| model.score(batch, &|_| {}).map(|t| t.len()))
        });
    }
    g.finish();
}

/// The encoder alone on one padded batch of 64 suite sentences (no tokenization, pooling or
/// head): libtorch's layers (three projections, `scaled_dot_product_attention`, `linear`,
/// GELU, `layer_norm`; what training runs) against the inference paths, fp32 (fused
/// query/key/value, rhetor's attention kernel and one-pass bias/GELU/residual/norm) and int8.
fn encoder_stage(c: &mut Criterion) {
    let base = root().join("models/all-minilm-l6-v2");
    let load = || Encoder::load(&base, false, tch::Device::Cpu);
    let (Ok(mut fused), Ok(mut int8), Ok(plain)) = (load(), load(), load()) else {
        eprintln!("skipping encoder: run scripts/setup.sh");
        return;
    };
    let Ok(wp) = WordPiece::from_vocab(&base.join("vocab.txt")) else {
        return;
    };
    let sents = sentences();
    let ids: Vec<Vec<i64>> = (sents.iter().take(64))
        .map(|s| wp.encode(s, 128).ids)
        .collect();
    let refs: Vec<&[i64]> = ids.iter().map(Vec::as_slice).collect();
    let (ids, mask) = pad_batch(&refs, wp.pad_id(), tch::Device::Cpu);
    fused.model.fuse_qkv();
    if int8.model.quantize(&ids, &mask).is_err() {
        return;
    }
    let mut g = c.benchmark_group("encoder");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(64));
    for (name, enc) in [
        ("libtorch-layers", &plain),
        ("fp32", &fused),
        ("int8", &int8),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| tch::no_grad(|| enc.hidden_states(&ids, &mask, false).map(|h| h.len())))
        });
    }
    g.finish();
}

fn lexicon(c: &mut Criterion) {
    let Ok(v) = Vader::load(&default_dir()) else {
        eprintln!("skipping vader: run scripts/setup.sh");
        return;
    };
    let sents = sentences();
    let refs: Vec<&str> = sents.iter().map(String::as_str).collect();
    let mut g = c.benchmark_group("lexicon");
    g.throughput(Throughput::Elements(refs.len() as u64));
    g.bench_function("vader", |b| {
        b.iter(|| v.score(&refs, &|_| {}).map(|t| t.len()))
    });
    g.finish();
}

/// 100,000 synthetic attributed rows: 20 actors, 1,000 articles over three years.
fn synthetic_rows() -> Vec<rhetor::report::Row> {
    use rhetor::model::{Label, Probs};
    use rhetor::report::{ArticleFields, Row, RowAttribution, TargetTone};
    let start = chrono::NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
    let mut x: u64 = 42;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..100_000)
        .map(|i| {
            let art = i / 100;
            let tone = (next() % 2001) as f32 / 1000.0 - 1.0;
            let label = Label::from_tone(tone, 0.2);
            let sp = next() % 20;
            let tg = next() % 20;
            Row {
                article: Some(ArticleFields {
                    article: format!("a{art}"),
                    date: start.checked_add_days(chrono::Days::new((art as u64 * 37) % 1095)),
                    title: None,
                }),
                source: "synthetic".into(),
                index: i % 100,
                start: 0,
                end: 1,
                text: String::new(),
                tone,
                label,
                probs: Probs::from_array([0.3, 0.4, 0.3]),
                quad: None,
                quad_probs: None,
                model: "m".into(),
                truncated: false,
                attribution: Some(RowAttribution {
                    speaker: Some(format!("actor-{sp}")),
                    targets: vec![TargetTone {
                        actor: format!("actor-{tg}"),
                        tone,
                        label,
                        source: "sentence".into(),
                    }],
                    mentions: Vec::new(),
                }),
                axes: Default::default(),
                explanation: None,
            }
        })
        .collect()
}

fn aggregation(c: &mut Criterion) {
    use rhetor::aggregate::{aggregate, By, Period, Weight};
    let rows = synthetic_rows();
    let mut g = c.benchmark_group("aggregate");
    g.sample_size(10)
        .throughput(Throughput::Elements(rows.len() as u64));
    g.bench_function("month_all_by_sentence_100k", |b| {
        b.iter(|| {
            aggregate(
                rows.iter().cloned(),
                Period::Month,
                Weight::Sentence,
                &[By::Speaker, By::Target, By::Dyad],
            )
            .0
            .len()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    segmentation,
    tokenization,
    transformer,
    encoder_stage,
    lexicon,
    aggregation
);
criterion_main!(benches);
