"""Smoke tests of the benchmark suite's code paths (tiny sizes, no timing assertions)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from experiments.bench import cascade, cli, model, report, worker
from sim.config import NetworkConfig
from sim.network import RawGraph, generate


def karate() -> RawGraph:
    return generate(NetworkConfig(name="karate"), 0, np.random.default_rng(0))


def path_graph() -> RawGraph:
    # 0-1-2 and an isolated person 3
    return RawGraph(n=4, u=np.array([0, 1], np.int32), v=np.array([1, 2], np.int32),
                    community=np.zeros(4, np.int32), labels=None, name="test")


def test_edge_checks_are_summed_degrees_of_the_reached():
    raw = path_graph()
    deg = raw.degrees()
    assert list(deg) == [1, 2, 1, 0]
    assert cascade.edge_checks(deg, np.array([0, 1])) == 3
    assert cascade.edge_checks(deg, np.array([True, True, True, False])) == 4
    assert cascade.edge_checks(deg, np.array([3])) == 0


def test_counting_graph_counts_each_listing():
    g = cascade.to_networkx(path_graph())
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 2
    assert sorted(g.neighbors(1)) == [0, 2]
    list(g.neighbors(0))
    assert g.checks == 3


def test_model_kernel_and_bfs_count_every_tie_of_the_reached():
    raw = karate()
    mdl = cascade.cascade_model(raw, 1.0, seed=0)
    sources = np.array([0, 5, 33])
    for runner in (cascade.run_ours, cascade.run_bfs):
        reach, checks, secs, cpu = runner(mdl, sources, np.random.default_rng(1))
        assert list(reach) == [34, 34, 34]  # T = 1: everyone, every tie twice
        assert list(checks) == [2 * raw.n_edges] * 3
        assert secs >= 0 and cpu >= 0


def test_peers_agree_on_a_certain_cascade():
    pytest.importorskip("EoN")
    pytest.importorskip("ndlib.models.epidemics")
    raw = karate()
    g = cascade.to_networkx(raw)
    sources = np.array([0, 33, 7])
    eon = cascade.run_eon(g, sources, 1.0, seed=0, budget_s=0.0, min_count=2)
    nd = cascade.run_ndlib(g, sources, 1.0, seed=0, budget_s=0.0, n_configs=1, min_count=2)
    for sample in (eon, nd):
        assert sample.n == 2
        assert list(sample.reach) == [34, 34]
        assert list(sample.checks) == [2 * raw.n_edges] * 2
    assert len(nd.config_seconds) == 1
    # T = 0: only the source.
    eon0 = cascade.run_eon(g, sources, 0.0, seed=0, budget_s=0.0, min_count=2)
    nd0 = cascade.run_ndlib(g, sources, 0.0, seed=0, budget_s=0.0, n_configs=1, min_count=2)
    assert list(eon0.reach) == [1, 1] and list(nd0.reach) == [1, 1]
    deg = raw.degrees()
    assert list(eon0.checks) == [deg[0], deg[33]] == list(nd0.checks)


def test_reach_tests_separate_equal_from_different():
    rng = np.random.default_rng(0)
    same = {"a": rng.poisson(50, 300), "b": rng.poisson(50, 200)}
    out = cascade.reach_tests(same, resamples=99)
    assert out["ks"]["a vs b"] > 0.01 and out["ad"]["p"] > 0.01
    diff = {"a": rng.poisson(50, 300), "b": rng.poisson(80, 200)}
    out = cascade.reach_tests(diff, resamples=99)
    assert out["ks"]["a vs b"] < 1e-6 and out["ad"]["p"] <= 0.02


def test_cascade_benchmark_tiny_without_peers():
    res = cascade.bench_cascade(n=1_500, n_ours=10, repeats=2, peers=False)
    assert set(res["tools"]) == {"ours", "bfs"}
    assert set(res["missing"]) == {"eon", "ndlib"}
    ours = res["tools"]["ours"]
    assert ours["n_cascades"] == 20 and ours["repeats"] == 2
    assert ours["checks_per_s"] > 0 and ours["mean_reach"] >= 1
    assert "ours vs bfs" in res["tests"]["ks"]
    text = report.render_text({"cascade": res})
    assert "not run" in text and "cascade_batch" in text


def test_worker_jobs_in_process():
    out = worker.run_job({"kind": "model", "n": 400, "days": 4, "seed": 3})
    assert out["n"] == 400 and out["days"] == 4
    assert out["peak_rss_mb"] >= out["rss_before_mb"] > 0
    assert out["messages"] >= 0 and out["build_s"] > 0
    sw = worker.run_job({"kind": "sweep", "runs": 2, "n": 300, "days": 3, "n_jobs": 1})
    assert sw["runs"] == 2 and len(sw["run_s"]) == 2 and sw["runs_per_min"] > 0


def test_worker_runs_in_a_fresh_process():
    out = model.spawn({"kind": "model", "n": 300, "days": 2})
    assert out["n"] == 300 and out["peak_rss_mb"] > 0


def test_scaling_slope_and_figure(tmp_path):
    ns = [10_000, 30_000, 100_000]
    points = {}
    for n in ns:
        t = n / 1e4
        entry = {"build_s": 0.2 * t, "run_s": 0.8 * t, "total_s": t, "peak_rss_mb": 100.0}
        points[n] = {k: {"median": v, "min": 0.9 * v, "max": 1.1 * v, "n": 3}
                     for k, v in entry.items()}
    summary = model.scaling_summary(points)
    assert summary["slope"]["total_s"] == pytest.approx(1.0)
    assert summary["slope"]["run_s"] == pytest.approx(1.0)
    path = model.scaling_figure(summary, tmp_path / "scaling.png")
    assert path.exists() and path.stat().st_size > 1000
    assert math.isnan(model.loglog_slope([1], [1]))


def _spread(v):
    return {"median": v, "min": 0.9 * v, "max": 1.1 * v, "n": 3}


def fake_results(default_s=0.8, million_s=75.0):
    def size(n, total):
        return {"days": 365, "total_s": _spread(total), "build_s": _spread(0.2 * total),
                "run_s": _spread(0.8 * total), "peak_rss_mb": _spread(n / 400),
                "baseline_rss_mb": _spread(200.0), "messages": 10 * n,
                "messages_per_s": _spread(10 * n / total)}

    tool = {"label": "x", "n_cascades": 1000, "s_per_cascade": 0.01, "checks_per_s": 9e7,
            "total_s": 10.0, "mean_reach": 3.5e4, "large_share": 0.6,
            "large_reach_fraction": 0.58, "mean_checks": 3.5e5, "repeats": 5,
            "cascades_per_repeat": 200, "s_per_cascade_range": [0.009, 0.011],
            "checks_per_s_range": [8e7, 1e8]}
    peer = {**tool, "s_per_cascade": 0.6, "checks_per_s": 6e5, "n_cascades": 100,
            "s_per_cascade_ci95": [0.5, 0.7]}
    for k in ("repeats", "cascades_per_repeat", "s_per_cascade_range", "checks_per_s_range"):
        peer.pop(k)
    nd = {**peer, "s_per_cascade": 2.0, "config_s": 1.5, "config_s_all": [1.4, 1.6],
          "s_per_cascade_with_config": 3.5}
    return {
        "machine": {"cpu": "Test CPU", "cores": 2, "logical_cpus": 2, "allowed_cpus": 2,
                    "memory_gib": 8.0, "os": "Linux", "python": "3.12.1",
                    "versions": {"numpy": "2.0", "EoN": "not installed"},
                    "date": "2026-01-01 00:00 UTC", "load_average": (0.1, 0.2, 0.3)},
        "load_parts": {"cascade": {"load_before": 2.0, "load_start": 0.4, "waited_s": 30.0},
                       "model": {"load_before": 0.2, "load_start": 0.2, "waited_s": 0.0}},
        "load_end": [0.5, 0.4, 0.3],
        "seconds": 600.0,
        "cascade": {"n": 100_000, "n_ties": 500_000, "mean_degree": 10.0,
                    "transmissibility": 0.15, "theory_giant_fraction": 0.583,
                    "tools": {"ours": tool, "bfs": tool, "eon": peer, "ndlib": nd},
                    "missing": {},
                    "ratios": {"eon_per_cascade": 60.0, "eon_per_check": 150.0,
                               "ndlib_per_cascade": 200.0, "ndlib_per_check": 400.0,
                               "ndlib_with_config_per_cascade": 350.0},
                    "tests": {"ks": {"ours vs eon": 0.5, "ours vs ndlib": 0.0001},
                              "ad": {"samples": ["ours", "eon"], "statistic": 0.3,
                                     "p": 0.4}}},
        "model": {"sizes": {"10000": size(10_000, default_s),
                            "1000000": size(1_000_000, million_s)},
                  "compile": {"compile_s": 20.0, "cache_load_s": 1.0,
                              "cold": {"first_run_s": 21.0, "second_run_s": 1.0,
                                       "import_s": 2.0},
                              "warm": {"first_run_s": 2.0, "second_run_s": 1.0,
                                       "import_s": 2.0}}},
        "sweep": {"runs": 20, "n": 10_000, "days": 365, "speedup": 1.8,
                  "serial": {"runs_per_min": 60.0, "wall_s": 20.0},
                  "parallel": {"runs_per_min": 108.0, "wall_s": 11.0, "n_jobs": 2,
                               "workers": 2, "startup_s": 3.0},
                  "cli": {"runs": 100, "overrides": [], "cores": 2,
                          "one_core_s": [90.0, 92.0], "all_cores_s": [50.0, 52.0],
                          "ratio": 51.0 / 91.0, "ratios": [50 / 90, 52 / 92]}},
        "scaling": {"rows": [{"n": 10_000, "build_s": 0.2, "run_s": 0.6, "total_s": 0.8,
                              "total_range": [0.7, 0.9], "peak_rss_mb": 300.0, "repeats": 3}],
                    "slope": {"total_s": 1.05, "run_s": 1.0, "build_s": 1.1},
                    "figure": "docs/figures/scaling.png"},
    }


def test_targets_pass_and_miss():
    verdicts = {t.name: t.verdict for t in report.targets(fake_results())}
    assert verdicts["cascade mode vs EoN, per cascade"] == "PASS"  # 60x
    assert verdicts["cascade mode vs NDlib, per cascade"] == "MISS"  # 200x run only
    assert verdicts["cascade mode edge checks per second (1 core)"] == "PASS"  # 90 M/s
    assert verdicts["default scenario (10,000 people, 365 days, no warm-up), build + run"] == "PASS"
    assert verdicts["1,000,000 people, 365 days (no warm-up), build + run"] == "MISS"
    assert verdicts["1,000,000 people, 365 days (no warm-up), peak memory"] == "PASS"  # 2.6 GB
    assert verdicts["100 default runs (command line), 2 cores / 1 core"] == "PASS"  # 0.56
    empty = report.targets({})
    assert {t.verdict for t in empty} == {"n/a"}


def test_text_and_markdown_rendering():
    res = fake_results()
    text = report.render_text(res)
    assert "section" in text and "measure" in text
    assert "MISS" in text and "PASS" in text
    assert "10,000 people (default scenario), 365 days: build + run" in text
    md = report.render_markdown(res)
    assert md.startswith("# Benchmarks")
    assert "make bench" in md and "Test CPU" in md and "2026-01-01" in md
    assert "load average at start | 0.10, 0.20, 0.30" in md
    assert "cascade 0.40 (after waiting 30 s; it was 2.00); model 0.20" in md
    assert "![time against people](docs/figures/scaling.png)" in md
    assert "Scaling (expected: a log-log slope close to 1): 1.05" in md
    assert "| cascade mode vs EoN, per cascade | ≥ 50× faster | 60× | **PASS** |" in md
    assert "| command-line sweep, all cores / 1 core | 0.56 |" in md
    for line in md.splitlines():
        if line.startswith("| ") and "---" not in line:
            assert line.count(" | ") >= 1


def test_number_formats():
    assert report.seconds(0.0123) == "12.3 ms"
    assert report.seconds(1.234) == "1.23 s"
    assert report.seconds(float("nan")) == "n/a"
    assert report.rate(8.5e7) == "85.0 million/s"
    assert report.times(52.0) == "52×"
    assert report.mem(1024.0).startswith("1.07 GB")


def test_command_line_parts():
    args = cli.parse_args(["--quick", "--only", "cascade,model", "--only", "scaling"])
    assert args.parts == ["cascade", "model", "scaling"] and args.max_wait == 0.0
    assert cli.parse_args([]).parts == list(cli.PARTS)
    with pytest.raises(SystemExit) as err:
        cli.parse_args(["--only", "everything"])
    assert err.value.code == 2


def test_local_slopes_and_short_counts():
    rows = [{"n": 10_000, "total_s": 1.0}, {"n": 100_000, "total_s": 10.0},
            {"n": 1_000_000, "total_s": 200.0}]
    local = report.local_slopes(rows)
    assert [(a, b) for a, b, _ in local] == [(10_000, 100_000), (100_000, 1_000_000)]
    assert local[0][2] == pytest.approx(1.0) and local[1][2] == pytest.approx(math.log10(20))
    assert [model.short_count(n) for n in (10_000, 300_000, 1_000_000, 1_234)] == [
        "10k", "300k", "1M", "1,234"]


def test_render_saved_results_without_running(tmp_path, capsys):
    import json

    res = fake_results()
    res["quick"], res["parts"] = False, list(cli.PARTS)
    res["scaling"]["rows"].append({"n": 100_000, "build_s": 2.0, "run_s": 6.0, "total_s": 8.0,
                                   "total_range": [7.0, 9.0], "peak_rss_mb": 400.0,
                                   "repeats": 3})
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps(res))
    out = tmp_path / "BENCH.md"
    fig = tmp_path / "scaling.png"
    assert cli.main(["--render", str(saved), "--out", str(out), "--figure", str(fig)]) == 0
    assert fig.exists() and out.read_text().startswith("# Benchmarks")
    assert "between neighbouring sizes 1.00 (10k–100k)" in out.read_text()
    assert "PASS" in capsys.readouterr().out


def test_command_line_sweep_benchmark_runs_both_ways():
    cpus = sorted(os.sched_getaffinity(0))
    res = model.bench_sweep_cli(2, 1, cpus[:1], cpus, ["people.n=200", "days=3"])
    assert res["runs"] == 2 and len(res["one_core_s"]) == len(res["all_cores_s"]) == 1
    assert res["ratio"] > 0 and res["ratios"] == [res["all_cores_s"][0] / res["one_core_s"][0]]
    rows = report.sweep_cli_rows(res)
    assert [r.measure for r in rows][-1] == "command-line sweep, all cores / 1 core"


def test_a_full_report_keeps_the_storage_benchmarks_section(tmp_path):
    from experiments.bench.cli import storage_section
    from experiments.bench.storage import END, START

    path = tmp_path / "BENCHMARKS.md"
    assert storage_section(path) == ""
    section = f"{START}\n## Big sweeps\n| a | b |\n{END}"
    path.write_text(f"# Benchmarks\n\nold tables\n\n{section}\n")
    assert storage_section(path) == section
