"""hydra/launcher=slurm: a sweep as a bounded array of shards, against a real one-node SLURM."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from experiments import slurm, storage
from experiments.jobs import HANG_SEEDS_ENV
from experiments.status import render, sweep_status
from sim.config import ConfigError

REPO = Path(__file__).resolve().parents[1]


# --- units (no SLURM needed) -------------------------------------------------------------


def test_split_is_bounded_and_even():
    assert slurm.split(10, None, 4) == [3, 3, 2, 2]
    assert slurm.split(10, 3, 100) == [3, 3, 2, 2]
    assert slurm.split(14_336, None, 1000) == [15] * 952 + [14] * 4  # 956 tasks
    assert slurm.split(5, 10, 100) == [5]
    assert slurm.split(0, None, 10) == []
    with pytest.raises(ConfigError) as err:
        slurm.split(14_336, 10, 1000)
    assert err.value.key == "hydra.launcher.shard_size"
    assert "1,434 array tasks" in err.value.message and "shard_size >= 15" in err.value.message


SETTINGS = {"partition": "compute", "account": "lab", "qos": None, "time": "02:00:00",
            "mem": "0", "exclusive": True, "cpus_per_task": None, "nodes": 4, "max_tasks": 100,
            "shard_size": None, "workers": -1, "numba_cache_dir": None,
            "setup": ["module load python/3.12"], "sbatch": ["--mail-type=END"],
            "python": "/opt/venv/bin/python", "flush_rows": 200, "flush_seconds": 60.0}


def test_sbatch_script_asks_for_whole_nodes_and_a_node_local_numba_cache(tmp_path):
    script = slurm.sbatch_script(SETTINGS, tmp_path / "submit-001", 7, "influencer-sim:big one")
    lines = script.splitlines()
    for line in ("#SBATCH --array=0-6%4", "#SBATCH --exclusive", "#SBATCH --mem=0",
                 "#SBATCH --time=02:00:00", "#SBATCH --partition=compute",
                 "#SBATCH --account=lab", "#SBATCH --mail-type=END",
                 "#SBATCH --job-name=influencer-sim:big_one",
                 f"#SBATCH --output={tmp_path}/submit-001/logs/shard-%a.out",
                 "module load python/3.12",
                 'export NUMBA_CACHE_DIR="${TMPDIR:-/tmp}/influencer-sim-numba-$(id -u)"',
                 f"exec /opt/venv/bin/python -m experiments.shards {tmp_path}/submit-001 "
                 '"$SLURM_ARRAY_TASK_ID"'):
        assert line in lines, line
    assert not any("--qos" in x for x in lines)
    local = slurm.sbatch_script({**SETTINGS, "numba_cache_dir": "/scratch/local/me"},
                                tmp_path, 1, "x")
    assert "export NUMBA_CACHE_DIR=/scratch/local/me" in local.splitlines()


@pytest.mark.parametrize(("key", "value", "words"), [
    ("nodes", 0, "must be a whole number >= 1; got 0"),
    ("shard_size", 0, "must be a whole number >= 1; got 0"),
    ("workers", 0, "must be a whole number other than 0"),
    ("time", "two hours", "must be a SLURM time limit"),
    ("mem", "lots", "must be a SLURM memory size"),
])
def test_bad_settings_name_their_key(key, value, words):
    with pytest.raises(ConfigError) as err:
        slurm.check_settings({**SETTINGS, key: value})
    assert err.value.key == f"hydra.launcher.{key}"
    assert words in err.value.message


# --- against a real SLURM ------------------------------------------------------------------


def slurm_up() -> bool:
    if shutil.which("sinfo") is None or shutil.which("scontrol") is None:
        return False
    if subprocess.run(["scontrol", "ping"], capture_output=True).returncode != 0:
        return False
    state = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True,
                           text=True).stdout.split()
    return bool(state) and state[0].rstrip("*~#!%$@^-") in ("idle", "mixed", "allocated")


@pytest.fixture(scope="module")
def cluster():
    """A running one-node SLURM: started with scripts/start-slurm if we are root.

    With CI=true a cluster that cannot be started fails the test instead of skipping it.
    """
    if not slurm_up() and os.geteuid() == 0:
        subprocess.run([str(REPO / "scripts" / "start-slurm")], capture_output=True, timeout=600)
    if not slurm_up():
        why = "no SLURM cluster answers (run scripts/start-slurm as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def run_sweep(folder: Path, *args: str, env: dict[str, str] | None = None):
    full = {**os.environ, **(env or {})}
    full.pop("HYDRA_FULL_ERROR", None)
    for name in (HANG_SEEDS_ENV, "INFLUENCER_SIM_FAIL_SEEDS"):
        if name not in (env or {}):
            full.pop(name, None)
    return subprocess.run([sys.executable, "-m", "experiments.run", "-m",
                           f"hydra.sweep.dir={folder}", "seed=range(9)", "people.n=300",
                           "days=20", "storage=parquet", *args],
                          cwd=REPO, env=full, capture_output=True, text=True, timeout=600)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def squeue_empty(job: str) -> bool:
    return not slurm.array_tasks(job)


def comparable(summary: pd.DataFrame, sweep_dir: Path) -> pd.DataFrame:
    """A summary without wall-clock timings (run folders are stored relative to the sweep)."""
    assert not any(Path(d).is_absolute() for d in summary["run_dir"])
    return summary.drop(columns=[c for c in summary.columns if c.startswith("seconds_")])


def run_id(seed: int) -> str:
    return f"days=20,people.n=300,seed={seed}"


@pytest.mark.slow
def test_sharded_sweep_survives_a_killed_shard_and_matches_the_local_pool(cluster, tmp_path):
    folder = tmp_path / "on_slurm"
    launcher = ["hydra/launcher=slurm", "hydra.launcher.shard_size=3",
                "hydra.launcher.flush_rows=1", "hydra.launcher.poll_seconds=1",
                "hydra.launcher.time=00:20:00"]
    # 1. Submit and return at once. Shard 0 (seeds 0-2) hangs on seed 1; seed 7 fails.
    first = run_sweep(folder, *launcher, "hydra.launcher.wait=false",
                      env={HANG_SEEDS_ENV: "1", "INFLUENCER_SIM_FAIL_SEEDS": "7"})
    assert first.returncode == 0, first.stderr
    assert "submitted 9 runs in 3 shard(s) of up to 3 as SLURM job" in first.stdout
    assert not (folder / "summary.parquet").exists()  # nothing waited, nothing aggregated
    sub = folder / "slurm" / "submit-001"
    job = slurm.job_id(sub)

    def ids_written() -> set[str]:
        table = storage.read_parts(folder, ["run_id"], warn=False)
        return set(table["run_id"].to_pylist()) if table is not None else set()

    # 2. Shard 0 is mid-way: two of its runs written, one hanging. Kill it.
    wait_until(lambda: {run_id(0), run_id(2)} <= ids_written(), 300, "shard 0's first runs")
    middle = sweep_status(folder)
    assert middle["running"] == 1 and middle["submission"]["states"][0] == "running"
    subprocess.run(["scancel", f"{job}_0"], check=True)
    wait_until(lambda: squeue_empty(job), 300, "the array to end")
    after = sweep_status(folder)
    assert (after["done"], after["failed"], after["running"], after["missing"]) == (7, 1, 0, 1)
    assert after["submission"]["states"] == {0: "stopped", 1: "done", 2: "done"}
    assert "1 shard(s) ended before finishing" in render(after)
    assert not (folder / "summary.parquet").exists()  # the stopped shard never finished

    # 3. Resubmit: only the hung and the failed run go, and the last shard aggregates.
    again = run_sweep(folder, *launcher, "hydra.launcher.wait=false", "resume=true")
    assert again.returncode == 0, again.stderr
    assert f"resuming {folder}: 7 finished, 2 to run" in again.stderr
    assert "submitted 2 runs in 1 shard(s)" in again.stdout
    job2 = slurm.job_id(folder / "slurm" / "submit-002")
    wait_until(lambda: (folder / "figures" / "lorenz.png").exists() and squeue_empty(job2),
               300, "the resubmitted shard to aggregate")
    rows = pq.read_table(folder / storage.RUNS_PARTS).to_pandas()
    ok = rows[rows["status"] == "ok"]
    assert sorted(ok["run_id"]) == sorted(run_id(s) for s in range(9))  # one ok row per run
    assert list(rows[rows["status"] == "failed"]["run_id"]) == [run_id(7)]
    final = sweep_status(folder)
    assert (final["done"], final["failed"], final["running"], final["missing"]) == (9, 0, 0, 0)

    # 4. The same sweep on the local pool gives the same results, byte for byte.
    local = tmp_path / "local"
    proc = run_sweep(local, "hydra.launcher.n_jobs=2")
    assert proc.returncode == 0, proc.stderr
    a = comparable(pd.read_parquet(folder / "summary.parquet"), folder)
    b = comparable(pd.read_parquet(local / "summary.parquet"), local)
    assert a.to_csv(index=False) == b.to_csv(index=False)
    assert (a["status"] == "ok").all() and len(a) == 9
    for name in ("groups.csv", "figures/per_capita.csv", "figures/lorenz.csv",
                 "figures/story.csv"):
        assert (folder / name).read_bytes() == (local / name).read_bytes(), name
    local_rows = pq.read_table(local / storage.RUNS_PARTS).to_pandas().set_index("run_id")
    for row in ok.itertuples():  # every run's config, exactly as the local pool had it
        assert row.config == local_rows.loc[row.run_id, "config"]


@pytest.mark.slow
def test_folder_storage_on_slurm_waits_and_aggregates_like_the_local_pool(cluster, tmp_path):
    # wait=true (the default): the command blocks until the array ends, then aggregates.
    args = ["seed=range(4)", "people.n=300", "days=20", "people.budget_mean=2,8"]
    env = {**os.environ}
    for name in ("HYDRA_FULL_ERROR", HANG_SEEDS_ENV, "INFLUENCER_SIM_FAIL_SEEDS"):
        env.pop(name, None)

    def sweep(folder, *more):
        return subprocess.run([sys.executable, "-m", "experiments.run", "-m",
                               f"hydra.sweep.dir={folder}", *args, *more], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)

    on_slurm = sweep(tmp_path / "slurm", "hydra/launcher=slurm", "hydra.launcher.max_tasks=3",
                     "hydra.launcher.poll_seconds=1")
    assert on_slurm.returncode == 0, on_slurm.stderr
    assert "submitted 8 runs in 3 shard(s) of up to 3" in on_slurm.stdout
    assert "8 runs (8 ok)" in on_slurm.stdout
    local = sweep(tmp_path / "local", "hydra.launcher.n_jobs=2")
    assert local.returncode == 0, local.stderr
    a = comparable(pd.read_parquet(tmp_path / "slurm" / "summary.parquet"), tmp_path / "slurm")
    b = comparable(pd.read_parquet(tmp_path / "local" / "summary.parquet"), tmp_path / "local")
    assert a.to_csv(index=False) == b.to_csv(index=False)
    for name in ("groups.csv", "figures/share.csv", "figures/lorenz.csv"):
        assert (tmp_path / "slurm" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    for run in (tmp_path / "slurm").glob("*/.hydra/overrides.yaml"):
        mine = run.parent.parent / "people.parquet"
        theirs = tmp_path / "local" / run.parent.parent.name / "people.parquet"
        assert pq.read_table(mine).equals(pq.read_table(theirs))
