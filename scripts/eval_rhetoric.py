#!/usr/bin/env python3
"""Evaluate models on the rhetoric dev split (data/rhetoric/rhetoric_dev.jsonl, never trained on).

  scripts/eval_rhetoric.py [--dev FILE|FOLDER] [--json OUT] SPEC...

--dev defaults to the built dev split; a FOLDER of GUIDE-format files (e.g.
data/rhetoric/check, the blind check set) is checked and read as `rhetoric_corpus.py build`
would read it.

SPEC is LABEL=MODEL or LABEL=BINARY:MODEL (BINARY defaults to target/release/rhetor), e.g.
  default=rhetor-tone-minilm  target=rhetor-target-minilm  vader=vader
  previous=/tmp/old/rhetor:/tmp/old/models/rhetor-tone-minilm

Every model scores every dev sentence through the CLI (`rhetor score --input lines`) and every
dev target (`rhetor score --input targets`; a model that is not target-dependent gives the
sentence's tone, as `rhetor score` does). Prints, per model: sentence 3-class macro-F1 and
accuracy, Pearson r against label/2, accuracy on each hard case (GUIDE.md tags), quad macro-F1
(models with a quad head), target macro-F1, and the share of two-target sentences of opposite
gold tone where both targets are right. Standard library only.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_heldout import pearson  # noqa: E402  (one Pearson for both evaluation scripts)
import rhetoric_corpus  # noqa: E402  (one reader of GUIDE-format files)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CLASSES = ["negative", "neutral", "positive"]
QUADS = ["verbal_cooperation", "material_cooperation", "verbal_conflict", "material_conflict", "none"]
TAGS = ["success_hostile", "bombast", "plain_hostile", "somber_cooperation", "negation", "hedged",
        "reported_speech", "framing_verb", "multi_target", "neutral_actor", "long"]


def cls(tone):
    return "negative" if tone < 0 else "positive" if tone > 0 else "neutral"


def macro_f1(truth, pred, classes):
    f1s = []
    for c in classes:
        tp = sum(1 for t, p in zip(truth, pred) if t == c and p == c)
        actual = sum(1 for t in truth if t == c)
        predicted = sum(1 for p in pred if p == c)
        if actual == 0 and predicted == 0:
            continue
        f1s.append(0.0 if tp == 0 else 2 * tp / (actual + predicted))
    return sum(f1s) / len(f1s) if f1s else 0.0


def run(binary, args, lines):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        out = subprocess.run([binary, "score", "--quiet", "--format", "jsonl", *args, path],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    if len(rows) != len(lines):
        sys.exit(f"{binary} {args}: {len(rows)} rows for {len(lines)} inputs")
    return rows


def run_specs(specs, evaluate, data, json_out):
    """Evaluates every LABEL=[BINARY:]MODEL spec on `data` with `evaluate`; returns the
    results by label and writes them to `json_out` if given."""
    results = {}
    for spec in specs:
        label, target = spec.split("=", 1)
        binary, model = target.split(":", 1) if ":" in target else (
            os.path.join(ROOT, "target", "release", "rhetor"), target)
        results[label] = evaluate(binary, model, data)
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return results


def evaluate(binary, model, dev):
    sent = run(binary, ["--input", "lines", "--model", model], [r["text"] for r in dev])
    truth = [cls(r["tone"]) for r in dev]
    pred = [s["label"] for s in sent]
    res = {
        "rows": len(dev),
        "macro_f1": macro_f1(truth, pred, CLASSES),
        "accuracy": sum(t == p for t, p in zip(truth, pred)) / len(dev),
        "pearson": pearson([s["tone"] for s in sent], [r["tone"] / 2 for r in dev]),
        "sign_disagreements": sum(1 for s in sent if cls(s["tone"]) != s["label"] and s["label"] != "neutral"),
        "tags": {},
    }
    for tag in TAGS:
        k = [i for i, r in enumerate(dev) if tag in r["tags"]]
        if k:
            res["tags"][tag] = {"rows": len(k), "accuracy": sum(truth[i] == pred[i] for i in k) / len(k)}
    if all("quad" in s for s in sent):
        res["quad_macro_f1"] = macro_f1([r["quad"] for r in dev], [s["quad"] for s in sent], QUADS)
    items = [(i, t) for i, r in enumerate(dev) for t in r["targets"]]
    lines = [json.dumps({"text": dev[i]["text"], "from": t["from"], "to": t["to"]}) for i, t in items]
    trows = run(binary, ["--input", "targets", "--model", model], lines)
    ttruth = [cls(t["tone"]) for _, t in items]
    tpred = [r["label"] for r in trows]
    res["targets"] = {
        "rows": len(items),
        "macro_f1": macro_f1(ttruth, tpred, CLASSES),
        "accuracy": sum(a == b for a, b in zip(ttruth, tpred)) / len(items),
    }
    by_sentence = {}
    for k, (i, t) in enumerate(items):
        by_sentence.setdefault(i, []).append((t["tone"], ttruth[k], tpred[k], trows[k]["tone"]))
    pairs = both = opposite = 0
    for ts in by_sentence.values():
        neg = [t for t in ts if t[0] < 0]
        pos = [t for t in ts if t[0] > 0]
        for a in neg:
            for b in pos:
                pairs += 1
                both += a[1] == a[2] and b[1] == b[2]
                opposite += a[3] < b[3] and a[3] < 0 < b[3]
    res["targets"]["opposite_pairs"] = pairs
    res["targets"]["opposite_both_right"] = both / pairs if pairs else float("nan")
    res["targets"]["opposite_signed"] = opposite / pairs if pairs else float("nan")
    return res


def table(results):
    names = list(results)
    head = "| | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names) + "\n"
    def row(label, get):
        cells = []
        for n in names:
            try:
                v = get(results[n])
                cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
            except (KeyError, TypeError):
                cells.append("–")
        return f"| {label} | " + " | ".join(cells) + " |\n"
    out = head
    first = results[names[0]]
    out += row(f"sentences: macro-F1 ({first['rows']})", lambda r: r["macro_f1"])
    out += row("— accuracy", lambda r: r["accuracy"])
    out += row("— Pearson r against label/2", lambda r: r["pearson"])
    for tag in TAGS:
        if tag in first["tags"]:
            out += row(f"— {tag.replace('_', ' ')} ({first['tags'][tag]['rows']}): accuracy",
                       lambda r, tag=tag: r["tags"][tag]["accuracy"])
    out += row("quad macro-F1 (5 classes)", lambda r: r["quad_macro_f1"])
    out += row(f"targets: macro-F1 ({first['targets']['rows']})", lambda r: r["targets"]["macro_f1"])
    out += row("— accuracy", lambda r: r["targets"]["accuracy"])
    out += row(f"— opposite-tone pairs ({first['targets']['opposite_pairs']}): both right",
               lambda r: r["targets"]["opposite_both_right"])
    out += row("— opposite-tone pairs: opposite-signed tones", lambda r: r["targets"]["opposite_signed"])
    return out


def read_split(path):
    """Rows of a built file, or of a folder of GUIDE-format files (offsets computed, every
    line checked: an invalid line stops the evaluation)."""
    if not os.path.isdir(path):
        return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    rows, bad = rhetoric_corpus.load(sorted(glob.glob(os.path.join(path, "*.jsonl"))))
    if bad:
        sys.exit(f"{path}: {bad} invalid lines (listed above); fix them first")
    return rhetoric_corpus.sentence_rows(rows)


def main(argv):
    dev_path = os.path.join(ROOT, "data", "rhetoric", "rhetoric_dev.jsonl")
    json_out = None
    specs = []
    it = iter(argv[1:])
    for a in it:
        if a == "--dev":
            dev_path = next(it)
        elif a == "--json":
            json_out = next(it)
        elif "=" in a:
            specs.append(a)
        else:
            print(__doc__)
            return 2
    if not specs:
        print(__doc__)
        return 2
    dev = read_split(dev_path)
    print(table(run_specs(specs, evaluate, dev, json_out)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
