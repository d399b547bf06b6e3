#!/usr/bin/env bash
# Speed and agreement of rhetor's fp32 and int8 encoder against its peers, same run, same
# sentences (issue 10, item 1; not run by CI):
#   - Python transformers 4.44.2 + torch 2.4.0 eager fp32 (the reference)
#   - ONNX Runtime fp32, the same all-MiniLM-L6-v2 exported from the same weights (opset 14)
#   - ONNX Runtime int8: onnxruntime.quantization.quantize_dynamic of that export (QInt8
#     weights, per tensor; also per channel)
#   - rhetor fp32 and int8 in process (`rhetor bench`, model loading excluded) and as a whole
#     process (`rhetor score --input lines`, loading included)
# Every path gets the same sentences sorted by token length, batch size 64 and $THREADS threads
# (default 2). Timings are repeated $RUNS times (default 3), interleaved (all paths, then all
# paths again, ...), and reported as median [min-max]: the machine is shared and noisy.
#
# Python paths: sentences are tokenized once up front (untimed; the fast tokenizer's own rate is
# printed); the timed part is forward + mean pooling + L2 normalisation. No path gets a warm-up
# pass. rhetor's in-process rate includes its own tokenization (the CLI cannot separate it).
#
# Input: a news set of real sentences of mixed length, deduplicated: data/rhetoric/rhetoric_dev.jsonl,
# the bundled world-rhetoric suite, ../shared/data/newsmtsc/dev.jsonl, topped up from
# ../shared/data/newsmtsc/train.jsonl to $NEWS_MIN sentences (default 3000) when those are
# fewer; or a file given as argument, one sentence per line. LIMIT=N keeps N evenly spaced
# sentences (for a quick check).
#
# Peers are installed from PyPI into a throwaway venv ($PEER_VENV, default
# /tmp/rhetor-int8-peers). PyPI's torch 2.4.0 wheel cannot be imported without its CUDA
# libraries, so the venv gets torch with --no-deps plus only the CUDA wheels that its libraries
# link against (no triton, cusolver or nvrtc); the torch, cudart and cupti wheels are taken from
# scripts/setup.sh's verified wheel cache when they are there. The .onnx files are built in the
# venv folder. Results: $OUT (default target/int8-compare/): the sorted sentences, torch fp32
# embeddings (.npy, one row per line of news.txt) and every timing as JSON.
#
# Usage: scripts/setup.sh && cargo build --release && scripts/int8_compare.sh [SENTENCES.txt]
#        THREADS=2 RUNS=3 LIMIT=200 scripts/int8_compare.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PEER_VENV:-/tmp/rhetor-int8-peers}"
bin="$root/target/release/rhetor"
threads="${THREADS:-2}"
runs="${RUNS:-3}"
bs=64
news_min="${NEWS_MIN:-3000}"
limit="${LIMIT:-0}"
out="${OUT:-$root/target/int8-compare}"
encoder="$root/models/all-minilm-l6-v2"
cache="${RHETOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rhetor}/wheels"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -f "$encoder/model.safetensors" ] || { echo "install the encoder first: scripts/setup.sh" >&2; exit 2; }
py="$venv/bin/python"

# ---------------------------------------------------------------- peer venv
TORCH_WHEEL="torch-2.4.0-cp311-cp311-manylinux1_x86_64.whl e743adadd8c8152bb8373543964551a7cb7cc20ba898dc8f9c0cdbe47c283de0"
CUDART_WHEEL="nvidia_cuda_runtime_cu12-12.1.105-py3-none-manylinux1_x86_64.whl 6e258468ddf5796e25f1dc591a31029fa317d97a0a94ed93468fc86301d61e40"
CUPTI_WHEEL="nvidia_cuda_cupti_cu12-12.1.105-py3-none-manylinux1_x86_64.whl e54fde3983165c624cb79254ae9818a456eb6e87a7fd4d56a2352c24ee542d7e"
# The libraries that torch 2.4.0's libtorch_python/libtorch_cuda link against (torch's own pins).
CUDA_LIBS="nvidia-cudnn-cu12==9.1.0.70 nvidia-cublas-cu12==12.1.3.1 nvidia-cufft-cu12==11.0.2.54
  nvidia-curand-cu12==10.3.2.106 nvidia-cusparse-cu12==12.1.0.106 nvidia-nccl-cu12==2.20.5
  nvidia-nvtx-cu12==12.1.105"
PEERS="transformers==4.44.2 onnx==1.23.2 onnxruntime==1.32.0"
stamp="torch==2.4.0 $PEERS $CUDA_LIBS"

# cached_or_name WHEEL-FILE SHA SPEC: the cached wheel's path if its sha256 matches, else SPEC.
cached_or_name() {
  local f="$cache/$1"
  if [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$2" ]; then echo "$f"; else echo "$3"; fi
}

if [ ! -f "$venv/.int8-peers-stamp" ] || [ "$(cat "$venv/.int8-peers-stamp")" != "$stamp" ]; then
  if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "$venv exists and is not a venv; set PEER_VENV" >&2; exit 2
  fi
  echo "setting up the peer venv in $venv (PyPI: torch==2.4.0 $PEERS) ..."
  t0=$(date +%s)
  rm -rf "$venv"
  python3 -m venv "$venv"
  pip=("$venv/bin/pip" install --quiet --no-deps)
  # shellcheck disable=SC2086
  "${pip[@]}" "$(cached_or_name $TORCH_WHEEL torch==2.4.0)" \
    "$(cached_or_name $CUDART_WHEEL nvidia-cuda-runtime-cu12==12.1.105)" \
    "$(cached_or_name $CUPTI_WHEEL nvidia-cuda-cupti-cu12==12.1.105)"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet $CUDA_LIBS filelock 'typing-extensions>=4.8' sympy networkx jinja2 fsspec
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet $PEERS
  "$py" -c "import torch, transformers, onnx, onnxruntime" \
    || { echo "the peer venv does not import; see above" >&2; exit 2; }
  echo "$stamp" > "$venv/.int8-peers-stamp"
  echo "peer venv ready in $(( $(date +%s) - t0 )) s, $(du -sh "$venv" | cut -f1) on disk"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
out=$(cd "$out" && pwd); venv=$(cd "$venv" && pwd); py="$venv/bin/python"

# ---------------------------------------------------------------- Python side
cat > "$work/peers.py" <<'PY'
import json, os, sys, time, hashlib, statistics, warnings
warnings.filterwarnings("ignore", category=FutureWarning)

def log(*a):
    print(*a, file=sys.stderr, flush=True)

def norm(s):
    return " ".join(s.split())

def build(out_path, root, news_min):
    """The news set: the sources in order, deduplicated after whitespace normalisation."""
    import csv
    seen, sents, counts = set(), [], []
    def add(name, texts, cap=None):
        k = 0
        for t in texts:
            t = norm(t)
            if not t or t in seen:
                continue
            if cap is not None and len(sents) >= cap:
                break
            seen.add(t); sents.append(t); k += 1
        counts.append((name, k))
    def jsonl(path, field):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)[field]
    add("data/rhetoric/rhetoric_dev.jsonl", jsonl(f"{root}/data/rhetoric/rhetoric_dev.jsonl", "text"))
    with open(f"{root}/benches/suites/world-rhetoric/suite.tsv", encoding="utf-8", newline="") as f:
        add("benches/suites/world-rhetoric/suite.tsv",
            [r["text"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)])
    shared = os.path.normpath(f"{root}/../shared/data/newsmtsc")
    if os.path.exists(f"{shared}/dev.jsonl"):
        add("../shared/data/newsmtsc/dev.jsonl", jsonl(f"{shared}/dev.jsonl", "sentence"))
    if len(sents) < news_min and os.path.exists(f"{shared}/train.jsonl"):
        add(f"../shared/data/newsmtsc/train.jsonl (top-up to {news_min})",
            jsonl(f"{shared}/train.jsonl", "sentence"), cap=news_min)
    for name, k in counts:
        print(f"  {k:6d}  {name}")
    if len(sents) < news_min:
        print(f"  warning: only {len(sents)} sentences, fewer than {news_min}")
    with open(out_path, "w", encoding="utf-8") as f:
        f.writelines(s + "\n" for s in sents)

def prep(inp, model_dir, out_dir, onnx_dir, limit, threads):
    """Normalise, sample, sort by token length; export and quantize the encoder (once)."""
    from transformers import AutoTokenizer
    sents = [norm(l) for l in open(inp, encoding="utf-8")]
    sents = [s for s in sents if s]
    if limit and len(sents) > limit:
        sents = [sents[(i * len(sents)) // limit] for i in range(limit)]
    tok = AutoTokenizer.from_pretrained(model_dir)
    full = [len(x) for x in tok(sents)["input_ids"]]
    lens = [min(n, 128) for n in full]
    order = sorted(range(len(sents)), key=lambda i: lens[i])
    with open(f"{out_dir}/news.txt", "w", encoding="utf-8") as f:
        f.writelines(sents[i] + "\n" for i in order)
    ls = sorted(lens)
    print(f"sentences: {len(sents)}; tokens per sentence (with [CLS]/[SEP], cut at 128): "
          f"min {ls[0]}, median {ls[len(ls)//2]}, mean {sum(ls)/len(ls):.1f}, max {ls[-1]}; "
          f"{sum(n > 128 for n in full)} truncated; {sum(ls)} tokens in all")

    import torch, onnx, onnxruntime as ort
    sha = hashlib.sha256(open(f"{model_dir}/model.safetensors", "rb").read()).hexdigest()
    stamp = f"{sha} torch {torch.__version__} onnx {onnx.__version__} ort {ort.__version__} opset 14 int8 from quant_pre_process"
    paths = {k: f"{onnx_dir}/{k}.onnx" for k in ("fp32", "int8", "int8pc")}
    stamp_file = f"{onnx_dir}/stamp"
    if os.path.exists(stamp_file) and open(stamp_file).read() == stamp and all(map(os.path.exists, paths.values())):
        print(f"onnx: reusing {onnx_dir} (same weights and versions)")
        return
    os.makedirs(onnx_dir, exist_ok=True)
    from transformers import AutoModel
    from onnxruntime.quantization import quantize_dynamic, QuantType
    torch.set_num_threads(threads)
    # Eager attention exports the plain MatMul/Softmax pattern that ORT's optimizer fuses.
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    class Encoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__(); self.m = m
        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
    names = ["input_ids", "attention_mask", "token_type_ids"]
    ex = tok(["A short one.", "A somewhat longer sentence to trace the export with."],
             padding=True, return_tensors="pt")
    with torch.inference_mode():
        ref = model(**ex).last_hidden_state.numpy()
    t = time.perf_counter()
    # .eval(): export restores the wrapper's mode afterwards, which would switch dropout on.
    torch.onnx.export(Encoder(model).eval(), tuple(ex[n] for n in names), paths["fp32"],
                      input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]},
                      opset_version=14, do_constant_folding=True)
    # ORT's recommended pre-processing (shape inference + graph optimisation) before quantizing;
    # its symbolic shape inference gives up on this graph, so retry without it.
    from onnxruntime.quantization.shape_inference import quant_pre_process
    src, pre = paths["fp32"], f"{onnx_dir}/fp32-pre.onnx"
    for kw in ({}, {"skip_symbolic_shape": True}):
        try:
            quant_pre_process(paths["fp32"], pre, **kw)
            src = pre
            break
        except Exception as e:
            log(f"onnx: quant_pre_process({kw}) failed: {e}")
    quantize_dynamic(src, paths["int8"], weight_type=QuantType.QInt8, per_channel=False)
    quantize_dynamic(src, paths["int8pc"], weight_type=QuantType.QInt8, per_channel=True)
    got = ort.InferenceSession(paths["fp32"], providers=["CPUExecutionProvider"]).run(
        None, {n: ex[n].numpy() for n in names})[0]
    sizes = ", ".join(f"{k} {os.path.getsize(p) / 2**20:.1f} MiB" for k, p in paths.items())
    print(f"onnx: exported and quantized in {time.perf_counter() - t:.0f} s into {onnx_dir} ({sizes}; "
          f"int8 from {os.path.basename(src)}); fp32 export vs torch on real tokens: "
          f"max |diff| {abs(ref - got)[ex['attention_mask'].numpy().astype(bool)].max():.2e}")
    with open(stamp_file, "w") as f:
        f.write(stamp)

def timing(news, model_dir, onnx_dir, threads, bs, npy):
    """One round: every Python path once over the same length-sorted batches."""
    import numpy as np, torch, onnxruntime as ort
    from transformers import AutoTokenizer, AutoModel
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    sents = [l.rstrip("\n") for l in open(news, encoding="utf-8")]
    n = len(sents)
    tok = AutoTokenizer.from_pretrained(model_dir)
    t = time.perf_counter()
    batches = [dict(tok(sents[k:k + bs], padding=True, truncation=True, max_length=128, return_tensors="np"))
               for k in range(0, n, bs)]
    tok_rate = n / (time.perf_counter() - t)
    res = {"tokenize_per_sec": tok_rate, "paths": {}}

    model = AutoModel.from_pretrained(model_dir).eval()
    tb = [{k: torch.from_numpy(v) for k, v in b.items()} for b in batches]
    pooled = []
    with torch.inference_mode():
        t = time.perf_counter()
        for b in tb:
            h = model(**b).last_hidden_state
            m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
            p = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            pooled.append(torch.nn.functional.normalize(p, dim=-1))
        dt = time.perf_counter() - t
    ref = torch.cat(pooled).numpy()
    del model, tb, pooled
    res["paths"]["torch-fp32"] = {"sentences_per_sec": n / dt, "cos_mean": 1.0, "cos_min": 1.0}
    if npy:
        np.save(npy, ref)

    for key in ("fp32", "int8", "int8pc"):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(f"{onnx_dir}/{key}.onnx", so, providers=["CPUExecutionProvider"])
        inputs = [i.name for i in sess.get_inputs()]
        feeds = [{k: b[k] for k in inputs} for b in batches]
        masks = [b["attention_mask"][:, :, None].astype(np.float32) for b in batches]
        pooled = []
        t = time.perf_counter()
        for f, m in zip(feeds, masks):
            h = sess.run(["last_hidden_state"], f)[0]
            p = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            pooled.append(p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12))
        dt = time.perf_counter() - t
        del sess
        cos = (np.concatenate(pooled) * ref).sum(1)
        res["paths"][f"ort-{key}"] = {"sentences_per_sec": n / dt, "cos_mean": float(cos.mean()),
                                      "cos_min": float(cos.min())}
    print(json.dumps(res))

def agreement(a, b):
    ra = [json.loads(l) for l in open(a, encoding="utf-8") if l.strip()]
    rb = [json.loads(l) for l in open(b, encoding="utf-8") if l.strip()]
    if len(ra) != len(rb) or not ra:
        return None
    d = [abs(x["tone"] - y["tone"]) for x, y in zip(ra, rb)]
    same = sum(x["label"] == y["label"] for x, y in zip(ra, rb))
    return {"rows": len(d), "mean_abs_dtone": sum(d) / len(d), "max_abs_dtone": max(d),
            "label_agreement": same / len(d)}

def report(work, out_dir, runs, threads, n):
    rounds = [json.loads(open(f"{work}/py-{r}.json").read()) for r in range(1, runs + 1)]
    rates = {}   # path -> [per-round sentences/s]
    for r, py in enumerate(rounds, 1):
        for k, v in py["paths"].items():
            rates.setdefault(k, []).append(v["sentences_per_sec"])
        bench = json.load(open(f"{work}/bench-{r}.json"))
        for o in bench["outcomes"]:
            rates.setdefault("rhetor:" + o["model"], []).append(o["sentences_per_sec"])
    for line in open(f"{work}/wall.tsv"):
        r, prec, secs = line.split()
        rates.setdefault(f"whole:{prec}", []).append(n / float(secs))
    last = rounds[-1]["paths"]
    agree = {}
    for model in ("rhetor-tone-minilm", "rhetor-tone-minilm-linear"):
        a, b = f"{work}/score-{model}-fp32.jsonl", f"{work}/score-{model}-int8.jsonl"
        if os.path.exists(a) and os.path.exists(b):
            agree[model] = agreement(a, b)

    base = rates["torch-fp32"]
    def med(xs):
        return statistics.median(xs)
    def ratio(k, to="torch-fp32"):  # median of the per-round ratios (paired: same round)
        if k not in rates or to not in rates:
            return None
        return med([x / y for x, y in zip(rates[k], rates[to])])
    def fmt_rate(k):
        xs = rates[k]
        return f"{med(xs):8.1f} [{min(xs):.1f}-{max(xs):.1f}]"
    def cos(k):
        v = last[k]
        return f"cos vs torch fp32: mean {v['cos_mean']:.6f}, min {v['cos_min']:.6f}"
    def tones(model):
        g = agree.get(model)
        if not g:
            return "int8 vs fp32 tones: not measured"
        return (f"int8 vs fp32 tones: mean |dtone| {g['mean_abs_dtone']:.4f} (max {g['max_abs_dtone']:.3f}), "
                f"labels {100 * g['label_agreement']:.1f}% same")
    lin = "rhetor-tone-minilm-linear" if "rhetor:rhetor-tone-minilm-linear" in rates else "rhetor-tone-minilm"
    rows = [
        ("python torch 2.4.0 eager fp32", "torch-fp32", "reference (its embeddings: torch_fp32.npy)"),
        ("ONNX Runtime fp32", "ort-fp32", cos("ort-fp32")),
        ("ONNX Runtime int8 (dynamic, per tensor)", "ort-int8", cos("ort-int8")),
        ("ONNX Runtime int8 (dynamic, per channel)", "ort-int8pc", cos("ort-int8pc")),
    ]
    if lin != "rhetor-tone-minilm":
        rows += [
            (f"rhetor fp32 base encoder ({lin})", f"rhetor:{lin}", "embeddings not exposed by the CLI"),
            (f"rhetor int8 base encoder ({lin})", f"rhetor:{lin}+int8", tones(lin)),
        ]
    rows += [
        ("rhetor fp32 rhetor-tone-minilm", "rhetor:rhetor-tone-minilm", "embeddings not exposed by the CLI"),
        ("rhetor int8 rhetor-tone-minilm", "rhetor:rhetor-tone-minilm+int8", tones("rhetor-tone-minilm")),
        ("rhetor score --input lines, whole process, fp32", "whole:fp32", "load included"),
        ("rhetor score --input lines, whole process, int8", "whole:int8", "load included"),
    ]
    print()
    print(f"{n} sentences, batch 64, {threads} threads, {runs} interleaved run(s); "
          f"sentences/s as median [min-max]; ratio = median of same-run ratios to torch eager")
    print(f"{'path':52s} {'sentences/s':>24s} {'x torch':>8s}  agreement")
    for label, k, note in rows:
        if k in rates:
            print(f"{label:52s} {fmt_rate(k):>24s} {ratio(k):8.2f}  {note}")
    tr = statistics.median(r["tokenize_per_sec"] for r in rounds)
    print(f"(Python rates exclude tokenization: the HF fast tokenizer alone ran at {tr:.0f} sentences/s; "
          f"torch eager with it would be {med(base) * tr / (med(base) + tr):.1f}/s. rhetor's in-process rates "
          f"include its tokenization and a small head. Cosine agreement is from the last run.)")
    print()
    print("issue 10 targets (same run):")
    targets = [
        ("rhetor fp32 / ONNX Runtime fp32", f"rhetor:{lin}", "ort-fp32", 1.0),
        ("rhetor fp32 / torch eager", f"rhetor:{lin}", "torch-fp32", 1.1),
        ("rhetor int8 / ONNX Runtime int8", f"rhetor:{lin}+int8", "ort-int8", 1.0),
        ("rhetor int8 / torch eager", f"rhetor:{lin}+int8", "torch-fp32", 2.5),
        ("whole-process int8 / torch eager", "whole:int8", "torch-fp32", 2.2),
        ("whole-process fp32 / torch eager (info)", "whole:fp32", "torch-fp32", None),
    ]
    for label, a, b, want in targets:
        x = ratio(a, b)
        if x is None:
            print(f"  {label:42s}   n/a")
            continue
        verdict = "" if want is None else (f"  (target >= {want:.1f}: " + ("met)" if x >= want else "not met)"))
        print(f"  {label:42s} {x:6.2f}x{verdict}")
    print(f"  (rhetor's in-process figures here are {lin}: the unmodified base encoder + a linear head)")
    json.dump({"sentences": n, "threads": threads, "batch_size": 64, "runs": runs, "rates": rates,
               "python_rounds": rounds, "tone_agreement": agree},
              open(f"{out_dir}/int8_compare.json", "w"), indent=1)

if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "build":
        build(args[0], args[1], int(args[2]))
    elif mode == "prep":
        prep(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]))
    elif mode == "time":
        timing(args[0], args[1], args[2], int(args[3]), int(args[4]), args[5])
    elif mode == "report":
        report(args[0], args[1], int(args[2]), int(args[3]), int(args[4]))
PY

# ---------------------------------------------------------------- input
input="${1:+$(realpath "$1")}"
if [ -z "$input" ]; then
  input="$work/news-raw.txt"
  echo "news set (deduplicated):"
  "$py" "$work/peers.py" build "$input" "$root" "$news_min"
fi
if [ "$limit" != 0 ]; then echo "input: $input (LIMIT=$limit: evenly spaced sample)"; else echo "input: $input"; fi
# From $work: quant_pre_process leaves temporary files in the current directory.
(cd "$work" && "$py" "$work/peers.py" prep "$input" "$encoder" "$out" "$venv/onnx" "$limit" "$threads")
news="$out/news.txt"
n=$(wc -l < "$news")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx512_vnni|avx_vnni|amx_int8)$' | tr '\n' ' ' || true)
echo "machine: $cpu; ${flags:-no VNNI/AMX flags}; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# rhetor in process: `rhetor bench` on the same sentences as an unlabeled suite. The base-encoder
# model (a linear head on the unmodified encoder) is the like-for-like encoder + pooling.
suite="$work/suite.tsv"
{ printf 'label\ttext\n'; sed 's/^/0\t/' "$news"; } > "$suite"
models=(--model rhetor-tone-minilm)
installed=$("$bin" models 2>/dev/null || true)
grep -q '^rhetor-tone-minilm-linear ' <<< "$installed" && models=(--model rhetor-tone-minilm-linear "${models[@]}")

: > "$work/wall.tsv"
for r in $(seq "$runs"); do
  echo "run $r/$runs: python (torch eager, ORT fp32, ORT int8 x2) ..."
  npy=""; [ "$r" = "$runs" ] && npy="$out/torch_fp32.npy"
  "$py" "$work/peers.py" time "$news" "$encoder" "$venv/onnx" "$threads" "$bs" "$npy" \
    > "$work/py-$r.json" 2> "$work/py-$r.log" || { cat "$work/py-$r.log" >&2; exit 1; }
  echo "run $r/$runs: rhetor bench (in process, fp32 + int8) ..."
  "$bin" bench --quiet "${models[@]}" --precision fp32,int8 --suite "$suite" --batch-size "$bs" \
    --threads "$threads" --report-json "$work/bench-$r.json" > "$work/bench-$r.log" 2>&1 \
    || { cat "$work/bench-$r.log" >&2; exit 1; }
  for p in fp32 int8; do
    echo "run $r/$runs: rhetor score --input lines --precision $p (whole process) ..."
    # The rows go to a file rather than /dev/null: the last run's are compared fp32 vs int8.
    t0=$(date +%s.%N)
    "$bin" score --input lines "$news" --model rhetor-tone-minilm --precision "$p" --batch-size "$bs" \
      --threads "$threads" --quiet -o "$work/score-rhetor-tone-minilm-$p.jsonl"
    t1=$(date +%s.%N)
    printf '%s\t%s\t%s\n' "$r" "$p" "$(echo "$t1 - $t0" | bc -l)" >> "$work/wall.tsv"
  done
done
if [ "${models[1]}" = rhetor-tone-minilm-linear ]; then
  echo "untimed: rhetor-tone-minilm-linear fp32 and int8 tones, for their agreement ..."
  for p in fp32 int8; do
    "$bin" score --input lines "$news" --model rhetor-tone-minilm-linear --target-model none \
      --precision "$p" --batch-size "$bs" --threads "$threads" --quiet \
      -o "$work/score-rhetor-tone-minilm-linear-$p.jsonl"
  done
fi
"$py" "$work/peers.py" report "$work" "$out" "$runs" "$threads" "$n"
echo
echo "files: $news (sentences, sorted by token length), $out/torch_fp32.npy (torch fp32 embeddings,"
echo "       one row per line), $out/int8_compare.json (every timing); ONNX models in $venv/onnx"
echo "note: rhetor exposes no embeddings on the CLI, so rhetor's agreement is int8 vs fp32 tones"
echo "      (\`rhetor score --input lines\`), not cosine against torch fp32; the whole-process runs use"
echo "      score's defaults otherwise (\`--input lines\` does not load the target model: its rows have no targets)"
