"""storage=parquet: one row per run in Parquet parts, the same summary and figures as folders."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf

from experiments import shards, storage
from experiments.jobs import KILL_SEEDS_ENV
from experiments.status import progress_bar, render, sweep_status

REPO = Path(__file__).resolve().parents[1]
SMALL = ["people.n=300", "days=20"]
GRID = ["people.budget_mean=2,8", "network.degree_exponent=2.2,3.0", "seed=1,2,3"]
#: Files both storages write at the top of a sweep, compared byte by byte.
SAME_FILES = ["groups.csv", "figures/share.csv", "figures/heatmap.csv", "figures/per_capita.csv",
              "figures/lorenz.csv", "figures/story.csv", "figures/share.png",
              "figures/heatmap.png", "figures/per_capita.png", "figures/lorenz.png",
              "figures/story.png"]


def sweep(folder, *args, env=None):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", f"hydra.sweep.dir={folder}", *SMALL,
         *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=600)


def comparable(summary: pd.DataFrame, sweep_dir: Path) -> pd.DataFrame:
    """A summary without wall-clock timings (run folders are stored relative to the sweep)."""
    assert not any(Path(d).is_absolute() for d in summary["run_dir"])
    return summary.drop(columns=[c for c in summary.columns if c.startswith("seconds_")])


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same 2 x 2 x 3 sweep in both storages (seed 3 failing), on 2 workers and on 1."""
    tmp = tmp_path_factory.mktemp("storage")
    fail = {"INFLUENCER_SIM_FAIL_SEEDS": "3"}
    folders = sweep(tmp / "folders", *GRID, "hydra.launcher.n_jobs=2", env=fail)
    assert folders.returncode == 0, folders.stderr
    parquet = sweep(tmp / "parquet", *GRID, "storage=parquet", "hydra.launcher.n_jobs=1",
                    env=fail)
    assert parquet.returncode == 0, parquet.stderr
    return tmp / "folders", tmp / "parquet", parquet


def test_summary_and_figures_are_identical_in_both_storages(both):
    folders, parquet, _ = both
    a = pd.read_parquet(folders / "summary.parquet")
    b = pd.read_parquet(parquet / "summary.parquet")
    assert len(b) == 12 and (b["status"] == "failed").sum() == 4
    pd.testing.assert_frame_equal(comparable(a, folders), comparable(b, parquet))
    bins_a = comparable(pd.read_parquet(folders / "audience_bins.parquet"), folders)
    bins_b = comparable(pd.read_parquet(parquet / "audience_bins.parquet"), parquet)
    pd.testing.assert_frame_equal(bins_a, bins_b)
    for name in SAME_FILES:
        # The story figure is skipped (in both) when the run it shows had no valuable
        # referral; every other figure is drawn.
        assert (folders / name).exists() == (parquet / name).exists(), name
        assert (folders / name).exists() or "story" in name, name
        if (folders / name).exists():
            assert (folders / name).read_bytes() == (parquet / name).read_bytes(), name
    # Each run's config, composed without Hydra's per-job machinery, is Hydra's to the byte.
    rows = pq.read_table(parquet / storage.RUNS_PARTS).to_pandas()
    for row in rows[rows["status"] == "ok"].itertuples():
        payload = json.loads((folders / row.run_id / "metrics.json").read_text())
        assert json.loads(row.config) == payload["config"]
        assert json.dumps(json.loads(row.config)) == json.dumps(payload["config"])


def test_parquet_storage_writes_rows_not_run_folders(both):
    _, parquet, proc = both
    runs = pq.read_table(parquet / storage.RUNS_PARTS).to_pandas()
    assert len(runs) == 12 and runs["run_id"].is_unique
    assert list(runs.columns) == list(storage.ROW_COLUMNS)
    failed = runs[runs["status"] == "failed"]
    assert set(failed["seed"]) == {3}
    assert failed["error"].str.startswith("RuntimeError: injected failure for seed 3").all()
    assert not list(parquet.glob("*/.hydra"))  # no Hydra job folders
    # Only the representative runs (middle values, 2 ok seeds) got tables, for figures c and e.
    table_dirs = sorted(p.parent.name for p in parquet.glob("*/metrics.json"))
    assert table_dirs == [
        f"days=20,network.degree_exponent=3.0,people.budget_mean=8,people.n=300,seed={s}"
        for s in (1, 2)]
    assert "12 runs (4 failed, 8 ok)" in proc.stdout
    manifest = storage.read_manifest(parquet)
    assert len(manifest) == 12 and set(manifest) == set(runs["run_id"])


def test_status_counts_runs_in_both_storages(both):
    folders, parquet, _ = both
    for folder, kind in ((folders, "folders"), (parquet, "parquet")):
        text = render(sweep_status(folder))
        assert text.splitlines()[:2] == [
            f"{folder} (storage {kind}): 12 runs",
            f"  {progress_bar(8, 12)}  8 done, 4 failed, 0 running, 0 missing"]
    assert progress_bar(1, 4, width=8) == "[##......]  25%"


def test_parquet_resume_runs_only_failed_runs_and_keeps_parts(both, tmp_path):
    _, parquet, _ = both
    copy = tmp_path / "copy"
    shutil.copytree(parquet, copy)
    parts = {p: p.stat().st_mtime_ns for p in (copy / storage.RUNS_PARTS).glob("*.parquet")}
    refused = sweep(copy, *GRID, "storage=parquet", "hydra.launcher.n_jobs=1")
    assert refused.returncode == 2
    assert [x for x in refused.stderr.splitlines() if x.strip()] == [
        f"error: {copy}: already holds 8 finished run(s) of this sweep; add resume=true to run "
        "only what is missing, or choose another sweep_name"]
    again = sweep(copy, *GRID, "storage=parquet", "hydra.launcher.n_jobs=2", "resume=true")
    assert again.returncode == 0, again.stderr
    assert f"resuming {copy}: 8 finished, 4 to run" in again.stderr
    for part, mtime in parts.items():  # nothing written before is touched
        assert part.stat().st_mtime_ns == mtime
    rows = pq.read_table(copy / storage.RUNS_PARTS).to_pandas()
    assert len(rows) == 16  # the 4 failed rows stay as history
    assert rows[rows["status"] == "ok"]["run_id"].value_counts().max() == 1
    summary = pd.read_parquet(copy / "summary.parquet")
    assert len(summary) == 12 and (summary["status"] == "ok").all()


def test_bad_storage_is_one_line(tmp_path):
    proc = sweep(tmp_path / "s", "seed=1,2", "storage=zip")
    assert proc.returncode == 2
    assert [x for x in proc.stderr.splitlines() if x.strip()] == [
        "error: storage: must be one of folders, parquet; got 'zip'"]
    assert not (tmp_path / "s").exists()


# --- units -------------------------------------------------------------------------------


def _row(run_id, status, t):
    return {"run_id": run_id, "status": status, "error": "", "seed": 1, "overrides": "[]",
            "metrics": "{}", "config": "{}", "writer": "w", "seconds": 0.0, "finished_at": t}


def test_part_writer_writes_a_new_part_per_batch(tmp_path):
    writer = storage.PartWriter(tmp_path, "w1", flush_rows=2, flush_seconds=1e9)
    writer.add(_row("a", "ok", 1.0))
    assert not (tmp_path / storage.RUNS_PARTS).exists()
    writer.add(_row("b", "ok", 2.0))
    writer.add(_row("c", "failed", 3.0))
    writer.flush()
    writer.flush()  # nothing held: no empty part
    names = sorted(p.name for p in (tmp_path / storage.RUNS_PARTS).iterdir())
    assert names == ["w1-00000.parquet", "w1-00001.parquet"]
    assert storage.read_parts(tmp_path, ["run_id"])["run_id"].to_pylist() == ["a", "b", "c"]


def test_latest_rows_prefers_ok_then_newest(tmp_path):
    writer = storage.PartWriter(tmp_path, "w", flush_rows=100)
    for row in (_row("a", "failed", 1.0), _row("a", "ok", 2.0), _row("a", "failed", 3.0),
                _row("b", "failed", 1.0), _row("b", "failed", 5.0), _row("c", "ok", 1.0)):
        writer.add(row)
    writer.flush()
    latest = storage.latest_rows(storage.read_parts(tmp_path))
    got = dict(zip(latest["run_id"].to_pylist(),
                   zip(latest["status"].to_pylist(), latest["finished_at"].to_pylist(),
                       strict=True), strict=True))
    assert got == {"a": ("ok", 2.0), "b": ("failed", 5.0), "c": ("ok", 1.0)}
    assert storage.finished_ids(tmp_path, "parquet") == {"a", "c"}


def test_a_stopped_shard_writes_the_rows_it_holds(tmp_path, monkeypatch):
    # SIGTERM (scancel, a time limit) while a run hangs: the finished runs' rows are written.
    hanging = threading.Event()

    def hang_on_seed_2(config):
        if config.seed == 2:
            hanging.set()
            while True:  # short sleeps: a signal taken by another thread still gets through
                time.sleep(0.05)

    monkeypatch.setattr("experiments.jobs._inject_faults", hang_on_seed_2)
    base = pickle.dumps(OmegaConf.create({"seed": 0, "days": 3, "people": {"n": 100}}))
    jobs = [{"num": i, "run_id": f"seed={seed}", "overrides": [f"seed={seed}"], "base": "b",
             "values": [f"seed={seed}"]} for i, seed in enumerate((0, 1, 2, 3))]

    def stop_when_hanging():
        if hanging.wait(timeout=300):
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=stop_when_hanging, daemon=True)
    thread.start()
    with pytest.raises(shards.StoppedError):
        shards.run_jobs(jobs, {"b": base}, tmp_path, "parquet", workers=1, tag="t", flush_rows=100,
                        flush_seconds=1e9)
    rows = storage.read_parts(tmp_path).to_pandas()
    assert sorted(rows["run_id"]) == ["seed=0", "seed=1"]
    assert (rows["status"] == "ok").all()
    assert json.loads(rows["metrics"].iloc[0])["n_people"] == 100


@pytest.mark.parametrize("n", [1, 2, 20, 499, 500, 2500])
def test_group_summary_is_bootstrap_interval_per_group(n):
    # The group table's interval of every group and metric is bootstrap_interval's for
    # that group's values, exactly (one bootstrap): BCa below 500 runs, Student's t from 500.
    from sim import measures

    rng = np.random.default_rng(n)
    frame = pd.DataFrame({"a": rng.random(3 * n), "b": rng.random(3 * n),
                          "p": np.repeat([1, 2, 3], n), "status": "ok"})
    frame.loc[0, "b"] = np.nan
    groups = measures.group_summary(frame, ["p"], ["a", "b"])
    assert len(groups) == 6
    for row in groups.itertuples():
        values = frame[frame["p"] == row.p][row.metric].dropna().to_numpy()
        assert row.n_runs == values.size
        ci = measures.bootstrap_interval(values, rng=0)
        if values.size >= 2:
            assert (row.ci_low, row.ci_high, row.ci_method) == (ci.low, ci.high, ci.method)
            assert row.ci_method == ("t" if values.size >= 500 else
                                     "BCa" if values.size >= 3 else "percentile")
            assert row.mean == values.mean()
        else:
            assert np.isnan(row.ci_low) and row.ci_method == "none"


def test_t_interval_of_500_values_is_students():
    # 500 values: mean 0.5 exactly, sd known; t_{0.975, 499} = 1.964729...
    from scipy import stats

    from sim import measures

    values = np.tile([0.0, 1.0], 250)
    sd = float(np.std(values, ddof=1))
    half = stats.t.ppf(0.975, 499) * sd / np.sqrt(500)
    assert stats.t.ppf(0.975, 499) == pytest.approx(1.9647293, abs=1e-7)
    ci = measures.bootstrap_interval(values)
    assert ci.method == "t"
    assert ci.low == pytest.approx(0.5 - half, abs=1e-15)
    assert ci.high == pytest.approx(0.5 + half, abs=1e-15)
    assert 0.5 - ci.low == pytest.approx(0.04397, abs=1e-5)
    # Below 500 values, or for another statistic, the bootstrap as before.
    assert measures.bootstrap_interval(values[:499]).method == "BCa"
    assert measures.bootstrap_interval(values, stat=np.median, n_boot=200).method != "t"


def test_a_run_that_kills_its_worker_is_recorded_and_the_shard_goes_on(tmp_path, monkeypatch):
    # Seed 2's worker dies (SIGKILL, as the out-of-memory killer does), again when run alone:
    # it is recorded as failed and every other run finishes.
    monkeypatch.setenv(KILL_SEEDS_ENV, "2")
    base = pickle.dumps(OmegaConf.create({"seed": 0, "days": 3, "people": {"n": 100}}))
    jobs = [{"num": seed, "run_id": f"seed={seed}", "overrides": [f"seed={seed}"], "base": "b",
             "values": [f"seed={seed}"]} for seed in range(7)]
    said = []
    counts = shards.run_jobs(jobs, {"b": base}, tmp_path, "parquet", workers=2, tag="t",
                             say=said.append)
    assert counts == {"ok": 6, "failed": 1}
    rows = storage.read_parts(tmp_path).to_pandas().set_index("run_id")
    assert sorted(rows.index) == [f"seed={s}" for s in range(7)]
    assert rows.loc["seed=2", "status"] == "failed"
    assert rows.loc["seed=2", "error"] == shards.WORKER_DIED
    assert (rows.drop(index="seed=2")["status"] == "ok").all()
    assert any("a worker process died" in line for line in said)


# --- fast checks of big sweeps (Preflight) ------------------------------------------------


def _master(*overrides):
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    loader = GlobalHydra.instance().config_loader()
    return loader.load_configuration("config", list(overrides), RunMode.MULTIRUN)


@pytest.fixture
def hydra_conf():
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        yield


@pytest.mark.parametrize("text", ["seed=12", "seed=-3", "seed=+5", "people.n=200", "a.b_c=0",
                                  "seed=007", "seed=1e3", "people.budget_mean=2.5", "~seed"])
def test_parsed_overrides_are_hydras(text, hydra_conf):
    # The shortcut for key=N gives exactly what Hydra's grammar gives (007 stays text).
    import dataclasses

    from experiments.preflight import _parser, parse_override

    ours = dataclasses.asdict(parse_override(text))
    hydras = dataclasses.asdict(_parser().parse_overrides([text])[0])
    ours.pop("config_loader")
    hydras.pop("config_loader")
    assert ours == hydras


def test_check_jobs_checks_every_seed_and_every_setting(hydra_conf):
    from experiments.errors import error_line
    from experiments.preflight import check_jobs, sweep_jobs
    from sim.config import ConfigError

    good = _master("seed=0,1,2", "people.budget_mean=2,5", "people.n=200")
    check_jobs(good, sweep_jobs(good))  # nothing to say
    bad_seed = _master("seed=0,1,-4", "people.budget_mean=2,5")
    with pytest.raises(ConfigError) as info:
        check_jobs(bad_seed, sweep_jobs(bad_seed))
    assert (info.value.key, info.value.message) == ("seed", "must be a number >= 0; got -4")
    bad_value = _master("seed=0,1", "people.budget_mean=2,-5")
    with pytest.raises(ConfigError) as info:
        check_jobs(bad_value, sweep_jobs(bad_value))
    assert info.value.key == "people.budget_mean"
    text_seed = _master("seed=0,x")  # a text seed takes the general path: one line
    with pytest.raises(Exception) as info:  # noqa: B017  (OmegaConf's, made one line below)
        check_jobs(text_seed, sweep_jobs(text_seed))
    assert error_line(info.value) == "seed: must be a whole number; got 'x'"


def test_check_value_is_validates_check_of_one_key():
    from sim.config import Config, ConfigError, check_value, validate

    assert check_value("seed", np.int64(7)) == 7
    for bad in (-1, True, 2.0, "3"):
        with pytest.raises(ConfigError) as ours:
            check_value("seed", bad)
        with pytest.raises(ConfigError) as theirs:
            validate(Config(seed=bad))
        assert (ours.value.key, ours.value.message) == (theirs.value.key, theirs.value.message)
