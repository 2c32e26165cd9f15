"""The process pool of sweeps and the launcher's worker side."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from experiments import pool
from hydra_plugins.influencer_sim_launcher import _worker
from sim.config import ConfigError


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def test_pool_map_keeps_order_in_process_and_in_workers():
    items = list(range(7))
    assert pool.pool_map(square, items, workers=1) == [x * x for x in items]
    assert pool.pool_map(square, items, workers=2) == [x * x for x in items]
    assert pool.pool_map(square, [], workers=2) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_map_raises_the_first_error(workers):
    with pytest.raises(ValueError, match="three"):
        pool.pool_map(fail_on_three, range(5), workers=workers)


def test_worker_count_follows_joblib():
    assert pool.worker_count(1) == 1
    assert pool.worker_count(None) == 1
    assert pool.worker_count(2) == 2
    assert pool.worker_count(-1) >= 1
    with pytest.raises(ConfigError, match="n_jobs"):
        pool.worker_count(0)
    with pytest.raises(ConfigError, match="n_jobs"):
        pool.worker_count("many")


def test_sweep_workers_only_with_the_project_launcher():
    ours = OmegaConf.create({"hydra": {"launcher": {"_target_": pool.LAUNCHER, "n_jobs": 2}}})
    other = OmegaConf.create({"hydra": {"launcher": {
        "_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}}})
    assert pool.sweep_workers(ours) == 2
    assert pool.sweep_workers(other) == 1


def test_stop_never_raises_and_the_pool_comes_back():
    pool.stop()
    pool.stop()
    assert pool.pool_map(square, [1, 2, 3], workers=2) == [1, 4, 9]
    pool.stop()


def test_a_bad_sweep_name_is_refused_before_any_worker_starts(monkeypatch, capsys):
    # Workers stopped while still starting once left loky's "leaked semlock objects"
    # warnings after the one-line error (seen in CI); an instant check runs first now.
    from experiments.preflight import Preflight

    started = []
    monkeypatch.setattr(pool, "start", lambda workers, *a: started.append(workers))
    config = OmegaConf.create({"sweep_name": "a/b", "hydra": {"launcher": {
        "_target_": pool.LAUNCHER, "n_jobs": 2}}})
    with pytest.raises(SystemExit) as exc:
        Preflight().on_multirun_start(config)
    assert exc.value.code == 2 and started == []
    assert capsys.readouterr().err.startswith("error: sweep_name: must be one folder name")


def test_slim_result_keeps_what_the_sweeper_reads():
    ret = JobReturn(overrides=["seed=1"], cfg=OmegaConf.create({"a": 1}),
                    hydra_cfg=OmegaConf.create({"b": 2}), working_dir="/x", task_name="run",
                    status=JobStatus.COMPLETED, _return_value={"status": "ok"})
    slim = _worker.slim(ret)
    assert slim.cfg is None and slim.hydra_cfg is None
    assert (slim.overrides, slim.working_dir, slim.task_name, slim.status,
            slim.return_value) == (["seed=1"], "/x", "run", JobStatus.COMPLETED,
                                   {"status": "ok"})
    assert len(pickle.dumps(slim)) < len(pickle.dumps(ret))


class CountedLoads:
    """Counts how often it is unpickled."""

    loads = 0

    def __init__(self):
        self.payload = "state"

    def __setstate__(self, state):
        type(self).loads += 1


def test_worker_unpickles_the_shared_state_once_per_sweep(monkeypatch):
    seen = []
    monkeypatch.setattr(_worker, "execute_job", lambda num, overrides, *state: (
        seen.append((num, overrides, state)) or JobReturn(status=JobStatus.COMPLETED)))
    digest, payload = _worker.pack_state(CountedLoads(), {"k": 1}, square, {})
    CountedLoads.loads = 0
    for num in range(3):
        _worker.run_job(digest, payload, num, [f"seed={num}"])
    assert CountedLoads.loads == 1
    assert [s[:2] for s in seen] == [(0, ["seed=0"]), (1, ["seed=1"]), (2, ["seed=2"])]
    assert all(s[2][1] == {"k": 1} and s[2][2] is square for s in seen)
    other_digest, other_payload = _worker.pack_state(CountedLoads(), {"k": 2}, square, {})
    _worker.run_job(other_digest, other_payload, 3, [])
    assert CountedLoads.loads == 2 and seen[-1][2][1] == {"k": 2}


# --- the private names the sweep relies on (pinned in pyproject.toml) ---------------------------


def test_the_private_hydra_sweeper_is_still_there():
    # The one private Hydra name: hydra-core is pinned to 1.3.x for it.
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    from hydra_plugins.influencer_sim_launcher.sweeper import InfluencerSweeper, split_jobs

    assert issubclass(InfluencerSweeper, BasicSweeper)
    assert callable(BasicSweeper.split_arguments)
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(["seed=1,2", "days=5", "seed=3,4"])
    assert split_jobs(parsed) == [["seed=3", "days=5"], ["seed=4", "days=5"]]


def test_loky_reusable_executor_is_still_vendored_by_joblib():
    from joblib.externals.loky import get_reusable_executor

    assert callable(get_reusable_executor)


def test_no_other_private_names_are_imported():
    import re

    root = Path(__file__).resolve().parents[1]
    private = re.compile(r"hydra\._internal|hydra_joblib_launcher|loky\.(backend|process_executor"
                         r"|reusable_executor)|\._executor\b|\._processes\b")
    users = {}
    for path in [*root.glob("experiments/*.py"), *root.glob("hydra_plugins/**/*.py")]:
        text = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith("#"))
        code = re.sub(r'"""(.|\n)*?"""', "", text)  # docstrings may name them
        found = [m.group(0) for m in private.finditer(code)]
        if found:
            users[path.relative_to(root).as_posix()] = sorted(set(found))
    assert users == {"experiments/preflight.py": ["hydra._internal"],  # a target name only
                     "hydra_plugins/influencer_sim_launcher/sweeper.py": ["hydra._internal"]}


def test_workers_end_when_the_main_process_is_killed(tmp_path):
    # SIGKILL of the process that owns the pool: its workers exit within seconds.
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    script = ("from experiments import pool\n"
              "import time\n"
              "p = pool.executor(2)\n"
              "print(sorted(p.submit(__import__('os').getpid).result() for _ in range(4)),"
              " flush=True)\n"
              "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[1],
                            stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    workers = [c for c in psutil.Process(proc.pid).children()
               if "popen_loky" in " ".join(c.cmdline())]
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    started = time.monotonic()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive and time.monotonic() - started < 5
