"""Turn benchmark results into one table, the targets, and ``BENCHMARKS.md``.

Results are one JSON-ready dict (see :mod:`experiments.bench.cli`) with the
keys ``machine``, ``cascade``, ``model``, ``sweep`` and ``scaling``; a part
that did not run is missing or ``None`` and its rows and targets say so.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from experiments.bench.cascade import TOOLS
from experiments.bench.model import short_count

#: Bytes in a GB (the targets speak of decimal gigabytes).
GB = 1e9
MIB = 2**20

DEFAULT_N = 10_000
MILLION = 1_000_000


@dataclass
class Row:
    """One line of the results table."""

    section: str
    measure: str
    value: str
    detail: str = ""


@dataclass
class Target:
    """A target of the issue, its measured value and whether it is met."""

    name: str
    goal: str
    measured: str
    ok: bool | None  # None: not measured

    @property
    def verdict(self) -> str:
        """``PASS``, ``MISS`` or ``n/a``."""
        return "n/a" if self.ok is None else ("PASS" if self.ok else "MISS")


# --- number formatting ---------------------------------------------------------------------


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def seconds(x: float | None) -> str:
    """``12.3 ms``, ``1.23 s`` or ``73 s``."""
    if not _finite(x):
        return "n/a"
    if x < 1e-3:
        return f"{x * 1e6:.0f} µs"
    if x < 1:
        return f"{x * 1e3:.3g} ms"
    if x < 100:
        return f"{x:.3g} s"
    return f"{x:,.0f} s"


def rate(x: float | None, unit: str = "/s") -> str:
    """``45.6 million/s`` style."""
    if not _finite(x):
        return "n/a"
    if x >= 1e6:
        return f"{x / 1e6:.1f} million{unit}"
    if x >= 1e3:
        return f"{x / 1e3:.1f} thousand{unit}"
    return f"{x:.3g}{unit}"


def times(x: float | None) -> str:
    """``45.2×``."""
    return "n/a" if not _finite(x) else f"{x:,.3g}×"


def mem(mb: float | None) -> str:
    """Memory given in MiB, shown in GB (and MiB)."""
    if not _finite(mb):
        return "n/a"
    return f"{mb * MIB / GB:.2f} GB ({mb:,.0f} MiB)"


def pval(p: float | None) -> str:
    """A p-value to three decimals."""
    return "n/a" if not _finite(p) else (f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}")


def _range(lo: float, hi: float, fmt: Any = seconds) -> str:
    return f"{fmt(lo)} – {fmt(hi)}"


def people(n: int) -> str:
    """``100,000 people``."""
    return f"{n:,} people"


# --- rows ------------------------------------------------------------------------------------


def cascade_rows(c: dict[str, Any]) -> list[Row]:
    """Rows of the cascade benchmark."""
    sec = "cascade"
    rows = [Row(sec, "graph", f"Erdős–Rényi, {people(c['n'])}",
                f"{c['n_ties']:,} ties, mean degree {c['mean_degree']:.2f}, "
                f"T = {c['transmissibility']:g}; percolation theory: large cascades "
                f"{100 * c['theory_giant_fraction']:.1f}% of sources, "
                f"{100 * c['theory_giant_fraction']:.1f}% of people")]
    tools = c["tools"]
    for key, t in tools.items():
        label = TOOLS[key]
        if "repeats" in t:
            how = (f"median of {t['repeats']} × {t['cascades_per_repeat']} cascades, range "
                   f"{_range(*t['s_per_cascade_range'])}")
            how_rate = (f"median of {t['repeats']} repeats, range "
                        f"{_range(*t['checks_per_s_range'], fmt=rate)}")
        else:
            ci = t.get("s_per_cascade_ci95", [math.nan, math.nan])
            how = f"mean of {t['n_cascades']} cascades, 95% CI {_range(*ci)}"
            how_rate = f"{t['n_cascades']} cascades, {seconds(t['total_s'])} in all"
        if "cpu_s_per_cascade" in t:
            how += f"; CPU time {seconds(t['cpu_s_per_cascade'])} per cascade"
            how_rate += f"; {rate(t['checks_per_cpu_s'], ' per CPU second')}"
        rows.append(Row(sec, f"time per cascade: {label}", seconds(t["s_per_cascade"]), how))
        rows.append(Row(sec, f"edge checks per second: {label}", rate(t["checks_per_s"]),
                        how_rate))
        if "config_s" in t:
            rows.append(Row(sec, f"model configuration: {label}", seconds(t["config_s"]),
                            f"median of {len(t['config_s_all'])} ({c['n_ties']:,} edge "
                            "thresholds); per cascade with configuration "
                            f"{seconds(t['s_per_cascade_with_config'])}"))
    for key, t in tools.items():
        rows.append(Row(sec, f"reach: {TOOLS[key]}",
                        f"mean {t['mean_reach']:,.0f}",
                        f"large cascades {100 * t['large_share']:.1f}% of {t['n_cascades']}, "
                        f"reaching {100 * t['large_reach_fraction']:.2f}% of people each"))
    r = c["ratios"]
    for peer, name in (("eon", "EoN"), ("ndlib", "NDlib")):
        if f"{peer}_per_cascade" in r:
            detail = f"per edge check {times(r[f'{peer}_per_check'])}"
            if peer == "ndlib":
                detail += (f"; with NDlib's configuration counted per cascade "
                           f"{times(r['ndlib_with_config_per_cascade'])}")
            rows.append(Row(sec, f"speed-up over {name}, per cascade",
                            times(r[f"{peer}_per_cascade"]), detail))
    for peer, why in c.get("missing", {}).items():
        rows.append(Row(sec, f"{TOOLS[peer]}", "not run", why))
    for pair, p in c["tests"]["ks"].items():
        a, b = pair.split(" vs ")
        rows.append(Row(sec, f"KS two-sample test of reach: {a} vs {b}", f"p = {pval(p)}",
                        "same distribution unless p is small"))
    ad = c["tests"]["ad"]
    if "p" in ad:
        tools = ", ".join(ad["samples"])
        rows.append(Row(sec, f"Anderson–Darling k-sample test of reach ({tools})",
                        f"p = {pval(ad['p'])}",
                        f"A = {ad['statistic']:.2f}, permutation p-value"))
    return rows


def _label(n: int) -> str:
    return f"{people(n)} (default scenario)" if n == DEFAULT_N else people(n)


def model_rows(m: dict[str, Any]) -> list[Row]:
    """Rows of the full-model benchmark."""
    sec = "model"
    rows = []
    comp = m.get("compile")
    if comp:
        cold, warm = comp["cold"], comp["warm"]
        rows.append(Row(sec, "first-run compile time (empty numba cache)",
                        seconds(comp["compile_s"]),
                        f"tiny run (2,000 people × 30 days): {seconds(cold['first_run_s'])} "
                        f"first, {seconds(cold['second_run_s'])} once compiled; "
                        f"import sim {seconds(cold['import_s'])}"))
        rows.append(Row(sec, "first run with a warm numba cache",
                        seconds(warm["first_run_s"]),
                        f"loading cached kernels {seconds(comp['cache_load_s'])}"))
    for key in sorted(m.get("sizes", {}), key=int):
        s = m["sizes"][key]
        n = int(key)
        what = f"{_label(n)}, {s['days']} days"
        k = s["total_s"]["n"]
        load = s.get("load_1min")
        rows.append(Row(sec, f"{what}: build + run", seconds(s["total_s"]["median"]),
                        f"median of {k} fresh processes, range "
                        f"{_range(s['total_s']['min'], s['total_s']['max'])}"
                        + (f"; CPU time {seconds(s['cpu_s']['median'])}" if "cpu_s" in s
                           else "")
                        + (f"; 1-min load {load['min']:.2f} – {load['max']:.2f} at the ends"
                           if load else "")))
        rows.append(Row(sec, f"{what}: build", seconds(s["build_s"]["median"]),
                        f"range {_range(s['build_s']['min'], s['build_s']['max'])}"))
        rows.append(Row(sec, f"{what}: run", seconds(s["run_s"]["median"]),
                        f"range {_range(s['run_s']['min'], s['run_s']['max'])}"))
        rows.append(Row(sec, f"{what}: peak memory", mem(s["peak_rss_mb"]["max"]),
                        f"largest of {k}; process after imports and warm-up "
                        f"{mem(s['baseline_rss_mb']['median'])}"))
        rows.append(Row(sec, f"{what}: messages handled per second",
                        rate(s["messages_per_s"]["median"]),
                        f"{s['messages']:,} messages in the run"))
    return rows


def sweep_rows(s: dict[str, Any]) -> list[Row]:
    """Rows of the sweep benchmark."""
    sec = "sweep"
    what = f"{s['runs']} runs of {people(s['n'])} × {s['days']} days"
    ser, par = s["serial"], s["parallel"]
    return [
        Row(sec, "runs per minute, 1 core", f"{ser['runs_per_min']:.1f}",
            f"{what}, one after another: {seconds(ser['wall_s'])}"),
        Row(sec, f"runs per minute, all cores ({par['n_jobs']})", f"{par['runs_per_min']:.1f}",
            f"the same runs with joblib (loky, {par['workers']} workers): "
            f"{seconds(par['wall_s'])}; starting the workers {seconds(par['startup_s'])} more"),
        Row(sec, "parallel speed-up", times(s["speedup"]),
            f"on {par['n_jobs']} cores" + (
                f"; 1-min load {ser['load_average'][0]:.2f} after the serial runs, "
                f"{par['load_average'][0]:.2f} after the parallel ones (other work competes "
                "for the same cores)" if "load_average" in par and "load_average" in ser
                else "")),
    ] + sweep_cli_rows(s.get("cli"))


def sweep_cli_rows(c: dict[str, Any] | None) -> list[Row]:
    """Rows of the end-to-end sweep through the command line."""
    if not c:
        return []
    what = (f"python -m experiments.run -m seed=range({c['runs']})"
            + "".join(f" {o}" for o in c["overrides"]))
    return [
        Row("sweep", f"command-line sweep, {c['runs']} runs, 1 core",
            seconds(statistics.median(c["one_core_s"])),
            f"`{what} hydra.launcher.n_jobs=1`, pinned to one core, start to exit "
            f"(checks, runs, tables, figures): {', '.join(seconds(x) for x in c['one_core_s'])}"),
        Row("sweep", f"command-line sweep, {c['runs']} runs, all cores ({c['cores']})",
            seconds(statistics.median(c["all_cores_s"])),
            f"the same on every core: {', '.join(seconds(x) for x in c['all_cores_s'])}"),
        Row("sweep", "command-line sweep, all cores / 1 core", f"{c['ratio']:.2f}",
            "ratio of the medians; each pair (run one after the other): "
            + ", ".join(f"{x:.2f}" for x in c["ratios"])),
    ]


def scaling_rows(s: dict[str, Any]) -> list[Row]:
    """Rows of the scaling benchmark."""
    sec = "scaling"
    rows = []
    for r in s["rows"]:
        rows.append(Row(sec, f"{people(r['n'])}, 365 days", seconds(r["total_s"]),
                        f"build {seconds(r['build_s'])}, run {seconds(r['run_s'])}; "
                        f"median of {r['repeats']}; peak {mem(r['peak_rss_mb'])}"))
    sl = s["slope"]
    rows.append(Row(sec, "log-log slope of time against people (least squares, all sizes)",
                    f"{sl['total_s']:.2f}",
                    f"run {sl['run_s']:.2f}, build {sl['build_s']:.2f}; expected close to 1"
                    + (f"; figure {s['figure']}" if s.get("figure") else "")))
    local = local_slopes(s["rows"])
    if local:
        rows.append(Row(sec, "local slopes between neighbouring sizes (build + run)",
                        ", ".join(f"{x:.2f}" for _, _, x in local),
                        "; ".join(f"{short_count(a)}–{short_count(b)}" for a, b, _ in local)))
    return rows


def local_slopes(scaling_rows: Sequence[dict[str, Any]], key: str = "total_s"
                 ) -> list[tuple[int, int, float]]:
    """``(n_a, n_b, slope)`` of ``log(time)`` against ``log(n)`` between neighbouring sizes."""
    out = []
    for a, b in itertools.pairwise(scaling_rows):
        if a[key] > 0 and b[key] > 0 and b["n"] != a["n"]:
            out.append((a["n"], b["n"],
                        math.log(b[key] / a[key]) / math.log(b["n"] / a["n"])))
    return out


def rows(results: dict[str, Any]) -> list[Row]:
    """Every row of the results table, in section order."""
    out: list[Row] = []
    for key, fn in (("cascade", cascade_rows), ("model", model_rows), ("sweep", sweep_rows),
                    ("scaling", scaling_rows)):
        if results.get(key):
            out.extend(fn(results[key]))
    return out


# --- targets -----------------------------------------------------------------------------------


def _size(results: dict[str, Any], n: int) -> dict[str, Any] | None:
    sizes = (results.get("model") or {}).get("sizes", {})
    return sizes.get(str(n)) or sizes.get(n)


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue's targets, each with the measured number and PASS / MISS."""
    out = []
    c = results.get("cascade") or {}
    r = c.get("ratios", {})
    eon = r.get("eon_per_cascade")
    out.append(Target("cascade mode vs EoN, per cascade", "≥ 50× faster", times(eon),
                      None if eon is None else eon >= 50))
    nd = r.get("ndlib_per_cascade")
    nd_cfg = r.get("ndlib_with_config_per_cascade")
    measured = times(nd) if nd is None else (
        f"{times(nd)} (NDlib's configuration amortised); {times(nd_cfg)} with it per cascade")
    out.append(Target("cascade mode vs NDlib, per cascade", "≥ 300× faster", measured,
                      None if nd is None else nd >= 300))
    ours = (c.get("tools") or {}).get("ours", {}).get("checks_per_s")
    out.append(Target("cascade mode edge checks per second (1 core)", "≥ 80 million/s",
                      rate(ours), None if ours is None else ours >= 80e6))
    cli = (results.get("sweep") or {}).get("cli")
    ratio = None if not cli or results.get("quick") else cli["ratio"]
    out.append(Target(f"{cli['runs'] if cli else 100} default runs (command line), "
                      f"{cli['cores'] if cli else 'all'} cores / 1 core", "≤ 0.6",
                      "n/a" if ratio is None else f"{ratio:.2f}",
                      None if ratio is None else ratio <= 0.6))
    d = _size(results, DEFAULT_N)
    t = None if d is None else d["total_s"]["median"]
    out.append(Target("default scenario (10,000 people, 365 days, no warm-up), build + run",
                      "≤ 1 s", seconds(t), None if t is None else t <= 1.0))
    big = _size(results, MILLION)
    t = None if big is None else big["total_s"]["median"]
    out.append(Target("1,000,000 people, 365 days (no warm-up), build + run", "≤ 60 s", seconds(t),
                      None if t is None else t <= 60.0))
    p = None if big is None else big["peak_rss_mb"]["max"]
    out.append(Target("1,000,000 people, 365 days (no warm-up), peak memory", "≤ 4 GB", mem(p),
                      None if p is None else p * MIB <= 4 * GB))
    return out


# --- rendering -------------------------------------------------------------------------------


def _wrap_cols(cells: Sequence[Sequence[str]], widths: Sequence[int]) -> list[str]:
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in cells]


def render_text(results: dict[str, Any]) -> str:
    """The results as one plain-text table (and the targets under it)."""
    body = [("section", "measure", "value", "detail")]
    body += [(r.section, r.measure, r.value, r.detail) for r in rows(results)]
    widths = [max(len(row[i]) for row in body) for i in range(3)] + [0]
    lines = _wrap_cols(body, widths)
    rule = "-" * min(160, max(len(x) for x in lines))
    lines.insert(1, rule)
    tg = [("target", "goal", "measured", "")]
    tg += [(t.name, t.goal, t.measured, t.verdict) for t in targets(results)]
    tw = [max(len(row[i]) for row in tg) for i in range(3)] + [0]
    return "\n".join([rule, *lines, rule, *_wrap_cols(tg, tw), rule])


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(results: dict[str, Any], command: str = "make bench") -> str:
    """``BENCHMARKS.md``: how to regenerate it, the machine, the tables and the targets."""
    mach = results.get("machine", {})
    ver = mach.get("versions", {})
    parts = results.get("load_parts", {})
    la = mach.get("load_average")
    lines = [
        "# Benchmarks",
        "",
        "Generated by the benchmark suite; do not edit by hand. Regenerate with "
        f"`{command}` (or `python -m experiments.bench`, after "
        "`pip install -e \".[test,bench]\"`; `--quick` for a smoke run, `--only "
        "cascade|model|sweep|scaling` for one part; a complete full run rewrites this file).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {mach.get('date', 'n/a')} |",
        f"| CPU | {mach.get('cpu', 'n/a')}"
        + (f" ({mach['hypervisor']} guest)" if mach.get("hypervisor") else "") + " |",
        f"| cores | {mach.get('cores', 'n/a')} cores, {mach.get('logical_cpus', 'n/a')} logical "
        f"CPUs ({mach.get('allowed_cpus', 'n/a')} usable) |",
        f"| memory | {mach.get('memory_gib', 'n/a')} GiB |",
        f"| OS | {mach.get('os', 'n/a')} |",
        f"| Python | {mach.get('python', 'n/a')} |",
        "| versions | " + ", ".join(f"{k} {v}" for k, v in ver.items()) + " |",
        f"| load average at start | {_loads(la)} (1, 5, 15 min) |",
        f"| load average at the start of each part | {_part_loads(parts)} |",
        f"| load average at the end | {_loads(results.get('load_end'))} |",
        f"| suite wall time | {seconds(results.get('seconds'))} |",
        "",
        "One-core numbers come from a process pinned to one CPU (`os.sched_setaffinity`) with "
        "`NUMBA_NUM_THREADS=1` and OpenMP/BLAS threads 1. Each full-model measurement runs in a "
        "fresh process that first warms up on a tiny run, so compilation is excluded (it is "
        "reported apart); peak memory is that process's peak resident set "
        "(`VmHWM` in `/proc/self/status`), interpreter and libraries included. The machine "
        "is a shared virtual machine: other work running at the same time slows every number "
        "here, so read the load averages with them (a running benchmark counts for about 1 on its "
        "own). Before each part the suite waits (a few "
        "minutes at most) for the 1-minute load average to fall below "
        f"{results.get('load_threshold', 0.5):g}.",
        "",
        "## Targets",
        "",
        "| target | goal | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for t in targets(results):
        lines.append(f"| {_md(t.name)} | {_md(t.goal)} | {_md(t.measured)} | **{t.verdict}** |")
    sc = results.get("scaling")
    if sc:
        local = ", ".join(f"{x:.2f} ({short_count(a)}–{short_count(b)})"
                          for a, b, x in local_slopes(sc["rows"]))
        lines += ["", f"Scaling (expected: a log-log slope close to 1): "
                      f"{sc['slope']['total_s']:.2f} fitted over all sizes"
                      + (f"; between neighbouring sizes {local}." if local else ".")]
    names = {"cascade": "Cascade mode against EoN and NDlib",
             "model": "Full model", "sweep": "Sweep throughput", "scaling": "Scaling"}
    all_rows = rows(results)
    for sec, title in names.items():
        sec_rows = [r for r in all_rows if r.section == sec]
        if not sec_rows:
            continue
        lines += ["", f"## {title}", "", "| measure | value | detail |", "| --- | --- | --- |"]
        lines += [f"| {_md(r.measure)} | {_md(r.value)} | {_md(r.detail)} |" for r in sec_rows]
        if sec == "cascade":
            lines += ["", CASCADE_NOTE]
        if sec == "scaling" and results["scaling"].get("figure"):
            lines += ["", f"![time against people]({results['scaling']['figure']})"]
    return "\n".join(lines) + "\n"


def _part_loads(parts: dict[str, dict[str, float]]) -> str:
    """``cascade 0.31 (waited 40 s, from 2.10); model 0.12`` (1-minute load averages)."""
    if not parts:
        return "n/a"
    out = []
    for part, w in parts.items():
        text = f"{part} {w['load_start']:.2f}"
        if w.get("waited_s", 0) >= 1:
            text += f" (after waiting {w['waited_s']:.0f} s; it was {w['load_before']:.2f})"
        out.append(text)
    return "; ".join(out)


def _loads(la: Sequence[float] | None) -> str:
    if not la:
        return "n/a"
    return f"{la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f}"


CASCADE_NOTE = (
    "All tools run on the same graph (built by `sim.network.generate`, converted to networkx "
    "for the peers, untimed), from independent random sources. *Edge checks* are counted the "
    "same way for every tool: the summed degree of the people a cascade reached (each looks "
    "at each of their ties once); for EoN they are counted by a networkx `Graph` subclass "
    "whose `neighbors` adds the degree (one addition per reached node), for NDlib from its "
    "final status table (untimed). NDlib's model is configured (a threshold of T on each "
    "edge) and timed apart, then reset to one infected source for each cascade and iterated "
    "until nobody is infected; its per-cascade time excludes configuration unless said. "
    "Time per cascade depends on the share of cascades that take off (about the giant "
    "fraction), so the per-edge-check ratio is shown too. The tests compare the reach "
    "distributions: the tools implement one model, so large p-values are expected."
)
