#!/usr/bin/env python3
"""Text articles -> JSONL articles, exactly as `rhetor score` reads the text files.

    python3 scale/corpus_to_jsonl.py examples/corpus/ > articles.jsonl
    python3 scale/corpus_to_jsonl.py examples/corpus/ --repeat 200 > big.jsonl

Each file (directories are walked recursively in sorted order, hidden entries skipped) becomes
one line `{"id": STEM, "date": "YYYY-MM-DD" | null, "text": BODY}`, where STEM, the date and
BODY follow `parse_text_article` in src/ingest/mod.rs: a UTF-8 BOM is dropped, the text is
trimmed at the start, an optional header `date YYYY-MM-DD` (only `date ` followed by a digit)
is cut off, and the rest, trimmed at both ends, is the body. Sentence offsets of
`rhetor score --input jsonl` then point into the same string as with the text file, so the
rows are the same (except `source`).

`--repeat N` writes the corpus N times with distinct ids (`STEM` in the first copy,
`STEM~2`, `STEM~3`, ... after it): a bigger input for the benchmark.
Standard library only (runs with any python3).
"""

import argparse
import datetime
import json
import os
import sys

# char::is_whitespace in Rust: the Unicode White_Space property. (Python's str.isspace also
# accepts U+001C..U+001F, which Rust does not, so the set is spelled out.)
RUST_WHITESPACE = frozenset(
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def trim_start(s):
    i = 0
    while i < len(s) and s[i] in RUST_WHITESPACE:
        i += 1
    return s[i:]


def trim_end(s):
    j = len(s)
    while j > 0 and s[j - 1] in RUST_WHITESPACE:
        j -= 1
    return s[:j]


def parse_date(value):
    """`parse_date` in src/ingest/mod.rs: YYYY-MM-DD, or an RFC 3339 timestamp's date part."""
    v = value.strip()
    day = v[:10] if len(v) > 10 and v[10] == "T" else v
    parts = day.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a date YYYY-MM-DD: {value!r}")
    return datetime.date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()


def parse_text_article(text):
    """(date or None, body) of a text article, as `parse_text_article` reads it."""
    trimmed = trim_start(text)
    date, body = None, trimmed
    if trimmed.startswith("date "):
        rest = trimmed[len("date "):].lstrip(" \t")
        if rest[:1].isascii() and rest[:1].isdigit():
            end = next((i for i, c in enumerate(rest) if c in RUST_WHITESPACE), len(rest))
            date = parse_date(rest[:end])
            body = trim_start(rest[end:])
    body = trim_end(body)
    if not body:
        raise ValueError("empty article")
    return date, body


def files_under(paths):
    for p in paths:
        if os.path.isdir(p):
            found = []
            for root, dirs, names in os.walk(p):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found += [os.path.join(root, n) for n in names if not n.startswith(".")]
            yield from sorted(found)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+", help="text article files or directories")
    ap.add_argument("--repeat", type=int, default=1, help="write the corpus N times (distinct ids)")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    args = ap.parse_args()
    articles = []
    for path in files_under(args.inputs):
        with open(path, "rb") as f:
            raw = f.read()
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            date, body = parse_text_article(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            print(f"corpus_to_jsonl: skipped {path}: {e}", file=sys.stderr)
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        articles.append((stem, date, body))
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    with out:
        for copy in range(1, max(args.repeat, 1) + 1):
            for stem, date, body in articles:
                aid = stem if copy == 1 else f"{stem}~{copy}"
                row = {"id": aid, "date": date, "text": body}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(
        f"corpus_to_jsonl: {len(articles)} article(s) x {max(args.repeat, 1)}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
