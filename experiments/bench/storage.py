"""Storage benchmark: ``python -m experiments.bench.storage`` (``make bench-storage``).

Two measurements, printed and recorded (JSON, and the "Big sweeps" section of
``BENCHMARKS.md``, which the rest of the suite leaves alone):

1. **A big sweep end to end** through the command line on all cores, once per
   storage: ``-m people.budget_mean=3,5 seed=range(RUNS/2)`` with small runs
   (``people.n=200 days=30``): wall time, runs per minute, files created, disk
   used, the main process's peak memory.
2. **Aggregation at scale**: the Parquet sweep's rows replicated (new seeds, so
   the same groups get more runs) into ``ROWS`` rows in parts of 200, then
   ``summarize_sweep`` and ``make_figures`` in a fresh process: wall time and
   peak resident memory (``VmHWM``).

The machine is shared with other developers: the load average before and
after each step is recorded with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from experiments.bench.machine import load_average, machine_info

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["people.n=200", "days=30"]
#: Markers of this benchmark's section in BENCHMARKS.md.
START, END = "<!-- storage-bench:start -->", "<!-- storage-bench:end -->"


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def tree_size(folder: Path) -> tuple[int, int]:
    """``(files, bytes on disk)`` under ``folder`` (``du``: allocated blocks)."""
    files = used = 0
    for root, _, names in os.walk(folder):
        for name in names:
            st = os.lstat(os.path.join(root, name))
            files += 1
            used += st.st_blocks * 512
    return files, used


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall time, peak RSS of the process tree's main process (GNU time)."""
    before = load_average()
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M", *cmd], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    rss = re.findall(r"MAXRSS_KB=(\d+)", proc.stderr)
    return {"seconds": wall, "main_peak_mb": int(rss[-1]) / 1024 if rss else None,
            "load_before": list(before), "load_after": list(load_average()),
            "stdout": proc.stdout[-2000:]}


def bench_sweep(runs: int, storage: str, folder: Path) -> dict[str, Any]:
    """One sweep of ``runs`` small runs, end to end, in ``storage``."""
    seeds = runs // 2
    cmd = [sys.executable, "-m", "experiments.run", "-m", "people.budget_mean=3,5",
           f"seed=range({seeds})", *SMALL, f"storage={storage}", f"hydra.sweep.dir={folder}"]
    env = {**os.environ}
    env.pop("HYDRA_FULL_ERROR", None)
    out = _timed(cmd, env)
    files, used = tree_size(folder)
    out.update(storage=storage, runs=2 * seeds, files=files, disk_mb=used / 2**20,
               runs_per_min=60 * 2 * seeds / out["seconds"])
    _say(f"{storage}: {2 * seeds:,} runs in {out['seconds']:.0f} s "
         f"({out['runs_per_min']:.0f} runs/min), {files:,} files, {used / 2**20:.0f} MB")
    return out


def replicate(source: Path, target: Path, rows: int, part_rows: int = 200) -> dict[str, Any]:
    """Write ``rows`` run rows into ``target``'s parts by replicating ``source``'s runs.

    Copy ``k`` of a run gets seed ``seed + k * offset`` (in its id, overrides
    and seed column), so every group of the sweep gets more seeds.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from experiments import storage

    runs = storage.read_parts(source).to_pandas()
    bins = storage.read_parts(source, which=storage.BINS_PARTS).to_pandas()
    offset = int(runs["seed"].max()) + 1
    copies = -(-rows // len(runs))
    seed_re = re.compile(r"seed=(\d+)")
    (target / storage.RUNS_PARTS).mkdir(parents=True)
    (target / storage.BINS_PARTS).mkdir(parents=True)
    written = 0
    batch = 0
    for k in range(copies):
        def shift(text: str, k: int = k) -> str:
            def moved(match: re.Match[str]) -> str:
                return f"seed={int(match.group(1)) + k * offset}"

            return seed_re.sub(moved, text)

        r = runs.copy()
        r["run_id"] = r["run_id"].map(shift)
        r["overrides"] = r["overrides"].map(shift)
        r["seed"] = r["seed"] + k * offset
        r["config"] = [_with_seed(c, s) for c, s in zip(r["config"], r["seed"], strict=True)]
        r["metrics"] = [_with_seed(m, s) for m, s in zip(r["metrics"], r["seed"], strict=True)]
        r = r.head(rows - written)
        b = bins.copy()
        b["run_id"] = b["run_id"].map(shift)
        b = b[b["run_id"].isin(set(r["run_id"]))]
        for start in range(0, len(r), part_rows):
            chunk = r.iloc[start:start + part_rows]
            name = f"bench-{batch:05d}.parquet"
            pq.write_table(pa.Table.from_pandas(chunk, schema=storage.ROW_SCHEMA(),
                                                preserve_index=False),
                           target / storage.RUNS_PARTS / name, compression="zstd")
            pq.write_table(pa.Table.from_pandas(b[b["run_id"].isin(set(chunk["run_id"]))],
                                                preserve_index=False),
                           target / storage.BINS_PARTS / name, compression="zstd")
            batch += 1
        written += len(r)
    if (source / "sweep.json").exists():  # the sweep's definition: the same sweep, more seeds
        (target / "sweep.json").write_bytes((source / "sweep.json").read_bytes())
    files, used = tree_size(target)
    return {"rows": written, "parts": batch, "files": files, "disk_mb": used / 2**20}


def _with_seed(config: str, seed: Any) -> str:
    """A run's stored config or metrics (JSON text) with its seed replaced."""
    data = json.loads(config)
    if isinstance(data, dict) and seed is not None and seed == seed:
        data["seed"] = int(seed)
    return json.dumps(data)


AGGREGATE = """
import json, time
from pathlib import Path
t0 = time.perf_counter()
from experiments.aggregate import summarize_sweep
from experiments.figures import make_figures
t1 = time.perf_counter()
summary = summarize_sweep(Path({folder!r}))
t2 = time.perf_counter()
figures = make_figures(Path({folder!r}))
t3 = time.perf_counter()
peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
print(json.dumps({{"import_s": t1 - t0, "summary_s": t2 - t1, "figures_s": t3 - t2,
                  "rows": len(summary), "ok": int((summary['status'] == 'ok').sum()),
                  "figures": len([f for f in figures if f.suffix == '.png']),
                  "peak_mb": int(peak) / 1024}}))
"""


def bench_aggregate(folder: Path) -> dict[str, Any]:
    """``summarize_sweep`` + ``make_figures`` of ``folder`` in a fresh process."""
    out = _timed([sys.executable, "-c", AGGREGATE.format(folder=str(folder))])
    result = json.loads(out["stdout"].strip().splitlines()[-1])
    result.update(wall_s=out["seconds"], load_before=out["load_before"],
                  load_after=out["load_after"])
    _say(f"aggregate {folder.name}: {result['rows']:,} rows, summary {result['summary_s']:.1f} s, "
         f"figures {result['figures_s']:.1f} s, peak {result['peak_mb']:.0f} MB")
    return result


def run(runs: int, rows: int, work: Path, folder_runs: int | None = None) -> dict[str, Any]:
    """Every measurement; sweeps and parts go under ``work``.

    ``folder_runs`` (default ``runs``) sizes the folder-per-run sweep, which is
    several times slower: on a busy shared machine a smaller one gives its rate,
    and files and disk per run, which grow linearly with the runs.
    """
    folder_runs = folder_runs or runs
    results: dict[str, Any] = {"machine": machine_info(), "runs": runs, "rows": rows,
                               "small_run": SMALL, "started": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                            time.gmtime())}
    _say(f"storage benchmark: {runs:,} runs in parquet, {folder_runs:,} in folders, "
         f"{rows:,} rows; load average "
         f"{results['machine']['load_average'][0]:.2f}")
    results["parquet"] = bench_sweep(runs, "parquet", work / "parquet")
    results["folders"] = bench_sweep(folder_runs, "folders", work / "folders")
    results["aggregate_folders"] = bench_aggregate(work / "folders")
    results["aggregate_parquet"] = bench_aggregate(work / "parquet")
    big = work / "big"
    results["big"] = replicate(work / "parquet", big, rows)
    results["aggregate_big"] = bench_aggregate(big)
    results["load_end"] = list(load_average())
    results["aggregate_measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return results


def render(r: dict[str, Any]) -> str:
    """The markdown section for BENCHMARKS.md."""
    p, f = r["parquet"], r["folders"]
    ap, af, ab = r["aggregate_parquet"], r["aggregate_folders"], r["aggregate_big"]

    def load(x: dict[str, Any]) -> str:
        return f"{x['load_before'][0]:.1f} → {x['load_after'][0]:.1f}"

    lines = [
        START,
        "## Big sweeps: storage=parquet against a folder per run",
        "",
        f"Measured {r['started']} with `python -m experiments.bench.storage` (`make "
        "bench-storage`) on the machine above (2 cores, shared with other developers: the "
        "1-minute load average before → after each step is in the last column; a sweep "
        "itself counts for about 2). A sweep of "
        f"{p['runs']:,} small runs (`-m people.budget_mean=3,5 seed=range({p['runs'] // 2}) "
        f"{' '.join(r['small_run'])}`) end to end through the command line on all cores: "
        "checks, runs, summary, figures. The folder-per-run sweep is the same with fewer "
        "seeds where it says so (it is several times slower).",
        "",
        "| sweep | wall time | runs/min | files | disk | main process peak | load |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for x in (p, f):
        lines.append(f"| {x['storage']}, {x['runs']:,} runs | {x['seconds']:.0f} s | "
                     f"{x['runs_per_min']:,.0f} | {x['files']:,} | {x['disk_mb']:.0f} MB | "
                     f"{x['main_peak_mb']:.0f} MB | {load(x)} |")
    if f["runs"] != p["runs"]:
        k = p["runs"] / f["runs"]
        lines.append(f"| folders, {p['runs']:,} runs (scaled from {f['runs']:,}: files and disk "
                     f"grow with the runs) | about {f['seconds'] * k:,.0f} s | "
                     f"{f['runs_per_min']:.0f} | about {f['files'] * k:,.0f} | "
                     f"about {f['disk_mb'] * k:,.0f} MB | | |")
    lines += [
        "",
        "Aggregation alone (`summarize_sweep` + `make_figures`, fresh process; peak = its "
        "resident memory"
        + (f"; measured {r['aggregate_measured']}" if r.get("aggregate_measured") else "")
        + "):",
        "",
        "| sweep | rows | summary + groups | figures | peak memory | load |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, x in ((f"{f['runs']:,} runs, folders", af), (f"{p['runs']:,} runs, parquet", ap),
                    (f"{ab['rows']:,} rows, parquet ({r['big']['parts']} parts, "
                     f"{r['big']['disk_mb']:.0f} MB)", ab)):
        lines.append(f"| {name} | {x['rows']:,} | {x['summary_s']:.1f} s | "
                     f"{x['figures_s']:.1f} s | {x['peak_mb']:.0f} MB | {load(x)} |")
    lines += [
        "",
        f"The {ab['rows']:,} rows are the Parquet sweep's rows replicated with new seeds (the "
        "same 2 groups, more seeds each), written in parts of 200 rows as a shard writes them. "
        "Groups of 500 runs or more get the Student-t interval of the mean (`ci_method` "
        "\"t\", `sim.measures.bootstrap_interval`; smaller groups BCa/percentile), so the "
        "group table takes well under a second; most of the summary's time is reading the "
        "parts (every run's stored config) and building its rows. The figures re-run the 20 "
        "runs the Lorenz and story figures draw (no per-run tables are kept).",
        END,
    ]
    return "\n".join(lines)


def write_section(section: str, path: Path) -> None:
    """Put ``section`` into ``path`` between the markers (replacing an older one)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    p = argparse.ArgumentParser(prog="python -m experiments.bench.storage",
                                description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10_000, help="runs per sweep (default 10,000)")
    p.add_argument("--rows", type=int, default=100_000, help="rows to aggregate (100,000)")
    p.add_argument("--folder-runs", type=int, default=None,
                   help="runs of the folder-per-run sweep (default: --runs)")
    p.add_argument("--out", default="BENCHMARKS.md", help="markdown file ('-': none)")
    p.add_argument("--json", default=None, help="also write the raw results here")
    p.add_argument("--render", default=None, metavar="JSON", help="only render saved results")
    args = p.parse_args(argv)
    if args.render:
        results = json.loads(Path(args.render).read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
            results = run(args.runs, args.rows, Path(tmp), args.folder_runs)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    section = render(results)
    print(section)
    if args.out != "-":
        write_section(section, ROOT / args.out if not Path(args.out).is_absolute()
                      else Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
