#!/usr/bin/env python3
"""Independent check of tone and quad on the PLOVER gold-standard records (never trained on).

  scripts/eval_plover.py GSR_FILE [--json OUT] SPEC...

GSR_FILE is `gold_standard_records/PLOVER_GSR_CAMEO.txt` of the PLOVER repository
(github.com/openeventdata/PLOVER, CC BY-NC-SA): 323 news sentences from the CAMEO 1.1b3
manual's examples, each coded by the OEDA team with one PLOVER event type (version 0.5b1).
rhetor's training corpus was written without these sentences and the file is not part of
this repository: fetch it yourself and give its path. SPEC is LABEL=MODEL or
LABEL=BINARY:MODEL, as for scripts/eval_rhetoric.py.

The event type gives the gold quad class by the PLOVER manual's quad table (its section
headers: AGREE, CONSULT, SUPPORT, CONCEDE verbal cooperation; COOPERATE, AID, RETREAT
material cooperation; REQUEST (0.5b1: DEMAND), ACCUSE (DISAPPROVE), REJECT, THREATEN,
and INVESTIGATE (CAMEO 09) verbal conflict; PROTEST, SANCTION, MOBILIZE, COERCE, ASSAULT
(0.5b1 also FIGHT) material conflict; DOCUMENT is left out). Cooperation events are gold
"warm", conflict events gold "hostile": a proxy for the tone, since a sentence may report
a cooperative act against a third party. Printed per model:
- direction: share of sentences whose label is the gold side (a neutral label is a miss),
  and the share labelled neutral;
- direction macro-F1 over warm/hostile (neutral predictions count as misses of both);
- quad macro-F1 over the four gold classes (a predicted `none` is a miss), models with a quad
  head only; and the direction accuracy per event type.
Standard library only.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_rhetoric import macro_f1, run, run_specs  # noqa: E402  (one CLI runner for both)

QUAD = {
    **dict.fromkeys(["AGREE", "CONSULT", "SUPPORT", "CONCEDE"], "verbal_cooperation"),
    **dict.fromkeys(["COOPERATE", "AID", "RETREAT"], "material_cooperation"),
    **dict.fromkeys(["REQUEST", "DEMAND", "ACCUSE", "DISAPPROVE", "REJECT", "THREATEN",
                     "INVESTIGATE"], "verbal_conflict"),
    **dict.fromkeys(["PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT", "FIGHT"],
                    "material_conflict"),
}
QUADS = ["verbal_cooperation", "material_cooperation", "verbal_conflict", "material_conflict"]


def read_records(path):
    """The records of the GSR file: JSON objects with trailing commas, one after another."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r",\s*([}\]])", r"\1", text)
    records, decoder, at = [], json.JSONDecoder(), 0
    while True:
        start = text.find("{", at)
        if start < 0:
            return records
        obj, at = decoder.raw_decode(text, start)
        records.append(obj)


def rows(path):
    """(id, event, text, quad, side) for every record with a mapped event."""
    out = []
    for r in read_records(path):
        event, text = r.get("event", ""), r.get("text", "").strip()
        if event not in QUAD or not text:
            continue
        text = text.strip("{}").strip()
        quad = QUAD[event]
        out.append((r["id"], event, text, quad, "positive" if "cooperation" in quad else "negative"))
    return out


def evaluate(binary, model, data):
    scored = run(binary, ["--input", "lines", "--model", model], [d[2] for d in data])
    side = [d[4] for d in data]
    label = [s["label"] for s in scored]
    res = {
        "rows": len(data),
        "direction": sum(a == b for a, b in zip(side, label)) / len(data),
        "neutral_share": sum(l == "neutral" for l in label) / len(data),
        "direction_macro_f1": macro_f1(side, label, ["negative", "positive"]),
        "by_event": {},
    }
    if all("quad" in s for s in scored):
        res["quad_macro_f1"] = macro_f1([d[3] for d in data], [s["quad"] for s in scored], QUADS)
        res["quad_accuracy"] = sum(d[3] == s["quad"] for d, s in zip(data, scored)) / len(data)
    for event in sorted({d[1] for d in data}):
        k = [i for i, d in enumerate(data) if d[1] == event]
        res["by_event"][event] = {"rows": len(k), "direction": sum(side[i] == label[i] for i in k) / len(k)}
    return res


def table(results):
    names = list(results)
    first = results[names[0]]
    out = "| | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names) + "\n"

    def row(label, get):
        cells = []
        for n in names:
            v = get(results[n])
            cells.append("–" if v is None else f"{v:.3f}")
        return f"| {label} | " + " | ".join(cells) + " |\n"

    out += row(f"direction right ({first['rows']} sentences)", lambda r: r["direction"])
    out += row("— labelled neutral", lambda r: r["neutral_share"])
    out += row("direction macro-F1 (warm/hostile)", lambda r: r["direction_macro_f1"])
    out += row("quad macro-F1 (4 classes)", lambda r: r.get("quad_macro_f1"))
    out += row("quad accuracy", lambda r: r.get("quad_accuracy"))
    for event, e in first["by_event"].items():
        out += row(f"— {event} ({QUAD[event].replace('_', ' ')}, {e['rows']})",
                   lambda r, event=event: r["by_event"][event]["direction"])
    return out


def main(argv):
    args, json_out = argv[1:], None
    if "--json" in args:
        i = args.index("--json")
        json_out = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2 or not os.path.isfile(args[0]) or not all("=" in a for a in args[1:]):
        print(__doc__)
        return 2
    data = rows(args[0])
    print(table(run_specs(args[1:], evaluate, data, json_out)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
