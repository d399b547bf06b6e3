#!/usr/bin/env python3
"""Check and build the rhetoric corpus (data/rhetoric/GUIDE.md).

  scripts/rhetoric_corpus.py check FILE...        validate lines, print problems and counts
  scripts/rhetoric_corpus.py build                check everything, then write (for `rhetor train`)
                                                  data/rhetoric/rhetoric_{train,train_pass2,dev}.jsonl:
                                                  one sentence a line, `label` = tone -2..2, `quad`,
                                                  targets with character offsets `from`/`to`; and
                                                  data/rhetoric/rhetoric_{train,train_pass2,dev}_targets.jsonl:
                                                  one target a line (id, text, from, to, label)
  scripts/rhetoric_corpus.py stats                coverage report (counts per tag, quad, cameo...)

The training files come in two passes: rhetoric_train.jsonl holds the first (every file of
written/ not named in SECOND_PASS; the build the first corpus models were trained on, kept
byte-identical), rhetoric_train_pass2.jsonl the files written after it, so that a recipe can
weigh the two differently.

Three splits: written/ (training), dev/ and check/ (the blind check set; both never trained
on). build and stats check all three and refuse a dev or check sentence that is in written/;
check/ is not built: scripts/eval_rhetoric.py --dev data/rhetoric/check reads it directly.

Standard library only. Exit status 1 when any line is invalid.
"""
import collections
import glob
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.path.join(ROOT, "data", "rhetoric")
QUADS = ["verbal_cooperation", "material_cooperation", "verbal_conflict", "material_conflict", "none"]
REGISTERS = {"wire", "state_media", "statement", "quote", "oped"}
TAGS = {"success_hostile", "bombast", "plain_hostile", "somber_cooperation", "negation", "hedged",
        "reported_speech", "framing_verb", "multi_target", "neutral_actor", "long"}
KEYS = {"text", "tone", "quad", "cameo", "register", "tags", "targets"}
# Phrases of the seed article's test sentences: the corpus must not paraphrase them.
BANNED = ["reactionary", "bloc for aggression", "bolster military capability", "fell in love",
          "invasion rehearsal", "toughest", "targeting the us and its allies",
          "anti-communism", "mental toughness"]


# Files written after the first training build (GUIDE hard cases found by later evaluations).
SECOND_PASS = ("buildup-02", "buildup-03", "capability-", "contrast-", "negation-", "wire-", "yield-")


def in_second_pass(name):
    """True for a file name (or a row origin `FILE:LINE`) of the second pass."""
    return name.startswith(SECOND_PASS)


def quad_of_cameo(code):
    """CAMEO root (01..20) -> GDELT QuadClass name."""
    n = int(code)
    if n <= 5:
        return "verbal_cooperation"
    if n <= 8:
        return "material_cooperation"
    if n <= 13:
        return "verbal_conflict"
    return "material_conflict"


def find_occurrence(text, mention, occurrence):
    """Character offsets of the n-th (1-based) occurrence of mention, or None."""
    start = -1
    for _ in range(occurrence):
        start = text.find(mention, start + 1)
        if start < 0:
            return None
    return start, start + len(mention)


def check_row(row):
    """Return (problems, enriched row)."""
    problems = []
    if not isinstance(row, dict):
        return ["not a JSON object"], None
    missing = KEYS - row.keys()
    if missing:
        problems.append(f"missing keys {sorted(missing)}")
        return problems, None
    text = row["text"]
    if not isinstance(text, str) or len(text.split()) < 4:
        problems.append("text must be a sentence of 4+ words")
    if isinstance(text, str) and any(b in text.lower() for b in BANNED):
        problems.append("text uses a phrase reserved for the seed article's tests")
    if row["tone"] not in (-2, -1, 0, 1, 2):
        problems.append("tone must be an integer -2..2")
    if row["quad"] not in QUADS:
        problems.append(f"quad must be one of {QUADS}")
    cameo = row["cameo"]
    if row["quad"] == "none":
        if cameo is not None:
            problems.append("quad none needs cameo null")
    elif not (isinstance(cameo, str) and re.fullmatch(r"(0[1-9]|1[0-9]|20)", cameo)):
        problems.append("cameo must be '01'..'20' (or null for quad none)")
    elif quad_of_cameo(cameo) != row["quad"]:
        problems.append(f"cameo {cameo} belongs to {quad_of_cameo(cameo)}, not {row['quad']}")
    if row["register"] not in REGISTERS:
        problems.append(f"register must be one of {sorted(REGISTERS)}")
    if not isinstance(row["tags"], list) or set(row["tags"]) - TAGS:
        problems.append(f"unknown tags {sorted(set(row['tags']) - TAGS)}")
    targets = []
    if not isinstance(row["targets"], list):
        problems.append("targets must be a list")
        return problems, None
    for t in row["targets"]:
        if not isinstance(t, dict) or "mention" not in t or "tone" not in t:
            problems.append("each target needs mention and tone")
            continue
        if t["tone"] not in (-2, -1, 0, 1, 2):
            problems.append(f"target {t['mention']!r}: tone must be -2..2")
        occ = t.get("occurrence", 1)
        span = find_occurrence(text, t["mention"], occ) if isinstance(occ, int) and occ >= 1 else None
        if span is None:
            problems.append(f"target mention {t['mention']!r} (occurrence {occ}) not in text")
            continue
        targets.append({"mention": t["mention"], "from": span[0], "to": span[1], "tone": t["tone"]})
    spans = [(t["from"], t["to"]) for t in targets]
    if len(set(spans)) != len(spans):
        problems.append("two targets point at the same span")
    if "multi_target" in row["tags"] and len({(t["tone"] > 0) - (t["tone"] < 0) for t in targets}) < 2:
        problems.append("multi_target needs targets of different tone classes")
    out = dict(row)
    out["targets"] = targets
    return problems, out


def read(path):
    """Yield (line number, problems, row) for each non-blank line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield n, [f"invalid JSON: {e}"], None
                continue
            problems, out = check_row(row)
            yield n, problems, out


def key(text):
    """A sentence as duplicates are compared: lower-cased, punctuation dropped."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def load(paths):
    rows, bad = [], 0
    seen = {}
    for path in paths:
        for n, problems, row in read(path):
            if row is not None:
                k = key(row["text"])
                if k in seen:
                    problems = problems + [f"duplicate of {seen[k]}"]
                else:
                    seen[k] = f"{os.path.relpath(path, ROOT)}:{n}"
            for p in problems:
                print(f"{os.path.relpath(path, ROOT)}:{n}: {p}")
            if problems:
                bad += 1
            elif row is not None:
                row["origin"] = f"{os.path.basename(path)}:{n}"
                rows.append(row)
    return rows, bad


def split_files(split):
    return sorted(glob.glob(os.path.join(DATA, split, "*.jsonl")))


def stats(rows, label):
    c = collections.Counter
    print(f"== {label}: {len(rows)} sentences, {sum(len(r['targets']) for r in rows)} targets")
    print("tone   ", dict(sorted(c(r["tone"] for r in rows).items())))
    print("quad   ", dict(c(r["quad"] for r in rows)))
    print("cameo  ", dict(sorted(c(str(r["cameo"]) for r in rows).items())))
    print("register", dict(c(r["register"] for r in rows)))
    print("tags   ", dict(c(t for r in rows for t in r["tags"])))
    opposite = sum(1 for r in rows if {1, -1} <= {(t["tone"] > 0) - (t["tone"] < 0) for t in r["targets"]})
    print("targets of opposite sign in one sentence:", opposite)
    print("neutral sentences with a target:", sum(1 for r in rows if r["tone"] == 0 and r["targets"]))
    print("long (>= 35 words):", sum(1 for r in rows if len(r["text"].split()) >= 35))


def write(rows, path):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def sentence_rows(rows):
    """Rows for sentence-level training: `label` is the 5-point tone (--label-scale 2)."""
    return [{"id": r["origin"], "text": r["text"], "label": r["tone"], "quad": r["quad"],
             "cameo": r["cameo"], "register": r["register"], "tags": r["tags"],
             "tone": r["tone"], "targets": r["targets"]} for r in rows]


def target_rows(rows):
    """One row per target mention, in the format `rhetor train target` reads."""
    return [{"id": f"{r['origin']}#{k}", "text": r["text"], "mention": t["mention"],
             "from": t["from"], "to": t["to"], "label": t["tone"]}
            for r in rows for k, t in enumerate(r["targets"])]


def main(argv):
    if len(argv) < 2 or argv[1] not in ("check", "build", "stats"):
        print(__doc__)
        return 2
    if argv[1] == "check":
        rows, bad = load(argv[2:])
        print(f"{len(rows)} valid, {bad} invalid")
        return 1 if bad else 0
    written = split_files("written")
    second = [f for f in written if in_second_pass(os.path.basename(f))]
    train, bad_t = load([f for f in written if f not in second] + second)
    dev, bad_d = load(split_files("dev"))
    check, bad_c = load(split_files("check"))
    overlap = 0
    for name, rows in (("dev/", dev), ("check/", check)):
        both = {key(r["text"]) for r in train} & {key(r["text"]) for r in rows}
        if both:
            print(f"{len(both)} sentences are in both written/ and {name}")
        overlap += len(both)
    stats(train, "written (train)")
    stats(dev, "dev")
    stats(check, "check (blind, never trained on; read by eval_rhetoric.py --dev data/rhetoric/check)")
    if argv[1] == "build":
        if bad_t or bad_d or bad_c or overlap:
            print("not written: fix the problems above")
            return 1
        first_pass = [r for r in train if not in_second_pass(r["origin"])]
        second_pass = [r for r in train if in_second_pass(r["origin"])]
        for name, rows in (("train", first_pass), ("train_pass2", second_pass), ("dev", dev)):
            write(sentence_rows(rows), os.path.join(DATA, f"rhetoric_{name}.jsonl"))
            write(target_rows(rows), os.path.join(DATA, f"rhetoric_{name}_targets.jsonl"))
        print("wrote data/rhetoric/rhetoric_{train,train_pass2,dev}.jsonl and their _targets.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
