#!/usr/bin/env python3
"""Turns what bench/run.sh measured (target/bench) into the markdown tables of bench/RESULTS.md.

Inputs in --work: commands.tsv (group, name, tool, tree, threads, command, untimed command run
before each run or `:`), trees.tsv (tree, crate
folders, path, parse_floor --lines output), rss.tsv (name, max RSS kB, exit status, last output
line), json/*.json (hyperfine exports, one per group and round) and notes.txt.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess

# The issue's targets for tokio: async-lint at least this many times faster than `cargo clippy` from
# clean, and faster than clippy's re-run after a one-file change.
CLEAN_TARGET = 50.0
TOUCHED_TARGET = 1.0
# The issue's own clippy figures on tokio (its machine), in seconds.
ISSUE_CLIPPY_CLEAN, ISSUE_CLIPPY_TOUCHED = 6.3, 1.9

def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--np", required=True)
    ap.add_argument("--full", default="all", help="the tree cut into fractions")
    ap.add_argument("--lint-version", default="async-lint")
    ap.add_argument("--commit", default="unknown")
    args = ap.parse_args()
    work = args.work

    commands = read_tsv(os.path.join(work, "commands.tsv"))
    meta = {}  # name -> (tool, tree, threads, command)
    prepare_of = {}  # name -> the untimed command hyperfine runs before each of its runs
    for group, name, tool, tree, threads, command, *prepare in commands:
        meta.setdefault(name, (tool, tree, int(threads), command))
        if prepare and prepare[0] != ":":
            prepare_of.setdefault(name, prepare[0])

    # Every timed run of a command, across groups and rounds (a name is the same command everywhere).
    times, failures = {}, {}
    for path in sorted(glob.glob(os.path.join(work, "json", "*.json"))):
        with open(path, encoding="utf-8") as f:
            for result in json.load(f)["results"]:
                name = result["command"]
                times.setdefault(name, []).extend(result["times"])
                bad = [c for c in result.get("exit_codes", []) if c not in (0, 1)]
                failures.setdefault(name, []).extend(bad)
    median = {name: statistics.median(ts) for name, ts in times.items() if ts}

    rss, status, last_line = {}, {}, {}
    for row in read_tsv(os.path.join(work, "rss.tsv")):
        row += [""] * (4 - len(row))
        name, kb, code, line = row[:4]
        rss[name] = int(kb) / 1024 if kb.isdigit() else None
        status[name] = code
        last_line[name] = line

    trees = {}
    for row in read_tsv(os.path.join(work, "trees.tsv")):
        tree, crates, path, counts = row[0], row[1], row[2], row[3]
        words = counts.split()
        stats = dict(zip(words[::2], words[1::2]))
        trees[tree] = {
            "crates": int(crates),
            "path": path,
            "files": int(stats.get("files", 0)),
            "lines": int(stats.get("lines", 0)),
            "parse_errors": int(stats.get("parse-errors", 0)),
        }

    def floor_of(name):
        tool, tree, threads, _ = meta[name]
        return f"floor {tree} -j{threads}"

    def names_in(group):
        seen = []
        for g, name, *_ in commands:
            if g == group and name not in seen:
                seen.append(name)
        return seen

    out = []
    w = out.append
    quick = args.quick == "1"
    w("# Benchmark results")
    w("")
    if quick:
        w("**Quick smoke run (`BENCH_QUICK=1`): the tokio crate only, one run. Not a measurement.**")
        w("")
    hf = subprocess.run(["hyperfine", "--version"], capture_output=True, text=True).stdout.strip()
    w(
        f"Written by `bench/run.sh` on {datetime.date.today().isoformat()}: {args.lint_version} at "
        f"`{args.commit}`, {os.cpu_count()} × {cpu_model()}, {hf}, {args.runs} timed run(s) of each "
        "command after one warm-up, commands of a table run alternately. Times are medians of wall "
        "time in seconds; peak RSS is one run under `/usr/bin/time -v`. Ratios (×) are to the parse "
        "floor (`examples/parse_floor.rs`: same file discovery, same thread pool, read + syn parse, "
        "nothing else) on the same tree with the same thread count."
    )
    w("")

    w("## Trees")
    w("")
    w("| tree | crate folders | files | lines | parse errors |")
    w("|---|---:|---:|---:|---:|")
    for tree, t in trees.items():
        w(f"| `{tree}` | {t['crates']} | {t['files']} | {t['lines']:,} | {t['parse_errors']} |")
    w("")
    full = args.full
    about = []
    if "all" in trees:
        about.append("`all` is `target/corpus/all` (from `../shared/corpus/fetch.sh`)")
    if "half" in trees or "quarter" in trees:
        about.append(f"`half` and `quarter` are every 2nd and every 4th crate folder of `{full}` in sorted order")
    if "tokio" in trees:
        about.append("`tokio` is `target/corpus/async/tokio`")
    paths = ", ".join(f"`{t}` = `{v['path'].replace(os.getcwd() + '/', '')}`" for t, v in trees.items())
    w("; ".join(about) + f". Files and lines are those async-lint discovers (paths: {paths}).")
    w("")

    def timing_table(names, reference_label="floor", reference=floor_of):
        w(f"| command | median s | × {reference_label} | peak RSS MB | RSS × {reference_label} |")
        w("|---|---:|---:|---:|---:|")
        for name in names:
            ref = reference(name)
            t, r = median.get(name), rss.get(name)
            w(
                f"| `{name}` | {fmt(t)} | {fmt(ratio(t, median.get(ref)), 2)} | {fmt(r, 1)} | "
                f"{fmt(ratio(r, rss.get(ref)), 2)} |"
            )
        w("")

    if names_in("threads"):
        w("## async-lint against the parse floor")
        w("")
        timing_table(names_in("threads"))

    fraction_names = [n for n in names_in("fractions") if meta[n][0] == "async-lint"]
    if fraction_names:
        whole = f"async-lint {full} -j{args.np}"
        rows = fraction_names + ([whole] if whole in median else [])
        w(f"## Cost against size (-j{args.np})")
        w("")
        w(f"Linear growth means the same cost per line on every tree (last column near 1.00, `{full}` = 1).")
        w("")
        w(f"| tree | lines | async-lint s | floor s | × floor | ns / line | per line × `{full}` |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        per_line_all = None
        if whole in median and trees.get(full, {}).get("lines"):
            per_line_all = median[whole] / trees[full]["lines"]
        for name in rows:
            tree = meta[name][1]
            lines = trees.get(tree, {}).get("lines") or None
            t = median.get(name)
            f = median.get(floor_of(name))
            per_line = ratio(t, lines)
            w(
                f"| `{tree}` | {lines or 0:,} | {fmt(t)} | {fmt(f)} | {fmt(ratio(t, f), 2)} | "
                f"{fmt(per_line * 1e9 if per_line else None, 0)} | {fmt(ratio(per_line, per_line_all), 2)} |"
            )
        w("")

    peer_names = names_in("peers")
    if peer_names:
        lint = next((n for n in peer_names if meta[n][0] == "async-lint"), None)
        w(f"## Peers on the same tree (-j{args.np})")
        w("")
        w("| command | median s | × async-lint | × floor | peak RSS MB | RSS × async-lint |")
        w("|---|---:|---:|---:|---:|---:|")
        for name in peer_names:
            t, r = median.get(name), rss.get(name)
            w(
                f"| `{name}` | {fmt(t)} | {fmt(ratio(t, median.get(lint)), 2)} | "
                f"{fmt(ratio(t, median.get(floor_of(name))), 2)} | {fmt(r, 1)} | {fmt(ratio(r, rss.get(lint)), 2)} |"
            )
        w("")
        w(
            "cargo-perf: `cargo-perf check PATH` with all its rules (syn-based as well; it skips "
            "`vendor/`, `build/`, `out/`, `third_party/` folders, symlinks and files over 10 MB, so "
            "it may read fewer files). ast-grep: `ast-grep run -l rust -p 'block_on($A)' PATH`, one "
            "pattern over tree-sitter trees (a floor for a pattern matcher, not a linter)."
        )
        w("")

    def clippy_table(names):
        by_tool = {meta[n][0]: n for n in names}
        lint = by_tool.get("async-lint")
        threads = meta[lint][2] if lint else args.np
        w(f"## async-lint against `cargo clippy` on tokio (-j{threads})")
        w("")
        w("| command | median s | × async-lint | issue's target | met | × floor | peak RSS MB |")
        w("|---|---:|---:|---|---|---:|---:|")
        targets = {  # tool -> (the target as written, whether a ratio meets it)
            "clippy-clean": (f"≥ {CLEAN_TARGET:g}×", lambda x: x >= CLEAN_TARGET),
            "clippy-touched": (f"> {TOUCHED_TARGET:g}×", lambda x: x > TOUCHED_TARGET),
        }
        for name in names:
            t = median.get(name)
            x = ratio(t, median.get(lint))
            target, meets = targets.get(meta[name][0], ("", None))
            met = "" if meets is None else "—" if x is None else "yes" if meets(x) else "**no**"
            floor = median.get(floor_of(name))
            w(
                f"| `{name}` | {fmt(t)} | {fmt(x, 2)} | {target} | {met} | {fmt(ratio(t, floor), 2)} | "
                f"{fmt(rss.get(name), 1)} |"
            )
        w("")
        touched = next((n for n in names if meta[n][0] == "clippy-touched"), None)
        touch = prepare_of.get(touched, "").replace(os.getcwd() + "/", "")
        w(
            "clippy lints tokio's library (a copy of `target/corpus/async/tokio` in `target/bench/clippy-tokio`, "
            "its own Cargo.lock and target directory, dependencies fetched beforehand, `--frozen`), with the "
            "features named in the commands below; async-lint reads every file of the crate, `tests/` included. "
            "`clippy-clean`: `cargo clean` (the whole target directory, dependencies included) before each run, "
            f"untimed. `clippy-touched`: `{touch}` before each run, untimed; a touch changes no byte, so "
            "rustc's incremental cache serves what it can, and a real edit costs clippy more. Peak RSS of clippy "
            "is that of its largest process, not the sum. × floor is the time ÷ the parse floor's on tokio with the "
            "same thread count: for clippy, the best ratio async-lint could reach on this machine. "
            f"For comparison, the issue's figures (another machine): {issue_reference}."
        )
        w("")

    issue_reference = (
        f"`cargo clippy` on tokio takes {ISSUE_CLIPPY_CLEAN} s from clean and {ISSUE_CLIPPY_TOUCHED} s to re-lint "
        "after touching one file"
    )
    clippy_names = names_in("clippy")
    if names_in("tokio"):
        w("## tokio (`target/corpus/async/tokio`), for the clippy reference")
        w("")
        timing_table(names_in("tokio"))
        if not clippy_names:
            w(f"Reference, given in the issue and not measured here: {issue_reference}.")
            w("")
    elif quick and not clippy_names:
        w(f"Reference for tokio, given in the issue and not measured here: {issue_reference}.")
        w("")

    if clippy_names:
        clippy_table(clippy_names)

    w("## Notes")
    w("")
    notes = []
    notes_path = os.path.join(work, "notes.txt")
    if os.path.exists(notes_path):
        with open(notes_path, encoding="utf-8") as f:
            notes += [line.strip() for line in f if line.strip()]
    for name in meta:
        if name not in median:
            notes.append(f"`{name}` was not timed.")
        if failures.get(name):
            notes.append(f"`{name}` exited with {sorted(set(failures[name]))} during timing.")
        if status.get(name, "0") not in ("0", "1"):
            notes.append(f"`{name}` exited with {status[name]} in the RSS run: {last_line.get(name, '')}")
    for name in meta:
        if last_line.get(name):
            notes.append(f"`{name}` printed last: `{last_line[name].strip()}`")
    for line in notes:
        w(f"- {line}")
    w("")
    w("Commands as run (hyperfine, through `sh -c`):")
    w("")
    w("```text")
    here = os.getcwd() + "/"
    for name, (_, _, _, command) in meta.items():
        w(f"{name}: {command.replace(here, '')}")
        if name in prepare_of:
            w(f"  (before each run: {prepare_of[name].replace(here, '')})")
    w("```")

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
