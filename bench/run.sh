#!/usr/bin/env bash
# The async-lint benchmark: async-lint against its parse floor, on growing parts of the corpus,
# against its peers (cargo-perf, ast-grep) and against `cargo clippy` on tokio. Writes a table of
# medians, ratios and peak RSS to bench/RESULTS.md. See bench/README.md for what each number means.
#
#   bench/run.sh                  the full run (fetches ~330 MB of crates the first time)
#   BENCH_QUICK=1 bench/run.sh    a smoke test: the tokio crate only, one run, results in target/bench
#
# Environment:
#   BENCH_RUNS=3                  timed runs of each command (after one warm-up run)
#   BENCH_THREADS="1 2"           thread counts for async-lint vs the floor; the largest is also
#                                 used for the corpus fractions and the peers
#   BENCH_OUT=bench/RESULTS.md    where the table goes (quick runs: target/bench/RESULTS-quick.md)
#   BENCH_PEERS=1                 0: skip cargo-perf and ast-grep
#   BENCH_CLIPPY=1                0: skip `cargo clippy` on tokio (quick runs skip it unless it is 1)
#   BENCH_CLIPPY_FEATURES=full    tokio's features for clippy ("" for its default features, none)
#   BENCH_TREE=target/corpus/all  the folder of crate folders to measure (and cut into fractions)
#   SHARED=../shared              where corpus/fetch.sh is
#   CARGO_PERF_VERSION, AST_GREP_VERSION   the peers' versions (pinned below)
#
# Everything downloaded or built goes under target/ (git-ignored): target/corpus (the corpus),
# target/bench (subsets, logs, JSON, the tokio copy clippy builds and its target directory),
# target/bench-tools (cargo-perf, ast-grep).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

QUICK="${BENCH_QUICK:-0}"
RUNS="${BENCH_RUNS:-3}"
THREADS="${BENCH_THREADS:-1 2}"
PEERS="${BENCH_PEERS:-1}"
CLIPPY_FEATURES="${BENCH_CLIPPY_FEATURES-full}"
SHARED="${SHARED:-$ROOT/../shared}"
CARGO_PERF_VERSION="${CARGO_PERF_VERSION:-0.6.0}"
AST_GREP_VERSION="${AST_GREP_VERSION:-0.51.1}"
if [ "$QUICK" = 1 ]; then
  RUNS="${BENCH_RUNS:-1}"
  OUT="${BENCH_OUT:-target/bench/RESULTS-quick.md}"
  CLIPPY="${BENCH_CLIPPY:-0}"
else
  OUT="${BENCH_OUT:-bench/RESULTS.md}"
  CLIPPY="${BENCH_CLIPPY:-1}"
fi
NP="$(printf '%s\n' $THREADS | sort -n | tail -1)"   # the largest thread count

WORK="$ROOT/target/bench"
TOOLS="$ROOT/target/bench-tools"
CORPUS="$ROOT/target/corpus"
rm -rf "$WORK/json" "$WORK/logs"
mkdir -p "$WORK/json" "$WORK/logs" "$WORK/trees" "$TOOLS"
NOTES="$WORK/notes.txt"
: >"$NOTES"
note() { printf '%s\n' "$*" | tee -a "$NOTES" >&2; }
step() { printf '\n== %s\n' "$*" >&2; }

# --- tools ---------------------------------------------------------------------------------------
apt_install() { # apt_install PACKAGE: root or sudo needed
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq "$1" >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$1"; }
}
step "tools"
command -v hyperfine >/dev/null || apt_install hyperfine
[ -x /usr/bin/time ] || apt_install time
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 2; }
hyperfine --version >&2

# --- corpus and subsets --------------------------------------------------------------------------
step "corpus"
"$SHARED/corpus/fetch.sh" "$CORPUS" >&2
ALL="$CORPUS/all"
TOKIO="$CORPUS/async/tokio"
[ -d "$TOKIO" ] || { echo "no $TOKIO: did fetch.sh change?" >&2; exit 2; }

if [ "$QUICK" = 1 ]; then
  FULL="$TOKIO"
  FULL_NAME=tokio
elif [ -n "${BENCH_TREE:-}" ]; then
  FULL="$(cd "$BENCH_TREE" && pwd)"
  FULL_NAME="$(basename "$FULL")"
else
  FULL="$ALL"
  FULL_NAME=all
fi
tree_path() {
  case "$1" in
    "$FULL_NAME") echo "$FULL" ;;
    all) echo "$ALL" ;;
    tokio) echo "$TOKIO" ;;
    *) echo "$WORK/trees/$FULL_NAME-$1" ;;
  esac
}

# make_subset NAME EVERY: every EVERY-th crate folder of $FULL in sorted order (the 1st, the
# (EVERY+1)-th, ...), as hard links (copies across file systems). Real files, not symlinks: the
# tools do not follow symlinked folders, and cargo-perf skips symlinked files.
make_subset() {
  local every="$2" dest
  dest="$(tree_path "$1")"
  local list
  list="$(cd "$FULL" && ls -1 | LC_ALL=C sort | awk -v n="$every" 'NR % n == 1 || n == 1')"
  if [ -f "$dest.list" ] && [ "$(cat "$dest.list")" = "$list" ] && [ -d "$dest" ]; then
    return
  fi
  rm -rf "$dest" "$dest.list"
  mkdir -p "$dest"
  while IFS= read -r crate; do
    cp -al "$FULL/$crate" "$dest/" 2>/dev/null || cp -r "$FULL/$crate" "$dest/"
  done <<<"$list"
  printf '%s\n' "$list" >"$dest.list"
}
if [ "$QUICK" = 1 ]; then
  FRACTIONS=()
else
  make_subset quarter 4
  make_subset half 2
  FRACTIONS=(quarter half)
fi

# --- builds --------------------------------------------------------------------------------------
step "build"
cargo build --release --locked --bin async-lint --example parse_floor >&2
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
LINT="$TARGET_DIR/release/async-lint"
FLOOR="$TARGET_DIR/release/examples/parse_floor"

CARGO_PERF=""
AST_GREP=""
if [ "$PEERS" = 1 ]; then
  step "peers"
  if [ ! -x "$TOOLS/bin/cargo-perf" ] || ! "$TOOLS/bin/cargo-perf" --version 2>/dev/null | grep -qF "$CARGO_PERF_VERSION"; then
    cargo install --locked --root "$TOOLS" "cargo-perf@$CARGO_PERF_VERSION" >&2 ||
      note "cargo-perf $CARGO_PERF_VERSION could not be installed (cargo install failed); not measured."
  fi
  if [ -x "$TOOLS/bin/cargo-perf" ]; then
    if "$TOOLS/bin/cargo-perf" check "$ROOT/fixtures" >/dev/null 2>&1; then
      CARGO_PERF="$TOOLS/bin/cargo-perf"
    else
      note "cargo-perf is installed but \`cargo-perf check\` failed on fixtures/; not measured."
    fi
  fi
  if [ ! -x "$TOOLS/node_modules/.bin/ast-grep" ] ||
    ! "$TOOLS/node_modules/.bin/ast-grep" --version 2>/dev/null | grep -qF "$AST_GREP_VERSION"; then
    if command -v npm >/dev/null; then
      npm install --prefix "$TOOLS" --no-audit --no-fund --silent "@ast-grep/cli@$AST_GREP_VERSION" >&2 ||
        note "ast-grep $AST_GREP_VERSION could not be installed (npm install failed); not measured."
    else
      note "npm is missing: ast-grep not measured."
    fi
  fi
  if [ -x "$TOOLS/node_modules/.bin/ast-grep" ] && "$TOOLS/node_modules/.bin/ast-grep" --version >/dev/null 2>&1; then
    AST_GREP="$TOOLS/node_modules/.bin/ast-grep"
  fi
fi

# --- clippy ------------------------------------------------------------------------------------
# clippy lints a copy of the corpus's tokio package, built on its own: a crates.io package folder
# has its own Cargo.toml and Cargo.lock, and the copy gets its own target directory so clippy
# never touches ours. Any file of the crate makes cargo re-check the whole crate; this one is deep
# in the runtime, like an everyday edit.
CLIPPY_TOKIO="$WORK/clippy-tokio"
CLIPPY_TARGET="$WORK/clippy-target"
CLIPPY_TOUCHED=src/runtime/scheduler/multi_thread/worker.rs
CLIPPY_READY=0
clippy_cargo() { # the shell command running cargo on the copy, with the copy's target directory
  printf 'cd %q && CARGO_TARGET_DIR=%q cargo' "$CLIPPY_TOKIO" "$CLIPPY_TARGET"
}
clippy_args() {
  printf 'clippy --frozen -j %s' "$NP"
  [ -z "$CLIPPY_FEATURES" ] || printf ' --features %q' "$CLIPPY_FEATURES"
}
setup_clippy_tokio() {
  local host
  rm -rf "$CLIPPY_TOKIO"
  cp -r "$TOKIO" "$CLIPPY_TOKIO"
  [ -f "$CLIPPY_TOKIO/$CLIPPY_TOUCHED" ] || { echo "no $CLIPPY_TOUCHED in tokio" >&2; return 1; }
  # crates.io strips the [workspace] table; an empty one makes the copy its own workspace root,
  # whatever the folders above it hold.
  printf '\n[workspace]\n' >>"$CLIPPY_TOKIO/Cargo.toml"
  host="$(rustc -vV | sed -n 's/^host: //p')"
  (cd "$CLIPPY_TOKIO" && cargo fetch --target "$host" >&2) || return 1
  # One untimed run: clippy must build before it is worth timing.
  sh -c "$(clippy_cargo) $(clippy_args)" >&2
}
if [ "$CLIPPY" = 1 ]; then
  step "clippy"
  if ! cargo clippy --version >/dev/null 2>&1; then
    # As in .ci/run: clippy ships with rustup toolchains as a component.
    command -v rustup >/dev/null && rustup component add clippy >&2 || true
  fi
  if ! cargo clippy --version >/dev/null 2>&1; then
    note "\`cargo clippy\` is missing and rustup could not add it; clippy not measured."
  elif ! setup_clippy_tokio; then
    note "\`cargo clippy\` failed on the copy of tokio in target/bench/clippy-tokio; clippy not measured."
  else
    CLIPPY_READY=1
    cargo clippy --version >&2
  fi
fi

# --- the commands --------------------------------------------------------------------------------
# One line per command: group, name, tool, tree, threads, shell command, shell command run untimed
# before each of its runs (`:` for none). Commands of one group are timed alternately (one run of
# each per round); the runs of a name listed in two groups are pooled.
MANIFEST="$WORK/commands.tsv"
: >"$MANIFEST"
add() { # add GROUP TOOL TREE THREADS COMMAND [PREPARE]
  local name="$2 $3 -j$4"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$name" "$2" "$3" "$4" "$5" "${6:-:}" >>"$MANIFEST"
}
q() { printf '%q' "$1"; }

for t in $THREADS; do
  add threads floor "$FULL_NAME" "$t" "$(q "$FLOOR") -j $t $(q "$FULL")"
  add threads async-lint "$FULL_NAME" "$t" "$(q "$LINT") check -j $t $(q "$FULL")"
done
for f in "${FRACTIONS[@]}"; do
  add fractions floor "$f" "$NP" "$(q "$FLOOR") -j $NP $(q "$(tree_path "$f")")"
  add fractions async-lint "$f" "$NP" "$(q "$LINT") check -j $NP $(q "$(tree_path "$f")")"
done
if [ -n "$CARGO_PERF$AST_GREP" ]; then
  add peers async-lint "$FULL_NAME" "$NP" "$(q "$LINT") check -j $NP $(q "$FULL")"
  [ -n "$CARGO_PERF" ] &&
    add peers cargo-perf "$FULL_NAME" "$NP" "env RAYON_NUM_THREADS=$NP $(q "$CARGO_PERF") check $(q "$FULL")"
  [ -n "$AST_GREP" ] &&
    add peers ast-grep "$FULL_NAME" "$NP" "$(q "$AST_GREP") run --threads $NP -l rust -p 'block_on(\$A)' $(q "$FULL")"
fi
if [ "$FULL_NAME" != tokio ]; then
  for t in 1 "$NP"; do
    add tokio floor tokio "$t" "$(q "$FLOOR") -j $t $(q "$TOKIO")"
    add tokio async-lint tokio "$t" "$(q "$LINT") check -j $t $(q "$TOKIO")"
  done
fi
if [ "$CLIPPY_READY" = 1 ]; then
  # Clean means the whole target directory, dependencies included (tokio-macros pulls in syn):
  # what `cargo clippy` costs on a fresh checkout. The touch changes no byte, so rustc's
  # incremental cache serves what it can: the cheapest re-run there is.
  add clippy clippy-clean tokio "$NP" "$(clippy_cargo) $(clippy_args)" "$(clippy_cargo) clean --frozen"
  add clippy clippy-touched tokio "$NP" "$(clippy_cargo) $(clippy_args)" "touch $(q "$CLIPPY_TOKIO/$CLIPPY_TOUCHED")"
  add clippy async-lint tokio "$NP" "$(q "$LINT") check -j $NP $(q "$TOKIO")"
fi

# --- tree sizes ----------------------------------------------------------------------------------
step "tree sizes"
SIZES="$WORK/trees.tsv"
: >"$SIZES"
for tree in $(cut -f4 "$MANIFEST" | sort -u); do
  path="$(tree_path "$tree")"
  if [ -f "$path/Cargo.toml" ]; then crates=1; else crates="$(find "$path" -mindepth 1 -maxdepth 1 -type d | wc -l)"; fi
  counts="$("$FLOOR" --lines "$path")" # files F parse-errors P io-errors I lines L
  printf '%s\t%s\t%s\t%s\n' "$tree" "$crates" "$path" "$counts" | tee -a "$SIZES" >&2
done

# --- timing: hyperfine, alternating within each group --------------------------------------------
for group in $(cut -f1 "$MANIFEST" | awk '!seen[$0]++'); do
  step "timing: $group ($RUNS rounds)"
  args=()
  prepares=()
  prepared=0
  while IFS=$'\t' read -r g name _ _ _ cmd prepare; do
    [ "$g" = "$group" ] || continue
    args+=(-n "$name" "$cmd")
    prepares+=(--prepare "$prepare")
    [ "$prepare" = : ] || prepared=1
  done <"$MANIFEST"
  # hyperfine takes one --prepare per command or none: groups without one are run as before.
  [ "$prepared" = 1 ] || prepares=()
  for round in $(seq 1 "$RUNS"); do
    warm=()
    [ "$round" = 1 ] && warm=(--warmup 1)
    # -i: a linter exits 1 when it has findings; exit codes are checked in the RSS pass below.
    hyperfine -i --style basic "${warm[@]}" "${prepares[@]}" --runs 1 --export-json "$WORK/json/$group-$round.json" \
      "${args[@]}" >&2
  done
done

# --- peak RSS: one run of each command under /usr/bin/time -v ------------------------------------
step "peak RSS"
RSS="$WORK/rss.tsv"
: >"$RSS"
cut -f2,6,7 "$MANIFEST" | awk -F'\t' '!seen[$1]++' | while IFS=$'\t' read -r name cmd prepare; do
  log="$WORK/logs/$(printf '%s' "$name" | tr ' /' '__').log"
  sh -c "$prepare" >/dev/null 2>&1 || true
  status=0
  /usr/bin/time -v -o "$log.time" sh -c "$cmd" >"$log" 2>&1 || status=$?
  kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")"
  printf '%s\t%s\t%s\t%s\n' "$name" "${kb:-}" "$status" "$(tail -n 1 "$log" | cut -c1-200)" | tee -a "$RSS" >&2
done

# --- report --------------------------------------------------------------------------------------
step "report"
mkdir -p "$(dirname "$OUT")"
python3 bench/report.py --work "$WORK" --out "$OUT" --quick "$QUICK" --runs "$RUNS" --np "$NP" --full "$FULL_NAME" \
  --lint-version "$("$LINT" --version 2>/dev/null || echo async-lint)" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo +dirty)"
cat "$OUT"
