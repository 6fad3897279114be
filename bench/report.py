#!/usr/bin/env python3
"""Turns what bench/run.sh measured (target/bench) into the markdown tables of bench/RESULTS.md.

Inputs in --work: commands.tsv (group, name, tool, tree, threads, command), trees.tsv (tree, crate
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
    for group, name, tool, tree, threads, command in commands:
        meta.setdefault(name, (tool, tree, int(threads), command))

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

    if names_in("tokio"):
        w("## tokio (`target/corpus/async/tokio`), for the clippy reference")
        w("")
        timing_table(names_in("tokio"))
        w(
            "Reference, given in the issue and not measured here: `cargo clippy` on tokio takes "
            "6.3 s from clean and 1.9 s to re-lint after touching one file."
        )
        w("")
    elif quick:
        w(
            "Reference for tokio, given in the issue and not measured here: `cargo clippy` takes "
            "6.3 s from clean and 1.9 s to re-lint after touching one file."
        )
        w("")

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
    w("```")

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
