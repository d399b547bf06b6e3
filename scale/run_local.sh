#!/usr/bin/env bash
# The Spark recipe in local mode, in one command (see scale/README.md).
#
#   scale/run_local.sh                 score examples/corpus/ on Spark local[2], aggregate per month
#   scale/run_local.sh --check         ... and check the aggregates equal `rhetor aggregate`
#                                      (month and week, sentence and article weight, on the
#                                      corpus and on synthetic corner-case rows) and the rows
#                                      equal plain `rhetor score`
#   scale/run_local.sh --bench         sentences/s: Spark local[2] (2 tasks x --threads 1)
#                                      against plain `rhetor score --threads 2`, same input
#
# Options:
#   --out DIR          write everything under DIR (default: a new temp folder, kept)
#   --period P[,P..]   day|week|month|quarter|year (default month; --check: month,week)
#   --weight W[,W..]   sentence|article (default sentence; --check: sentence,article)
#   --articles N       benchmark input size in articles (default 3640: the 13 articles of
#                      examples/corpus/ 280 times with distinct ids, 15,120 sentences)
#   --model M          rhetor model (name or folder) for every run (default: rhetor's)
#   -- ARGS...         more arguments for `rhetor score` (e.g. -- --batch-size 64)
#
# Needs: java (8, 11 or 17) and python3 (3.8+); the first run installs pyspark (pinned and
# hash-checked in scale/requirements.txt, 318 MB from PyPI) into .deps/spark-venv.
# The rhetor binary: $RHETOR_BIN, else target/release/rhetor, else rhetor on PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'run_local: %s\n' "$*"; }
die() { printf 'run_local: error: %s\n' "$1" >&2; exit "${2:-1}"; }
t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

mode=run out="" period="" weight="" articles=3640 model=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --check) mode=check ;;
    --bench) mode=bench ;;
    --out) out="${2:?--out needs a folder}"; shift ;;
    --out=*) out="${1#--out=}" ;;
    --period) period="${2:?--period needs a value}"; shift ;;
    --weight) weight="${2:?--weight needs a value}"; shift ;;
    --articles) articles="${2:?--articles needs a number}"; shift ;;
    --model) model="${2:?--model needs a name or folder}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option $1 (see --help)" 2 ;;
  esac
  shift
done
case "$articles" in ''|*[!0-9]*) die "--articles needs a number, not $articles" 2 ;; esac

# ---------------------------------------------------------------- java
java_bin=""
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
  java_bin="$JAVA_HOME/bin/java"
elif command -v java >/dev/null 2>&1; then
  java_bin="$(command -v java)"
fi
if [ -z "$java_bin" ]; then
  cat >&2 <<'EOF'
run_local: error: Spark needs Java (8, 11 or 17), and no `java` is on PATH (nor in $JAVA_HOME/bin).
  Debian/Ubuntu:  sudo apt-get install openjdk-17-jre-headless
  Fedora/RHEL:    sudo dnf install java-17-openjdk-headless
  macOS:          brew install openjdk@17
  or unpack any JDK/JRE 17 (e.g. Eclipse Temurin) and set JAVA_HOME to its folder.
EOF
  exit 2
fi
java_version="$("$java_bin" -version 2>&1 | head -n1)"
java_major="$(printf '%s' "$java_version" | sed -n 's/.*version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p')"
case "$java_major" in
  8|11|17) ;;
  *) say "warning: $java_version; Spark 3.5 supports Java 8, 11 and 17" ;;
esac

# ---------------------------------------------------------------- rhetor binary
if [ -n "${RHETOR_BIN:-}" ]; then
  bin="$RHETOR_BIN"
elif [ -x "$root/target/release/rhetor" ]; then
  bin="$root/target/release/rhetor"
elif command -v rhetor >/dev/null 2>&1; then
  bin="$(command -v rhetor)"
else
  die "no rhetor binary: build it with \`cargo build --release\` (or set RHETOR_BIN)" 2
fi
[ -x "$bin" ] || die "RHETOR_BIN=$bin is not an executable file" 2
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# ---------------------------------------------------------------- venv with pyspark
py="${PYTHON:-python3}"
command -v "$py" >/dev/null 2>&1 || die "python3 is needed (3.8 or newer)" 2
venv="$root/.deps/spark-venv"
req="$root/scale/requirements.txt"
want="$(sha256sum "$req" | cut -c1-64)"
mkdir -p "$root/.deps"
exec 9>"$root/.deps/spark-venv.lock"
command -v flock >/dev/null 2>&1 && flock 9  # two runs at once: one builds, the other waits
if [ -f "$venv/.rhetor-stamp" ] && [ "$(cat "$venv/.rhetor-stamp")" = "$want" ] \
   && "$venv/bin/python" -c 'import pyspark' >/dev/null 2>&1; then
  say "pyspark: reusing $venv ($("$venv/bin/python" -c 'import pyspark; print(pyspark.__version__)'))"
else
  say "pyspark: creating $venv from scale/requirements.txt (pinned, --require-hashes; 318 MB from PyPI the first time)"
  t=$(date +%s.%N)
  rm -rf "$venv"
  "$py" -m venv "$venv" || die "\`$py -m venv\` failed (Debian/Ubuntu: apt-get install python3-venv)" 2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$req" \
    || { rm -rf "$venv"; die "pip could not install scale/requirements.txt (is PyPI reachable?)" 2; }
  printf '%s\n' "$want" > "$venv/.rhetor-stamp"
  say "pyspark: installed in $(elapsed "$t") s"
fi
exec 9>&-
vpy="$venv/bin/python"
export PYSPARK_PYTHON="$vpy" PYSPARK_DRIVER_PYTHON="$vpy"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"

# ---------------------------------------------------------------- inputs
if [ -z "$out" ]; then
  out="$(mktemp -d "${TMPDIR:-/tmp}/rhetor-spark.XXXXXX")"
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
say "java: $java_version ($java_bin)"
say "rhetor: $bin"
say "output folder: $out"
"$py" "$root/scale/corpus_to_jsonl.py" "$root/examples/corpus" -o "$out/articles.jsonl" 2>/dev/null
say "examples/corpus/ as JSONL articles: $out/articles.jsonl ($(wc -l < "$out/articles.jsonl") articles)"

model_args=()
[ -n "$model" ] && model_args=(--model "$model")
# tiny inputs: two shuffle partitions and no adaptive re-planning (it only adds overhead here)
spark_conf=(--conf spark.sql.shuffle.partitions=2 --conf spark.sql.adaptive.enabled=false
            --conf spark.ui.enabled=false --conf "spark.local.dir=$out/spark-tmp")
spark_local=(--master "local[2]" "${spark_conf[@]}")
score_args=("${model_args[@]}" "${extra[@]}")

case "$mode" in
run)
  say "running scale/rhetor_spark.py on Spark local[2] (2 partitions, one \`rhetor score --threads 1\` each)"
  "$vpy" "$root/scale/rhetor_spark.py" "${spark_local[@]}" --input "$out/articles.jsonl" \
    --output "$out/spark" --period "${period:-month}" --weight "${weight:-sentence}" \
    --partitions 2 --threads 1 --rhetor "$bin" -- "${score_args[@]}"
  csv="$(ls "$out"/spark/aggregate*.csv | head -n1)"
  say "first lines of $csv:"
  head -n 6 "$csv"
  say "done in $(elapsed "$t_start") s; rows in $out/spark/rows/, aggregates in $out/spark/"
  ;;
check)
  say "reference: plain \`rhetor score\` of the text files of examples/corpus/"
  "$bin" score "$root/examples/corpus" --format jsonl --quiet --threads 1 "${score_args[@]}" \
    -o "$out/reference.jsonl"
  say "running the job (corpus, then synthetic rows; one Spark session) and the check"
  "$vpy" "$root/scale/check_aggregates.py" --output "$out/spark" --rhetor "$bin" \
    --input "$out/articles.jsonl" --reference "$out/reference.jsonl" --synthetic \
    --periods "${period:-month,week}" --weights "${weight:-sentence,article}" \
    "${spark_local[@]}" -- "${score_args[@]}"
  say "check passed in $(elapsed "$t_start") s (outputs in $out)"
  ;;
bench)
  copies=$(( (articles + 12) / 13 ))
  "$py" "$root/scale/corpus_to_jsonl.py" "$root/examples/corpus" --repeat "$copies" \
    -o "$out/bench.jsonl" 2>/dev/null
  n_articles=$(wc -l < "$out/bench.jsonl")
  say "benchmark input: $out/bench.jsonl ($n_articles articles: examples/corpus/ x $copies, distinct ids)"
  say "(b) plain: rhetor score --threads 2 --input jsonl bench.jsonl --format jsonl"
  t=$(date +%s.%N)
  "$bin" score --input jsonl "$out/bench.jsonl" --format jsonl --quiet --threads 2 \
    "${score_args[@]}" -o "$out/plain.jsonl"
  plain_s=$(elapsed "$t")
  plain_rows=$(wc -l < "$out/plain.jsonl")
  say "(a) Spark local[2]: 2 partitions, one rhetor score --threads 1 per partition"
  "$vpy" "$root/scale/rhetor_spark.py" "${spark_local[@]}" --input "$out/bench.jsonl" \
    --output "$out/spark" --partitions 2 --threads 1 --rhetor "$bin" --skip-aggregate \
    --summary "$out/spark-summary.json" -- "${score_args[@]}"
  "$vpy" - "$out/spark-summary.json" "$plain_rows" "$plain_s" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
plain_rows, plain_s = int(sys.argv[2]), float(sys.argv[3])
plain = plain_rows / plain_s
spark = s["rows"] / s["score_seconds"]
e2e = s["rows"] / s["wall_seconds"]
print(f"run_local: bench: {s['rows']} sentences (plain: {plain_rows})")
print(f"run_local: bench: plain rhetor score --threads 2:          {plain_s:8.1f} s  {plain:8.1f} sentences/s")
print(f"run_local: bench: Spark local[2], 2 x --threads 1 (stage): {s['score_seconds']:8.1f} s  {spark:8.1f} sentences/s"
      f"  (read + score + write Parquet)")
print(f"run_local: bench: Spark end to end (with session start):  {s['wall_seconds']:8.1f} s  {e2e:8.1f} sentences/s")
print(f"run_local: bench: overhead of the engine: {100 * (plain / spark - 1):+.1f}% (stage), "
      f"{100 * (plain / e2e - 1):+.1f}% (end to end); the goal is under 10%")
if s["rows"] != plain_rows:
    print("run_local: bench: warning: the two runs wrote different numbers of rows")
PY
  say "done in $(elapsed "$t_start") s"
  ;;
esac
