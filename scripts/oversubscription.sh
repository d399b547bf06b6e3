#!/usr/bin/env bash
# Several rhetor processes on one machine: wall time of one run alone against three at once,
# with the default threads, with --threads 1, and with libgomp's passive waiting.
#
#   scripts/oversubscription.sh [LINES]      # LINES sentences per run (default 2000)
#
# Input: the first LINES lines of the VADER movie-review snippets (../shared/data), scored
# with `--input lines` and the default model. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/rhetor
N=${1:-2000}
SRC=../shared/data/vader_icwsm2014/movieReviewSnippets_GroundTruth.txt
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$SRC" ] || { echo "missing $SRC (the shared data beside the repository)" >&2; exit 1; }
IN=$(mktemp)
trap 'rm -f "$IN"' EXIT
head -n "$N" "$SRC" | cut -f3 > "$IN"

# Prints the wall seconds of COUNT concurrent runs (the slowest one), with extra ENV and ARGS.
runs() {
    local count=$1 env=$2; shift 2
    local start end
    start=$(date +%s.%N)
    for _ in $(seq "$count"); do
        env $env "$BIN" score --quiet --input lines "$@" "$IN" > /dev/null &
    done
    wait
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

printf '%-44s %8s\n' "setting" "wall s"
printf '%-44s %8.1f\n' "1 run, default threads" "$(runs 1 '')"
printf '%-44s %8.1f\n' "3 runs at once, default threads" "$(runs 3 '')"
printf '%-44s %8.1f\n' "3 runs at once, --threads 1" "$(runs 3 '' --threads 1)"
printf '%-44s %8.1f\n' "3 runs at once, OMP_WAIT_POLICY=PASSIVE" "$(runs 3 OMP_WAIT_POLICY=PASSIVE)"
printf '%-44s %8.1f\n' "1 run, OMP_WAIT_POLICY=PASSIVE" "$(runs 1 OMP_WAIT_POLICY=PASSIVE)"
