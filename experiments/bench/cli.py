"""Command line of the benchmark suite: ``python -m experiments.bench [--quick] [--only PART]``.

Pins this process to one CPU and sets the one-thread environment *before*
importing :mod:`sim` (numba reads its thread count at import), waits a while
for the machine's load to fall, runs the parts, prints one table with the
targets, and writes ``BENCHMARKS.md`` after a complete full run (or wherever
``--out`` says).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from experiments.bench.machine import (
    ONE_THREAD_ENV,
    allowed_cpus,
    load_average,
    machine_info,
    pin_to,
    wait_for_low_load,
)

PARTS = ("cascade", "model", "sweep", "scaling")
ROOT = Path(__file__).resolve().parents[2]

#: Sizes of each part: the full suite, and ``--quick`` (a smoke run of a minute or two).
PLANS: dict[str, dict[str, Any]] = {
    "full": {
        "cascade": {"n": 100_000, "n_ours": 200, "repeats": 5, "peer_budget_s": 60.0,
                    "ndlib_configs": 2},
        "compile": True,
        "model": {10_000: 5, 100_000: 3, 1_000_000: 3},
        "sweep": {"runs": 20, "n": 10_000, "days": 365},
        "sweep_cli": {"runs": 100, "repeats": 2, "overrides": []},
        "scaling": {10_000: 3, 30_000: 3, 100_000: 3, 300_000: 3, 1_000_000: 3},
        "days": 365,
    },
    "quick": {
        "cascade": {"n": 20_000, "n_ours": 50, "repeats": 3, "peer_budget_s": 4.0,
                    "ndlib_configs": 1},
        "compile": False,
        "model": {10_000: 2},
        "sweep": {"runs": 4, "n": 2_000, "days": 60},
        "sweep_cli": {"runs": 4, "repeats": 1, "overrides": ["people.n=2000", "days=60"]},
        "scaling": {10_000: 1, 30_000: 1, 100_000: 1},
        "days": 365,
    },
}


def storage_section(path: Path) -> str:
    """The storage benchmark's section of ``path`` (markers included), or ``""``."""
    from experiments.bench.storage import END, START

    text = path.read_text() if path.exists() else ""
    if START not in text or END not in text:
        return ""
    return START + text.split(START, 1)[1].split(END, 1)[0] + END


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(prog="python -m experiments.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small smoke version (a few minutes)")
    p.add_argument("--only", action="append", default=None, metavar="PART",
                   help=f"run only these parts (repeat or comma-separate): {', '.join(PARTS)}")
    p.add_argument("--out", default=None, metavar="PATH",
                   help="write the markdown report here (default: BENCHMARKS.md after a "
                        "complete full run, nothing otherwise; '-' for never)")
    p.add_argument("--figure", default=None, metavar="PATH",
                   help="scaling figure (default: docs/figures/scaling.png in a full run)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write raw results as JSON")
    p.add_argument("--render", default=None, metavar="JSON",
                   help="run nothing: print and write the report of results saved with --json "
                        "(and redraw the scaling figure)")
    p.add_argument("--no-peers", action="store_true", help="skip EoN and NDlib")
    p.add_argument("--cpu", type=int, default=None,
                   help="CPU for one-core numbers (default: the last usable one)")
    p.add_argument("--max-wait", type=float, default=None, metavar="S",
                   help="before each part, wait at most S seconds for a low load average "
                        "(default 180, 0 with --quick)")
    p.add_argument("--load-threshold", type=float, default=0.5,
                   help="1-minute load average counted as low (default 0.5)")
    args = p.parse_args(argv)
    parts: list[str] = []
    for item in args.only or []:
        parts += [x.strip() for x in item.split(",") if x.strip()]
    bad = [x for x in parts if x not in PARTS]
    if bad:
        p.error(f"--only: unknown part {bad[0]!r} (choose from {', '.join(PARTS)})")
    args.parts = [x for x in PARTS if x in parts] if parts else list(PARTS)
    if args.max_wait is None:
        args.max_wait = 0.0 if args.quick else 180.0
    return args


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_suite(args: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen parts and return the results dict of :mod:`experiments.bench.report`."""
    all_cpus = allowed_cpus()
    cpu = all_cpus[-1] if args.cpu is None else args.cpu
    machine = machine_info()  # before pinning: it counts the usable CPUs
    os.environ.update(ONE_THREAD_ENV)
    pin_to([cpu])
    plan = PLANS["quick" if args.quick else "full"]
    results: dict[str, Any] = {"quick": bool(args.quick), "parts": args.parts,
                               "machine": machine, "one_core_cpu": cpu,
                               "load_threshold": args.load_threshold}
    _say(f"benchmarks ({'quick' if args.quick else 'full'}): {', '.join(args.parts)}; "
         f"one-core numbers on CPU {cpu}; load average {results['machine']['load_average'][0]:.2f}")
    t0 = time.perf_counter()
    # Imported only now: the thread environment is set and the process pinned.
    from experiments.bench import cascade as cascade_bench
    from experiments.bench import model as model_bench

    waits: dict[str, dict[str, float]] = {}
    results["load_parts"] = waits

    def settle(part: str) -> None:
        waits[part] = wait_for_low_load(args.load_threshold, args.max_wait, say=True)

    if "cascade" in args.parts:
        settle("cascade")
        results["cascade"] = cascade_bench.bench_cascade(
            **plan["cascade"], peers=not args.no_peers, say=_say)
        gc.collect()  # drop the graphs before the next parts
    sizes: dict[str, dict[str, Any]] = {}
    if "model" in args.parts:
        settle("model")
        results["model"] = {"sizes": sizes}
        if plan["compile"]:
            results["model"]["compile"] = model_bench.bench_compile([cpu], say=_say)
        for n, repeats in plan["model"].items():
            _say(f"model: {n:,} people, {plan['days']} days, {repeats} fresh processes")
            sizes[str(n)] = model_bench.model_runs(n, plan["days"], repeats, [cpu], None,
                                                   say=_say)
    if "sweep" in args.parts:
        settle("sweep")
        sw = plan["sweep"]
        _say(f"sweep: {sw['runs']} runs of {sw['n']:,} people x {sw['days']} days")
        results["sweep"] = model_bench.bench_sweep(sw["runs"], sw["n"], sw["days"], [cpu],
                                                   all_cpus, None, say=_say)
        cli = plan["sweep_cli"]
        _say(f"sweep (command line): {cli['runs']} default runs, 1 core and all cores, "
             f"{cli['repeats']} time(s)")
        results["sweep"]["cli"] = model_bench.bench_sweep_cli(
            cli["runs"], cli["repeats"], [cpu], all_cpus, cli["overrides"], say=_say)
    if "scaling" in args.parts:
        settle("scaling")
        points = {}
        for n, repeats in plan["scaling"].items():
            if str(n) in sizes:
                points[n] = sizes[str(n)]
                continue
            _say(f"scaling: {n:,} people, {plan['days']} days, {repeats} fresh processes")
            points[n] = model_bench.model_runs(n, plan["days"], repeats, [cpu], None, say=_say)
        summary = model_bench.scaling_summary(points)
        figure = args.figure or (None if args.quick else "docs/figures/scaling.png")
        if figure:
            path = Path(figure)
            model_bench.scaling_figure(summary, path if path.is_absolute() else ROOT / path)
            summary["figure"] = figure
        results["scaling"] = summary
        _say(f"scaling: log-log slope {summary['slope']['total_s']:.2f}")
    results["seconds"] = time.perf_counter() - t0
    results["load_end"] = list(load_average())
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the suite, print the table, write the report."""
    args = parse_args(argv)
    if args.render:
        results = json.loads(Path(args.render).read_text())
        sc = results.get("scaling")
        if sc and sc.get("figure"):
            from experiments.bench import model as model_bench

            path = Path(args.figure or sc["figure"])
            model_bench.scaling_figure(sc, path if path.is_absolute() else ROOT / path)
    else:
        results = run_suite(args)
    from experiments.bench import report  # imports sim: only after run_suite has pinned us

    print(report.render_text(results), flush=True)
    complete = not results.get("quick") and results.get("parts") == list(PARTS)
    out = args.out if args.out is not None else ("BENCHMARKS.md" if complete else None)
    if out and out != "-":
        path = Path(out) if Path(out).is_absolute() else ROOT / out
        kept = storage_section(path)  # `make bench-storage` owns its own section
        path.write_text(report.render_markdown(results) + (f"\n{kept}\n" if kept else ""))
        _say(f"wrote {path}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
