#!/usr/bin/env python3
"""rhetor on Apache Spark: score JSONL articles from any Spark-readable path with `rhetor score`,
write the per-sentence rows as Parquet partitioned by date, and aggregate them per actor x period
exactly as `rhetor aggregate` does.

    python scale/rhetor_spark.py --master 'local[2]' --input articles.jsonl --output out/
    spark-submit --master yarn ... scale/rhetor_spark.py --input hdfs:///news/*.jsonl.gz \\
        --output hdfs:///rhetor/run1 --rhetor rhetor --models models --libtorch libtorch

Input: JSONL articles, one per line: {"id": ..., "date": "YYYY-MM-DD", "title": ..., "text": ...}
(any path `SparkContext.textFile` reads: files, directories, globs, .gz, hdfs://, s3a://).
Ids should be unique across the whole input: each rhetor process only sees its own partition.

Scoring: each partition is streamed through ONE long-lived process
`rhetor score --input jsonl - --format jsonl --quiet --threads N [--model M] [EXTRA...]`
(a writer thread feeds its stdin while the task reads its stdout, so neither side blocks).
A non-zero exit fails the task with the end of rhetor's stderr in the error.

Output (DIR):
  rows/                    the rows, Parquet, partitioned by date (date=__HIVE_DEFAULT_PARTITION__
                           holds undated rows); the explicit schema is ROW_SCHEMA below
  aggregate.csv            per actor x period, byte-for-byte what `rhetor aggregate --format csv`
  aggregate.json           ... and `--format json` print for the same rows, period and weight
                           (with the axis_* columns / "axes" of rows scored with --axis)
                           (with several --period/--weight values: aggregate-PERIOD-WEIGHT.csv/.json)
  rows-jsonl/              with --export-jsonl: the rows read back from the Parquet as rhetor JSONL

Arguments this script does not know are passed to `rhetor score` (e.g. --batch-size 64,
--target-model none, --actors my-actors.toml); `--` ends this script's own options.
"""

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

PERIODS = ("day", "week", "month", "quarter", "year")
WEIGHTS = ("sentence", "article")
# Quad classes in `Quad::ALL` order (src/model/mod.rs), and their CSV column names.
QUADS = ("verbal_cooperation", "material_cooperation", "verbal_conflict", "material_conflict", "none")
QUAD_CSV = (
    "share_verbal_cooperation",
    "share_material_cooperation",
    "share_verbal_conflict",
    "share_material_conflict",
    "share_no_event",
)
CSV_HEADER = (
    "by,actor,speaker,target,period,sentences,articles,mean_tone,sd,ci_low,ci_high,"
    "share_negative,share_positive," + ",".join(QUAD_CSV)
)
# Two-sided 95% Student t critical values for 1..=30 degrees of freedom (src/aggregate/mod.rs);
# above 30: 1.96 + 2.4 / df.
T95 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
]
# rhetor score options this script sets itself (not allowed among the pass-through arguments).
OWN_SCORE_OPTIONS = (
    "--input", "--format", "-o", "--output", "--quiet", "-q", "--threads", "--model", "--actors",
)

_F32 = T.FloatType()
_I64 = T.LongType()
_STR = T.StringType()
# One row of `rhetor score --format jsonl` (src/row.rs). Numbers rhetor writes as f32 are read
# as float, so that `CAST(tone AS DOUBLE)` is the same value as `tone as f64` in rhetor aggregate.
ROW_SCHEMA = T.StructType(
    [
        T.StructField("article", _STR),
        T.StructField("date", T.DateType()),
        T.StructField("title", _STR),
        T.StructField("source", _STR),
        T.StructField("index", _I64),
        T.StructField("start", _I64),
        T.StructField("end", _I64),
        T.StructField("text", _STR),
        T.StructField("tone", _F32),
        T.StructField("label", _STR),
        T.StructField(
            "probs",
            T.StructType([T.StructField(k, _F32) for k in ("negative", "neutral", "positive")]),
        ),
        T.StructField("quad", _STR),
        T.StructField("quad_probs", T.StructType([T.StructField(k, _F32) for k in QUADS])),
        T.StructField("model", _STR),
        T.StructField("truncated", T.BooleanType()),
        T.StructField("speaker", _STR),
        T.StructField(
            "targets",
            T.ArrayType(
                T.StructType(
                    [
                        T.StructField("actor", _STR),
                        T.StructField("tone", _F32),
                        T.StructField("label", _STR),
                        T.StructField("source", _STR),
                    ]
                )
            ),
        ),
        T.StructField(
            "mentions",
            T.ArrayType(
                T.StructType(
                    [
                        T.StructField("actor", _STR),
                        T.StructField("start", _I64),
                        T.StructField("end", _I64),
                        T.StructField("text", _STR),
                    ]
                )
            ),
        ),
        # Present only with `rhetor score --axis` / `--explain` (binaries that have them).
        T.StructField("axes", T.MapType(_STR, _F32)),
        T.StructField(
            "explanation",
            T.ArrayType(
                T.StructType(
                    [
                        T.StructField("text", _STR),
                        T.StructField("start", _I64),
                        T.StructField("end", _I64),
                        T.StructField("effect", _F32),
                    ]
                )
            ),
        ),
    ]
)


def log(msg):
    print(f"rhetor_spark: {msg}", flush=True)


# ----------------------------------------------------------------------------- executor side


def _locate(spec, kind, what):
    """Finds a shipped file or folder on an executor: the path as given, then its base name in
    the SparkFiles root (spark-submit --files/--archives, SparkContext.addFile) and in the
    working directory (YARN containers); for the binary also PATH."""
    tried = []
    base = os.path.basename(spec.rstrip("/"))
    cands = [spec]
    try:
        from pyspark import SparkFiles

        root = SparkFiles.getRootDirectory()
        if not os.path.isabs(spec):
            cands.append(os.path.join(root, spec))  # e.g. libtorch/lib inside an archive
        cands.append(os.path.join(root, base))
    except Exception:  # noqa: BLE001 (not inside a Spark task)
        pass
    cands.append(os.path.join(os.getcwd(), base))
    for c in cands:
        tried.append(c)
        ok = os.path.isdir(c) if kind == "dir" else os.path.isfile(c)
        if ok:
            return os.path.abspath(c)
    if kind == "exe" and os.sep not in spec:
        w = shutil.which(spec)
        if w:
            return w
        tried.append(f"{spec} on PATH")
    raise FileNotFoundError(
        f"{what} {spec!r} not found on host {os.uname().nodename}; tried: {', '.join(tried)} "
        "(ship it with spark-submit --files/--archives or put it on a shared path)"
    )


def _executable(path):
    if os.access(path, os.X_OK):
        return path
    try:
        os.chmod(path, os.stat(path).st_mode | 0o111)
        return path
    except OSError:
        d = tempfile.mkdtemp(prefix="rhetor-bin-")
        dst = os.path.join(d, os.path.basename(path))
        shutil.copy(path, dst)
        os.chmod(dst, 0o755)
        return dst


def make_scorer(conf, counters):
    """The mapPartitions function: one `rhetor score` process per (non-empty) partition."""

    def score_partition(index, lines):
        it = iter(lines)
        first = None
        for line in it:
            if line.strip():
                first = line
                break
        if first is None:
            return  # empty partition: no process at all
        exe = _executable(_locate(conf["rhetor"], "exe", "rhetor binary"))
        env = dict(os.environ)
        if conf.get("models"):
            env["RHETOR_MODELS"] = _locate(conf["models"], "dir", "models folder")
        if conf.get("libtorch"):
            lib = _locate(conf["libtorch"], "dir", "libtorch folder")
            if os.path.isdir(os.path.join(lib, "lib")):
                lib = os.path.join(lib, "lib")
            env["LD_LIBRARY_PATH"] = lib + (
                ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else ""
            )
        args = list(conf["score_args"])
        if conf.get("model"):
            m = conf["model"]
            if os.sep in m:  # a model folder path: find it on this executor
                m = _locate(m, "dir", "model folder")
            args += ["--model", m]
        if conf.get("actors"):
            args += ["--actors", _locate(conf["actors"], "file", "actor registry")]
        cmd = [exe, "score", "--input", "jsonl", "-", "--format", "jsonl", "--quiet"] + args
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
            bufsize=1 << 16,
        )
        fed = [0]
        feed_error = []

        def feed():
            try:
                for ln in itertools.chain((first,), it):
                    if ln.strip():
                        proc.stdin.write(ln.encode("utf-8"))
                        proc.stdin.write(b"\n")
                        fed[0] += 1
            except BrokenPipeError:
                pass  # rhetor stopped reading; its exit status says why
            except BaseException as e:  # noqa: BLE001 (re-raised in the task thread)
                feed_error.append(e)
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass

        writer = threading.Thread(target=feed, name="rhetor-stdin", daemon=True)
        writer.start()
        finished = False
        try:
            for out in proc.stdout:
                yield out.decode("utf-8")
            writer.join()
            rc = proc.wait()
            finished = True
        finally:
            if not finished:  # the task was cancelled or failed downstream
                proc.kill()
                proc.wait()
                writer.join(timeout=5)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        err.close()
        if feed_error:
            raise RuntimeError(f"feeding rhetor score failed: {feed_error[0]!r}") from feed_error[0]
        counters["articles"].add(fed[0])
        if rc != 0 and not (rc == 1 and conf.get("allow_input_errors")):
            tail = stderr[-4000:].strip() or "(no stderr)"
            raise RuntimeError(
                f"rhetor score exited with status {rc} in partition {index} after {fed[0]} "
                f"article line(s) fed (command: {' '.join(cmd)}; `-:N` below is line N of "
                f"this partition); its stderr ends:\n{tail}"
            )
        if stderr.strip():
            counters["warnings"].add(1)
            # notes and skipped lines go to the executor's log
            sys.stderr.write(f"rhetor score, partition {index}:\n{stderr}")

    return score_partition


# ----------------------------------------------------------------------------- aggregation


def r4(c):
    """`(x * 1e4).round() / 1e4` as in Rust: round half away from zero (exact for |x| < 2^48)."""
    y = c * F.lit(1e4)
    a = F.abs(y)
    t = F.floor(a).cast("double")
    r = t + F.when(a - t >= F.lit(0.5), F.lit(1.0)).otherwise(F.lit(0.0))
    return F.when(y < 0, -r).otherwise(r) / F.lit(1e4)


def t95(df):
    table = F.array(*[F.lit(float(x)) for x in T95])
    return (
        F.when(df <= 0, F.lit(float("nan")))
        .when(df <= 30, F.element_at(table, df.cast("int")))
        .otherwise(F.lit(1.96) + F.lit(2.4) / df.cast("double"))
    )


def period_key(period, d):
    """`Period::key` (src/aggregate/mod.rs): 2024-12-29, 2024-W52 (ISO week), 2024-12, 2024-Q4,
    2024. No Python UDF: the ISO week-year is the year of the Thursday of the date's week."""
    if period == "day":
        return F.date_format(d, "yyyy-MM-dd")
    if period == "month":
        return F.date_format(d, "yyyy-MM")
    if period == "quarter":
        return F.concat(F.year(d).cast("string"), F.lit("-Q"), F.quarter(d).cast("string"))
    if period == "year":
        return F.year(d).cast("string")
    if period == "week":
        monday_based = (F.dayofweek(d) + 5) % 7  # Monday 0 .. Sunday 6
        thursday = F.date_sub(F.date_add(d, 3), monday_based)
        return F.concat(
            F.year(thursday).cast("string"),
            F.lit("-W"),
            F.lpad(F.weekofyear(d).cast("string"), 2, "0"),
        )
    raise ValueError(period)


KEY = ["by_rank", "by", "actor", "speaker", "target", "period"]


# The row columns the aggregates read.
AGG_COLUMNS = ["article", "date", "speaker", "tone", "label", "quad", "targets", "axes"]


def observations(rows, period):
    """One observation per (cell, sentence), as `aggregate()` adds them: the speaker's cell with
    the sentence's tone, each target's cell with the tone toward it, and each speaker->target
    dyad with that target's tone. Rows without an article or a date are skipped. One scan of
    the rows: each row's observations are built as an array and exploded."""
    base = rows.where(F.col("article").isNotNull() & F.col("date").isNotNull())
    none = F.lit(None).cast("string")
    speaker = F.col("speaker")

    def ob(rank, by, actor, spk, target, tone, label):
        return F.struct(
            F.lit(rank).alias("by_rank"),
            F.lit(by).alias("by"),
            actor.alias("actor"),
            spk.alias("speaker"),
            target.alias("target"),
            tone.cast("double").alias("tone"),
            label.alias("label"),
        )

    targets = F.coalesce(F.col("targets"), F.array().cast(ROW_SCHEMA["targets"].dataType))
    own = F.when(
        speaker.isNotNull(),
        F.array(ob(0, "speaker", speaker, speaker, none, F.col("tone"), F.col("label"))),
    )
    toward = F.transform(
        targets, lambda t: ob(1, "target", t["actor"], none, t["actor"], t["tone"], t["label"])
    )
    dyads = F.when(
        speaker.isNotNull(),
        F.transform(
            targets,
            lambda t: ob(
                2, "dyad", F.concat(speaker, F.lit("->"), t["actor"]), speaker, t["actor"],
                t["tone"], t["label"],
            ),
        ),
    )
    none_of = F.filter(toward, lambda t: F.lit(False))  # an empty array of the same type
    all_obs = F.flatten(F.array(F.coalesce(own, none_of), toward, F.coalesce(dyads, none_of)))
    return base.select(
        "article",
        period_key(period, F.col("date")).alias("period"),
        "quad",
        "axes",
        F.explode(all_obs).alias("o"),
    ).select(
        "o.by_rank",
        "o.by",
        "o.actor",
        "o.speaker",
        "o.target",
        "period",
        "article",
        "o.tone",
        F.when(F.col("o.label") == "negative", 1.0).otherwise(0.0).alias("neg"),
        F.when(F.col("o.label") == "positive", 1.0).otherwise(0.0).alias("pos"),
        "quad",
        "axes",  # a target's or a dyad's axes are its sentence's
    )


def _seq_sum(arr, field):
    """Sum of a struct field over an array, left to right (as Rust's `iter().sum()`)."""
    return F.aggregate(arr, F.lit(0.0), lambda acc, u: acc + u[field])


def cell_stats(o, weight):
    """The `Stat` of every cell, numbers rounded as rhetor rounds them.

    Sums whose result rhetor computes in an order that does not depend on the row order are
    computed in that order here (article-weight shares: left to right over the articles sorted
    by id), so they are equal to the last bit. Mean and sd are distributed sums (rhetor's own
    result for them depends on the order of its input rows, at the 1e-16 level)."""
    if weight == "sentence":
        g = o.groupBy(*KEY).agg(
            F.count(F.lit(1)).alias("n"),
            F.countDistinct("article").alias("articles"),
            F.sum("tone").alias("tone_sum"),
            F.stddev_samp("tone").alias("sd_raw"),
            F.sum("neg").alias("neg_sum"),
            F.sum("pos").alias("pos_sum"),
            F.count("quad").alias("qn"),
            *[
                F.sum(F.when(F.col("quad") == q, 1.0).otherwise(0.0)).alias(f"q_{q}")
                for q in QUADS
            ],
        )
        g = g.withColumn("sentences", F.col("n"))
    else:
        per_article = o.groupBy(*KEY, "article").agg(
            F.count(F.lit(1)).alias("na"),
            F.sum("tone").alias("ts"),
            F.sum("neg").alias("nc"),
            F.sum("pos").alias("pc"),
            F.count("quad").alias("ql"),
            *[F.count(F.when(F.col("quad") == q, 1)).alias(f"c_{q}") for q in QUADS],
        )
        na = F.col("na").cast("double")
        units = per_article.select(
            *KEY,
            "article",
            "na",
            (F.col("ts") / na).alias("tone"),
            F.struct(
                F.col("article"),
                (F.col("nc") / na).alias("neg"),
                (F.col("pc") / na).alias("pos"),
                (F.col("ql") > 0).alias("has_quad"),
                # `a[q] += 1.0 / len` once per sentence of class q (Unit::of)
                *[
                    F.aggregate(
                        F.array_repeat(
                            F.when(F.col("ql") > 0, F.lit(1.0) / F.col("ql").cast("double")),
                            F.col(f"c_{q}").cast("int"),
                        ),
                        F.lit(0.0),
                        lambda acc, x: acc + x,
                    ).alias(f"q_{q}")
                    for q in QUADS
                ],
            ).alias("u"),
        )
        g = units.groupBy(*KEY).agg(
            F.count(F.lit(1)).alias("n"),
            F.count(F.lit(1)).alias("articles"),
            F.sum("na").alias("sentences"),
            F.sum("tone").alias("tone_sum"),
            F.stddev_samp("tone").alias("sd_raw"),
            F.array_sort(F.collect_list("u")).alias("us"),  # by article id, as a BTreeMap
        )
        wq = F.filter(F.col("us"), lambda u: u["has_quad"])
        g = g.select(
            "*",
            _seq_sum(F.col("us"), "neg").alias("neg_sum"),
            _seq_sum(F.col("us"), "pos").alias("pos_sum"),
            F.size(wq).alias("qn"),
            *[_seq_sum(wq, f"q_{q}").alias(f"q_{q}") for q in QUADS],
        ).drop("us")
    n = F.col("n").cast("double")
    mean = F.col("tone_sum") / n
    sd = F.when(F.col("n") > 1, F.col("sd_raw"))
    half = t95(F.col("n") - 1) * sd / F.sqrt(n)
    qn = F.col("qn").cast("double")
    return g.select(
        *KEY,
        F.col("sentences").cast("long").alias("sentences"),
        F.col("articles").cast("long").alias("articles"),
        r4(mean).alias("mean_tone"),
        r4(sd).alias("sd"),
        r4(mean - half).alias("ci_low"),
        r4(mean + half).alias("ci_high"),
        r4(F.col("neg_sum") / n).alias("share_negative"),
        r4(F.col("pos_sum") / n).alias("share_positive"),
        (F.col("qn") > 0).alias("has_quad"),
        *[F.when(F.col("qn") > 0, r4(F.col(f"q_{q}") / qn)).alias(f"quad_{q}") for q in QUADS],
    )


def axis_stats(o, weight):
    """`AxisStat` of every cell x axis (`rhetor score --axis` rows): mean, sd and CI over the
    same units as the tone, a unit being a sentence, or an article's mean over its sentences
    that have the axis. Rows are (KEY..., axis, mean, sd, ci_low, ci_high)."""
    ax = o.select(*KEY, "article", F.explode("axes").alias("axis", "value")).withColumn(
        "value", F.col("value").cast("double")
    )
    if weight == "article":
        ax = ax.groupBy(*KEY, "article", "axis").agg(
            (F.sum("value") / F.count(F.lit(1)).cast("double")).alias("value")
        )
    g = ax.groupBy(*KEY, "axis").agg(
        F.count(F.lit(1)).alias("n"),
        F.sum("value").alias("total"),
        F.stddev_samp("value").alias("sd_raw"),
    )
    n = F.col("n").cast("double")
    mean = F.col("total") / n
    sd = F.when(F.col("n") > 1, F.col("sd_raw"))
    half = t95(F.col("n") - 1) * sd / F.sqrt(n)
    return g.select(
        *KEY,
        "axis",
        r4(mean).alias("mean"),
        r4(sd).alias("sd"),
        r4(mean - half).alias("ci_low"),
        r4(mean + half).alias("ci_high"),
    )


def csv_field(c):
    """`csv_field` (src/report/csv.rs): quoted when it holds , " CR or LF; quotes doubled."""
    c = F.coalesce(c, F.lit(""))
    return F.when(
        c.rlike('[,"\\r\\n]'), F.concat(F.lit('"'), F.regexp_replace(c, '"', '""'), F.lit('"'))
    ).otherwise(c)


def f4(c):
    """`format!("{:.4}", x)`; the values are already rounded to 4 decimals, so exact."""
    return F.format_string("%.4f", c)


def jnum(c):
    """A rounded number as serde_json writes it (shortest form: 0.5, 1.0, -0.0, 0.1235)."""
    s = F.regexp_replace(F.regexp_replace(f4(c), "0+$", ""), "\\.$", ".0")
    return F.when(c.isNull(), F.lit("null")).otherwise(s)


def jstr(c):
    """A JSON string (or null) as serde_json writes it."""
    j = F.to_json(F.array(c))  # ["..."] or [null]
    return j.substr(F.lit(2), F.length(j) - 2)


def formatted(stats, axis_names=()):
    """Adds `csv` (one CSV line) and `json` (one pretty-printed object) to each cell; with
    `axis_names`, `stats` has a column `axes` (map: axis -> struct mean, sd, ci_low, ci_high)."""
    csv_quad = F.when(
        F.col("has_quad"), F.concat_ws(",", *[f4(F.col(f"quad_{q}")) for q in QUADS])
    ).otherwise(F.lit(",,,,"))
    opt4 = lambda c: F.when(F.col(c).isNull(), F.lit("")).otherwise(f4(F.col(c)))  # noqa: E731
    csv = F.concat_ws(
        ",",
        F.col("by"),
        csv_field(F.col("actor")),
        csv_field(F.col("speaker")),
        csv_field(F.col("target")),
        csv_field(F.col("period")),
        F.col("sentences").cast("string"),
        F.col("articles").cast("string"),
        f4(F.col("mean_tone")),
        opt4("sd"),
        opt4("ci_low"),
        opt4("ci_high"),
        f4(F.col("share_negative")),
        f4(F.col("share_positive")),
        csv_quad,
    )
    if axis_names:
        opt = lambda c: F.when(c.isNull(), F.lit("")).otherwise(f4(c))  # noqa: E731
        per_axis = []
        for a in axis_names:
            x = F.col("axes").getItem(a)
            per_axis.append(
                F.when(x.isNull(), F.lit(",,,,")).otherwise(
                    F.concat(
                        F.lit(","), f4(x["mean"]), F.lit(","), opt(x["sd"]),
                        F.lit(","), opt(x["ci_low"]), F.lit(","), opt(x["ci_high"]),
                    )
                )
            )
        csv = F.concat(csv, *per_axis)
    fields = [
        ("by", jstr(F.col("by"))),
        ("actor", jstr(F.col("actor"))),
        ("speaker", jstr(F.col("speaker"))),
        ("target", jstr(F.col("target"))),
        ("period", jstr(F.col("period"))),
        ("sentences", F.col("sentences").cast("string")),
        ("articles", F.col("articles").cast("string")),
        ("mean_tone", jnum(F.col("mean_tone"))),
        ("sd", jnum(F.col("sd"))),
        ("ci_low", jnum(F.col("ci_low"))),
        ("ci_high", jnum(F.col("ci_high"))),
        ("share_negative", jnum(F.col("share_negative"))),
        ("share_positive", jnum(F.col("share_positive"))),
    ]
    parts = [F.lit("  {\n")]
    for i, (k, v) in enumerate(fields):
        parts += [F.lit(f'    "{k}": '), v, F.lit(",\n" if i < len(fields) - 1 else "")]
    quad_obj = [F.lit(',\n    "quad": {\n')]
    for i, q in enumerate(QUADS):
        quad_obj += [
            F.lit(f'      "{q}": '),
            jnum(F.col(f"quad_{q}")),
            F.lit(",\n" if i < len(QUADS) - 1 else "\n"),
        ]
    quad_obj.append(F.lit("    }"))
    parts.append(F.when(F.col("has_quad"), F.concat(*quad_obj)).otherwise(F.lit("")))
    if axis_names:
        entries = F.array_sort(F.map_entries(F.col("axes")))  # by axis name, as a BTreeMap

        def one(e):
            v = e["value"]
            return F.concat(
                F.lit("      "), jstr(e["key"]), F.lit(': {\n        "mean": '), jnum(v["mean"]),
                F.lit(',\n        "sd": '), jnum(v["sd"]),
                F.lit(',\n        "ci_low": '), jnum(v["ci_low"]),
                F.lit(',\n        "ci_high": '), jnum(v["ci_high"]), F.lit("\n      }"),
            )

        parts.append(
            F.when(
                F.col("axes").isNotNull() & (F.size(F.col("axes")) > 0),
                F.concat(
                    F.lit(',\n    "axes": {\n'),
                    F.array_join(F.transform(entries, one), ",\n"),
                    F.lit("\n    }"),
                ),
            ).otherwise(F.lit(""))
        )
    parts.append(F.lit("\n  }"))
    return stats.select(*KEY, csv.alias("csv"), F.concat(*parts).alias("json"))


def order():
    """`CellKey` order: by (speaker < target < dyad), actor, speaker, target (None first), period;
    strings compare by bytes in both Spark and Rust."""
    return [
        F.col("by_rank").asc(),
        F.col("actor").asc_nulls_first(),
        F.col("speaker").asc_nulls_first(),
        F.col("target").asc_nulls_first(),
        F.col("period").asc_nulls_first(),
    ]


def write_text_files(spark, df, dests):
    """Writes `df` (columns `kind` and `line`, sorted within one partition) as one text file
    per kind, `dests[kind]`, in one Spark job; the part files are renamed through the Hadoop
    FileSystem API, so any output path (local, hdfs://, s3a://) works."""
    tmp = dests[sorted(dests)[0]] + ".parts"
    df.write.mode("overwrite").partitionBy("kind").text(tmp)
    jvm = spark.sparkContext._jvm
    Path = jvm.org.apache.hadoop.fs.Path
    tmp_path = Path(tmp)
    fs = tmp_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    for kind, dest in dests.items():
        folder = Path(f"{tmp}/kind={kind}")
        parts = [
            st.getPath()
            for st in (fs.listStatus(folder) if fs.exists(folder) else [])
            if st.getPath().getName().startswith("part-")
        ]
        if len(parts) != 1:
            raise RuntimeError(f"expected one part file in {folder}, found {len(parts)}")
        fs.delete(Path(dest), False)
        if not fs.rename(parts[0], Path(dest)):
            raise RuntimeError(f"cannot rename {parts[0]} to {dest}")
    fs.delete(tmp_path, True)


def write_aggregates(spark, rows, period, weight, csv_dest, json_dest, with_axes=True):
    """Computes one period x weight and writes the CSV and the JSON (the cells, cached, with
    their count and last key; then both files in one job; with `with_axes`, first the axis
    statistics and their names); returns the cell count."""
    o = observations(rows, period)
    stats = cell_stats(o, weight)
    # user-defined axes (rows of `rhetor score --axis`): the CSV gets four columns per axis
    # found in any cell, sorted by name, as rhetor's to_csv
    axes = axis_stats(o, weight).cache() if with_axes else None
    axis_names = sorted(r[0] for r in axes.select("axis").distinct().collect()) if with_axes else []
    if axis_names:
        per_cell = axes.groupBy(*KEY).agg(
            F.map_from_entries(
                F.collect_list(
                    F.struct("axis", F.struct("mean", "sd", "ci_low", "ci_high"))
                )
            ).alias("axes")
        )
        cond = [stats[k].eqNullSafe(per_cell[k]) for k in KEY]
        stats = stats.join(per_cell, cond, "left").select(stats["*"], per_cell["axes"])
    header = CSV_HEADER + "".join(
        f",axis_{a}_mean,axis_{a}_sd,axis_{a}_ci_low,axis_{a}_ci_high" for a in axis_names
    )
    cells = formatted(stats, axis_names).cache()
    sort_cols = ["by_rank", "actor", "speaker", "target", "period"]
    # the cell count and the last cell's key (struct order = the asc-nulls-first order)
    n, last_key = cells.agg(F.count(F.lit(1)), F.max(F.struct(*sort_cols))).collect()[0]
    schema = (
        "kind string, by_rank int, actor string, speaker string, target string, "
        "period string, line string"
    )
    ends = [("csv", -1, None, None, None, None, header)]
    if n == 0:
        ends.append(("json", -1, None, None, None, None, "[]"))
        is_last = F.lit(True)
    else:
        ends += [("json", -1, None, None, None, None, "["), ("json", 3, None, None, None, None, "]")]
        is_last = F.lit(True)
        for c, v in zip(sort_cols, tuple(last_key)):
            is_last = is_last & F.col(c).eqNullSafe(F.lit(v))
    lines = (
        spark.createDataFrame(ends, schema)
        .unionByName(cells.select(F.lit("csv").alias("kind"), *sort_cols, F.col("csv").alias("line")))
        .unionByName(
            cells.select(
                F.lit("json").alias("kind"),
                *sort_cols,
                F.concat(F.col("json"), F.when(is_last, F.lit("")).otherwise(F.lit(","))).alias("line"),
            )
        )
    )
    write_text_files(
        spark,
        lines.repartition(1).sortWithinPartitions(F.col("kind"), *order()).select("kind", "line"),
        {"csv": csv_dest, "json": json_dest},
    )
    cells.unpersist()
    if axes is not None:
        axes.unpersist()
    return n


def export_jsonl(rows, dest):
    """The rows as rhetor JSONL, field for field as `rhetor score` writes them: null fields are
    left out (title, quad, quad_probs, axes, explanation, and all attribution fields of
    `--input lines` rows), except `date` of an undated article and `speaker` of an attributed
    sentence without one, which rhetor writes as null."""
    order_ = [c.name for c in ROW_SCHEMA.fields]
    j = F.to_json(F.struct(*order_))
    j = F.when(
        F.col("article").isNotNull() & F.col("date").isNull(),
        F.regexp_replace(j, '^\\{"article":("(?:[^"\\\\]|\\\\.)*"),', '{"article":$1,"date":null,'),
    ).otherwise(j)
    j = F.when(
        F.col("targets").isNotNull() & F.col("speaker").isNull(),
        F.regexp_replace(j, ',"targets":\\[', ',"speaker":null,"targets":['),
    ).otherwise(j)
    rows.select(j.alias("value")).write.mode("overwrite").text(dest)


# ----------------------------------------------------------------------------- driver


def parse_args(argv):
    if "--" in argv:
        i = argv.index("--")
        argv, passthrough = argv[:i], argv[i + 1 :]
    else:
        passthrough = []
    ap = argparse.ArgumentParser(
        prog="rhetor_spark.py",
        description="Score JSONL articles with rhetor on Spark; rows as Parquet, aggregates as "
        "CSV/JSON equal to `rhetor aggregate`. Unknown arguments go to `rhetor score`.",
        allow_abbrev=False,
    )
    ap.add_argument("--input", help="JSONL articles: any path SparkContext.textFile reads")
    ap.add_argument("--output", required=True, help="output folder (any Hadoop path)")
    ap.add_argument("--period", default="month", help="day|week|month|quarter|year, or a comma list")
    ap.add_argument("--weight", default="sentence", help="sentence|article, or a comma list")
    ap.add_argument("--rhetor", default=os.environ.get("RHETOR_BIN", "rhetor"),
                    help="rhetor binary: a path, a name shipped with --files, or on PATH "
                    "(default $RHETOR_BIN, else rhetor)")
    ap.add_argument("--model", help="passed to `rhetor score --model` (a name, or a model folder path)")
    ap.add_argument("--models", help="models folder (RHETOR_MODELS for rhetor): a path, or the name "
                    "of a shipped folder/archive")
    ap.add_argument("--libtorch", help="folder with libtorch's shared libraries (added to "
                    "LD_LIBRARY_PATH of rhetor): a path, or the name of a shipped archive")
    ap.add_argument("--actors", help="actor registry (TOML) for `rhetor score --actors`: a path, or "
                    "the name of a shipped file")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads per rhetor process (default 1); spark.task.cpus is set to it "
                    "unless configured, so processes never oversubscribe the cores")
    ap.add_argument("--partitions", type=int, help="score in (at least) this many partitions")
    ap.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="Spark setting")
    ap.add_argument("--input-rows", action="store_true",
                    help="the input holds rows `rhetor score` already wrote (JSONL): no scoring, "
                    "write them as Parquet and aggregate")
    ap.add_argument("--aggregate-only", action="store_true",
                    help="do not score: aggregate the rows already in OUTPUT/rows")
    ap.add_argument("--skip-aggregate", action="store_true", help="score and write the rows only")
    ap.add_argument("--no-repartition", action="store_true",
                    help="each scoring task writes its own files (no shuffle by date; more files)")
    ap.add_argument("--export-jsonl", action="store_true",
                    help="also write the rows read back from the Parquet as rhetor JSONL "
                    "(OUTPUT/rows-jsonl/)")
    ap.add_argument("--summary", metavar="FILE",
                    help="also write the run's figures (rows, seconds, sentences/s) as JSON to "
                    "this local file")
    ap.add_argument("--allow-input-errors", action="store_true",
                    help="accept rhetor's exit status 1 (some article lines were unreadable; the "
                    "others were scored); they are named in the executor logs")
    args, unknown = ap.parse_known_args(argv)
    args.score_args = unknown + passthrough
    for a in args.score_args:
        if a.split("=")[0] in OWN_SCORE_OPTIONS:
            ap.error(f"{a}: set by this script (use its own --model/--actors/--threads)")
    args.periods = [p.strip() for p in args.period.split(",") if p.strip()]
    args.weights = [w.strip() for w in args.weight.split(",") if w.strip()]
    for p in args.periods:
        if p not in PERIODS:
            ap.error(f"--period {p}: one of {', '.join(PERIODS)}")
    for w in args.weights:
        if w not in WEIGHTS:
            ap.error(f"--weight {w}: one of {', '.join(WEIGHTS)}")
    if not args.aggregate_only and not args.input:
        ap.error("--input is required (unless --aggregate-only)")
    if args.threads < 1:
        ap.error("--threads must be at least 1")
    for kv in args.conf:
        if "=" not in kv:
            ap.error(f"--conf {kv}: KEY=VALUE")
    return args


def session(args):
    """The Spark session; settings given with --conf or spark-submit win over these defaults."""
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # loads spark-submit's settings into SparkConf()
    preset = SparkConf()
    confs = dict(kv.split("=", 1) for kv in args.conf)
    defaults = {
        # one task per --threads cores: rhetor processes never oversubscribe an executor
        "spark.task.cpus": str(args.threads),
        # dates are proleptic Gregorian in rhetor (chrono) and in Spark 3: no rebasing
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
        # let adaptive execution shrink the shuffles of the (small) cached aggregate tables
        "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
        "spark.sql.debug.maxToStringFields": "200",
    }
    builder = SparkSession.builder.appName("rhetor")
    if args.master:
        builder = builder.master(args.master)
    for k, v in defaults.items():
        if not preset.contains(k) and k not in confs:
            builder = builder.config(k, v)
    # pyspark's launcher turns the console progress bar on; off unless asked for
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    for k, v in confs.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


_SHIPPED = False


def main(argv=None, stop=True):
    """Runs the job; returns a summary dict. `stop=False` keeps the Spark session (several runs
    in one process, as check_aggregates.py does)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.time()
    spark = session(args)
    sc = spark.sparkContext
    sc.setLogLevel(os.environ.get("RHETOR_SPARK_LOG_LEVEL", "WARN"))
    global _SHIPPED
    if __name__ != "__main__" and not _SHIPPED:  # imported: executors need the module
        sc.addPyFile(os.path.abspath(__file__))
        _SHIPPED = True
    task_cpus = int(sc.getConf().get("spark.task.cpus", "1"))
    if task_cpus != args.threads and not args.input_rows and not args.aggregate_only:
        log(f"warning: spark.task.cpus is {task_cpus} but each rhetor process uses "
            f"--threads {args.threads}: set them equal so that the processes neither "
            "oversubscribe nor leave idle the executor's cores")
    out = args.output.rstrip("/")
    rows_path = out + "/rows"
    log(f"Spark {spark.version}, master {sc.master}, {sc.defaultParallelism} core(s), "
        f"spark.task.cpus {task_cpus} (session ready after {time.time() - t0:.1f} s)")
    summary = {"output": out, "rows_path": rows_path}

    score_s = None
    if args.input_rows:
        t1 = time.time()
        rows = spark.read.schema(ROW_SCHEMA).option("mode", "FAILFAST").json(args.input)
        rows.write.mode("overwrite").partitionBy("date").parquet(rows_path)
        log(f"rows of {args.input} written as Parquet in {time.time() - t1:.1f} s (no scoring)")
    elif not args.aggregate_only:
        conf = {
            "rhetor": args.rhetor,
            "models": args.models,
            "libtorch": args.libtorch,
            "model": args.model,
            "actors": args.actors,
            "score_args": ["--threads", str(args.threads)] + args.score_args,
            "allow_input_errors": args.allow_input_errors,
        }
        counters = {"articles": sc.accumulator(0), "warnings": sc.accumulator(0)}
        if args.partitions:
            lines = sc.textFile(args.input, minPartitions=args.partitions)
            if lines.getNumPartitions() < args.partitions:
                lines = lines.repartition(args.partitions)  # e.g. one .gz file: not splittable
        else:
            lines = sc.textFile(args.input)
        parts = lines.getNumPartitions()
        scored = lines.mapPartitionsWithIndex(make_scorer(conf, counters))
        rows = spark.read.schema(ROW_SCHEMA).option("mode", "FAILFAST").json(scored)
        if not args.no_repartition:
            rows = rows.repartition("date")  # one Parquet file per date
        log(f"scoring {args.input} in {parts} partition(s): one `rhetor score --threads "
            f"{args.threads}` process per partition ({args.rhetor})")
        t1 = time.time()
        rows.write.mode("overwrite").partitionBy("date").parquet(rows_path)
        score_s = time.time() - t1
    rows = spark.read.schema(ROW_SCHEMA).parquet(rows_path)
    combos = [] if args.skip_aggregate else [(p, w) for p in args.periods for w in args.weights]
    # Several period x weight tables: read the columns they need once (kept in memory, spilled
    # to the executors' disks when large), not once per table.
    agg_rows = rows.select(*AGG_COLUMNS)
    if len(combos) > 1:
        agg_rows = agg_rows.persist(StorageLevel.MEMORY_AND_DISK)
    st = agg_rows.agg(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct("article").alias("articles"),
        F.sum(F.when(F.col("date").isNull(), 1).otherwise(0)).alias("undated"),
        F.sum(F.when(F.col("article").rlike("^-:[0-9]+$"), 1).otherwise(0)).alias("no_id"),
        F.max(F.size("axes")).alias("max_axes"),  # size(null) is -1
    ).collect()[0]
    n_rows = st["rows"]
    summary.update(rows=n_rows, articles=st["articles"])
    if score_s is not None:
        sps = n_rows / max(score_s, 1e-9)
        summary.update(score_seconds=score_s, sentences_per_second=sps,
                       article_lines=counters["articles"].value)
        log(f"scored {counters['articles'].value} article line(s) into {n_rows} sentence row(s) "
            f"({st['articles']} article id(s), {st['undated'] or 0} undated row(s)) in "
            f"{score_s:.1f} s: {sps:.1f} sentences/s (read + score + write Parquet)")
        if counters["warnings"].value:
            log(f"{counters['warnings'].value} rhetor process(es) wrote notes to stderr "
                "(see the executor logs)")
    else:
        log(f"{n_rows} sentence row(s) of {st['articles']} article id(s) in {rows_path}")
    if st["no_id"]:
        log(f"warning: {st['no_id']} row(s) belong to articles without an id (rhetor named "
            "them `-:LINE` by their line within one partition, which is not unique across "
            "partitions): give every article an id")
    log(f"rows: {rows_path}/ (Parquet, partitioned by date)")

    if args.export_jsonl:
        export_jsonl(rows, out + "/rows-jsonl")
        log(f"rows read back from the Parquet as rhetor JSONL: {out}/rows-jsonl/")

    summary["aggregates"] = []
    if not args.skip_aggregate:
        for p, w in combos:
            ta = time.time()
            if len(combos) == 1:
                csv_dest, json_dest = out + "/aggregate.csv", out + "/aggregate.json"
            else:
                csv_dest = f"{out}/aggregate-{p}-{w}.csv"
                json_dest = f"{out}/aggregate-{p}-{w}.json"
            n = write_aggregates(
                spark, agg_rows, p, w, csv_dest, json_dest, with_axes=(st["max_axes"] or 0) > 0
            )
            summary["aggregates"].append((p, w, csv_dest, json_dest, n))
            log(f"aggregate period={p} weight={w}: {n} cell(s) in {time.time() - ta:.1f} s -> "
                f"{csv_dest}, {json_dest}")
    wall = time.time() - t0
    summary["wall_seconds"] = wall
    log(f"total: {n_rows} sentence row(s), wall time {wall:.1f} s"
        + (f", {n_rows / max(wall, 1e-9):.1f} sentences/s end to end" if score_s else ""))
    agg_rows.unpersist()
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
    if stop:
        spark.stop()
    return summary


if __name__ == "__main__":
    main()
