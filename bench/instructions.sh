#!/usr/bin/env bash
# Instructions executed by async-lint and by the parse floor on one tree, on one thread, counted
# with valgrind's cachegrind. Unlike wall time, the count does not move when other work shares the
# machine, so it compares two versions of the engine even on a busy machine. It is not the speed:
# wall time is what bench/run.sh measures, and the walk costs more time per instruction than the
# parse does (bench/README.md, "Instructions and time").
#
#   bench/instructions.sh [TREE]     default: target/corpus/async/tokio
set -euo pipefail
cd "$(dirname "$0")/.."
TREE="${1:-target/corpus/async/tokio}"
command -v valgrind >/dev/null || { echo "bench/instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
[ -d "$TREE" ] || { echo "bench/instructions.sh: no folder $TREE (bench/run.sh fetches the corpus)" >&2; exit 2; }
cargo build --release --quiet --bin async-lint --example parse_floor
count() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null \
    | sed -n 's/.*I *refs: *//p' | tr -d ,
}
lint=$(count target/release/async-lint check -j1 --exit-zero --format json "$TREE")
floor=$(count target/release/examples/parse_floor -j 1 "$TREE")
awk -v l="$lint" -v f="$floor" -v t="$TREE" 'BEGIN {
  printf "%s: async-lint %.3f G instructions, parse floor %.3f G, ratio %.3f\n", t, l / 1e9, f / 1e9, l / f }'
