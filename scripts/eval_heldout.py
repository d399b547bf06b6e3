#!/usr/bin/env python3
"""Scores the held-out 10% of the VADER ICWSM 2014 snippet files (the same seeded split that
`rhetor train` uses) with rhetor models, and reports Pearson r against the mean human rating,
per file and over the three files combined. Standard library only.

The split depends on the training seed (`training.seed` in a model's manifest; 13 when a
model has none, e.g. vader). With models of several seeds, only rows held out under every one
of them are scored (about 1 % of the files for two seeds), so no model is scored on rows it
was trained on.

    cargo build --release
    python3 scripts/eval_heldout.py rhetor-tone-minilm vader rhetor-tone-minilm-linear
"""
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "../shared/data/vader_icwsm2014")
FILES = ["tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt"]
SEED, FRACTION = 13, 0.1


def held_out(group, key, seed=SEED, fraction=FRACTION):
    """Mirror of rhetor::data::held_out."""
    h = hashlib.sha256(seed.to_bytes(8, "little") + group.encode() + b"\0" + key.encode()).digest()
    x = int.from_bytes(h[:8], "little")
    return x / float(2**64 - 1) < fraction


def pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def training_seed(model):
    """The seed a model folder (a path or a name under models/) was trained with, if any."""
    for folder in (model, os.path.join(ROOT, "models", model)):
        path = os.path.join(folder, "manifest.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f).get("training", {}).get("seed")
    return None


def main(models):
    seeds = sorted({s for s in map(training_seed, models) if s is not None}) or [SEED]
    rows = []
    for name in FILES:
        path = os.path.join(DATA, name)
        if not os.path.exists(path):
            sys.exit(f"missing {path}: the held-out evaluation needs ../shared/data")
        with open(path, encoding="utf-8", newline="") as f:
            for line in f.read().split("\n"):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                key, rating, text = line.split("\t", 2)
                if all(held_out(name, key.strip(), seed) for seed in seeds):
                    rows.append((name, float(rating) / 4.0, text.strip()))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(r[2] for r in rows) + "\n")
        tmp = f.name
    binary = os.path.join(ROOT, "target/release/rhetor")
    print(f"{len(rows)} rows held out under training seed(s) {', '.join(map(str, seeds))}")
    print(f"{'model':<28} {'combined':>9} " + " ".join(f"{n.split('_')[0][:14]:>14}" for n in FILES))
    for m in models:
        out = subprocess.run([binary, "score", "--quiet", "--input", "lines", "--model", m, tmp],
                             capture_output=True, text=True, check=True).stdout
        tones = [json.loads(l)["tone"] for l in out.splitlines()]
        assert len(tones) == len(rows), (len(tones), len(rows))
        gold = [r[1] for r in rows]
        per = []
        for n in FILES:
            idx = [i for i, r in enumerate(rows) if r[0] == n]
            per.append(pearson([tones[i] for i in idx], [gold[i] for i in idx]))
        print(f"{m:<28} {pearson(tones, gold):>9.4f} " + " ".join(f"{p:>14.4f}" for p in per))
    os.unlink(tmp)


if __name__ == "__main__":
    main(sys.argv[1:] or ["rhetor-tone-minilm", "vader"])
