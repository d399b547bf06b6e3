#!/usr/bin/env python3
"""Peak memory of `rhetor score` against input size: does memory stay flat?

Feeds N synthetic JSONL articles (generated here from a fixed vocabulary, seeded; never real
articles) through a pipe into `rhetor score -`, as a Spark executor or a shell pipeline
would, and reads the process's peak RSS (getrusage of the child). Each size runs once per
model; the check is the ratio of the largest input's peak to the smallest's:

    python3 scripts/memory_bench.py                       # VADER 20k vs 200k, default 2k vs 20k sentences
    python3 scripts/memory_bench.py --model vader --sizes 20000 200000
    python3 scripts/memory_bench.py --bound 1.10          # exit 1 if a ratio exceeds 1.10
    python3 scripts/memory_bench.py --model vader --sizes 10000 1000000 --max-mib 160
                                                          # 200,000 articles through a pipe

Sizes count sentences (each article has 5). Rows go to /dev/null via stdout; the run's wall
time is printed too, but the figure to read is the RSS ratio (memory does not depend on the
machine's load; time does).
"""
import argparse
import os
import random
import resource
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "rhetor")

SUBJECTS = ["The minister", "A spokesman", "The delegation", "Officials", "The envoy",
            "Lawmakers", "The ministry", "Negotiators", "The president", "Observers"]
VERBS = ["said", "announced", "warned", "welcomed", "criticised", "reported", "confirmed",
         "rejected", "praised", "noted"]
OBJECTS = ["the new trade agreement", "the border incident", "talks on energy prices",
           "a joint military exercise", "the humanitarian corridor", "fresh sanctions",
           "the election results", "a prisoner exchange", "the budget plan", "the ceasefire"]
TAILS = ["on Monday", "in a statement", "after a long meeting", "during a visit",
         "according to local media", "late on Friday", "at a news conference", ""]


def article(rng, i):
    sentences = []
    for _ in range(5):
        tail = rng.choice(TAILS)
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        sentences.append((s + (" " + tail if tail else "")) + ".")
    day = 1 + i % 28
    return {"id": f"a{i}", "date": f"2024-{1 + i % 12:02d}-{day:02d}", "text": " ".join(sentences)}


def run(model, sentences, threads):
    """Peak RSS (MiB) and wall seconds of one `rhetor score` fed through a pipe."""
    import json
    rng = random.Random(13)
    n = max(1, sentences // 5)
    args = [BIN, "score", "--quiet", "--model", model, "--threads", str(threads), "-"]
    if model == "vader":
        args[2:2] = ["--target-model", "none"]
    start = time.time()
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)

    def feed():
        for i in range(n):
            proc.stdin.write((json.dumps(article(rng, i)) + "\n").encode())
        proc.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    _, _, ru = os.wait4(proc.pid, 0)
    writer.join()
    err = proc.stderr.read().decode()
    wall = time.time() - start
    if "error" in err:
        sys.exit(f"rhetor failed: {err}")
    return ru.ru_maxrss / 1024.0, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="model(s) to run (default: vader and rhetor-tone-minilm)")
    ap.add_argument("--sizes", type=int, nargs="+", help="sentence counts (default per model)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bound", type=float, default=1.10, help="largest/smallest peak RSS allowed")
    ap.add_argument("--max-mib", type=float, help="fixed bound: no run may peak above this many MiB")
    a = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: run `cargo build --release` first")
    models = a.model or ["vader", "rhetor-tone-minilm"]
    defaults = {"vader": [20000, 200000]}
    ok = True
    print(f"{'model':<22} {'sentences':>10} {'peak RSS MiB':>13} {'wall s':>8}")
    for m in models:
        sizes = a.sizes or defaults.get(m, [2000, 20000])
        peaks = []
        for s in sizes:
            rss, wall = run(m, s, a.threads)
            peaks.append(rss)
            print(f"{m:<22} {s:>10} {rss:>13.0f} {wall:>8.1f}", flush=True)
        ratio = max(peaks) / min(peaks)
        verdict = "ok" if ratio <= a.bound else f"ABOVE the bound {a.bound:.2f}"
        print(f"{m:<22} {'ratio':>10} {ratio:>13.3f}   {verdict}")
        ok &= ratio <= a.bound
        if a.max_mib is not None:
            within = max(peaks) <= a.max_mib
            print(f"{m:<22} {'peak':>10} {max(peaks):>13.0f}   "
                  f"{'ok' if within else 'ABOVE'} the fixed bound {a.max_mib:.0f} MiB")
            ok &= within
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
