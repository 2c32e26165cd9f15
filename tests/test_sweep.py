"""Sweeps end to end through the real command line: parallel, failing, killed, resumed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.aggregate import summarize_sweep
from experiments.figures import make_figures

REPO = Path(__file__).resolve().parents[1]
SMALL = ["people.n=300", "days=20"]


def sweep(tmp_path, *args, env=None, **kw):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", f"hydra.sweep.dir={tmp_path}/sweep",
         *SMALL, *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=600,
        **kw)


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    """A 2 x 2 x 3 sweep run once through the joblib launcher, one seed failing on purpose."""
    tmp = tmp_path_factory.mktemp("sweep")
    proc = sweep(tmp, "people.budget_mean=2,8", "network.degree_exponent=2.2,3.0", "seed=1,2,3",
                 "hydra.launcher.n_jobs=2", env={"INFLUENCER_SIM_FAIL_SEEDS": "3"})
    assert proc.returncode == 0, proc.stderr
    return tmp / "sweep", proc


def test_sweep_writes_one_row_per_run_and_records_failures(finished_sweep):
    folder, proc = finished_sweep
    summary = pd.read_parquet(folder / "summary.parquet")
    assert len(summary) == 12
    assert (summary["status"] == "failed").sum() == 4
    failed = summary[summary["status"] == "failed"]
    assert set(failed["seed"]) == {3}
    assert failed["error"].str.contains("injected failure").all()
    ok = summary[summary["status"] == "ok"]
    assert len(ok) == 8 and ok["n_needs"].gt(0).all()
    for col in ("people.budget_mean", "network.degree_exponent", "seed", "run_dir",
                "small_share_valuable_brokered", "per_capita_ratio_large_small"):
        assert col in summary.columns
    assert pd.read_csv(folder / "summary.csv").shape[0] == 12
    assert "sweep" in proc.stdout and "8 ok" in proc.stdout and "4 failed" in proc.stdout


def test_group_table_has_bootstrap_intervals(finished_sweep):
    folder, _ = finished_sweep
    groups = pd.read_parquet(folder / "groups.parquet")
    share = groups[groups["metric"] == "small_share_valuable_brokered"]
    assert len(share) == 4
    assert (share["n_runs"] <= 2).all()
    finite = share.dropna(subset=["ci_low"])
    assert (finite["ci_low"] <= finite["mean"] + 1e-12).all()
    assert (finite["mean"] <= finite["ci_high"] + 1e-12).all()


def test_figures_draw_the_numbers_of_the_summary(finished_sweep):
    folder, _ = finished_sweep
    for name in ("share", "heatmap", "per_capita", "lorenz", "story"):
        png = folder / "figures" / f"{name}.png"
        if name == "story" and not png.exists():
            continue  # a tiny run may close no valuable referral
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert (folder / "figures" / f"{name}.svg").exists()
    drawn = pd.read_csv(folder / "figures" / "share.csv")
    summary = pd.read_parquet(folder / "summary.parquet")
    ok = summary[summary["status"] == "ok"]
    expected = ok.groupby(["people.budget_mean", "network.degree_exponent"])[
        "small_share_valuable_brokered"].mean()
    for _, row in drawn.iterrows():
        want = expected.loc[(row["people.budget_mean"], row["network.degree_exponent"])]
        got = row["small_share_valuable_brokered_mean"]
        assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want)
    heat = pd.read_csv(folder / "figures" / "heatmap.csv").set_index(
        ["people.budget_mean", "network.degree_exponent"])["mean"]
    for key, want in expected.items():
        assert (np.isnan(want) and np.isnan(heat.loc[key])) or heat.loc[key] == pytest.approx(want)
    # Rebuilding the figures from the folder writes the same numbers.
    make_figures(folder)
    assert pd.read_csv(folder / "figures" / "share.csv").equals(drawn)


def test_existing_sweep_is_refused_without_resume(finished_sweep):
    folder, _ = finished_sweep
    proc = sweep(folder.parent, "people.budget_mean=2,8", "network.degree_exponent=2.2,3.0",
                 "seed=1,2,3")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "resume=true" in lines[0] and "Traceback" not in proc.stderr


def test_aggregate_reports_corrupt_folder_and_goes_on(finished_sweep, tmp_path, capsys):
    folder, _ = finished_sweep
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(folder), str(copy)], check=True)
    victim = sorted(p for p in copy.iterdir() if (p / "metrics.json").exists())[0]
    (victim / "metrics.json").write_text("{not json")
    summary = summarize_sweep(copy)
    assert (summary["status"] == "corrupt").sum() == 1
    assert len(summary) == 12
    assert f"warning: {victim}" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_sweep_resumes_with_exactly_one_row_per_run(tmp_path):
    args = ["seed=1,2,3,4,5,6", "days=60", "hydra.launcher.n_jobs=1"]
    full_env = {**os.environ}
    full_env.pop("HYDRA_FULL_ERROR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", "-m", f"hydra.sweep.dir={tmp_path}/sweep",
         *SMALL, *args], cwd=REPO, env=full_env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    folder = tmp_path / "sweep"
    deadline = time.time() + 300
    while time.time() < deadline:
        done = list(folder.glob("*/metrics.json"))
        if len(done) >= 2:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the whole sweep, workers included
    proc.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in folder.glob("*/metrics.json")}
    assert 2 <= len(finished) < 6
    again = sweep(tmp_path, *args, "resume=true")
    assert again.returncode == 0, again.stderr
    summary = pd.read_parquet(folder / "summary.parquet")
    assert len(summary) == 6 and (summary["status"] == "ok").all()
    assert sorted(summary["seed"]) == [1, 2, 3, 4, 5, 6]
    for name, mtime in finished.items():  # finished runs were not run again
        assert (folder / name / "metrics.json").stat().st_mtime_ns == mtime
    payloads = [json.loads(p.read_text()) for p in folder.glob("*/metrics.json")]
    assert all(p["status"] == "ok" for p in payloads)


@pytest.mark.slow
def test_ctrl_c_stops_the_pool_and_resume_finishes(tmp_path):
    # Ctrl-C reaches the main process (the workers ignore it): one line, status 130,
    # no worker left behind, and resume=true completes the sweep.
    psutil = pytest.importorskip("psutil")
    args = ["seed=range(12)", "days=60", "hydra.launcher.n_jobs=2"]
    full_env = {**os.environ}
    full_env.pop("HYDRA_FULL_ERROR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", "-m", f"hydra.sweep.dir={tmp_path}/sweep",
         *SMALL, *args], cwd=REPO, env=full_env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    folder = tmp_path / "sweep"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(folder.glob("*/metrics.json"))) < 2:
        time.sleep(0.2)
    children = psutil.Process(proc.pid).children(recursive=True)
    workers = [c for c in children if "LokyProcess" in " ".join(c.cmdline())]
    assert workers, "the sweep runs in pool workers"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "interrupted: finished runs are kept; for a sweep, the same command with "
        "resume=true runs only what is missing"]
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "no worker outlives the sweep"
    again = sweep(tmp_path, *args, "resume=true")
    assert again.returncode == 0, again.stderr
    summary = pd.read_parquet(folder / "summary.parquet")
    assert len(summary) == 12 and (summary["status"] == "ok").all()


def test_swept_values_come_from_the_config_in_metrics_json(tmp_path):
    # No .hydra/overrides.yaml at all: the parameters are the stored configs'.
    from sim import Config, run
    from sim.config import NeedsConfig, PeopleConfig

    (tmp_path / "sweep.json").write_text(json.dumps(
        {"definition": ["needs.rate=0.01,1e-3", "seed=0,1"]}))
    for rate, text in ((0.01, "0.01"), (0.001, "1e-3")):
        for seed in (0, 1):
            folder = tmp_path / f"needs.rate={text},seed={seed}"
            run(Config(seed=seed, days=5, people=PeopleConfig(n=200),
                       needs=NeedsConfig(rate=rate))).save(folder)
    summary = summarize_sweep(tmp_path)
    assert summary.attrs["parameters"] == ["needs.rate"]
    assert sorted(summary["needs.rate"].unique()) == [0.001, 0.01]
    assert sorted(summary["seed"]) == [0, 0, 1, 1]
    groups = pd.read_parquet(tmp_path / "groups.parquet")
    assert sorted(groups["needs.rate"].unique()) == [0.001, 0.01]
    stored = json.loads((tmp_path / "sweep.json").read_text())
    assert stored == {"definition": ["needs.rate=0.01,1e-3", "seed=0,1"],
                      "parameters": ["needs.rate"]}


def test_figures_drawn_by_two_workers_equal_one(finished_sweep, tmp_path):
    # The end of a sweep draws its figures in the launcher's pool: the files must be
    # the very ones a single process draws.
    folder, _ = finished_sweep
    copies = {}
    for workers in (1, 2):
        copy = tmp_path / f"w{workers}"
        shutil.copytree(folder, copy)
        shutil.rmtree(copy / "figures")
        make_figures(copy, workers=workers)
        copies[workers] = copy / "figures"
    names = sorted(p.name for p in copies[1].iterdir())
    assert names and names == sorted(p.name for p in copies[2].iterdir())
    for name in names:
        assert (copies[1] / name).read_bytes() == (copies[2] / name).read_bytes(), name


# --- issue 9: folders, faults, exit status --------------------------------------------------------


def test_a_swept_path_with_dots_keeps_run_folders_inside_the_sweep(tmp_path):
    from sim.config import NetworkConfig
    from sim.network import generate

    graph = generate(NetworkConfig(), 300, np.random.default_rng(1))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "net.txt").write_text(
        "".join(f"{a} {b}\n" for a, b in zip(graph.u, graph.v, strict=True)))
    paths = f"{tmp_path}/data/../data/net.txt,{tmp_path}/data/net.txt"
    proc = sweep(tmp_path, "network=edgelist", f"network.path={paths}")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "sweep"
    runs = sorted(p.parent for p in tmp_path.rglob("metrics.json"))
    assert len(runs) == 2 and all(r.parent == folder for r in runs)
    assert all("%2F" in r.name for r in runs)
    summary = pd.read_parquet(folder / "summary.parquet")
    assert list(summary["status"]) == ["ok", "ok"]
    assert sorted(summary["network.path"]) == sorted(paths.split(","))


def test_a_different_sweep_into_the_same_folder_is_refused(finished_sweep):
    folder, _ = finished_sweep
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    proc = sweep(folder.parent, "people.budget_mean=2,8", "seed=1,2,3,4", "resume=true")
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: {folder}: holds a different sweep (days=20 network.degree_exponent=2.2,3.0 "
        "people.budget_mean=2,8 people.n=300 seed=1,2,3); choose another sweep_name or "
        "hydra.sweep.dir (nothing was touched)\n")
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == before


def test_a_killed_worker_is_recorded_as_failed_and_the_rest_finish(tmp_path):
    # Seed 3's worker kills itself with SIGKILL every time, as the OOM killer would.
    proc = sweep(tmp_path, "seed=range(6)", "hydra.launcher.n_jobs=2",
                 env={"INFLUENCER_SIM_KILL_SEEDS": "3"})
    assert proc.returncode == 0, proc.stderr
    assert "TerminatedWorkerError" not in proc.stderr and "Traceback" not in proc.stderr
    summary = pd.read_parquet(tmp_path / "sweep" / "summary.parquet")
    assert len(summary) == 6
    assert list(summary.loc[summary["status"] != "ok", "seed"]) == [3]
    failed = summary[summary["seed"] == 3].iloc[0]
    assert failed["status"] == "failed" and failed["error"].startswith("WorkerDied: ")
    assert "sweep" in proc.stdout and "1 failed, 5 ok" in proc.stdout
    assert "warning: a worker process died" in proc.stderr


def test_a_sweep_whose_runs_all_failed_exits_non_zero(tmp_path):
    proc = sweep(tmp_path, "seed=1,2", env={"INFLUENCER_SIM_FAIL_SEEDS": "1,2"})
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        f"error: sweep {tmp_path}/sweep: no run succeeded (2 runs)")
    assert "2 failed" in proc.stdout


def test_an_empty_sweep_exits_non_zero(tmp_path):
    proc = sweep(tmp_path, "seed=range(0)")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        f"error: sweep {tmp_path}/sweep: no runs (the sweep has no points)")
    assert not (tmp_path / "sweep").exists(), "nothing written"


@pytest.mark.slow
def test_sigterm_stops_the_sweep_in_one_line_and_leaves_no_workers_or_temp_files(tmp_path):
    psutil = pytest.importorskip("psutil")
    full_env = {**os.environ}
    full_env.pop("HYDRA_FULL_ERROR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", "-m", f"hydra.sweep.dir={tmp_path}/sweep",
         *SMALL, "seed=range(40)", "days=60", "hydra.launcher.n_jobs=2"], cwd=REPO,
        env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = tmp_path / "sweep"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(folder.glob("*/metrics.json"))) < 2:
        time.sleep(0.2)
    workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
               if "popen_loky" in " ".join(c.cmdline())]
    assert workers
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == [
        "terminated (SIGTERM): finished runs are kept; for a sweep, the same command with "
        "resume=true runs only what is missing"]
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    assert [p for p in folder.rglob("*") if ".tmp" in p.name] == []


# --- aggregate and figures on damaged or foreign folders ------------------------------------------


def damaged_copy(folder: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    copy = tmp_path / "moved" / "copy"  # a moved sweep folder
    shutil.copytree(folder, copy)
    runs = sorted(p for p in copy.iterdir() if (p / "metrics.json").exists()
                  and json.loads((p / "metrics.json").read_text())["status"] == "ok")
    (runs[0] / "people.parquet").write_bytes(b"not parquet at all")
    (runs[1] / "metrics.json").write_text("{not json")
    payload = json.loads((runs[2] / "metrics.json").read_text())
    payload["metrics"]["small_share_valuable_brokered"] = "0.5 (text)"
    (runs[2] / "metrics.json").write_text(json.dumps(payload))
    (copy / "sweep.json").write_text("[garbage")
    (copy / "summary.parquet").write_bytes(b"garbage")
    shutil.rmtree(copy / "figures")
    return copy, [r.name for r in runs[:3]]


def test_aggregate_and_figures_on_a_damaged_moved_sweep(finished_sweep, tmp_path):
    folder, _ = finished_sweep
    copy, damaged = damaged_copy(folder, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "experiments.aggregate", str(copy)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 3  # one warning per damaged run
    summary = pd.read_parquet(copy / "summary.parquet")
    bad = summary[summary["run_dir"].isin(damaged)]
    assert list(bad["status"]) == ["corrupt"] * 3
    assert "not a number" in " ".join(bad["error"])
    assert (summary["status"] == "ok").sum() == 8 - 3
    assert not any(str(folder) in str(d) or "/" in str(d) for d in summary["run_dir"])
    (copy / "summary.parquet").write_bytes(b"garbage again")
    proc = subprocess.run([sys.executable, "-m", "experiments.figures", str(copy)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (copy / "figures" / "share.png").exists() and (copy / "figures" / "lorenz.png").exists()


@pytest.mark.parametrize("module", ["experiments.aggregate", "experiments.figures"])
def test_aggregate_and_figures_refuse_what_is_not_a_sweep(finished_sweep, tmp_path, module):
    folder, _ = finished_sweep
    one_run = sorted(p for p in folder.iterdir() if (p / "metrics.json").exists())[0]
    parent = tmp_path / "sweeps"
    shutil.copytree(folder, parent / "a")
    users = tmp_path / "users"
    (users / "notes").mkdir(parents=True)
    (users / "notes" / "todo.txt").write_text("x")
    cases = {one_run: "is the folder of a single run, not of a sweep; give the sweep folder "
                      "that holds it (nothing was written)",
             parent: "holds 1 sweep(s) (a); give one of them (nothing was written)",
             users: "holds no runs of a sweep (nothing was written)"}
    for target, message in cases.items():
        before = sorted(p.name for p in target.iterdir())
        proc = subprocess.run([sys.executable, "-m", module, str(target)], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2
        assert proc.stderr == f"error: {target}: {message}\n"
        assert sorted(p.name for p in target.iterdir()) == before


def test_a_failing_figure_fails_the_sweep_after_its_summary(finished_sweep, tmp_path, capsys,
                                                            monkeypatch):
    from omegaconf import OmegaConf

    from experiments import figures
    from experiments.callbacks import Aggregate

    folder, _ = finished_sweep
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)

    def broken(*args, **kwargs):
        raise KeyError("a figure bug")

    monkeypatch.setattr(figures, "make_figures", broken)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(copy)},
                                         "launcher": {"_target_": "basic"}}})
    with pytest.raises(SystemExit) as info:
        Aggregate().on_multirun_end(config)
    assert info.value.code == 1
    out, err = capsys.readouterr()
    assert f"sweep {copy}: 12 runs (4 failed, 8 ok)" in out
    assert "Traceback" in err and "KeyError: 'a figure bug'" in err
    assert err.splitlines()[-1] == (f"error: sweep {copy}: the tables are written but drawing "
                                    "the figures failed (KeyError: 'a figure bug')")
