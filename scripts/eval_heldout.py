#!/usr/bin/env python3
"""Scores the held-out 10% of the VADER ICWSM 2014 snippet files (the same seeded split that
`rhetor train` uses) with rhetor models, and reports Pearson r against the mean human rating,
per file and over the three files combined. Standard library only.

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


def main(models):
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
                if held_out(name, key.strip()):
                    rows.append((name, float(rating) / 4.0, text.strip()))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(r[2] for r in rows) + "\n")
        tmp = f.name
    binary = os.path.join(ROOT, "target/release/rhetor")
    print(f"{len(rows)} held-out rows")
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
