#!/usr/bin/env python3
"""Checks that the Spark job's aggregates equal `rhetor aggregate` on the same rows.

    python scale/check_aggregates.py --output OUT --rhetor target/release/rhetor \\
        [--input articles.jsonl] [--reference rows.jsonl] [--synthetic] \\
        [--periods month,week] [--weights sentence,article] [--master 'local[2]'] [--conf K=V]

With --input, the job (scale/rhetor_spark.py) runs first, in this process, on those JSONL
articles with --export-jsonl and every period x weight asked for; with --synthetic it also runs,
in the same Spark session, on seeded synthetic rows built to hit the corners (actor ids with a
comma, quote or newline, undated rows and rows of `--input lines`, rows without a quad, ISO
weeks across New Year, cells of one unit and of more than 31, articles of many sentences,
user-defined axes on some rows only)
under OUT/synthetic. Without them, OUT must hold a finished run made with --export-jsonl.

For every output folder and every period x weight, the rows the job read back from its
Parquet (OUT/rows-jsonl/, so the Parquet round trip is part of the check) go through
`rhetor aggregate --format csv` and `--format json`, and the results are compared with the
job's files: the same set of cells (by, actor, speaker, target, period), every count equal and
every number equal within 1e-9 once parsed (both print 4 decimals, so the texts are expected to
be identical; that is reported too). Differences are listed cell by cell; exit status 1.

With --reference ROWS (plain `rhetor score` of the same articles), the scored rows are also
compared with it sentence by sentence (every field but `source`; numbers within 1e-4, one unit
of the last printed digit, as batches of a different make-up may move the last bit; within
INT8_TOL for rows of a model run in int8, whose batches may tip a value across an 8-bit step:
src/model/bert.rs).
"""

import argparse
import csv
import glob
import io
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KEY_COLS = ("by", "actor", "speaker", "target", "period")
INT_COLS = ("sentences", "articles")
# Rows of an int8 model: each token is quantized with its own range, so another batch changes
# a number only where fp32 rounding tips a value across an 8-bit step (1,000 sentences scored
# alone and in batches of 32: 98 % identical, largest tone change 0.013; the largest change
# seen here, 0.022, was a target's tone).
INT8_TOL = 0.05


def say(msg):
    print(f"check: {msg}", flush=True)


# ----------------------------------------------------------------------------- comparing


def parse_csv(text):
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def num(s):
    return None if s == "" else float(s)


def compare_csv(spark_text, rhetor_text, label):
    """Differences (list of strings) between two aggregate CSVs, cell by cell."""
    diffs = []
    h1, r1 = parse_csv(spark_text)
    h2, r2 = parse_csv(rhetor_text)
    if h1 != h2:
        return [f"{label}: headers differ:\n  spark:  {h1}\n  rhetor: {h2}"]
    idx = {c: i for i, c in enumerate(h1)}
    key = lambda r: tuple(r[idx[c]] for c in KEY_COLS)  # noqa: E731
    k1, k2 = [key(r) for r in r1], [key(r) for r in r2]
    m1, m2 = dict(zip(k1, r1)), dict(zip(k2, r2))
    for k in sorted(set(k2) - set(k1)):
        diffs.append(f"{label}: cell {k} only in rhetor aggregate")
    for k in sorted(set(k1) - set(k2)):
        diffs.append(f"{label}: cell {k} only in the Spark output")
    for k in k2:
        if k not in m1:
            continue
        a, b = m1[k], m2[k]
        for c, i in idx.items():
            if c in KEY_COLS:
                continue
            if c in INT_COLS:
                same = a[i] == b[i]
            else:
                x, y = num(a[i]), num(b[i])
                same = (x is None and y is None) or (
                    x is not None and y is not None and abs(x - y) <= 1e-9
                )
            if not same:
                diffs.append(f"{label}: cell {k} {c}: spark {a[i]!r}, rhetor {b[i]!r}")
    if not diffs and k1 != k2:
        diffs.append(f"{label}: same cells, but not in the same order")
    return diffs


def compare_json(spark_text, rhetor_text, label):
    a, b = json.loads(spark_text), json.loads(rhetor_text)
    if len(a) != len(b):
        return [f"{label}: {len(a)} cells in the Spark JSON, {len(b)} in rhetor's"]
    diffs = []

    def same(x, y):
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        if isinstance(x, float) or isinstance(y, float):
            return isinstance(x, (int, float)) and isinstance(y, (int, float)) and abs(x - y) <= 1e-9
        return x == y

    for x, y in zip(a, b):
        if not same(x, y):
            diffs.append(f"{label}: JSON cell differs:\n  spark:  {x}\n  rhetor: {y}")
    return diffs


def read_parts(folder):
    parts = sorted(glob.glob(os.path.join(folder, "part-*")))
    if not parts:
        raise SystemExit(f"check: no part files in {folder} (run the job with --export-jsonl)")
    return parts


def rhetor_aggregate(rhetor, parts, period, weight, fmt):
    cmd = [rhetor, "aggregate", "--period", period, "--weight", weight, "--format", fmt, *parts]
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode != 0:
        raise SystemExit(
            f"check: `{' '.join(cmd[:8])} ...` exited with {p.returncode}:\n"
            + p.stderr.decode("utf-8", "replace")
        )
    return p.stdout.decode("utf-8")


def check_output(out, rhetor, combos, label):
    """Compares every aggregate file of one job output; returns the number of failures."""
    parts = read_parts(os.path.join(out, "rows-jsonl"))
    n_rows = sum(1 for p in parts for line in open(p, encoding="utf-8") if line.strip())
    failures = 0
    for period, weight in combos:
        base = os.path.join(out, f"aggregate-{period}-{weight}")
        if not os.path.exists(base + ".csv") and len(combos) == 1:
            base = os.path.join(out, "aggregate")
        with open(base + ".csv", encoding="utf-8", newline="") as f:
            spark_csv = f.read()
        with open(base + ".json", encoding="utf-8") as f:
            spark_json = f.read()
        r_csv = rhetor_aggregate(rhetor, parts, period, weight, "csv")
        r_json = rhetor_aggregate(rhetor, parts, period, weight, "json")
        what = f"{label} period={period} weight={weight}"
        diffs = compare_csv(spark_csv, r_csv, what) + compare_json(spark_json, r_json, what)
        cells = len(parse_csv(r_csv)[1])
        if diffs:
            failures += 1
            say(f"FAILED: {what}: {len(diffs)} difference(s) from rhetor aggregate:")
            for d in diffs[:50]:
                print("  " + d)
            if len(diffs) > 50:
                print(f"  ... and {len(diffs) - 50} more")
        else:
            texts = "CSV and JSON byte-identical" if (spark_csv, spark_json) == (r_csv, r_json) \
                else "numbers equal; texts differ in form only"
            say(f"passed: {what}: {cells} cells from {n_rows} rows equal rhetor aggregate ({texts})")
    return failures


def compare_reference(out, reference):
    """Scored rows against plain `rhetor score` rows, by (article, index)."""
    def load(paths):
        rows = {}
        for p in paths:
            for line in open(p, encoding="utf-8"):
                if line.strip():
                    r = json.loads(line)
                    r.pop("source", None)
                    rows[(r.get("article"), r["index"])] = r
        return rows

    got = load(read_parts(os.path.join(out, "rows-jsonl")))
    want = load([reference])
    diffs = []

    def close(x, y, path, tol):
        if isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                diffs.append(f"{path}: fields {sorted(x)} vs {sorted(y)}")
                return
            for k in x:
                close(x[k], y[k], f"{path}.{k}", tol)
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (a, b) in enumerate(zip(x, y)):
                close(a, b, f"{path}[{i}]", tol)
        elif isinstance(x, float) or isinstance(y, float):
            if not (isinstance(x, (int, float)) and isinstance(y, (int, float))
                    and abs(x - y) <= tol):
                diffs.append(f"{path}: spark {x!r}, plain {y!r}")
        elif x != y:
            diffs.append(f"{path}: spark {x!r}, plain {y!r}")

    for k in sorted(set(got) | set(want), key=str):
        if k not in got or k not in want:
            diffs.append(f"row {k}: only in {'the Spark rows' if k in got else 'the plain rows'}")
        else:
            int8 = str(want[k].get("model", "")).endswith("+int8")
            close(got[k], want[k], f"row {k}", INT8_TOL if int8 else 1.0001e-4)
    if diffs:
        say(f"FAILED: rows: {len(diffs)} difference(s) from plain `rhetor score`:")
        for d in diffs[:30]:
            print("  " + d)
        return 1
    say(f"passed: rows: the {len(got)} rows scored on Spark equal plain `rhetor score` on the "
        "text files (every field but source)")
    return 0


# ----------------------------------------------------------------------------- synthetic rows

SYN_ACTORS = ["alpha", "beta", "gamma", 'acme, "inc"', "line\nbreak", "ünïcode", "Zeta"]
SYN_DATES = [
    "2020-12-31", "2021-01-03", "2021-01-04", "2024-02-29", "2024-12-29", "2024-12-30",
    "2025-01-01", "1999-12-31", "0999-05-01", "2023-06-15", "2023-06-16",
]
SYN_AXES = [("threat", 0.8), ("framing", 0.4), ("Zeta_axis", 0.1)]
QUADS = ["verbal_cooperation", "material_cooperation", "verbal_conflict", "material_conflict",
         "none"]


def synthetic_rows(seed=11):
    """Rows shaped like `rhetor score` JSONL, seeded."""
    rnd = random.Random(seed)
    rows = []

    def tone_label(t):
        return "negative" if t < -0.16 else "positive" if t > 0.16 else "neutral"

    def r4(x):
        return round(x, 4)

    def sentence(article, date, i, speaker, targets, quad, tone=None):
        t = tone if tone is not None else r4(
            rnd.choice([rnd.uniform(-1, 1), rnd.choice([-0.5, 0.25, 0.0, -0.0001, 0.00005])])
        )
        row = {"article": article, "date": date, "source": f"syn:{article}", "index": i,
               "start": 10 * i, "end": 10 * i + 9, "text": f"Sentence {i}.", "tone": t,
               "label": tone_label(t), "probs": {"negative": 0.2, "neutral": 0.5, "positive": 0.3},
               "model": "synthetic", "truncated": False, "speaker": speaker,
               "targets": [{"actor": a, "tone": r4(rnd.uniform(-1, 1)),
                            "label": rnd.choice(["negative", "neutral", "positive"]),
                            "source": "sentence"} for a in targets],
               "mentions": [{"actor": a, "start": 0, "end": 3, "text": a} for a in targets]}
        if quad is not None:
            row["quad"] = quad
            row["quad_probs"] = {q: 0.2 for q in QUADS}
        # user-defined axes (`rhetor score --axis`) on some rows only, and not all axes on each
        axes = {name: r4(rnd.uniform(-1.3, 1.3)) for name, p in SYN_AXES if rnd.random() < p}
        if axes:
            row["axes"] = axes
        return row

    for a in range(90):
        date = None if a % 17 == 5 else rnd.choice(SYN_DATES)
        vader = a % 11 == 3  # rows without a quad
        for i in range(rnd.choice([1, 1, 2, 3, 5, 8])):
            speaker = rnd.choice(SYN_ACTORS + [None, None])
            targets = rnd.sample(SYN_ACTORS, rnd.choice([0, 1, 1, 2, 3]))
            quad = None if vader or rnd.random() < 0.1 else rnd.choice(QUADS)
            rows.append(sentence(f"art-{a:03d}", date, i, speaker, targets, quad))
    # one big cell: more than 31 units in one month (t = 1.96 + 2.4/df), with article weight too
    for a in range(40):
        for i in range(rnd.choice([1, 2, 3])):
            rows.append(sentence(f"big-{a:02d}", "2023-06-15" if a % 2 else "2023-06-16", i,
                                 "alpha", ["beta"], rnd.choice(QUADS)))
    # a mean in (-0.00005, 0): rhetor prints it as -0.0000
    rows.append(sentence("negzero", "2022-03-01", 0, "Zeta", [], "none", tone=-0.0001))
    rows.append(sentence("negzero", "2022-03-01", 1, "Zeta", [], "none", tone=0.00005))
    # rows of `--input lines` (no article fields, no attribution): skipped by aggregate
    for i in range(3):
        row = sentence(None, None, i, None, [], None)
        for k in ("article", "date", "speaker", "targets", "mentions"):
            row.pop(k)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", required=True, help="the job's output folder")
    ap.add_argument("--rhetor", default=os.environ.get("RHETOR_BIN", "rhetor"))
    ap.add_argument("--periods", default="month,week")
    ap.add_argument("--weights", default="sentence,article")
    ap.add_argument("--input", help="run the job first on these JSONL articles")
    ap.add_argument("--reference", help="plain `rhetor score` rows of the same articles")
    ap.add_argument("--synthetic", action="store_true", help="also check seeded synthetic rows")
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--master")
    ap.add_argument("--conf", action="append", default=[])
    ap.add_argument("job_args", nargs="*", help="after --: more arguments for the job")
    args = ap.parse_args()
    periods = [p for p in args.periods.split(",") if p]
    weights = [w for w in args.weights.split(",") if w]
    combos = [(p, w) for p in periods for w in weights]
    out = args.output.rstrip("/")
    runs = []
    if args.input or args.synthetic:
        sys.path.insert(0, HERE)
        import rhetor_spark

        common = ["--period", ",".join(periods), "--weight", ",".join(weights),
                  "--rhetor", args.rhetor, "--export-jsonl"]
        if args.master:
            common += ["--master", args.master]
        for kv in args.conf:
            common += ["--conf", kv]
        if args.input:
            rhetor_spark.main(["--input", args.input, "--output", out, "--partitions",
                               str(args.partitions), *common, *args.job_args], stop=False)
            runs.append((out, "corpus"))
        if args.synthetic:
            syn = os.path.join(out, "synthetic")
            os.makedirs(syn, exist_ok=True)
            src = os.path.join(syn, "input-rows.jsonl")
            with open(src, "w", encoding="utf-8") as f:
                for r in synthetic_rows():
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            rhetor_spark.main(["--input", src, "--input-rows", "--output", syn, *common],
                              stop=False)
            runs.append((syn, "synthetic"))
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
    else:
        runs.append((out, "output"))

    failures = 0
    if args.reference:
        failures += compare_reference(out, args.reference)
    for folder, label in runs:
        failures += check_output(folder, args.rhetor, combos, label)
    if failures:
        say(f"FAILED: {failures} check(s) differ")
        sys.exit(1)
    say(f"all passed ({len(combos)} period x weight combination(s) x {len(runs)} output(s))")


if __name__ == "__main__":
    main()
